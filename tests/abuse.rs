//! Abuse and overload: the channel reply cap against a raid, shedding under overload, button
//! mashing, and hostile text and names. The e2e tests run the real bot against the fake
//! Discord; the mashing property runs at the App level.

use crate::support::fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};
use paymedic::app::{App, Bucket, Origin};
use paymedic::config::{Config, DiscordConfig, Limits};
use paymedic::discord::{self, RunError};
use paymedic::engine::limits::{
    EMBED_DESCRIPTION_LENGTH_MAX, EMBED_FIELD_VALUE_LENGTH_MAX, EMBED_TITLE_LENGTH_MAX,
    EMBED_TOTAL_LENGTH_MAX, MESSAGE_CONTENT_LENGTH_MAX,
};
use paymedic::engine::tickets::is_bidi_control;
use paymedic::engine::{
    ChannelId, Choice, Effect, GuildId, Input, MemberId, Position, RoleId, State, Timestamp,
    UserKey,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const T: Duration = Duration::from_secs(20);
const SUPPORT: u64 = 1_300_000_000_000_000_001;
const SUPPORT_2: u64 = 1_300_000_000_000_000_007;
const ESCALATION: u64 = 1_300_000_000_000_000_003;
const SUPPORT_ROLE: u64 = 1_300_000_000_000_000_004;
const MOD_ROLE: u64 = 1_300_000_000_000_000_005;
const OWNER: u64 = 1_300_000_000_000_000_010;
const RAIDERS: u64 = 1_500_000_000_000_000_000;

struct Bot {
    fake: FakeDiscord,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Bot {
    async fn start(
        cooldown_ms: u64,
        limits: Limits,
        store: Option<Arc<dyn paymedic::store::Store>>,
    ) -> Bot {
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let settings = DiscordConfig {
            guild_ids: fake
                .options()
                .guild_ids
                .iter()
                .map(|g| GuildId(*g))
                .collect(),
            support_channels: vec![ChannelId(SUPPORT), ChannelId(SUPPORT_2)],
            moderator_roles: vec![RoleId(MOD_ROLE)],
            escalation_channel: Some(ChannelId(ESCALATION)),
            support_role: Some(RoleId(SUPPORT_ROLE)),
            shards: None,
        };
        let config = Config {
            cooldown_ms,
            discord: Some(settings.clone()),
            limits,
            ..Config::default()
        };
        let engine = crate::common::engine();
        let app = Arc::new(match store {
            Some(s) => App::with_store(engine, config, s),
            None => App::new(engine, config),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(discord::run(
            app.clone(),
            settings,
            "not-a-real-token".into(),
            Some(fake.api_base()),
            async {
                let _ = rx.await;
            },
        ));
        fake.wait_for_ready(T).await;
        Bot {
            fake,
            app,
            stop: Some(tx),
            task,
        }
    }

    fn guild(&self) -> u64 {
        self.fake.options().guild_ids[0]
    }

    async fn say(&self, channel: u64, author: u64, content: &str) -> u64 {
        let id = fd::new_snowflake();
        let msg = fd::guild_message(
            id,
            self.guild(),
            channel,
            author,
            "member",
            content,
            false,
            &[],
        );
        self.fake.dispatch("MESSAGE_CREATE", msg).await;
        id
    }

    async fn press(&self, on: &Recorded, user: u64, custom_id: &str) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let press = fd::component_interaction(
            id,
            &token,
            Some(self.guild()),
            SUPPORT,
            user,
            &[],
            custom_id,
            on.response.clone(),
        );
        self.fake.dispatch("INTERACTION_CREATE", press).await;
        self.fake.wait_for_interaction_callback(id, T).await
    }

    /// Waits until the bot's tally has seen `n` messages.
    async fn settled(&self, n: u64) {
        let app = self.app.clone();
        let deadline = tokio::time::Instant::now() + T;
        while app.tally().total() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the tally saw {} of {n} messages: {}",
                app.tally().total(),
                app.tally().line()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let result = tokio::time::timeout(T, self.task)
            .await
            .expect("bot stops")
            .expect("bot task");
        assert!(result.is_ok(), "{result:?}");
        let problems = self.fake.problems();
        assert!(problems.is_empty(), "{problems:#?}");
        for r in sent_by_bot(&self.fake) {
            assert_within_limits(&r);
        }
    }
}

/// Everything the bot sent or edited: messages, interaction responses and follow-ups.
fn sent_by_bot(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.requests_matching(|r| {
        matches!(r.method.as_str(), "POST" | "PATCH")
            && (r.route().ends_with("/messages")
                || r.route().contains("/messages/")
                || r.route().starts_with("/webhooks/")
                || r.interaction_callback_id().is_some())
    })
}

/// The message part of a recorded send (an interaction callback carries it in `data`).
fn message_of(r: &Recorded) -> &Value {
    if r.interaction_callback_id().is_some() {
        &r.body["data"]
    } else {
        &r.body
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Discord's limits on one message, and ours: content and embeds within Discord's sizes,
/// allowed mentions set and parsing nothing, and no text-direction controls anywhere.
fn assert_within_limits(r: &Recorded) {
    let m = message_of(r);
    if m.is_null() {
        return;
    }
    assert!(
        chars(&m["content"]) <= MESSAGE_CONTENT_LENGTH_MAX,
        "content too long: {r:#?}"
    );
    for e in m["embeds"].as_array().into_iter().flatten() {
        assert!(chars(&e["title"]) <= EMBED_TITLE_LENGTH_MAX, "{e:#}");
        assert!(
            chars(&e["description"]) <= EMBED_DESCRIPTION_LENGTH_MAX,
            "{e:#}"
        );
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.len() <= 25, "{e:#}");
        let mut total = chars(&e["title"]) + chars(&e["description"]);
        total += chars(&e["footer"]["text"]) + chars(&e["author"]["name"]);
        for f in &fields {
            assert!(chars(&f["name"]) <= 256, "{f:#}");
            assert!(chars(&f["value"]) <= EMBED_FIELD_VALUE_LENGTH_MAX, "{f:#}");
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        assert!(
            total <= EMBED_TOTAL_LENGTH_MAX,
            "embed of {total} characters"
        );
    }
    if r.method == "POST" && !(r.interaction_callback_id().is_some() && m.is_null()) {
        let kind = r.body["type"].as_u64();
        // A deferral (5, 6) or a modal (9) carries no message.
        if !matches!(kind, Some(5 | 6 | 9)) {
            assert_eq!(m["allowed_mentions"]["parse"], json!([]), "{r:#?}");
        }
    }
    let text = m.to_string();
    assert!(
        !text.chars().any(is_bidi_control),
        "a direction control in {text}"
    );
}

fn no_pings(body: &Value) {
    let am = &body["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "{body:#}");
    assert!(
        am["users"].as_array().is_none_or(|u| u.is_empty()),
        "{body:#}"
    );
    assert!(
        am["roles"].as_array().is_none_or(|u| u.is_empty()),
        "{body:#}"
    );
    assert_eq!(am["replied_user"], json!(false), "{body:#}");
}

fn limits(channel_replies_per_10s: u32) -> Limits {
    Limits {
        channel_replies_per_10s,
        ..Limits::default()
    }
}

// -------------------------------------------------------------------------------------------
// Channel rate cap
// -------------------------------------------------------------------------------------------

/// A raid of 40 accounts in one support channel gets at most N replies in the window, and the
/// moderators one notice (naming the channel, pinging nobody), even as the raid goes on. A DM
/// and another channel are answered meanwhile: the cap is per channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raid_in_one_channel_gets_at_most_n_replies_and_one_moderator_notice() {
    const N: u32 = 5;
    let bot = Bot::start(0, limits(N), None).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            bot.say(SUPPORT, RAIDERS + i, "klarna declined my order at asos")
                .await,
        );
    }
    bot.settled(40).await;
    let replies = bot
        .fake
        .requests_matching(|r| r.replied_to().is_some_and(|m| ids.contains(&m)));
    assert_eq!(replies.len(), N as usize, "{}", bot.app.tally().line());
    assert_eq!(
        bot.app.tally().get(Bucket::ChannelCapped),
        40 - u64::from(N)
    );
    let notices = bot.fake.requests_matching(|r| r.is_message_to(ESCALATION));
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let notice = &notices[0].body;
    no_pings(notice);
    let text = notice["content"].as_str().unwrap();
    assert!(text.contains(&format!("<#{SUPPORT}>")), "{text}");
    assert!(text.contains("5 replies every 10 seconds"), "{text}");

    // The raid goes on: still capped, still one notice. Another channel and a DM are answered.
    for i in 40..60 {
        bot.say(SUPPORT, RAIDERS + i, "my bank blocked the klarna payment")
            .await;
    }
    let other = bot
        .say(SUPPORT_2, OWNER, "klarna declined my order at asos")
        .await;
    let dm = fd::new_snowflake();
    bot.fake
        .dispatch(
            "MESSAGE_CREATE",
            fd::dm_message(
                dm,
                1_300_000_000_000_000_099,
                OWNER + 1,
                "dm",
                "klarna declined my order",
            ),
        )
        .await;
    bot.settled(62).await;
    bot.fake.wait_for_reply_to(other, T).await;
    bot.fake.wait_for_reply_to(dm, T).await;
    assert_eq!(
        bot.app.tally().get(Bucket::ChannelCapped),
        60 - u64::from(N)
    );
    assert_eq!(bot.fake.count_matching(|r| r.is_message_to(ESCALATION)), 1);
    let in_raid = bot.fake.count_matching(|r| r.is_message_to(SUPPORT));
    assert_eq!(in_raid, N as usize);
    bot.stop().await;
}

/// A card number is removed even in a capped channel: removal protects the member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_in_a_capped_channel_is_still_removed() {
    let bot = Bot::start(0, limits(1), None).await;
    let first = bot.say(SUPPORT, RAIDERS, "klarna declined my order").await;
    bot.fake.wait_for_reply_to(first, T).await;
    let card = bot
        .say(
            SUPPORT,
            RAIDERS + 1,
            "my card is 4111 1111 1111 1111 why declined",
        )
        .await;
    let route = format!("/channels/{SUPPORT}/messages/{card}");
    bot.fake
        .wait_for_request(|r| r.is("DELETE", &route), T)
        .await;
    bot.settled(2).await;
    assert_eq!(bot.app.tally().get(Bucket::SecretRemoved), 1);
    bot.stop().await;
}

// -------------------------------------------------------------------------------------------
// Overload
// -------------------------------------------------------------------------------------------

/// A store whose session reads wait while `held` is set: handlers pile up at the gate.
struct Held {
    held: AtomicBool,
}

#[async_trait::async_trait]
impl crate::support::hooked_store::Hook for Held {
    async fn before(&self, op: &'static str) -> paymedic::store::Result<()> {
        while op == "session" && self.held.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

/// With the handlers stuck (a slow store) and room for 4 waiting messages, a burst of 30 is
/// shed beyond the bound instead of queueing: each message is either answered once or counted
/// as shed, never both, and none is lost. A button press has its own lane and is answered
/// even while the message lane is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_messages_beyond_the_bound_and_answers_the_rest_once() {
    let store = Arc::new(crate::support::hooked_store::Hooked::new(Held {
        held: AtomicBool::new(false),
    }));
    let lim = Limits {
        channel_replies_per_10s: 0,
        waiting_messages_max: 4,
    };
    let bot = Bot::start(0, lim, Some(store.clone())).await;
    // A question whose buttons the owner presses during the overload.
    let q = bot
        .say(SUPPORT, OWNER, "klarna declined my order at asos")
        .await;
    let question = bot.fake.wait_for_reply_to(q, T).await;
    store.hook.held.store(true, Ordering::SeqCst);
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(
            bot.say(SUPPORT, RAIDERS + i, "klarna declined my order at asos")
                .await,
        );
    }
    // Presses are not shed with the messages; this one waits for the store like any turn.
    let id = button(&question.response, "In a web browser");
    let (press, ()) = tokio::join!(bot.press(&question, OWNER, &id), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        store.hook.held.store(false, Ordering::SeqCst);
    });
    assert_eq!(press.body["type"], 4, "{:#}", press.body);
    bot.settled(31).await;
    let tally = bot.app.tally();
    let shed = tally.get(Bucket::Shed);
    let answered = tally.get(Bucket::Answered);
    assert_eq!(answered + shed, 31, "{}", tally.line());
    assert!(
        shed >= 30 - 4,
        "at most 4 messages waited: {}",
        tally.line()
    );
    for id in &ids {
        let replies = bot.fake.count_matching(|r| r.replied_to() == Some(*id));
        assert!(replies <= 1, "message {id} got {replies} replies");
    }
    let replied = ids
        .iter()
        .filter(|id| bot.fake.count_matching(|r| r.replied_to() == Some(**id)) == 1)
        .count() as u64;
    assert_eq!(replied + shed, 30, "{}", tally.line());
    bot.stop().await;
}

fn button(message: &Value, label: &str) -> String {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .find(|b| b["label"] == label)
        .and_then(|b| b["custom_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no button {label:?} in {message:#}"))
}

fn button_ids(message: &Value) -> Vec<(String, String)> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["label"].as_str().unwrap_or("").to_string(),
                b["custom_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

// -------------------------------------------------------------------------------------------
// Button mashing
// -------------------------------------------------------------------------------------------

/// The owner presses the buttons of one question 20 times at once (serenity handles each in
/// its own task, in no particular order): every press gets exactly one answer, exactly one is
/// taken, the other 19 are told the button is stale, and the conversation is one step on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_presses_at_once_move_the_conversation_one_step() {
    let bot = Bot::start(0, limits(0), None).await;
    let stale = bot.app.engine().content.copy.stale.clone();
    let q = bot
        .say(SUPPORT, OWNER, "klarna declined my order at asos")
        .await;
    let question = bot.fake.wait_for_reply_to(q, T).await;
    // The answers that keep the conversation going: the step's options and "still stuck".
    let choices: Vec<String> = button_ids(&question.response)
        .into_iter()
        .map(|(_, id)| id)
        .filter(|id| {
            id.rsplit(':')
                .next()
                .is_some_and(|c| c.starts_with('o') || c == "s")
        })
        .collect();
    assert!(choices.len() >= 2, "{:#}", question.response);
    let presses = (0..20).map(|i| bot.press(&question, OWNER, &choices[i % choices.len()]));
    let answers = futures_util::future::join_all(presses).await;
    let mut ids = std::collections::HashSet::new();
    let mut taken = 0;
    for a in &answers {
        let id = a.interaction_callback_id().unwrap();
        assert!(ids.insert(id), "two answers to one press");
        assert_eq!(
            bot.fake
                .count_matching(|r| r.interaction_callback_id() == Some(id)),
            1
        );
        let text = a.body["data"]["content"].as_str().unwrap_or_default();
        if !text.contains(&stale) {
            taken += 1;
        }
    }
    assert_eq!(ids.len(), 20);
    assert_eq!(taken, 1, "exactly one press is taken");
    let user = UserKey::new(GuildId(bot.guild()), MemberId(OWNER));
    let session = bot.app.session(user).await.unwrap().unwrap();
    match session.state {
        State::InFlow(flow) => assert_eq!(asked_answers(&flow), 1, "{flow:?}"),
        other => panic!("an option or \"still stuck\" left the flow: {other:?}"),
    }
    bot.stop().await;
}

/// A question the bot showed, with the choices it offered.
#[derive(Clone, Debug)]
struct Shown {
    at: Position,
    choices: Vec<Choice>,
}

fn asked(effects: &[Effect<'_>]) -> Option<Shown> {
    effects.iter().find_map(|e| match e {
        Effect::Ask {
            at: Some(at),
            offers,
            ..
        } => Some(Shown {
            at: *at,
            choices: offers.iter().map(|o| o.choice).collect(),
        }),
        _ => None,
    })
}

/// Answers the member gave to questions they were asked. (A press may also carry the flow
/// past steps the opening message already answered: those are `inferred`, never asked.)
fn asked_answers(flow: &paymedic::engine::dialogue::Flow) -> usize {
    flow.path
        .iter()
        .filter(|a| {
            !matches!(
                a,
                paymedic::engine::dialogue::Answer::Step { inferred: true, .. }
            )
        })
        .count()
}

fn position(state: &State) -> Option<(Position, usize)> {
    match state {
        State::InFlow(f) => Some((
            Position {
                intent: f.intent,
                at: f.at,
            },
            asked_answers(f),
        )),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Presses on any question shown so far (the current one or earlier ones), in any order,
    /// as the member lock may serve racing presses: a press is taken only if it answers the
    /// question the conversation is at, and then moves it exactly one answer on; any other is
    /// refused as stale (or pointed to the ticket) and changes nothing. So the conversation
    /// never skips a step, whatever the mashing.
    #[test]
    fn mashed_buttons_are_taken_in_order_or_refused_as_stale(
        opening in prop::sample::select(vec![
            "klarna declined my order at asos",
            "the klarna app keeps crashing when i open it",
            "my bank blocked the klarna payment",
            "over my spending limit and cant buy these trainers",
        ]),
        presses in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()), 1..20),
    ) {
        let app = crate::common::app();
        let user = crate::common::member(1, 42);
        let stale = app.engine().content.copy.stale.clone();
        crate::common::block_on(async {
            let mut now = 1_000_000;
            let first = app.turn(Origin::from(user), Input::Text { text: opening, addressed: true }, Timestamp(now)).await.unwrap();
            let mut shown: Vec<Shown> = asked(&first.effects).into_iter().collect();
            prop_assume!(!shown.is_empty());
            for (q, c, latest) in presses {
                now += 50;
                let q = if latest { shown.len() - 1 } else { q.index(shown.len()) };
                let s = shown[q].clone();
                let choice = s.choices[c.index(s.choices.len())];
                let before = app.session(user).await.unwrap().map(|s| s.state);
                let here = before.as_ref().and_then(position);
                let turn = app.turn(Origin::from(user), Input::Choose { choice, shown_at: Some(s.at) }, Timestamp(now)).await.unwrap();
                let said_stale = turn.effects.iter().any(|e| *e == Effect::Say(&stale));
                let after = app.session(user).await.unwrap().map(|s| s.state);
                match here {
                    // "Talk to a human" on an earlier question: stale while the conversation
                    // is on; once it has ended (or a ticket is open) it hands the member off
                    // or points to their ticket. Never a step of the flow.
                    _ if choice == Choice::Human && here.is_none_or(|(at, _)| at != s.at) => {
                        let handed = matches!(after, Some(State::HandedOff { .. } | State::Escalated { .. }));
                        prop_assert!(handed || (said_stale && after == before), "{:?} {:?}", turn.effects, after);
                    }
                    Some((at, len)) if at == s.at => {
                        prop_assert!(!said_stale, "a press on the current question was refused");
                        if let Some((_, new_len)) = after.as_ref().and_then(position) {
                            prop_assert_eq!(new_len, len + 1, "one answer per press");
                        }
                    }
                    _ => {
                        prop_assert!(said_stale || turn.ticket.is_some(), "{:?}", turn.effects);
                        prop_assert_eq!(&after, &before, "a stale press changed the conversation");
                    }
                }
                if let Some(next) = asked(&turn.effects) {
                    if shown.last().is_none_or(|l| l.at != next.at) {
                        shown.push(next);
                    }
                }
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

// -------------------------------------------------------------------------------------------
// Hostile text and names
// -------------------------------------------------------------------------------------------

/// 32 characters that look like "Moderator paymedic" but aren't: Cyrillic and fullwidth
/// look-alikes, zero-width spaces and joiners, and a right-to-left override.
fn confusable_name() -> String {
    let name = "\u{202E}Ｍоdеrаtоr\u{200B}\u{200D}рауmеdіс\u{2066}ѕuрроrt\u{FEFF}";
    let name: String = name
        .chars()
        .chain(std::iter::repeat('ı'))
        .take(32)
        .collect();
    assert_eq!(name.chars().count(), 32);
    name
}

/// Exactly 2000 characters holding 500 user mentions.
fn five_hundred_mentions() -> String {
    let text: String = (0..500).map(|i| format!("<@{}>", i % 9 + 1)).collect();
    assert_eq!(text.chars().count(), 2000);
    text
}

/// A raid message: a real question with mass mentions and a direction override.
const RAID_TEXT: &str =
    "klarna declined my order at asos @everyone @here <@&1300000000000000004> \u{202E}sos ta";

/// A 2000-character support question stuffed with every kind of mention and direction
/// controls.
fn mixed_mentions() -> String {
    let mut text = String::from("klarna declined my order \u{202E}at asos @everyone @here ");
    let mut i = 0;
    while text.chars().count() < 1990 {
        text.push_str(match i % 4 {
            0 => "<@&1300000000000000004>",
            1 => "<@1300000000000000012>",
            2 => "@everyone",
            _ => "\u{2067}<@!5>",
        });
        i += 1;
    }
    text.chars().take(2000).collect()
}

fn hostile_message(bot: &Bot, id: u64, channel: Option<u64>, author: u64, text: &str) -> Value {
    let name = confusable_name();
    let mentions: Vec<u64> = (1..=9).collect();
    let mut m = match channel {
        Some(c) => fd::guild_message(id, bot.guild(), c, author, &name, text, false, &mentions),
        None => fd::dm_message(id, 1_300_000_000_000_000_098, author, &name, text),
    };
    m["author"]["global_name"] = json!(name);
    if channel.is_some() {
        m["member"]["nick"] = json!(name);
    }
    m
}

/// Hostile text (500 mentions in 2000 characters; @everyone, @here, role mentions and
/// direction controls) from a member whose name is 32 confusable characters, through every
/// path that could echo it: the reply, the cooldown notice, the ticket packet (with the
/// member's last messages), and the moderators' raid notice. Every message stays within
/// Discord's limits, pings nobody it shouldn't (the packet: exactly the support role and the
/// member), carries no direction control, and never shows the member's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_and_names_produce_safe_output_on_every_path() {
    let bot = Bot::start(2_000, limits(3), None).await;
    let name = confusable_name();
    // The reply (a DM) and the cooldown notice.
    for text in [five_hundred_mentions(), mixed_mentions()] {
        let id = fd::new_snowflake();
        bot.fake
            .dispatch(
                "MESSAGE_CREATE",
                hostile_message(&bot, id, None, OWNER, &text),
            )
            .await;
    }
    bot.settled(2).await;
    assert_eq!(
        bot.app.tally().get(Bucket::CooldownNotice),
        1,
        "{}",
        bot.app.tally().line()
    );
    // In a support channel: a question, the hostile text as an answer, then the packet with
    // the member's last messages.
    let member = OWNER + 1;
    let q = bot
        .say(SUPPORT, member, "klarna declined my order at asos")
        .await;
    let question = bot.fake.wait_for_reply_to(q, T).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let hostile = fd::new_snowflake();
    bot.fake
        .dispatch(
            "MESSAGE_CREATE",
            hostile_message(&bot, hostile, Some(SUPPORT), member, &mixed_mentions()),
        )
        .await;
    // In a support channel, text that isn't an answer gets no reply mid-conversation (the
    // question waits); either way it is kept, masked, for the packet.
    bot.settled(4).await;
    // The latest question's buttons (a reply may come in pieces; the buttons ride the last).
    let on = bot
        .fake
        .requests_matching(|r| r.replied_to() == Some(hostile))
        .into_iter()
        .rev()
        .find(|r| {
            button_ids(&r.response)
                .iter()
                .any(|(l, _)| l == "Talk to a human")
        })
        .unwrap_or(question);
    let human = button(&on.response, "Talk to a human");
    let pressed = bot.press(&on, member, &human).await;
    // Answered at once, or deferred while the thread is made.
    assert!(
        matches!(pressed.body["type"].as_u64(), Some(4 | 5)),
        "{:#}",
        pressed.body
    );
    let packet = bot
        .fake
        .wait_for_request(
            |r| {
                r.method == "POST"
                    && r.body["content"]
                        .as_str()
                        .is_some_and(|c| c.contains("Ticket #"))
            },
            T,
        )
        .await;
    let am = &packet.body["allowed_mentions"];
    assert_eq!(am["roles"], json!([SUPPORT_ROLE.to_string()]), "{am:#}");
    assert_eq!(am["users"], json!([member.to_string()]), "{am:#}");
    let quoted = packet.body.to_string();
    assert!(
        quoted.contains("@everyone"),
        "the packet quotes the hostile text: {quoted}"
    );
    // The raid notice: a hostile raid in the other channel (questions the bot would answer,
    // so that the cap, not silence, holds the replies back).
    for i in 0..6 {
        let id = fd::new_snowflake();
        bot.fake
            .dispatch(
                "MESSAGE_CREATE",
                hostile_message(&bot, id, Some(SUPPORT_2), RAIDERS + i, RAID_TEXT),
            )
            .await;
    }
    bot.settled(4 + 6).await;
    assert_eq!(bot.app.tally().get(Bucket::ChannelCapped), 3);
    assert_eq!(
        bot.fake.count_matching(|r| r.is_message_to(ESCALATION)),
        1,
        "one raid notice"
    );
    let sent = sent_by_bot(&bot.fake);
    assert!(sent.len() >= 8, "{sent:#?}");
    let stem: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .skip(1)
        .take(9)
        .collect();
    for r in &sent {
        let m = message_of(r);
        let all = m.to_string();
        assert!(!all.contains(&stem), "the member's name was shown: {all}");
        let content = m["content"].as_str().unwrap_or_default();
        assert!(
            !content.contains("@everyone") && !content.contains("@here"),
            "{content}"
        );
        assert_within_limits(r);
    }
    bot.stop().await;
}
