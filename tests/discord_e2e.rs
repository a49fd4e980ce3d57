//! The real paymedic bot (serenity + poise, unmodified) against the fake Discord on 127.0.0.1.
//!
//! Each test starts its own fake and bot. Replies are matched by the message they answer or by
//! interaction id, never by arrival order: serenity handles each event in its own task.

use crate::support::fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};
use paymedic::app::App;
use paymedic::config::{Config, DiscordConfig};
use paymedic::discord::{self, RunError};
use paymedic::engine::{ChannelId, Engine, GuildId, RoleId};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const T: Duration = Duration::from_secs(20);
const SUPPORT: u64 = 1_300_000_000_000_000_001;
const OTHER_CHANNEL: u64 = 1_300_000_000_000_000_002;
const ESCALATION: u64 = 1_300_000_000_000_000_003;
const SUPPORT_ROLE: u64 = 1_300_000_000_000_000_004;
const MOD_ROLE: u64 = 1_300_000_000_000_000_005;
const LOG: u64 = 1_300_000_000_000_000_006;
const ALICE: u64 = 1_300_000_000_000_000_010;
const BOB: u64 = 1_300_000_000_000_000_011;
const MOD: u64 = 1_300_000_000_000_000_012;

struct Bot {
    fake: FakeDiscord,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

/// How a test's bot is set up, beyond the defaults.
#[derive(Default)]
struct Setup {
    cooldown_ms: u64,
    /// Another content pack than the shipped one.
    engine: Option<Engine>,
    /// `[tickets] log_channel`.
    log_channel: Option<u64>,
    /// A ticket for ALICE that a crash left `Opening` (committed, no thread yet).
    half_open: bool,
    /// Another store than a fresh in-memory one.
    store: Option<Arc<dyn paymedic::store::Store>>,
    /// Other fake options than the defaults (a short heartbeat interval, ...).
    fake: Option<FakeOptions>,
    /// `[scam] delete`.
    scam_delete: bool,
    /// `[discord] shards` and `total_shards`.
    shards: Option<paymedic::discord::shards::ShardRange>,
}

impl Bot {
    async fn start(cooldown_ms: u64) -> Bot {
        Bot::start_with(Setup {
            cooldown_ms,
            ..Setup::default()
        })
        .await
    }

    async fn start_with(setup: Setup) -> Bot {
        let fake = FakeDiscord::start(setup.fake.clone().unwrap_or_default()).await;
        let settings = DiscordConfig {
            guild_ids: fake
                .options()
                .guild_ids
                .iter()
                .map(|g| GuildId(*g))
                .collect(),
            support_channels: vec![ChannelId(SUPPORT)],
            moderator_roles: vec![RoleId(MOD_ROLE)],
            escalation_channel: Some(ChannelId(ESCALATION)),
            support_role: Some(RoleId(SUPPORT_ROLE)),
            shards: setup.shards,
        };
        let config = Config {
            cooldown_ms: setup.cooldown_ms,
            discord: Some(settings.clone()),
            ticket_log_channel: setup.log_channel.map(ChannelId),
            scam_delete: setup.scam_delete,
            ..Config::default()
        };
        let engine = setup.engine.unwrap_or_else(crate::common::engine);
        let app = match setup.store {
            Some(store) => Arc::new(App::with_store(engine, config, store)),
            None => Arc::new(App::new(engine, config)),
        };
        if setup.half_open {
            let alice = paymedic::engine::UserKey::new(
                paymedic::engine::GuildId(fake.options().guild_ids[0]),
                paymedic::engine::MemberId(ALICE),
            );
            let staff = paymedic::app::Staff::trusted(paymedic::engine::MemberId(MOD));
            app.escalate(
                staff,
                alice,
                Some("left half-open"),
                paymedic::app::now(),
                None,
            )
            .await
            .unwrap();
        }
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
        if setup.shards.is_some_and(|r| r.first != 0) {
            // Only the process running shard 0 registers the commands.
            fake.wait_for_session(T).await;
        } else {
            fake.wait_for_ready(T).await;
        }
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

    fn bot_id(&self) -> u64 {
        self.fake.options().bot_user_id
    }

    /// A member's message in a channel; returns its id.
    async fn say(&self, channel: u64, author: u64, content: &str, mentions: &[u64]) -> u64 {
        let id = fd::new_snowflake();
        let msg = fd::guild_message(
            id,
            self.guild(),
            channel,
            author,
            "member",
            content,
            false,
            mentions,
        );
        self.fake.dispatch("MESSAGE_CREATE", msg).await;
        id
    }

    /// Presses a button on a bot message (the recorded POST whose response is the message).
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

    async fn slash(&self, user: u64, roles: &[u64], name: &str, options: Value) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let i = fd::slash_interaction(
            id,
            &token,
            Some(self.guild()),
            SUPPORT,
            user,
            roles,
            name,
            options,
        );
        self.fake.dispatch("INTERACTION_CREATE", i).await;
        self.fake.wait_for_interaction_callback(id, T).await
    }

    /// A press by `user` (with `roles`) on `message` (a message JSON) in `channel`; `None` for
    /// a DM. Returns the interaction's callback.
    async fn press_on(
        &self,
        guild: Option<u64>,
        channel: u64,
        message: &Value,
        user: u64,
        roles: &[u64],
        custom_id: &str,
    ) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let press = fd::component_interaction(
            id,
            &token,
            guild,
            channel,
            user,
            roles,
            custom_id,
            message.clone(),
        );
        self.fake.dispatch("INTERACTION_CREATE", press).await;
        self.fake.wait_for_interaction_callback(id, T).await
    }

    /// A slash command in `channel` (a support channel or a ticket's thread).
    async fn slash_in(
        &self,
        channel: u64,
        user: u64,
        roles: &[u64],
        name: &str,
        options: Value,
    ) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let i = fd::slash_interaction(
            id,
            &token,
            Some(self.guild()),
            channel,
            user,
            roles,
            name,
            options,
        );
        self.dispatch_interaction(id, i).await
    }

    async fn dispatch_interaction(&self, id: u64, interaction: Value) -> Recorded {
        self.fake.dispatch("INTERACTION_CREATE", interaction).await;
        self.fake.wait_for_interaction_callback(id, T).await
    }

    /// Submits the close modal of a ticket with `reason`, in its thread.
    async fn submit_close(
        &self,
        thread: u64,
        user: u64,
        roles: &[u64],
        custom_id: &str,
        reason: &str,
    ) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let m = fd::modal_submit_interaction(
            id,
            &token,
            Some(self.guild()),
            thread,
            user,
            roles,
            custom_id,
            &[("reason", reason)],
            None,
        );
        self.dispatch_interaction(id, m).await
    }

    /// What an interaction said: its response's message, or, when it deferred, the first
    /// follow-up (which replaces the "thinking…" message).
    async fn answer(&self, callback: &Recorded) -> Value {
        answer_on(&self.fake, callback).await
    }

    /// The first `n` follow-ups of an interaction, in order.
    async fn followups(&self, callback: &Recorded, n: usize) -> Vec<Recorded> {
        followups_on(&self.fake, callback, n).await
    }

    /// A member asks for a human straight away: their message, then "Talk to a human". Returns
    /// the new ticket's thread and packet post, and what the member was told.
    async fn open_ticket(&self, member: u64) -> OpenedTicket {
        let id = self
            .say(SUPPORT, member, "klarna declined my order at asos", &[])
            .await;
        let reply = self.fake.wait_for_reply_to(id, T).await;
        let pressed = self
            .press(&reply, member, &button(&reply.body, "Talk to a human"))
            .await;
        let told = self.answer(&pressed).await;
        self.ticket_posts(told).await
    }

    /// The thread and packet of the ticket a member was just told about.
    async fn ticket_posts(&self, told: Value) -> OpenedTicket {
        ticket_posts_on(&self.fake, told).await
    }

    /// Waits until message `id` in `channel` is deleted and the "I removed your message"
    /// warning is posted (and accepted) there; returns the warning.
    async fn removed_and_warned(&self, channel: u64, id: u64) -> Recorded {
        let route = format!("/channels/{channel}/messages/{id}");
        self.fake
            .wait_for_request(|r| r.is("DELETE", &route), T)
            .await;
        self.fake
            .wait_for_request(
                |r| {
                    r.is_message_to(channel)
                        && r.status == 200
                        && r.body["content"]
                            .as_str()
                            .is_some_and(|c| c.contains("I removed your message"))
                },
                T,
            )
            .await
    }

    /// Nothing answered `message_id` within a grace period after a later message was answered.
    async fn assert_no_reply_to(&self, message_id: u64) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let replies = self
            .fake
            .requests_matching(|r| r.replied_to() == Some(message_id));
        assert!(replies.is_empty(), "unexpected reply: {replies:#?}");
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
        let unknown = self.fake.unknown_requests();
        assert!(
            unknown.is_empty(),
            "requests to unknown routes: {unknown:#?}"
        );
        assert_every_message_mentions_none(&self.fake);
    }
}

/// What an interaction said: its response's message, or, when it deferred, the first
/// follow-up (which replaces the "thinking…" message).
async fn answer_on(fake: &FakeDiscord, callback: &Recorded) -> Value {
    match callback.body["type"].as_u64() {
        Some(4) => callback.body["data"].clone(),
        Some(5) => followups_on(fake, callback, 1).await.remove(0).body,
        _ => panic!("not a message answer: {:#}", callback.body),
    }
}

/// The first `n` follow-ups of an interaction, in order.
async fn followups_on(fake: &FakeDiscord, callback: &Recorded, n: usize) -> Vec<Recorded> {
    let token = callback.path.split('/').nth_back(1).unwrap().to_string();
    fake.wait_for_requests(
        n,
        |r| {
            r.is_for_interaction_token(&token)
                && r.method == "POST"
                && r.route().starts_with("/webhooks/")
        },
        T,
    )
    .await
}

/// The thread and packet of the ticket a member was just told about.
async fn ticket_posts_on(fake: &FakeDiscord, told: Value) -> OpenedTicket {
    let text = told["content"].as_str().unwrap_or_default().to_string();
    let thread = text
        .split("<#")
        .nth(1)
        .and_then(|r| r.split('>').next())
        .and_then(|id| id.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no thread link in {told:#}"));
    let packet = fake
        .wait_for_request(|r| r.is_message_to(thread) && r.status == 200, T)
        .await;
    OpenedTicket {
        thread,
        packet,
        told,
    }
}

/// Every message the bot sent or edited set its allowed mentions, parsing none.
fn assert_every_message_mentions_none(fake: &FakeDiscord) {
    let unset = fake.requests_matching(|r| {
        let body = if r.interaction_callback_id().is_some() {
            match r.body["type"].as_u64() {
                Some(4 | 7) => &r.body["data"],
                _ => return false,
            }
        } else if r.route().ends_with("/messages")
            || r.route().contains("/messages/")
            || (r.route().starts_with("/webhooks/") && r.method != "DELETE")
        {
            &r.body
        } else {
            return false;
        };
        matches!(r.method.as_str(), "POST" | "PATCH")
            && body["allowed_mentions"]["parse"] != json!([])
    });
    assert!(
        unset.is_empty(),
        "messages without allowed mentions: {unset:#?}"
    );
}

/// A ticket just opened on the fake: its thread's id, the packet's POST, and what the member
/// was told.
struct OpenedTicket {
    thread: u64,
    packet: Recorded,
    told: Value,
}

/// Every button custom id on a recorded bot message, with its label.
fn buttons(message: &Value) -> Vec<(String, String)> {
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

fn button(message: &Value, label: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no button {label:?} in {message:#}"))
        .1
}

fn assert_no_mentions(body: &Value) {
    let am = &body["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "{body:#}");
    assert!(
        am["users"].as_array().is_none_or(|u| u.is_empty()),
        "{body:#}"
    );
    assert!(
        am["roles"].as_array().is_none_or(|r| r.is_empty()),
        "{body:#}"
    );
    assert_eq!(am["replied_user"], json!(false), "{body:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_channel_message_gets_steps_buttons_and_no_mentions() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "klarna declined my order at asos, why??",
            &[],
        )
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    let body = &reply.body;
    assert_eq!(
        body["embeds"][0]["title"], "Your pay-later payment didn't go through",
        "{body:#}"
    );
    assert!(
        body["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("\n1. "),
        "{body:#}"
    );
    assert!(
        body["content"]
            .as_str()
            .unwrap()
            .contains("Where are you paying?"),
        "{body:#}"
    );
    let labels: Vec<String> = buttons(body).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels,
        [
            "In the Klarna app",
            "In a web browser",
            "In a store",
            "That fixed it",
            "Still stuck",
            "Talk to a human"
        ]
    );
    assert_no_mentions(body);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_press_moves_the_flow_and_another_members_press_is_refused() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(SUPPORT, ALICE, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;

    let refused = bot
        .press(&reply, BOB, &button(&reply.body, "In a web browser"))
        .await;
    assert_eq!(refused.body["type"], 4);
    assert_eq!(
        refused.body["data"]["flags"], 64,
        "must be ephemeral: {:#}",
        refused.body
    );
    assert!(
        refused.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("isn't your conversation"),
        "{:#}",
        refused.body
    );

    let next = bot
        .press(&reply, ALICE, &button(&reply.body, "In a web browser"))
        .await;
    assert_eq!(next.body["type"], 4, "{:#}", next.body);
    let data = &next.body["data"];
    assert!(
        data["content"]
            .as_str()
            .unwrap()
            .contains("Does it work with a different card"),
        "{data:#}"
    );
    assert!(
        buttons(data).iter().any(|(l, _)| l == "No, nothing works"),
        "{data:#}"
    );
    assert_no_mentions(data);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_limit_answers_ephemerally_and_bad_input_is_explained() {
    let bot = Bot::start(0).await;
    let opts = |p: &str| {
        json!([{"name": "limit", "type": 1, "options": [
            {"name": "purchase", "type": 3, "value": p},
            {"name": "balance", "type": 3, "value": "200"},
            {"name": "limit", "type": 3, "value": "500"},
        ]}])
    };
    let answer = bot.slash(ALICE, &[], "check", opts("400")).await;
    assert!(
        matches!(answer.body["type"].as_u64(), Some(4) | Some(5)),
        "{:#}",
        answer.body
    );
    let text = if answer.body["type"] == 4 {
        assert_eq!(answer.body["data"]["flags"], 64, "{:#}", answer.body);
        answer.body["data"]["content"].as_str().unwrap().to_string()
    } else {
        let token = answer.path.split('/').nth_back(1).unwrap().to_string();
        let follow = bot
            .fake
            .wait_for_request(
                |r| {
                    r.is_for_interaction_token(&token)
                        && r.method == "POST"
                        && r.route().starts_with("/webhooks/")
                },
                T,
            )
            .await;
        follow.body["content"].as_str().unwrap().to_string()
    };
    assert!(text.contains("Pay at least 100.00"), "{text}");
    let bad = bot.slash(ALICE, &[], "check", opts("-5")).await;
    assert_eq!(bad.body["data"]["flags"], 64, "{:#}", bad.body);
    assert!(
        bad.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("can't be negative"),
        "{:#}",
        bad.body
    );
    // A card number typed into a check is refused without being repeated.
    let card = bot
        .slash(ALICE, &[], "check", opts("4111-1111-1111-1111"))
        .await;
    let content = card.body["data"]["content"].as_str().unwrap();
    assert_eq!(card.body["data"]["flags"], 64, "{:#}", card.body);
    assert!(content.contains("that value"), "{content}");
    assert!(!holds_digits(content, "4111111111111111"), "{content}");
    assert!(!content.contains("4111"), "{content}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_and_other_channels_are_ignored_unless_mentioned() {
    let bot = Bot::start(0).await;
    let from_bot = fd::new_snowflake();
    let m = fd::guild_message(
        from_bot,
        bot.guild(),
        SUPPORT,
        BOB,
        "otherbot",
        "klarna declined my payment",
        true,
        &[],
    );
    bot.fake.dispatch("MESSAGE_CREATE", m).await;
    let elsewhere = bot
        .say(OTHER_CHANNEL, ALICE, "klarna declined my payment", &[])
        .await;
    let mention = format!("<@{}> klarna declined my payment", bot.bot_id());
    let mentioned = bot.say(OTHER_CHANNEL, BOB, &mention, &[bot.bot_id()]).await;
    let reply = bot.fake.wait_for_reply_to(mentioned, T).await;
    assert!(
        reply.body["content"]
            .as_str()
            .unwrap()
            .contains("Where are you paying?"),
        "{:#}",
        reply.body
    );
    bot.assert_no_reply_to(from_bot).await;
    bot.assert_no_reply_to(elsewhere).await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_and_role_mentions_in_member_text_never_ping() {
    let bot = Bot::start(0).await;
    let text = format!("@everyone @here <@&{SUPPORT_ROLE}> klarna declined me");
    let id = bot.say(SUPPORT, ALICE, &text, &[]).await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    assert_no_mentions(&reply.body);
    bot.stop().await;
}

/// "Talk to a human" opens a private thread (type 12, not invitable) in the escalation
/// channel whose first message is the packet: it pings exactly the support role and the
/// member (which adds them to the thread) and holds the topic with its confidence, the steps
/// shown with the member's answers, the checks run and their last messages. The member gets a
/// link to it. Before tickets, the request was a plain post in the escalation channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_to_a_human_opens_a_private_thread_whose_packet_pings_only_the_role_and_member() {
    let bot = Bot::start(0).await;
    let status = json!([{"name": "status", "type": 1, "options": []}]);
    bot.answer(&bot.slash(ALICE, &[], "check", status).await)
        .await;
    let id = bot
        .say(SUPPORT, ALICE, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    let step = bot
        .press(&reply, ALICE, &button(&reply.body, "In a web browser"))
        .await;
    let token = step.path.split('/').nth_back(1).unwrap().to_string();
    let next = bot
        .fake
        .interaction_original(&token)
        .expect("the next step");
    let pressed = bot
        .press_on(
            Some(bot.guild()),
            SUPPORT,
            &next,
            ALICE,
            &[],
            &button(&next, "Talk to a human"),
        )
        .await;
    let told = bot.answer(&pressed).await;
    let content = told["content"].as_str().unwrap();
    assert!(content.contains("opened a private ticket"), "{told:#}");
    assert_no_mentions(&told);

    let create = bot
        .fake
        .wait_for_request(
            |r| r.is("POST", &format!("/channels/{ESCALATION}/threads")),
            T,
        )
        .await;
    assert_eq!(create.body["type"], json!(12), "{:#}", create.body);
    assert_eq!(create.body["invitable"], json!(false), "{:#}", create.body);
    let thread = fd::id_of(&create.response["id"]).unwrap();
    assert!(content.contains(&format!("<#{thread}>")), "{told:#}");

    let packet = bot
        .fake
        .wait_for_request(|r| r.is_message_to(thread), T)
        .await;
    let body = &packet.body;
    let am = &body["allowed_mentions"];
    assert_eq!(am["parse"], json!([]), "{body:#}");
    assert_eq!(am["roles"], json!([SUPPORT_ROLE.to_string()]), "{body:#}");
    assert_eq!(am["users"], json!([ALICE.to_string()]), "{body:#}");
    let text = body["content"].as_str().unwrap();
    assert!(text.contains(&format!("<@&{SUPPORT_ROLE}>")), "{body:#}");
    assert!(text.contains(&format!("<@{ALICE}>")), "{body:#}");
    let embed = body["embeds"][0].to_string();
    for want in [
        "Your pay-later payment didn't go through",
        "confidence",
        "Where are you paying? → In a web browser",
        "klarna declined my order at asos",
        "/check status",
    ] {
        assert!(embed.contains(want), "{want:?} missing from {embed}");
    }
    let labels: Vec<String> = buttons(body).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Claim", "Hand back", "Close"], "{body:#}");

    let stored = bot
        .app
        .store()
        .ticket_by_thread(paymedic::engine::ChannelId(thread))
        .await
        .unwrap()
        .expect("the ticket knows its thread");
    assert_eq!(stored.status.as_str(), "open");
    assert_eq!(
        stored.packet_message.map(|m| m.get()),
        fd::id_of(&packet.response["id"])
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_close_4000_the_bot_resumes_and_the_conversation_carries_on() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(SUPPORT, ALICE, "over my klarna spending limit again", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    bot.fake.close_session(4000).await;
    bot.fake
        .wait_until("resumed", T, |f| f.resume_count() == 1)
        .await;
    let next = bot
        .press(&reply, ALICE, &button(&reply.body, "Yes, it's bigger"))
        .await;
    assert!(
        next.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Do you have other Klarna payments open"),
        "{:#}",
        next.body
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_gets_one_notice_not_a_reply_each() {
    let bot = Bot::start(60_000).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(
            bot.say(SUPPORT, ALICE, "klarna declined my payment help", &[])
                .await,
        );
    }
    // Exactly two answers: one reply, and one notice.
    let answered = bot
        .fake
        .wait_for_requests(2, |r| r.is_message_to(SUPPORT), T)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = bot.fake.requests_matching(|r| r.is_message_to(SUPPORT));
    assert_eq!(all.len(), 2, "{all:#?}");
    let texts: Vec<String> = answered
        .iter()
        .map(|r| r.body["content"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Where are you paying?")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("a moment")), "{texts:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_is_refused_on_the_server_for_non_moderators() {
    let bot = Bot::start(0).await;
    let opts = json!([{"name": "text", "type": 3, "value": "klarna declined me"}]);
    let refused = bot.slash(BOB, &[], "explain", opts.clone()).await;
    assert_eq!(refused.body["data"]["flags"], 64, "{:#}", refused.body);
    assert!(
        refused.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("moderators"),
        "{:#}",
        refused.body
    );
    let allowed = bot.slash(ALICE, &[MOD_ROLE], "explain", opts).await;
    let text = allowed.body["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.contains("decision:    answer as payment_declined"),
        "{:#}",
        allowed.body
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_is_refused_on_the_server_for_non_moderators() {
    let bot = Bot::start(0).await;
    // Neither a member nor the support role may reload: moderators only.
    for roles in [&[][..], &[SUPPORT_ROLE][..]] {
        let refused = bot.slash(BOB, roles, "reload", json!([])).await;
        assert_eq!(refused.body["data"]["flags"], 64, "{:#}", refused.body);
        let text = refused.body["data"]["content"].as_str().unwrap_or_default();
        assert!(text.contains("moderators"), "{:#}", refused.body);
    }
    assert_eq!(bot.app.generations(), 1);
    let allowed = bot.slash(MOD, &[MOD_ROLE], "reload", json!([])).await;
    // Ephemeral, answered at once or (compiling the pack took a while) deferred first.
    assert_eq!(allowed.body["data"]["flags"], 64, "{:#}", allowed.body);
    let answer = bot.answer(&allowed).await;
    let text = answer["content"].as_str().unwrap_or_default();
    // This bot runs the built-in pack: nothing to re-read there, and it says so.
    assert!(text.contains("built-in"), "{answer:#}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_dm_gets_the_short_menu_and_channel_chatter_gets_nothing() {
    let bot = Bot::start(0).await;
    let chatter = bot
        .say(SUPPORT, BOB, "limited edition drop tomorrow", &[])
        .await;
    let dm = fd::new_snowflake();
    bot.fake
        .dispatch(
            "MESSAGE_CREATE",
            fd::dm_message(
                dm,
                1_300_000_000_000_000_099,
                ALICE,
                "alice",
                "limited edition drop tomorrow",
            ),
        )
        .await;
    let reply = bot.fake.wait_for_reply_to(dm, T).await;
    assert!(
        reply.body["content"]
            .as_str()
            .unwrap()
            .contains("I help when"),
        "{:#}",
        reply.body
    );
    assert!(buttons(&reply.body).len() >= 10, "{:#}", reply.body);
    bot.assert_no_reply_to(chatter).await;
    bot.stop().await;
}

/// A config for guild `guild` in a temp folder named after `test`.
fn binary_config(test: &str, guild: u64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("paymedic-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\nguild_ids = [{guild}]\nsupport_channels = [{SUPPORT}]\nescalation_channel = {ESCALATION}\n"
        ),
    )
    .unwrap();
    config
}

/// `paymedic register` registers the slash commands over REST and exits, without opening a
/// gateway session (with several processes, a deploy runs it once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paymedic_register_registers_the_commands_without_the_gateway() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let guild = fake.options().guild_ids[0];
    let config = binary_config("register", guild);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["register", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "not-a-real-token")
        .env("DISCORD_API_BASE", fake.api_base())
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("commands in 1 guild(s)"), "{stdout}");
    assert!(!stdout.contains("not-a-real-token") && !stderr.contains("not-a-real-token"));
    let names: Vec<String> = fake
        .registered_commands(Some(guild))
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "troubleshoot"), "{names:?}");
    assert_eq!(fake.gateway_connection_count(), 0);
}

/// The real `paymedic run` against `api_base`, with a config for guild `guild` in a temp
/// folder named after `test`. Stderr is piped, and RUST_LOG unset so the default filter applies.
fn spawn_binary(test: &str, api_base: &str, guild: u64) -> tokio::process::Child {
    let config = binary_config(test, guild);
    tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "not-a-real-token")
        .env("DISCORD_API_BASE", api_base)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The real binary: close code 4014 gives the admin the exact fix and a non-zero exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4014_exits_non_zero_with_the_intents_fix() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let child = spawn_binary("4014", &fake.api_base(), fake.options().guild_ids[0]);
    fake.wait_for_ready(T).await;
    fake.close_session(4014).await;
    let out = tokio::time::timeout(T, child.wait_with_output())
        .await
        .expect("exits")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("MESSAGE CONTENT INTENT"), "{stderr}");
    assert!(stderr.contains("4014"), "{stderr}");
    assert!(
        !stderr.contains("not-a-real-token"),
        "the token must never be printed: {stderr}"
    );
}

/// The real binary: a missing token or config names what is missing.
#[test]
fn run_without_token_or_config_says_what_is_missing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", "config.example.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DISCORD_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("DISCORD_TOKEN"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", "/nonexistent/paymedic.toml"])
        .env("DISCORD_TOKEN", "x")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot read config /nonexistent/paymedic.toml"),
        "{err}"
    );
}

/// Whether `text` holds a run of `digits` (the test card number, separators removed).
fn holds_digits(text: &str, digits: &str) -> bool {
    let only: String = text.chars().filter(char::is_ascii_digit).collect();
    only.contains(digits)
}

/// A card number is removed and the warning goes out on its own, mentioning only the member:
/// a reply to the deleted message is refused by Discord (and by the fake), so it would never
/// arrive. Before the fix the warning replied to the deleted message and was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_is_removed_and_the_member_is_told_without_a_reply_to_it() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "my card 4111 1111 1111 1111 123 keeps failing",
            &[],
        )
        .await;
    let warning = bot.removed_and_warned(SUPPORT, id).await;
    let body = &warning.body;
    let content = body["content"].as_str().unwrap();
    assert!(content.starts_with(&format!("<@{ALICE}>")), "{body:#}");
    assert!(content.contains("I removed your message"), "{body:#}");
    assert!(content.contains("card details"), "{body:#}");
    assert!(!content.contains("delete it now"), "{body:#}");
    assert!(!holds_digits(content, "4111111111111111"), "{body:#}");
    assert_eq!(warning.replied_to(), None, "{body:#}");
    assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body:#}");
    assert_eq!(
        body["allowed_mentions"]["users"],
        json!([ALICE.to_string()]),
        "{body:#}"
    );
    assert!(
        body["allowed_mentions"]["roles"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{body:#}"
    );
    // Nothing failed: no reply to the deleted message was attempted.
    let refused = bot.fake.requests_matching(|r| r.status >= 400);
    assert!(refused.is_empty(), "{refused:#?}");
    bot.stop().await;
}

/// Outside the support channels the bot answers nothing, but it still removes a card number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_in_any_channel_is_removed() {
    let bot = Bot::start(0).await;
    let chatter = bot
        .say(OTHER_CHANNEL, BOB, "klarna declined my order", &[])
        .await;
    let id = bot
        .say(
            OTHER_CHANNEL,
            ALICE,
            "pay me back: 5555 5555 5555 4444 exp 08/27",
            &[],
        )
        .await;
    bot.removed_and_warned(OTHER_CHANNEL, id).await;
    bot.assert_no_reply_to(chatter).await;
    bot.stop().await;
}

/// A card number added by editing a message is removed too. (Found in review: only new
/// messages were checked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_added_by_an_edit_is_removed() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(
            OTHER_CHANNEL,
            ALICE,
            "anyone know a good sneaker store",
            &[],
        )
        .await;
    let edit = json!({
        "id": id.to_string(),
        "channel_id": OTHER_CHANNEL.to_string(),
        "guild_id": bot.guild().to_string(),
        "author": fd::user_json(ALICE, "member", false),
        "content": "anyone know a good sneaker store? card 4111-1111-1111-1111",
        "edited_timestamp": fd::now(),
    });
    bot.fake.dispatch("MESSAGE_UPDATE", edit).await;
    let warning = bot.removed_and_warned(OTHER_CHANNEL, id).await;
    let content = warning.body["content"].as_str().unwrap();
    assert!(content.contains("I removed your message"), "{content}");
    assert!(!holds_digits(content, "4111111111111111"), "{content}");
    bot.stop().await;
}

/// Without Manage Messages the delete is refused; the warning then says the message is still
/// there and asks the member to delete it, replying to it without failing if it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_manage_messages_the_warning_says_the_message_is_still_there() {
    let bot = Bot::start(0).await;
    bot.fake.fail_next(
        "DELETE",
        "/messages/",
        403,
        json!({"message": "Missing Permissions", "code": 50013}),
    );
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "cvv is 123 and card 5555-5555-5555-4444",
            &[],
        )
        .await;
    let warning = bot.fake.wait_for_reply_to(id, T).await;
    let body = &warning.body;
    let content = body["content"].as_str().unwrap();
    assert!(content.contains("couldn't remove it"), "{body:#}");
    assert!(content.contains("delete it now"), "{body:#}");
    assert!(!content.contains("I removed"), "{body:#}");
    assert_eq!(
        body["message_reference"]["fail_if_not_exists"],
        json!(false),
        "{body:#}"
    );
    assert!(!holds_digits(content, "5555555555554444"), "{body:#}");
    bot.stop().await;
}

/// The card check runs before the cooldown: a member who was just answered and then posts a
/// card number at once gets it removed and a warning, not "you're sending messages quickly".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_right_after_an_answer_is_still_removed() {
    let bot = Bot::start(60_000).await;
    let first = bot
        .say(SUPPORT, ALICE, "klarna declined my order", &[])
        .await;
    bot.fake.wait_for_reply_to(first, T).await;
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "my card is 4111 1111 1111 1111 why declined",
            &[],
        )
        .await;
    let warning = bot.removed_and_warned(SUPPORT, id).await;
    assert_eq!(warning.status, 200);
    let notices = bot.fake.requests_matching(|r| {
        r.body["content"]
            .as_str()
            .is_some_and(|c| c.contains("sending messages quickly"))
    });
    assert!(notices.is_empty(), "{notices:#?}");
    bot.stop().await;
}

/// A token Discord rejects (HTTP 401 on the first REST call) ends `run` at once with the token
/// message, before any gateway connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_fast_with_the_token_message() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    fake.fail_next(
        "GET",
        "/users/@me",
        401,
        json!({"message": "401: Unauthorized", "code": 0}),
    );
    let app = Arc::new(App::new(crate::common::engine(), Config::default()));
    let settings = DiscordConfig {
        escalation_channel: Some(ChannelId(ESCALATION)),
        ..DiscordConfig::default()
    };
    let result = tokio::time::timeout(
        T,
        discord::run(
            app,
            settings,
            "rejected-token".into(),
            Some(fake.api_base()),
            std::future::pending(),
        ),
    )
    .await
    .expect("run returns instead of retrying");
    assert!(matches!(result, Err(RunError::InvalidToken)), "{result:?}");
    assert_eq!(fake.identify_count(), 0);
}

/// The real binary against a Discord that can't be reached: it logs each attempt with a
/// growing wait, and SIGTERM ends it within a few seconds (before the fix it never exited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_run_while_discord_is_unreachable() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = spawn_binary("unreachable", &format!("http://127.0.0.1:{port}"), 1);
    let mut stderr = child.stderr.take().unwrap();
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let deadline = std::time::Instant::now() + T;
    while !log.lock().unwrap().contains("attempt=2") {
        assert!(
            std::time::Instant::now() < deadline,
            "no second attempt logged: {}",
            log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("exits within 5 s of SIGTERM")
        .unwrap();
    let _ = reader.await;
    let log = log.lock().unwrap().clone();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("retry_in_s=1") && log.contains("retry_in_s=2"),
        "{log}"
    );
    assert!(!log.contains("not-a-real-token"), "{log}");
}

/// The real binary, mentioned in a channel: it answers, and its log carries no poise
/// "Recognized prefix … but didn't recognize command name" warning (which also quoted the
/// member's message) and no colour codes when stderr is not a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_is_answered_without_noise_in_the_log() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let child = spawn_binary("mention", &fake.api_base(), fake.options().guild_ids[0]);
    fake.wait_for_ready(T).await;
    let bot_id = fake.options().bot_user_id;
    let id = fd::new_snowflake();
    let msg = fd::guild_message(
        id,
        fake.options().guild_ids[0],
        OTHER_CHANNEL,
        ALICE,
        "member",
        &format!("<@{bot_id}> klarna declined my order"),
        false,
        &[bot_id],
    );
    fake.dispatch("MESSAGE_CREATE", msg).await;
    fake.wait_for_reply_to(id, T).await;
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::time::timeout(T, child.wait_with_output())
        .await
        .expect("exits")
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("Recognized prefix"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a log that is not a terminal: {log}"
    );
    assert!(!log.contains("klarna declined my order"), "{log}");
}

/// Whether a recorded request is a message to `channel` that Discord accepted.
fn posted_to(r: &Recorded, channel: u64) -> bool {
    r.is_message_to(channel) && r.status == 200
}

fn text_of(body: &Value) -> String {
    body["content"].as_str().unwrap_or_default().to_string()
}

/// Claim edits the packet in place; Close opens a modal, and its submit archives and locks the
/// thread (never deletes it), posts the transcript as a file in the log channel (masked: the
/// card number in the reason never appears), and asks the member "Did we solve it?" by DM.
/// Their "Yes" is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_edits_the_packet_and_closing_archives_posts_the_transcript_and_asks_by_dm() {
    let bot = Bot::start_with(Setup {
        log_channel: Some(LOG),
        ..Setup::default()
    })
    .await;
    let g = Some(bot.guild());
    let t = bot.open_ticket(ALICE).await;
    let packet_id = fd::id_of(&t.packet.response["id"]).unwrap();
    let packet = &t.packet.response;

    let claimed = bot
        .press_on(
            g,
            t.thread,
            packet,
            MOD,
            &[MOD_ROLE],
            &button(packet, "Claim"),
        )
        .await;
    let said = bot.answer(&claimed).await;
    assert_eq!(said["flags"].as_u64().unwrap_or(0) & 64, 64, "{said:#}");
    let edit_route = format!("/channels/{}/messages/{packet_id}", t.thread);
    let edit = bot
        .fake
        .wait_for_request(|r| r.is("PATCH", &edit_route), T)
        .await;
    assert_eq!(edit.status, 200, "{:#}", edit.response);
    let embed = edit.body["embeds"][0].to_string();
    assert!(embed.contains(&format!("Claimed by <@{MOD}>")), "{embed}");
    let labels: Vec<String> = buttons(&edit.body).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Unclaim", "Hand back", "Close"]);
    assert_no_mentions(&edit.body);

    let packet = edit.response.clone();
    let close = button(&packet, "Close");
    let modal = bot
        .press_on(g, t.thread, &packet, MOD, &[MOD_ROLE], &close)
        .await;
    assert_eq!(modal.body["type"], json!(9), "{:#}", modal.body);
    assert_eq!(modal.body["data"]["custom_id"], json!(close));
    let closed = bot
        .submit_close(
            t.thread,
            MOD,
            &[MOD_ROLE],
            &close,
            "bank unblocked card 4111 1111 1111 1111",
        )
        .await;
    let said = text_of(&bot.answer(&closed).await);
    assert!(said.contains("closed"), "{said}");

    let thread_route = format!("/channels/{}", t.thread);
    let archive = bot
        .fake
        .wait_for_request(|r| r.is("PATCH", &thread_route), T)
        .await;
    assert_eq!(archive.body["archived"], json!(true), "{:#}", archive.body);
    assert_eq!(archive.body["locked"], json!(true), "{:#}", archive.body);
    assert_eq!(archive.status, 200);
    let log = bot.fake.wait_for_request(|r| posted_to(r, LOG), T).await;
    assert_eq!(log.files.len(), 1, "{log:#?}");
    assert_eq!(log.files[0].filename, "ticket-1.md");
    let transcript = String::from_utf8(log.files[0].data.clone()).unwrap();
    assert!(transcript.contains("Ticket #1"), "{transcript}");
    assert!(
        transcript.contains("klarna declined my order at asos"),
        "{transcript}"
    );
    assert!(
        !holds_digits(&transcript, "4111111111111111"),
        "{transcript}"
    );
    assert_no_mentions(&log.body);

    let open_dm = bot
        .fake
        .wait_for_request(|r| r.is("POST", "/users/@me/channels"), T)
        .await;
    assert_eq!(open_dm.body["recipient_id"], json!(ALICE.to_string()));
    let dm = fd::id_of(&open_dm.response["id"]).unwrap();
    let asked = bot.fake.wait_for_request(|r| posted_to(r, dm), T).await;
    assert!(
        text_of(&asked.body).contains("Did we solve"),
        "{:#}",
        asked.body
    );
    assert_no_mentions(&asked.body);
    let note = bot
        .fake
        .wait_for_request(
            |r| posted_to(r, t.thread) && text_of(&r.body).contains("Closed by"),
            T,
        )
        .await;
    assert!(
        !holds_digits(&text_of(&note.body), "4111111111111111"),
        "{:#}",
        note.body
    );
    assert!(
        !holds_digits(&text_of(&log.body), "4111111111111111"),
        "{:#}",
        log.body
    );
    // Everything was posted before the thread was locked, and nothing deleted it.
    assert!(bot.fake.requests_matching(|r| r.status >= 400).is_empty());
    assert!(bot
        .fake
        .requests_matching(|r| r.is("DELETE", &thread_route))
        .is_empty());
    let thread = bot.fake.channel(t.thread).unwrap();
    assert_eq!(thread["thread_metadata"]["archived"], json!(true));

    let yes = button(&asked.response, "Yes");
    let thanks = bot
        .press_on(None, dm, &asked.response, ALICE, &[], &yes)
        .await;
    assert!(
        text_of(&bot.answer(&thanks).await).contains("Thanks for telling us"),
        "{:#}",
        thanks.body
    );
    let feedback = bot.app.store().feedback().await.unwrap();
    assert_eq!(feedback, vec![(paymedic::engine::TicketId(1), true)]);
    bot.stop().await;
}

/// A member whose DMs are closed (Discord answers 403, 50007) is asked "Did we solve it?" in
/// the ticket's thread, before it is locked. `/ticket close` in the thread needs no number,
/// and `/ticket reopen` unarchives and unlocks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_closed_dms_the_rating_is_asked_in_the_thread_before_it_is_locked() {
    let bot = Bot::start(0).await;
    bot.fake.close_dms(ALICE);
    let t = bot.open_ticket(ALICE).await;
    let close = json!([{"name": "close", "type": 1, "options": [
        {"name": "reason", "type": 3, "value": "sorted"}
    ]}]);
    let closed = bot
        .slash_in(t.thread, MOD, &[MOD_ROLE], "ticket", close)
        .await;
    assert!(text_of(&bot.answer(&closed).await).contains("closed"));
    let thread_route = format!("/channels/{}", t.thread);
    let archive = bot
        .fake
        .wait_for_request(|r| r.is("PATCH", &thread_route), T)
        .await;
    let refused = bot.fake.wait_for_request(|r| r.status == 403, T).await;
    assert_eq!(refused.response["code"], json!(50007));
    let asked = bot
        .fake
        .wait_for_request(
            |r| posted_to(r, t.thread) && text_of(&r.body).contains("Did we solve"),
            T,
        )
        .await;
    assert!(asked.index < archive.index, "asked after the lock");
    assert_no_mentions(&asked.body);
    let no = button(&asked.response, "No");
    let thanks = bot
        .press_on(
            Some(bot.guild()),
            t.thread,
            &asked.response,
            ALICE,
            &[],
            &no,
        )
        .await;
    assert!(text_of(&bot.answer(&thanks).await).contains("Thanks"));
    assert_eq!(
        bot.app.store().feedback().await.unwrap(),
        vec![(paymedic::engine::TicketId(1), false)]
    );

    let reopen = json!([{"name": "reopen", "type": 1, "options": []}]);
    let reopened = bot
        .slash_in(t.thread, MOD, &[MOD_ROLE], "ticket", reopen)
        .await;
    assert!(text_of(&bot.answer(&reopened).await).contains("open again"));
    let thread = bot.fake.channel(t.thread).unwrap();
    assert_eq!(thread["thread_metadata"]["archived"], json!(false));
    assert_eq!(thread["thread_metadata"]["locked"], json!(false));
    bot.stop().await;
}

/// Hand back closes the ticket and returns the member to the bot: their next message in the
/// support channel is answered again. While the ticket was open it was not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_back_returns_the_member_to_the_bot() {
    let bot = Bot::start(0).await;
    let t = bot.open_ticket(ALICE).await;
    let seen = bot.app.tally().total();
    let quiet = bot
        .say(SUPPORT, ALICE, "klarna declined my order again", &[])
        .await;
    // Events are handled concurrently: the hand-back press must not overtake the message
    // sent while the ticket was open, so wait until the bot has settled it.
    let settled = tokio::time::Instant::now() + T;
    while bot.app.tally().total() == seen {
        assert!(
            tokio::time::Instant::now() < settled,
            "the message was never settled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = button(&t.packet.response, "Hand back");
    let handed = bot
        .press_on(
            Some(bot.guild()),
            t.thread,
            &t.packet.response,
            MOD,
            &[MOD_ROLE],
            &back,
        )
        .await;
    assert!(text_of(&bot.answer(&handed).await).contains("back with the bot"));
    let thread_route = format!("/channels/{}", t.thread);
    bot.fake
        .wait_for_request(|r| r.is("PATCH", &thread_route), T)
        .await;
    let id = bot
        .say(SUPPORT, ALICE, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    assert!(
        text_of(&reply.body).contains("Where are you paying?"),
        "{:#}",
        reply.body
    );
    bot.assert_no_reply_to(quiet).await;
    bot.stop().await;
}

/// Staff actions are checked on the server: a member's `/ticket close` is refused, and their
/// press on Claim or Close is refused ephemerally at the press, with no modal opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_staff_are_refused_at_the_command_and_at_the_press_before_any_modal() {
    let bot = Bot::start(0).await;
    let t = bot.open_ticket(ALICE).await;
    let close = json!([{"name": "close", "type": 1, "options": [
        {"name": "reason", "type": 3, "value": "done"},
        {"name": "ticket", "type": 4, "value": 1}
    ]}]);
    let refused = bot.slash_in(SUPPORT, BOB, &[], "ticket", close).await;
    let said = bot.answer(&refused).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(text_of(&said).contains("moderators"), "{said:#}");
    let g = Some(bot.guild());
    let packet = &t.packet.response;
    for (who, label) in [(BOB, "Claim"), (BOB, "Close"), (ALICE, "Close")] {
        let press = bot
            .press_on(g, t.thread, packet, who, &[], &button(packet, label))
            .await;
        assert_eq!(press.body["type"], json!(4), "{label}: {:#}", press.body);
        assert_eq!(press.body["data"]["flags"], json!(64), "{:#}", press.body);
    }
    assert!(bot
        .fake
        .requests_matching(|r| r.body["type"] == json!(9))
        .is_empty());
    let ticket = bot
        .app
        .store()
        .ticket(paymedic::engine::TicketId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.status.as_str(), "open");
    assert_eq!(ticket.claimed_by, None);
    bot.stop().await;
}

/// Two "Talk to a human" presses at the same instant make one thread: one answer has the new
/// ticket, the other a link to the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_presses_at_once_open_one_thread() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(SUPPORT, ALICE, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    let human = button(&reply.body, "Talk to a human");
    let (a, b) = tokio::join!(
        bot.press(&reply, ALICE, &human),
        bot.press(&reply, ALICE, &human)
    );
    let (a, b) = tokio::join!(bot.answer(&a), bot.answer(&b));
    let texts = [text_of(&a), text_of(&b)];
    let creates = format!("/channels/{ESCALATION}/threads");
    let thread = bot
        .fake
        .wait_for_request(|r| r.is("POST", &creates), T)
        .await;
    let link = format!("<#{}>", fd::id_of(&thread.response["id"]).unwrap());
    assert!(
        texts.iter().all(|t| t.contains(&link)),
        "{texts:#?} should both link {link}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("opened a private ticket"))
            .count(),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("already have an open ticket"))
            .count(),
        1,
        "{texts:#?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.fake.count_matching(|r| r.is("POST", &creates)), 1);
    bot.stop().await;
}

/// A moderator's `/escalate member reason` opens a ticket (its packet names who escalated and
/// why, and the member is told by DM); so does "Escalate to support" on a member's message.
/// `/ticket list` shows both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalate_and_the_message_command_open_tickets() {
    let bot = Bot::start(0).await;
    let id = fd::new_snowflake();
    let i = fd::slash_interaction(
        id,
        &format!("tok{id}"),
        Some(bot.guild()),
        SUPPORT,
        MOD,
        &[MOD_ROLE],
        "escalate",
        json!([
            {"name": "member", "type": 6, "value": ALICE.to_string()},
            {"name": "reason", "type": 3, "value": "declines every day"}
        ]),
    );
    let i = fd::with_resolved_user(i, ALICE, "alice");
    let done = bot.dispatch_interaction(id, i).await;
    let said = bot.answer(&done).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(text_of(&said).contains("Opened ticket #1"), "{said:#}");
    let first = bot.ticket_posts(said).await;
    let embed = first.packet.body["embeds"][0].to_string();
    assert!(embed.contains(&format!("<@{MOD}>")), "{embed}");
    assert!(embed.contains("declines every day"), "{embed}");
    let dm = bot
        .fake
        .wait_for_request(|r| r.is("POST", "/users/@me/channels"), T)
        .await;
    assert_eq!(dm.body["recipient_id"], json!(ALICE.to_string()));

    let msg_id = fd::new_snowflake();
    let msg = fd::guild_message(
        msg_id,
        bot.guild(),
        SUPPORT,
        BOB,
        "bob",
        "nothing works and nobody helps",
        false,
        &[],
    );
    let id = fd::new_snowflake();
    let i = fd::message_command_interaction(
        id,
        &format!("tok{id}"),
        Some(bot.guild()),
        SUPPORT,
        MOD,
        &[MOD_ROLE],
        "Escalate to support",
        msg,
    );
    let done = bot.dispatch_interaction(id, i).await;
    let said = bot.answer(&done).await;
    assert!(text_of(&said).contains("Opened ticket #2"), "{said:#}");
    let second = bot.ticket_posts(said).await;
    assert!(text_of(&second.packet.body).contains(&format!("<@{BOB}>")));
    let embed = second.packet.body["embeds"][0].to_string();
    assert!(embed.contains("nothing works and nobody helps"), "{embed}");

    let list = json!([{"name": "list", "type": 1, "options": []}]);
    let listed = bot
        .slash_in(SUPPORT, MOD, &[MOD_ROLE], "ticket", list)
        .await;
    let text = text_of(&bot.answer(&listed).await);
    assert!(text.contains("#1") && text.contains("#2"), "{text}");
    assert!(text.contains(&format!("<#{}>", first.thread)), "{text}");
    bot.stop().await;
}

/// When the thread can't be made (Discord refuses with 403), the member is told, the
/// moderators get a plain request in the escalation channel (pinging only the support role),
/// and the ticket is failed: none is left open without a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_thread_fails_the_ticket_and_posts_a_plain_request() {
    let bot = Bot::start(0).await;
    bot.fake.fail_next(
        "POST",
        "/threads",
        403,
        json!({"message": "Missing Permissions", "code": 50013}),
    );
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "my klarna account is locked for a security review",
            &[],
        )
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    let pressed = bot
        .press(&reply, ALICE, &button(&reply.body, "Talk to a human"))
        .await;
    let told = text_of(&bot.answer(&pressed).await);
    assert!(told.contains("couldn't open a private ticket"), "{told}");
    let post = bot
        .fake
        .wait_for_request(|r| posted_to(r, ESCALATION), T)
        .await;
    let body = &post.body;
    assert!(
        text_of(body).contains(&format!("<@&{SUPPORT_ROLE}>")),
        "{body:#}"
    );
    assert_eq!(body["allowed_mentions"]["parse"], json!([]), "{body:#}");
    assert_eq!(
        body["allowed_mentions"]["roles"],
        json!([SUPPORT_ROLE.to_string()]),
        "{body:#}"
    );
    let embed = body["embeds"][0].to_string();
    assert!(embed.contains(&format!("<@{ALICE}>")), "{embed}");
    assert!(embed.contains("Account on hold"), "{embed}");
    assert!(
        embed.contains(&format!("/channels/{}/{SUPPORT}/{id}", bot.guild())),
        "{embed}"
    );
    let ticket = bot
        .app
        .store()
        .ticket(paymedic::engine::TicketId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ticket.status.as_str(), "failed");
    assert!(!bot
        .app
        .is_handed_off(paymedic::engine::UserKey::new(
            paymedic::engine::GuildId(bot.guild()),
            paymedic::engine::MemberId(ALICE)
        ))
        .await
        .unwrap());
    bot.stop().await;
}

/// `/troubleshoot` sends every piece of a long answer, not only the first (the rest were
/// dropped), with the buttons on the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn troubleshoot_sends_every_text_piece() {
    let long = "Check each thing below in turn. ".repeat(62);
    let pack = crate::common::pack().replacen(
        "ask = \"Where are you paying?\"",
        &format!("say = \"{}\"\nask = \"Where are you paying?\"", long.trim()),
        1,
    );
    let engine = Engine::load("long.toml", &pack).expect("the long pack loads");
    let bot = Bot::start_with(Setup {
        engine: Some(engine),
        ..Setup::default()
    })
    .await;
    let topic = json!([{"name": "topic", "type": 4, "value": 0}]);
    let first = bot.slash(ALICE, &[], "troubleshoot", topic).await;
    assert_eq!(first.body["type"], json!(4), "{:#}", first.body);
    let rest = bot.followups(&first, 1).await;
    let all = format!("{}{}", text_of(&first.body["data"]), text_of(&rest[0].body));
    assert!(all.contains("Check each thing below"), "{all}");
    assert!(all.contains("Where are you paying?"), "{all}");
    assert!(buttons(&rest[0].body)
        .iter()
        .any(|(l, _)| l == "Talk to a human"));
    bot.stop().await;
}

/// Inside a ticket's thread, messages are kept for the transcript and never answered by the
/// bot; a card number there is still removed, warned about, and kept as removed. The member's
/// `/troubleshoot` meanwhile gets only an ephemeral pointer to the ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_a_ticket_thread_are_kept_not_answered_and_cards_removed() {
    let bot = Bot::start(0).await;
    let t = bot.open_ticket(ALICE).await;
    let hello = bot
        .say(t.thread, ALICE, "klarna declined my order, help", &[])
        .await;
    let card = bot
        .say(t.thread, ALICE, "my card is 4111 1111 1111 1111", &[])
        .await;
    bot.removed_and_warned(t.thread, card).await;
    let pointer = bot.slash(ALICE, &[], "troubleshoot", json!([])).await;
    let said = bot.answer(&pointer).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(
        text_of(&said).contains(&format!("<#{}>", t.thread)),
        "{said:#}"
    );
    bot.assert_no_reply_to(hello).await;
    let events = bot
        .app
        .store()
        .events(paymedic::engine::TicketId(1))
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"message") && kinds.contains(&"removed"),
        "{kinds:?}"
    );
    assert!(events
        .iter()
        .all(|e| !holds_digits(e.text.as_deref().unwrap_or(""), "4111111111111111")));
    let _ = t.told;
    bot.stop().await;
}

/// `/forget-me` asks first; the member's own press deletes their data, closes their open
/// ticket (archiving its thread) and says what was deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_me_confirms_then_deletes_and_closes_the_open_ticket() {
    let bot = Bot::start(0).await;
    let t = bot.open_ticket(ALICE).await;
    let asked = bot.slash(ALICE, &[], "forget-me", json!([])).await;
    let token = asked.path.split('/').nth_back(1).unwrap().to_string();
    let confirm = bot.fake.interaction_original(&token).expect("the question");
    assert_eq!(confirm["flags"], json!(64), "{confirm:#}");
    let delete = button(&confirm, "Delete my data");
    let g = Some(bot.guild());
    let other = bot.press_on(g, SUPPORT, &confirm, BOB, &[], &delete).await;
    assert!(text_of(&bot.answer(&other).await).contains("isn't your"));
    let done = bot
        .press_on(g, SUPPORT, &confirm, ALICE, &[], &delete)
        .await;
    let said = text_of(&bot.answer(&done).await);
    assert!(
        said.contains("Done") && said.contains("closed your open ticket"),
        "{said}"
    );
    let thread = bot.fake.channel(t.thread).unwrap();
    assert_eq!(thread["thread_metadata"]["archived"], json!(true));
    let stored = bot
        .app
        .store()
        .ticket(paymedic::engine::TicketId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.member, paymedic::engine::MemberId::FORGOTTEN);
    bot.stop().await;
}

/// A ticket a crash left `Opening` (committed, no thread) gets its thread and packet at
/// start-up, before any event is handled: none stays open without a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_left_half_open_gets_its_thread_at_start_up() {
    let bot = Bot::start_with(Setup {
        half_open: true,
        ..Setup::default()
    })
    .await;
    let creates = format!("/channels/{ESCALATION}/threads");
    let create = bot
        .fake
        .wait_for_request(|r| r.is("POST", &creates), T)
        .await;
    let thread = fd::id_of(&create.response["id"]).unwrap();
    let packet = bot.fake.wait_for_request(|r| posted_to(r, thread), T).await;
    assert!(packet.body["embeds"][0]
        .to_string()
        .contains("left half-open"));
    let deadline = std::time::Instant::now() + T;
    loop {
        let t = bot
            .app
            .store()
            .ticket(paymedic::engine::TicketId(1))
            .await
            .unwrap()
            .unwrap();
        if t.status.as_str() == "open" {
            assert_eq!(t.thread, Some(paymedic::engine::ChannelId(thread)));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {t:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.stop().await;
}

/// Ticket timers as the periodic job carries them out: the SLA reminder pings only the
/// support role in the thread, the inactivity warning pings nobody, and auto-close archives
/// and locks the thread and tells the member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_remind_the_role_warn_and_auto_close_the_thread() {
    use paymedic::discord::outbox::Outbox;
    let bot = Bot::start(0).await;
    let t = bot.open_ticket(ALICE).await;
    let http = poise::serenity_prelude::HttpBuilder::new("not-a-real-token")
        .proxy(bot.fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let discord = bot.app.config().discord.clone().unwrap();
    let sends = tokio::sync::Semaphore::new(2);
    let out = Outbox::new(&http, &bot.app, &discord, &sends);
    let s = bot.app.config().tickets;
    let start = paymedic::app::now().0;
    let fire = |at: u64| {
        let app = bot.app.clone();
        async move {
            let fired = app
                .run_timers(paymedic::engine::Timestamp(start + at))
                .await
                .unwrap();
            assert_eq!(fired.len(), 1, "{fired:?}");
            fired.into_iter().next().unwrap()
        }
    };
    out.fired(&fire(s.sla_ms + 1_000).await).await;
    let sla = bot
        .fake
        .wait_for_request(
            |r| posted_to(r, t.thread) && text_of(&r.body).contains("nobody has claimed"),
            T,
        )
        .await;
    let am = &sla.body["allowed_mentions"];
    assert_eq!(
        am["roles"],
        json!([SUPPORT_ROLE.to_string()]),
        "{:#}",
        sla.body
    );
    assert!(
        am["users"].as_array().is_none_or(|u| u.is_empty()),
        "{:#}",
        sla.body
    );
    out.fired(&fire(s.auto_close_ms - s.warn_before_ms + 2_000).await)
        .await;
    let warned = bot
        .fake
        .wait_for_request(
            |r| posted_to(r, t.thread) && text_of(&r.body).contains("quiet"),
            T,
        )
        .await;
    assert_no_mentions(&warned.body);
    out.fired(&fire(s.auto_close_ms + 3_000).await).await;
    let thread = bot.fake.channel(t.thread).unwrap();
    assert_eq!(thread["thread_metadata"]["archived"], json!(true));
    assert_eq!(thread["thread_metadata"]["locked"], json!(true));
    let told = bot
        .fake
        .wait_for_request(|r| text_of(&r.body).contains("You're back with me"), T)
        .await;
    assert!(
        !text_of(&told.body).contains("Did we solve"),
        "no rating on auto-close"
    );
    bot.stop().await;
}

/// A store that fails every session read while `broken` is set, and otherwise is memory.
struct Flaky {
    broken: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl crate::support::hooked_store::Hook for Flaky {
    async fn before(&self, op: &'static str) -> paymedic::store::Result<()> {
        if op == "session" && self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(paymedic::store::StoreError::Backend("disk on fire".into()));
        }
        Ok(())
    }
}

/// When the store fails, nothing panics: a button press and a command are told privately that
/// something went wrong (and can try again), and a message is left unanswered, logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_is_told_privately_and_nothing_panics() {
    let store = Arc::new(crate::support::hooked_store::Hooked::new(Flaky {
        broken: std::sync::atomic::AtomicBool::new(false),
    }));
    let bot = Bot::start_with(Setup {
        store: Some(store.clone()),
        ..Setup::default()
    })
    .await;
    let id = bot
        .say(SUPPORT, ALICE, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    store
        .hook
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let press = bot
        .press(&reply, ALICE, &button(&reply.body, "In a web browser"))
        .await;
    let said = bot.answer(&press).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(text_of(&said).contains("something went wrong"), "{said:#}");
    let cmd = bot.slash(ALICE, &[], "troubleshoot", json!([])).await;
    let said = bot.answer(&cmd).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(text_of(&said).contains("something went wrong"), "{said:#}");
    let quiet = bot
        .say(SUPPORT, ALICE, "klarna declined my order again", &[])
        .await;
    bot.assert_no_reply_to(quiet).await;
    store
        .hook
        .broken
        .store(false, std::sync::atomic::Ordering::SeqCst);
    bot.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The scam shield
// ---------------------------------------------------------------------------------------------

/// A member's message with a display name (server nickname) and roles.
async fn say_as(bot: &Bot, author: u64, nick: &str, roles: &[u64], content: &str) -> u64 {
    let id = fd::new_snowflake();
    let mut msg = fd::guild_message(
        id,
        bot.guild(),
        SUPPORT,
        author,
        "member",
        content,
        false,
        &[],
    );
    msg["member"]["nick"] = json!(nick);
    msg["member"]["roles"] = json!(roles.iter().map(|r| r.to_string()).collect::<Vec<_>>());
    bot.fake.dispatch("MESSAGE_CREATE", msg).await;
    id
}

fn posts_to(bot: &Bot, channel: u64) -> Vec<Recorded> {
    bot.fake
        .requests_matching(|r| r.is("POST", &format!("/channels/{channel}/messages")))
}

/// An impersonator in a support channel gets a public warning (a reply that pings nobody and
/// is not a troubleshooting answer), the moderators get one notice with the reason and a link
/// to the message, and the message stays (deletion is off by default). The member's words are
/// not repeated anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impersonator_is_warned_publicly_and_reported_to_the_moderators() {
    let bot = Bot::start(0).await;
    let text = "hey I'm from Klarna support, DM me and I can fix your declined payment";
    let id = say_as(&bot, BOB, "bob", &[], text).await;
    let warning = bot.fake.wait_for_reply_to(id, T).await;
    let body = &warning.body;
    let content = body["content"].as_str().unwrap();
    assert!(content.contains("never DM you first"), "{body:#}");
    assert!(
        body["embeds"].as_array().is_none_or(|e| e.is_empty()),
        "{body:#}"
    );
    assert!(
        body["components"].as_array().is_none_or(|c| c.is_empty()),
        "{body:#}"
    );
    assert_no_mentions(body);
    bot.fake
        .wait_until("the moderators' notice", T, |f| {
            f.count_matching(|r| r.is("POST", &format!("/channels/{ESCALATION}/messages"))) == 1
        })
        .await;
    let notice = &posts_to(&bot, ESCALATION)[0].body;
    let n = notice["content"].as_str().unwrap();
    assert!(n.contains(&format!("<@{BOB}>")), "{n}");
    assert!(
        n.contains("claims to be the payment provider's support"),
        "{n}"
    );
    assert!(
        n.contains(&format!("/channels/{}/{SUPPORT}/{id}", bot.guild())),
        "{n}"
    );
    assert!(
        !n.contains("fix your declined payment"),
        "the member's words are not quoted: {n}"
    );
    assert_no_mentions(notice);
    assert_eq!(
        bot.fake.count_matching(|r| r.method == "DELETE"),
        0,
        "nothing is removed unless [scam] delete is on"
    );
    // Exactly one message went to the support channel: the warning, no troubleshooting.
    assert_eq!(posts_to(&bot, SUPPORT).len(), 1);
    bot.stop().await;
}

/// With `[scam] delete = true` the flagged message is removed, and the warning is posted on its
/// own (a reply to a deleted message would be refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_delete_on_a_phishing_link_is_removed_and_still_reported() {
    let bot = Bot::start_with(Setup {
        scam_delete: true,
        ..Setup::default()
    })
    .await;
    let id = say_as(
        &bot,
        BOB,
        "bob",
        &[],
        "refunds are out, claim yours at https://k1arna-refunds.com/claim",
    )
    .await;
    bot.fake
        .wait_until("delete, warning and notice", T, |f| {
            f.count_matching(|r| r.is("DELETE", &format!("/channels/{SUPPORT}/messages/{id}"))) == 1
                && f.count_matching(|r| r.is("POST", &format!("/channels/{SUPPORT}/messages"))) == 1
                && f.count_matching(|r| r.is("POST", &format!("/channels/{ESCALATION}/messages")))
                    == 1
        })
        .await;
    let warning = &posts_to(&bot, SUPPORT)[0];
    assert_eq!(warning.replied_to(), None);
    let notice = posts_to(&bot, ESCALATION)[0].body["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(notice.contains("(removed)"), "{notice}");
    let refused = bot.fake.requests_matching(|r| r.status >= 400);
    assert!(refused.is_empty(), "{refused:#?}");
    bot.stop().await;
}

/// Staff are never flagged, and a member reporting a scam is answered, not accused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_and_members_reporting_a_scam_are_not_flagged() {
    let bot = Bot::start(0).await;
    let staff = say_as(
        &bot,
        MOD,
        "mod",
        &[MOD_ROLE],
        "I'm from Klarna support's partner team here, DM me if you need help",
    )
    .await;
    let report = say_as(
        &bot,
        ALICE,
        "alice",
        &[],
        "someone DMed me saying they're klarna support and asked for my code, is that legit?",
    )
    .await;
    let answer = bot.fake.wait_for_reply_to(report, T).await;
    let content = text_of(&answer.body);
    assert!(!content.contains("moderators have been told"), "{content}");
    // Whatever the bot said to the moderator (it may answer them like anyone), it was no
    // warning.
    for r in bot
        .fake
        .requests_matching(|r| r.replied_to() == Some(staff))
    {
        assert!(
            !text_of(&r.body).contains("moderators have been told"),
            "{:#}",
            r.body
        );
    }
    assert_eq!(
        bot.fake
            .count_matching(|r| r.is("POST", &format!("/channels/{ESCALATION}/messages"))),
        0,
        "no notice for staff or a report"
    );
    bot.stop().await;
}

/// A member posting under a name that imitates the support role or a brand's staff is reported
/// to the moderators once, however often they post; the name is shown defused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_name_imitating_staff_is_reported_once() {
    let bot = Bot::start(0).await;
    let name = "Kl\u{430}rna Supp\u{200b}ort \u{202e}*";
    let first = say_as(&bot, BOB, name, &[], "klarna declined my order at asos").await;
    bot.fake.wait_for_reply_to(first, T).await;
    let second = say_as(&bot, BOB, name, &[], "it says the payment was declined").await;
    bot.fake.wait_for_reply_to(second, T).await;
    // The notice is sent before the member's turn, so both are in by now.
    let notices = posts_to(&bot, ESCALATION);
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let n = notices[0].body["content"].as_str().unwrap();
    assert!(n.contains("klarna staff"), "{n}");
    assert!(!n.contains('\u{202e}') && !n.contains('\u{200b}'), "{n:?}");
    assert!(n.contains("\\*"), "markdown is escaped: {n}");
    assert_no_mentions(&notices[0].body);
    bot.stop().await;
}

/// A message edited into a scam is flagged too; the edit carries no roles, so the bot looks
/// the member up (one request, only for a flagged edit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_edited_into_a_scam_is_flagged() {
    let bot = Bot::start(0).await;
    let id = say_as(&bot, BOB, "bob", &[], "klarna declined my order at asos").await;
    bot.fake.wait_for_reply_to(id, T).await;
    let edit = json!({
        "id": id.to_string(),
        "channel_id": SUPPORT.to_string(),
        "guild_id": bot.guild().to_string(),
        "author": fd::user_json(BOB, "member", false),
        "content": "klarna support here, DM me and I will fix your declined payment today",
        "edited_timestamp": fd::now(),
    });
    bot.fake.dispatch("MESSAGE_UPDATE", edit).await;
    bot.fake
        .wait_until("the moderators' notice", T, |f| {
            f.count_matching(|r| r.is("POST", &format!("/channels/{ESCALATION}/messages"))) == 1
        })
        .await;
    let warnings = bot.fake.requests_matching(|r| {
        r.is("POST", &format!("/channels/{SUPPORT}/messages"))
            && text_of(&r.body).contains("never DM you first")
    });
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    bot.stop().await;
}

/// A database lost mid-run (PostgreSQL through a relay the test cuts and restores).
mod db_outage;
/// Faults: gateway drops and replays, REST errors, slow stores, missing permissions.
mod faults;
mod incident;
/// Two `paymedic run` processes, one shard each, over one PostgreSQL database.
mod multiprocess;

/// `shards = "1-1"` of 2: serenity's `start_shard_range` takes an inclusive end in a `Range`,
/// so an off-by-one would boot shards 1 and 2 (a second IDENTIFY about 5 s later, for a shard
/// that doesn't exist). Exactly one IDENTIFY, for shard [1, 2].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_range_identifies_exactly_its_shards() {
    let range = paymedic::discord::shards::ShardRange::parse("1-1", 2).unwrap();
    let bot = Bot::start_with(Setup {
        shards: Some(range),
        ..Setup::default()
    })
    .await;
    // serenity waits 5 s between shard boots: a second shard would identify by then.
    tokio::time::sleep(Duration::from_millis(6_000)).await;
    assert_eq!(bot.fake.identify_count(), 1);
    let identify = bot.fake.last_identify().unwrap();
    assert_eq!(identify["shard"], serde_json::json!([1, 2]), "{identify}");
    // The process without shard 0 leaves the commands to the one with it.
    let puts = bot
        .fake
        .count_matching(|r| r.method == "PUT" && r.route().contains("/commands"));
    assert_eq!(puts, 0, "a process without shard 0 registered the commands");
    bot.stop().await;
}

/// A process running shard 0 of several registers the commands (once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_with_shard_zero_registers_the_commands() {
    let range = paymedic::discord::shards::ShardRange::parse("0-0", 2).unwrap();
    let bot = Bot::start_with(Setup {
        shards: Some(range),
        ..Setup::default()
    })
    .await;
    let names: Vec<String> = bot
        .fake
        .registered_commands(Some(bot.guild()))
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "troubleshoot"), "{names:?}");
    bot.stop().await;
}

/// Two bot processes on one PostgreSQL database, each with its own gateway session, are both
/// sent the same message (as Discord may during a reconnect or a deploy overlap): the first
/// to claim its id answers, the other drops it, so the member gets one reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_message_sent_to_two_processes_is_answered_once() {
    let Some(url) = crate::store_contract::postgres_url() else {
        return;
    };
    let schema = crate::store_contract::fresh_schema();
    let pg = Arc::new(
        paymedic::store::postgres::PgStore::connect_in(&url, Some(&schema))
            .await
            .unwrap(),
    );
    let shared: Arc<dyn paymedic::store::Store> = pg.clone();
    let a = Bot::start_with(Setup {
        store: Some(shared.clone()),
        ..Setup::default()
    })
    .await;
    let b = Bot::start_with(Setup {
        store: Some(shared),
        ..Setup::default()
    })
    .await;
    for (n, text) in [
        "klarna declined my order at asos",
        "my klarna app keeps crashing on checkout",
        "over my klarna spending limit again",
    ]
    .iter()
    .enumerate()
    {
        let id = fd::new_snowflake();
        let member = ALICE + n as u64;
        for bot in [&a, &b] {
            let msg =
                fd::guild_message(id, bot.guild(), SUPPORT, member, "member", text, false, &[]);
            bot.fake.dispatch("MESSAGE_CREATE", msg).await;
        }
        // One of the two answers; give the other time to answer too, if it wrongly would.
        let answered = tokio::time::timeout(T, async {
            loop {
                let count = |bot: &Bot| {
                    bot.fake
                        .requests_matching(|r| r.replied_to() == Some(id))
                        .len()
                };
                if count(&a) + count(&b) > 0 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    return count(&a) + count(&b);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("no process answered");
        assert_eq!(answered, 1, "message {n} was answered {answered} times");
    }
    // A card number is removed and warned about once: claimed before the turn reads anything.
    let id = fd::new_snowflake();
    for bot in [&a, &b] {
        let text = "why did my card 4111 1111 1111 1111 fail";
        let msg = fd::guild_message(
            id,
            bot.guild(),
            SUPPORT,
            ALICE + 9,
            "member",
            text,
            false,
            &[],
        );
        bot.fake.dispatch("MESSAGE_CREATE", msg).await;
    }
    let deleted = |bot: &Bot| {
        bot.fake.count_matching(|r| {
            r.method == "DELETE" && r.route().ends_with(&format!("/messages/{id}"))
        })
    };
    tokio::time::timeout(T, async {
        while deleted(&a) + deleted(&b) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no process removed the card number");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        deleted(&a) + deleted(&b),
        1,
        "the card number was removed twice"
    );
    a.stop().await;
    b.stop().await;
    pg.drop_schema(&schema).await.unwrap();
}
