//! The real paymedic bot (serenity + poise, unmodified) against the fake Discord on 127.0.0.1.
//!
//! Each test starts its own fake and bot. Replies are matched by the message they answer or by
//! interaction id, never by arrival order: serenity handles each event in its own task.

use crate::support::fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};
use paymedic::app::App;
use paymedic::config::{Config, DiscordConfig};
use paymedic::discord::{self, RunError};
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
const ALICE: u64 = 1_300_000_000_000_000_010;
const BOB: u64 = 1_300_000_000_000_000_011;

struct Bot {
    fake: FakeDiscord,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Bot {
    async fn start(cooldown_ms: u64) -> Bot {
        let fake = FakeDiscord::start(FakeOptions::default()).await;
        let config = Config {
            cooldown_ms,
            ..Config::default()
        };
        let app = Arc::new(App::new(crate::common::engine(), config));
        let settings = DiscordConfig {
            guild_ids: fake.options().guild_ids.clone(),
            support_channels: vec![SUPPORT],
            moderator_roles: vec![MOD_ROLE],
            escalation_channel: Some(ESCALATION),
            support_role: Some(SUPPORT_ROLE),
        };
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(discord::run(
            app,
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
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_to_a_human_posts_in_the_escalation_channel_pinging_only_the_role() {
    let bot = Bot::start(0).await;
    let id = bot
        .say(
            SUPPORT,
            ALICE,
            "my klarna account is locked for a security review",
            &[],
        )
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    let answer = bot
        .press(&reply, ALICE, &button(&reply.body, "Talk to a human"))
        .await;
    assert!(
        answer.body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("let the support team"),
        "{:#}",
        answer.body
    );
    let post = bot
        .fake
        .wait_for_request(|r| r.is_message_to(ESCALATION), T)
        .await;
    let body = &post.body;
    assert!(
        body["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<@&{SUPPORT_ROLE}>")),
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

/// The real `paymedic run` against `api_base`, with a config for guild `guild` in a temp
/// folder named after `test`. Stderr is piped, and RUST_LOG unset so the default filter applies.
fn spawn_binary(test: &str, api_base: &str, guild: u64) -> tokio::process::Child {
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
        escalation_channel: Some(ESCALATION),
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
