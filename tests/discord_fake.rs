//! Self-test of `support::fake_discord` through the real serenity client (and a minimal poise
//! framework with slash commands): connect, messages, components, slash commands, resume,
//! disallowed intents, shutdown, and the REST routes the bot may use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, Client, ClientBuilder, Context, CreateActionRow,
    CreateAllowedMentions, CreateAttachment, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateThread, EditMessage, EditThread,
    EventHandler, GatewayError, GatewayIntents, Guild, GuildId, HttpBuilder, Interaction, Message,
    MessageId, Ready, ResumedEvent, RoleId, ShardManager, UserId,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};

const T: Duration = Duration::from_secs(20);

fn intents() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

fn guild(fake: &FakeDiscord) -> u64 {
    fake.options().guild_ids[0]
}

/// What the test handler saw; errors from REST calls are reported too.
#[derive(Debug)]
enum Seen {
    Ready,
    /// READY's `shard` ([i, n]) and guilds, sent right after `Ready`.
    ReadyOf(Option<[u32; 2]>, Vec<u64>),
    Resumed,
    Message(u64),
    Component(String),
    Guild(u64),
    Error(String),
}

struct Handler {
    tx: mpsc::UnboundedSender<Seen>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.tx.send(Seen::Ready);
        let shard = ready.shard.map(|s| [s.id.0, s.total]);
        let guilds = ready.guilds.iter().map(|g| g.id.get()).collect();
        let _ = self.tx.send(Seen::ReadyOf(shard, guilds));
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _ = self.tx.send(Seen::Guild(guild.id.get()));
    }

    async fn resume(&self, _ctx: Context, _: ResumedEvent) {
        let _ = self.tx.send(Seen::Resumed);
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot {
            return;
        }
        let _ = self.tx.send(Seen::Message(msg.id.get()));
        let mut builder = CreateMessage::new()
            .content(format!("echo: {}", msg.content))
            .reference_message(&msg)
            .allowed_mentions(CreateAllowedMentions::new());
        if msg.content == "buttons" {
            builder = builder.components(vec![CreateActionRow::Buttons(vec![
                CreateButton::new("retry")
                    .label("Retry")
                    .style(ButtonStyle::Primary),
                CreateButton::new_link("https://example.invalid/help").label("Help"),
            ])]);
        }
        if let Err(e) = msg.channel_id.send_message(&ctx.http, builder).await {
            let _ = self.tx.send(Seen::Error(format!("send_message: {e:?}")));
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        // Slash commands are poise's; components are ours.
        if let Interaction::Component(c) = interaction {
            let _ = self.tx.send(Seen::Component(c.data.custom_id.clone()));
            let answer = CreateInteractionResponseMessage::new()
                .content("pressed")
                .ephemeral(true);
            if let Err(e) = c
                .create_response(&ctx.http, CreateInteractionResponse::Message(answer))
                .await
            {
                let _ = self.tx.send(Seen::Error(format!("create_response: {e:?}")));
            }
        }
    }
}

type PoiseError = Box<dyn std::error::Error + Send + Sync>;
type PoiseCtx<'a> = poise::Context<'a, (), PoiseError>;

/// Answers pong.
#[poise::command(slash_command)]
async fn ping(ctx: PoiseCtx<'_>) -> Result<(), PoiseError> {
    ctx.say("pong").await?;
    Ok(())
}

/// Echo commands.
#[poise::command(slash_command, subcommands("say"))]
async fn echo(_ctx: PoiseCtx<'_>) -> Result<(), PoiseError> {
    Ok(())
}

/// Says the text back, deferred and ephemeral.
#[poise::command(slash_command)]
async fn say(
    ctx: PoiseCtx<'_>,
    #[description = "What to say"] text: String,
) -> Result<(), PoiseError> {
    ctx.defer_ephemeral().await?;
    ctx.say(format!("you said: {text}")).await?;
    Ok(())
}

fn framework() -> poise::Framework<(), PoiseError> {
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![ping(), echo()],
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                Ok(())
            })
        })
        .build()
}

struct Bot {
    shard_manager: Arc<ShardManager>,
    run: JoinHandle<Result<(), serenity::Error>>,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl Bot {
    /// Starts a serenity client (with the poise framework if `with_poise`) against the fake,
    /// the way the bot does when `DISCORD_API_BASE` is set.
    async fn start(fake: &FakeDiscord, with_poise: bool, intents: GatewayIntents) -> Bot {
        Bot::start_on(fake, with_poise, intents, None).await
    }

    /// [`Bot::start`] running only shard `index` of `total` (`start_shard_range`, whose end
    /// serenity 0.12 takes as inclusive), as one of several processes would.
    async fn start_shard(
        fake: &FakeDiscord,
        intents: GatewayIntents,
        index: u32,
        total: u32,
    ) -> Bot {
        Bot::start_on(fake, false, intents, Some((index, total))).await
    }

    async fn start_on(
        fake: &FakeDiscord,
        with_poise: bool,
        intents: GatewayIntents,
        shard: Option<(u32, u32)>,
    ) -> Bot {
        let (tx, seen) = mpsc::unbounded_channel();
        let http = HttpBuilder::new("fake-token")
            .proxy(fake.api_base())
            .ratelimiter_disabled(true)
            .build();
        let mut builder = ClientBuilder::new_with_http(http, intents).event_handler(Handler { tx });
        if with_poise {
            builder = builder.framework(framework());
        }
        let mut client: Client = tokio::time::timeout(T, builder)
            .await
            .expect("client build timed out")
            .expect("client build");
        let shard_manager = client.shard_manager.clone();
        let run = tokio::spawn(async move {
            match shard {
                Some((i, n)) => client.start_shard_range(i..i, n).await,
                None => client.start().await,
            }
        });
        Bot {
            shard_manager,
            run,
            seen,
        }
    }

    /// Waits for a `Seen` matching `pred`, panicking on handler errors or timeout.
    async fn expect(&mut self, what: &str, pred: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            match tokio::time::timeout_at(deadline, self.seen.recv()).await {
                Ok(Some(Seen::Error(e))) => panic!("handler error while waiting for {what}: {e}"),
                Ok(Some(s)) if pred(&s) => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("handler channel closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for the handler to see {what}"),
            }
        }
    }

    /// Shuts down through the shard manager; returns how long it took. `start()` must return Ok.
    async fn shutdown(self) -> Duration {
        let t0 = Instant::now();
        tokio::time::timeout(T, self.shard_manager.shutdown_all())
            .await
            .expect("shutdown_all timed out");
        let took = t0.elapsed();
        let res = tokio::time::timeout(T, self.run)
            .await
            .expect("client.start() did not return");
        res.expect("client task panicked")
            .expect("client.start() returned an error");
        took
    }
}

async fn started(with_poise: bool) -> (FakeDiscord, Bot) {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut bot = Bot::start(&fake, with_poise, intents()).await;
    if with_poise {
        fake.wait_for_ready(T).await;
    } else {
        fake.wait_for_session(T).await;
    }
    bot.expect("ready", |s| matches!(s, Seen::Ready)).await;
    (fake, bot)
}

fn no_handler_errors(bot: &mut Bot) {
    while let Ok(s) = bot.seen.try_recv() {
        if let Seen::Error(e) = s {
            panic!("handler error: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_register_commands_and_reply_to_messages() {
    let (fake, mut bot) = started(true).await;
    let opts = fake.options().clone();
    let g = guild(&fake);

    // Startup traffic, in order: gateway URL, application info, command registration.
    let reqs = fake.requests();
    let pos = |m: &str, r: &str| reqs.iter().position(|x| x.is(m, r));
    let gw = pos("GET", "/gateway").expect("GET /gateway");
    let app = pos("GET", "/oauth2/applications/@me").expect("GET /oauth2/applications/@me");
    let put = pos(
        "PUT",
        &format!("/applications/{}/commands", opts.application_id),
    )
    .expect("PUT commands");
    assert!(gw < put && app < put, "unexpected order: {reqs:#?}");
    assert_eq!(reqs[put].status, 200);
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(fake.intents(), Some(intents().bits()));
    let identify = fake.last_identify().unwrap();
    assert_eq!(identify["token"], "Bot fake-token");
    let names: Vec<String> = fake
        .registered_commands(None)
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ping", "echo"]);
    assert!(fake.command_id("ping").is_some());

    // Two messages in flight at once (a guild one and a DM): replies matched by reference.
    let (m1, m2) = (5_000_001, 5_000_002);
    let (c1, dm) = (6_000_001, 6_000_002);
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(m1, g, c1, 7_001, "alice", "hello", false, &[]),
    )
    .await;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::dm_message(m2, dm, 7_002, "bob", "hi in dm"),
    )
    .await;
    bot.expect(
        "the guild message",
        |s| matches!(s, Seen::Message(id) if *id == m1),
    )
    .await;
    let r2 = fake.wait_for_reply_to(m2, T).await;
    let r1 = fake.wait_for_reply_to(m1, T).await;
    assert!(r1.is_message_to(c1), "{r1:?}");
    assert_eq!(r1.body["content"], "echo: hello");
    assert_eq!(r1.body["allowed_mentions"]["parse"], json!([]));
    assert_eq!(r1.status, 200);
    assert_eq!(r1.response["type"], 19);
    assert_eq!(r1.response["author"]["id"], opts.bot_user_id.to_string());
    assert_eq!(r1.response["referenced_message"]["id"], m1.to_string());
    assert!(r2.is_message_to(dm), "{r2:?}");
    assert_eq!(r2.body["content"], "echo: hi in dm");
    // Messages from bots are ignored by the handler: nothing is sent for them.
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(5_000_003, g, c1, 7_003, "otherbot", "x", true, &[]),
    )
    .await;

    // A poise slash command answered directly (callback type 4).
    fake.dispatch(
        "INTERACTION_CREATE",
        fd::slash_interaction(
            8_000_001,
            "tok-ping",
            Some(g),
            c1,
            7_001,
            &[],
            "ping",
            json!([]),
        ),
    )
    .await;
    let cb = fake.wait_for_interaction_callback(8_000_001, T).await;
    assert_eq!(cb.status, 204);
    assert_eq!(cb.body["type"], 4);
    assert_eq!(cb.body["data"]["content"], "pong");

    // A subcommand with an option, deferred ephemerally (type 5, flags 64), then the answer
    // through the interaction webhook (follow-up or edit of the original, whichever poise uses).
    let opts_json = json!([{"name": "say", "type": 1,
                            "options": [{"name": "text", "type": 3, "value": "hi"}]}]);
    fake.dispatch(
        "INTERACTION_CREATE",
        fd::slash_interaction(
            8_000_002,
            "tok-say",
            None,
            dm,
            7_002,
            &[],
            "echo",
            opts_json,
        ),
    )
    .await;
    let cb = fake.wait_for_interaction_callback(8_000_002, T).await;
    assert_eq!(cb.body["type"], 5, "{cb:?}");
    assert_eq!(cb.body["data"]["flags"], 64);
    let answer = fake
        .wait_for_request(
            |r| r.is_for_interaction_token("tok-say") && r.route().starts_with("/webhooks/"),
            T,
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["content"], "you said: hi");
    // As on Discord, the first follow-up replaces the deferred original and stays ephemeral.
    let original = fake.interaction_original("tok-say").unwrap();
    assert_eq!(
        (original["content"].as_str(), original["flags"].as_u64()),
        (Some("you said: hi"), Some(64))
    );

    no_handler_errors(&mut bot);
    let n_sends =
        fake.requests_matching(|r| r.method == "POST" && r.route().ends_with("/messages"));
    assert_eq!(
        n_sends.len(),
        2,
        "the bot's own message must not be answered: {n_sends:#?}"
    );
    fake.assert_clean();
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_interaction_gets_an_ephemeral_answer() {
    let (fake, mut bot) = started(true).await;
    let g = guild(&fake);
    let (mid, ch) = (5_100_001, 6_100_001);

    // The bot posts a message with buttons; the button press refers to that message.
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(mid, g, ch, 7_101, "carol", "buttons", false, &[]),
    )
    .await;
    let sent = fake.wait_for_reply_to(mid, T).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(
        sent.response["components"][0]["components"][0]["custom_id"],
        "retry"
    );

    let press = fd::component_interaction(
        8_100_001,
        "tok-button",
        Some(g),
        ch,
        7_101,
        &[9_001],
        "retry",
        sent.response.clone(),
    );
    fake.dispatch("INTERACTION_CREATE", press).await;
    bot.expect(
        "the button press",
        |s| matches!(s, Seen::Component(id) if id == "retry"),
    )
    .await;
    let cb = fake.wait_for_interaction_callback(8_100_001, T).await;
    assert_eq!(cb.status, 204, "{cb:?}");
    assert_eq!(cb.body["type"], 4);
    assert_eq!(cb.body["data"]["flags"], 64);
    assert_eq!(cb.body["data"]["content"], "pressed");
    let original = fake
        .interaction_original("tok-button")
        .expect("original response stored");
    assert_eq!(original["flags"], 64);

    // The same press in a DM (user instead of member) works too.
    let press = fd::component_interaction(
        8_100_002,
        "tok-button-dm",
        None,
        6_100_002,
        7_102,
        &[],
        "retry",
        fd::bot_message(
            5_100_002,
            None,
            6_100_002,
            fake.options().bot_user_id,
            "x",
            json!([]),
        ),
    );
    fake.dispatch("INTERACTION_CREATE", press).await;
    let cb = fake.wait_for_interaction_callback(8_100_002, T).await;
    assert_eq!((cb.status, cb.body["type"].clone()), (204, json!(4)));

    no_handler_errors(&mut bot);
    fake.assert_clean();
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4000_resumes_and_events_still_arrive() {
    let (fake, mut bot) = started(true).await;
    let g = guild(&fake);
    let ch = 6_200_001;

    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(5_200_001, g, ch, 7_201, "dan", "one", false, &[]),
    )
    .await;
    fake.wait_for_reply_to(5_200_001, T).await;

    fake.close_session(4000).await;
    fake.wait_until("a RESUME", T, |f| f.resume_count() == 1)
        .await;
    bot.expect("the resumed event", |s| matches!(s, Seen::Resumed))
        .await;

    // dispatch waits for the resumed session by itself.
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(5_200_002, g, ch, 7_201, "dan", "two", false, &[]),
    )
    .await;
    let r = fake.wait_for_reply_to(5_200_002, T).await;
    assert_eq!(r.body["content"], "echo: two");
    assert_eq!(fake.identify_count(), 1, "resumed, not re-identified");
    assert_eq!(fake.resume_count(), 1);
    assert_eq!(fake.gateway_connection_count(), 2);

    no_handler_errors(&mut bot);
    fake.assert_clean();
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4014_makes_client_start_fail_with_disallowed_intents() {
    let (fake, bot) = started(true).await;
    fake.close_session(4014).await;
    let res = tokio::time::timeout(T, bot.run)
        .await
        .expect("client.start() did not return after 4014")
        .expect("client task panicked");
    match res {
        Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents)) => {}
        other => panic!("expected Err(Gateway(DisallowedGatewayIntents)), got {other:?}"),
    }
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(fake.resume_count(), 0);
    fake.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_all_is_prompt_and_closes_cleanly() {
    let (fake, bot) = started(true).await;
    let took = bot.shutdown().await;
    assert!(took < Duration::from_secs(2), "shutdown_all took {took:?}");
    fake.wait_until("the client's close frame", T, |f| {
        f.client_close_codes() == [Some(1000)]
    })
    .await;
    fake.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_serenity_client_heartbeats_are_acked() {
    // Serenity reads with a 500 ms timeout, so an interval under ~1 s could make a slow machine
    // reconnect for a late ACK.
    let fake = FakeDiscord::start(FakeOptions {
        heartbeat_interval_ms: 1000,
        ..Default::default()
    })
    .await;
    let mut bot = Bot::start(&fake, false, intents()).await;
    fake.wait_for_session(T).await;
    bot.expect("ready", |s| matches!(s, Seen::Ready)).await;
    fake.wait_until("2 heartbeats", T, |f| f.heartbeat_count() >= 2)
        .await;
    assert_eq!(
        fake.gateway_connection_count(),
        1,
        "acked heartbeats must not cause reconnects"
    );
    assert_eq!(fake.identify_count(), 1);
    // Without poise nothing asks for application info or registers commands.
    assert!(fake
        .requests_matching(|r| r.route().starts_with("/applications/"))
        .is_empty());
    fake.assert_clean();
    bot.shutdown().await;
}

fn http_status_and_code(e: &serenity::Error) -> (u16, isize) {
    match e {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => {
            (r.status_code.as_u16(), r.error.code)
        }
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_routes_answer_what_serenity_parses() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let g = guild(&fake);
    let ch = ChannelId::new(6_300_001);
    let user = UserId::new(7_301);

    let gw = http.get_gateway().await.unwrap();
    assert_eq!(gw.url, fake.gateway_url());
    let info = http.get_current_application_info().await.unwrap();
    assert_eq!(info.owner.unwrap().id.get(), fake.options().owner_id);

    // Channels.
    let channel = ch
        .to_channel(&http)
        .await
        .unwrap()
        .guild()
        .expect("a guild channel");
    assert_eq!(
        (channel.guild_id.get(), channel.kind),
        (g, ChannelType::Text)
    );
    let dm1 = user.create_dm_channel(&http).await.unwrap();
    let dm2 = user.create_dm_channel(&http).await.unwrap();
    assert_eq!(dm1.id, dm2.id);
    assert_eq!(dm1.recipient.id, user);
    assert!(dm1.id.to_channel(&http).await.unwrap().private().is_some());
    // A member with closed DMs: the channel opens, a message to it is refused.
    fake.close_dms(user.get());
    let e = dm1
        .id
        .send_message(&http, CreateMessage::new().content("hi"))
        .await
        .unwrap_err();
    assert_eq!(http_status_and_code(&e), (403, 50007));

    // Messages: multipart with a file, edit, typing, delete.
    let msg = ch
        .send_message(
            &http,
            CreateMessage::new()
                .content("with file")
                .add_file(CreateAttachment::bytes(b"hello".to_vec(), "a.txt")),
        )
        .await
        .unwrap();
    assert_eq!(msg.attachments.len(), 1);
    assert_eq!(
        (
            msg.attachments[0].filename.as_str(),
            msg.attachments[0].size
        ),
        ("a.txt", 5)
    );
    let rec = fake
        .wait_for_request(|r| r.is_message_to(ch.get()), T)
        .await;
    assert_eq!(rec.body["content"], "with file");
    assert_eq!(rec.files.len(), 1);
    assert_eq!(
        (rec.files[0].field.as_str(), rec.files[0].data.as_slice()),
        ("files[0]", &b"hello"[..])
    );
    let edited = ch
        .edit_message(&http, msg.id, EditMessage::new().content("edited"))
        .await
        .unwrap();
    assert_eq!(edited.content, "edited");
    assert_eq!(edited.attachments.len(), 1, "attachments kept on edit");
    let fetched = ch.message(&http, msg.id).await.unwrap();
    assert_eq!(fetched.content, "edited");
    ch.broadcast_typing(&http).await.unwrap();

    // Threads.
    let private = ch
        .create_thread(
            &http,
            CreateThread::new("private one").kind(ChannelType::PrivateThread),
        )
        .await
        .unwrap();
    assert_eq!(
        (private.kind, private.parent_id),
        (ChannelType::PrivateThread, Some(ch))
    );
    let public = ch
        .create_thread_from_message(&http, msg.id, CreateThread::new("public one"))
        .await
        .unwrap();
    assert_eq!(
        (public.id.get(), public.kind),
        (msg.id.get(), ChannelType::PublicThread)
    );
    private.id.add_thread_member(&http, user).await.unwrap();
    let archived = private
        .id
        .edit_thread(&http, EditThread::new().archived(true).locked(true))
        .await
        .unwrap();
    let meta = archived.thread_metadata.unwrap();
    assert!(meta.archived && meta.locked);
    // The fake refuses a post in an archived thread (Discord would reopen it).
    let e = private
        .id
        .send_message(&http, CreateMessage::new().content("in thread"))
        .await
        .unwrap_err();
    assert_eq!(http_status_and_code(&e), (400, 50083));
    private
        .id
        .edit_thread(&http, EditThread::new().archived(false).locked(false))
        .await
        .unwrap();
    let t = private
        .id
        .send_message(&http, CreateMessage::new().content("in thread"))
        .await
        .unwrap();
    assert_eq!(t.guild_id, Some(GuildId::new(g)));

    ch.delete_message(&http, msg.id).await.unwrap();
    let e = ch.message(&http, msg.id).await.unwrap_err();
    assert_eq!(http_status_and_code(&e), (404, 10008));

    // Guild members and roles.
    fake.add_role(g, 9_301, "Support", 0);
    fake.set_member_roles(g, user.get(), &[9_301]);
    let member = GuildId::new(g).member(&http, user).await.unwrap();
    assert_eq!(member.roles, vec![RoleId::new(9_301)]);
    let roles = GuildId::new(g).roles(&http).await.unwrap();
    assert!(roles.contains_key(&RoleId::new(9_301)) && roles.contains_key(&RoleId::new(g)));

    // Discord's errors.
    let e = ch
        .send_message(
            &http,
            CreateMessage::new()
                .content("x")
                .reference_message((ch, MessageId::new(1_234))),
        )
        .await
        .unwrap_err();
    assert_eq!(http_status_and_code(&e), (400, 50035));
    let e = http
        .send_message(ch, vec![], &json!({"content": ""}))
        .await
        .unwrap_err();
    assert_eq!(http_status_and_code(&e), (400, 50006));
    fake.fail_next(
        "POST",
        "/messages",
        403,
        json!({"message": "Missing Permissions", "code": 50013}),
    );
    let e = ch.say(&http, "denied").await.unwrap_err();
    assert_eq!(http_status_and_code(&e), (403, 50013));
    ch.say(&http, "allowed again").await.unwrap();

    // Unknown routes are recorded and answered 404 / code 0.
    assert!(fake.unknown_requests().is_empty());
    let e = http.get_guild_preview(GuildId::new(g)).await.unwrap_err();
    assert_eq!(http_status_and_code(&e), (404, 0));
    let unknown: Vec<Recorded> = fake.unknown_requests();
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].is("GET", &format!("/guilds/{g}/preview")),
        "{unknown:?}"
    );
    assert!(fake.problems().is_empty(), "{:#?}", fake.problems());
}

#[tokio::test]
async fn payload_builders_are_what_serenity_parses() {
    use serenity::model::prelude as m;
    let (g, c, u) = (1_000, 2_000, 3_000);
    let msg = fd::guild_message(1, g, c, u, "alice", "hi <@42>", false, &[42]);
    let dm = fd::dm_message(2, c, u, "alice", "hi");
    let reply = fd::with_reply_to(
        fd::guild_message(3, g, c, u, "alice", "re", false, &[]),
        &msg,
    );
    let bot_msg = fd::bot_message(4, Some(g), c, 99, "b", json!([]));
    for (event, data) in [
        ("MESSAGE_CREATE", &msg),
        ("MESSAGE_CREATE", &dm),
        ("MESSAGE_CREATE", &reply),
        ("MESSAGE_CREATE", &bot_msg),
    ] {
        fd::validate_dispatch(event, data).unwrap_or_else(|e| panic!("{e}\n{data:#}"));
    }
    let interactions = [
        fd::component_interaction(5, "t", Some(g), c, u, &[7], "b", bot_msg.clone()),
        fd::component_interaction(6, "t", None, c, u, &[], "b", bot_msg.clone()),
        fd::slash_interaction(
            7,
            "t",
            Some(g),
            c,
            u,
            &[7],
            "why",
            json!([{"name": "code", "type": 3, "value": "X"}]),
        ),
        fd::slash_interaction(8, "t", None, c, u, &[], "why", json!([])),
        fd::modal_submit_interaction(
            9,
            "t",
            Some(g),
            c,
            u,
            &[],
            "m",
            &[("f", "v")],
            Some(bot_msg.clone()),
        ),
        fd::message_command_interaction(10, "t", Some(g), c, u, &[7], "Escalate", msg.clone()),
        fd::with_resolved_user(
            fd::slash_interaction(
                11,
                "t",
                Some(g),
                c,
                u,
                &[7],
                "escalate",
                json!([{"name": "member", "type": 6, "value": "42"}]),
            ),
            42,
            "bob",
        ),
    ];
    for i in &interactions {
        fd::validate_dispatch("INTERACTION_CREATE", i).unwrap_or_else(|e| panic!("{e}\n{i:#}"));
    }
    // What poise expects of a guild slash interaction (it unwraps these).
    let Ok(m::Interaction::Command(cmd)) =
        serde_json::from_value::<m::Interaction>(interactions[2].clone())
    else {
        panic!("not a command interaction");
    };
    assert!(cmd.member.as_ref().unwrap().permissions.is_some() && cmd.app_permissions.is_some());
    assert_eq!(cmd.user.id.get(), u, "user filled from member");
    // A message command carries its target; a user option its resolved user.
    let Ok(m::Interaction::Command(menu)) =
        serde_json::from_value::<m::Interaction>(interactions[5].clone())
    else {
        panic!("not a command interaction");
    };
    assert!(
        matches!(menu.data.target(), Some(m::ResolvedTarget::Message(t)) if t.id.get() == 1),
        "{:?}",
        menu.data
    );
    let Ok(m::Interaction::Command(with_user)) =
        serde_json::from_value::<m::Interaction>(interactions[6].clone())
    else {
        panic!("not a command interaction");
    };
    assert!(with_user
        .data
        .resolved
        .users
        .contains_key(&m::UserId::new(42)));
    let gc = fd::guild_create(g, 99, 98, &[fd::guild_text_channel(c, g, "general")]);
    fd::validate_dispatch("GUILD_CREATE", &gc).unwrap_or_else(|e| panic!("{e}"));
    for ch in [
        fd::guild_text_channel(c, g, "general"),
        fd::dm_channel(c, u, "alice"),
        fd::thread_channel(c + 1, g, c, "t", true, u),
    ] {
        serde_json::from_value::<m::Channel>(ch.clone()).unwrap_or_else(|e| panic!("{e}\n{ch:#}"));
    }

    // A payload serenity would drop is refused with serde's reason.
    let mut bad: Value = msg.clone();
    bad.as_object_mut().unwrap().remove("timestamp");
    let err = fd::validate_dispatch("MESSAGE_CREATE", &bad).unwrap_err();
    assert!(
        err.contains("Event::Unknown") && err.contains("timestamp"),
        "{err}"
    );
    let err = fd::validate_dispatch("NOT_AN_EVENT", &json!({})).unwrap_err();
    assert!(err.contains("Event::Unknown"), "{err}");
}

#[tokio::test]
#[should_panic(expected = "serenity would silently drop it")]
async fn dispatch_panics_on_a_payload_serenity_would_drop() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    fake.dispatch(
        "MESSAGE_CREATE",
        json!({"id": "1", "content": "missing fields"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guilds_intent_brings_guild_create_and_no_message_content_blanks_content() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let g = guild(&fake);
    let bot_id = fake.options().bot_user_id;
    let mut bot = Bot::start(
        &fake,
        false,
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES,
    )
    .await;
    fake.wait_for_session(T).await;
    bot.expect(
        "the GUILD_CREATE",
        |s| matches!(s, Seen::Guild(id) if *id == g),
    )
    .await;

    // Without MESSAGE_CONTENT Discord sends guild messages with empty content, unless they
    // mention the bot.
    let ch = 6_400_001;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(5_400_001, g, ch, 7_401, "eve", "secret", false, &[]),
    )
    .await;
    let mention = format!("<@{bot_id}> visible");
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(5_400_002, g, ch, 7_401, "eve", &mention, false, &[bot_id]),
    )
    .await;
    assert_eq!(
        fake.wait_for_reply_to(5_400_001, T).await.body["content"],
        "echo: "
    );
    assert_eq!(
        fake.wait_for_reply_to(5_400_002, T).await.body["content"],
        format!("echo: {mention}")
    );
    no_handler_errors(&mut bot);
    fake.assert_clean();
    bot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "without DIRECT_MESSAGES")]
async fn dispatch_panics_on_an_event_the_intents_exclude() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let _bot = Bot::start(&fake, false, GatewayIntents::GUILD_MESSAGES).await;
    fake.wait_for_session(T).await;
    fake.dispatch("MESSAGE_CREATE", fd::dm_message(1, 2, 3, "frank", "hi"))
        .await;
}

/// Guilds whose shard out of 2 is known without the fake's own arithmetic: Discord sends a
/// guild's events to shard `(guild_id >> 22) % n`, and `>> 22` of these is even and odd.
const GUILD_ON_SHARD_0: u64 = 300_000_000_000 << 22;
const GUILD_ON_SHARD_1: u64 = 300_000_000_001 << 22;

fn sharding_intents() -> GatewayIntents {
    intents() | GatewayIntents::GUILDS
}

/// A fake recommending 2 shards with one guild on each, and one serenity client per shard
/// (as two processes would run them), both ready.
async fn two_shards() -> (FakeDiscord, Bot, Bot) {
    let fake = FakeDiscord::start(FakeOptions {
        guild_ids: vec![GUILD_ON_SHARD_0, GUILD_ON_SHARD_1],
        total_shards: 2,
        ..FakeOptions::default()
    })
    .await;
    let mut zero = Bot::start_shard(&fake, sharding_intents(), 0, 2).await;
    let mut one = Bot::start_shard(&fake, sharding_intents(), 1, 2).await;
    fake.wait_for_shard_sessions(&[0, 1], T).await;
    zero.expect("ready", |s| matches!(s, Seen::Ready)).await;
    one.expect("ready", |s| matches!(s, Seen::Ready)).await;
    (fake, zero, one)
}

/// Everything a bot's handler reported so far (panics on a handler error).
fn drain(bot: &mut Bot) -> Vec<Seen> {
    let mut all = Vec::new();
    while let Ok(s) = bot.seen.try_recv() {
        if let Seen::Error(e) = &s {
            panic!("handler error: {e}");
        }
        all.push(s);
    }
    all
}

fn messages(seen: &[Seen]) -> Vec<u64> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Message(id) => Some(*id),
            _ => None,
        })
        .collect()
}

/// Two connections, shards [0, 2] and [1, 2]: each READY names its shard and only its guild,
/// GUILD_CREATE comes only on the guild's shard, `/gateway/bot` recommends 2 shards, guild
/// messages reach only the shard `(guild_id >> 22) % 2`, and DMs only shard 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_each_get_their_guilds_and_dms_go_to_shard_0() {
    let (fake, mut zero, mut one) = two_shards().await;
    let mut shards = fake.identified_shards();
    shards.sort_unstable();
    assert_eq!(shards, [[0, 2], [1, 2]]);
    zero.expect(
        "READY of shard 0 with its guild",
        |s| matches!(s, Seen::ReadyOf(Some([0, 2]), g) if g == &[GUILD_ON_SHARD_0]),
    )
    .await;
    one.expect(
        "READY of shard 1 with its guild",
        |s| matches!(s, Seen::ReadyOf(Some([1, 2]), g) if g == &[GUILD_ON_SHARD_1]),
    )
    .await;
    // The first GUILD_CREATE each shard gets is its own guild's.
    for (bot, own) in [(&mut zero, GUILD_ON_SHARD_0), (&mut one, GUILD_ON_SHARD_1)] {
        bot.expect("a GUILD_CREATE", |s| match s {
            Seen::Guild(g) => {
                assert_eq!(*g, own, "a GUILD_CREATE of another shard's guild");
                true
            }
            _ => false,
        })
        .await;
    }

    let http = HttpBuilder::new("fake-token")
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    assert_eq!(http.get_bot_gateway().await.unwrap().shards, 2);

    let ch = 6_600_001;
    let on_0 = 5_600_001;
    let on_1 = 5_600_002;
    let dm = 5_600_003;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(on_0, GUILD_ON_SHARD_0, ch, 7_601, "gus", "zero", false, &[]),
    )
    .await;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(
            on_1,
            GUILD_ON_SHARD_1,
            ch + 1,
            7_601,
            "gus",
            "one",
            false,
            &[],
        ),
    )
    .await;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::dm_message(dm, 6_600_003, 7_602, "hal", "hi"),
    )
    .await;
    // Each handler reports a message before it replies: after the three replies, every
    // delivery is in the channels.
    for id in [on_0, on_1, dm] {
        fake.wait_for_reply_to(id, T).await;
    }
    let seen_0 = drain(&mut zero);
    let seen_1 = drain(&mut one);
    let mut got_0 = messages(&seen_0);
    got_0.sort_unstable();
    assert_eq!(got_0, [on_0, dm], "shard 0 saw {seen_0:?}");
    assert_eq!(messages(&seen_1), [on_1], "shard 1 saw {seen_1:?}");
    for (seen, other) in [(&seen_0, GUILD_ON_SHARD_1), (&seen_1, GUILD_ON_SHARD_0)] {
        assert!(
            !seen
                .iter()
                .any(|s| matches!(s, Seen::Guild(g) if *g == other)),
            "another shard's GUILD_CREATE: {seen:?}"
        );
    }
    fake.assert_clean();
    zero.shutdown().await;
    one.shutdown().await;
}

/// On purpose, one event reaches both shards (`dispatch_everywhere`) or the shard Discord
/// would not pick (`dispatch_to_shard`); a session closed on one shard resumes on its own and
/// leaves the other shard's session alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_can_go_to_both_shards_or_the_wrong_one_and_each_shard_resumes_alone() {
    let (fake, mut zero, mut one) = two_shards().await;
    let ch = 6_700_001;
    let both = 5_700_001;
    let seqs = fake
        .dispatch_everywhere(
            "MESSAGE_CREATE",
            fd::guild_message(both, GUILD_ON_SHARD_0, ch, 7_701, "ida", "both", false, &[]),
        )
        .await;
    assert_eq!(seqs.len(), 2, "{seqs:?}");
    zero.expect(
        "the message",
        |s| matches!(s, Seen::Message(id) if *id == both),
    )
    .await;
    one.expect(
        "the same message",
        |s| matches!(s, Seen::Message(id) if *id == both),
    )
    .await;
    fake.wait_for_requests(2, |r| r.replied_to() == Some(both), T)
        .await;

    let dm = 5_700_002;
    fake.dispatch_to_shard(
        1,
        "MESSAGE_CREATE",
        fd::dm_message(dm, 6_700_002, 7_702, "jo", "x"),
    )
    .await;
    one.expect(
        "a DM sent to shard 1 on purpose",
        |s| matches!(s, Seen::Message(id) if *id == dm),
    )
    .await;
    fake.wait_for_reply_to(dm, T).await;

    fake.close_shard_session(1, 4000).await;
    fake.wait_until("shard 1 resumed", T, |f| {
        f.resume_count() == 1 && f.shard_live(1)
    })
    .await;
    one.expect("the resumed event", |s| matches!(s, Seen::Resumed))
        .await;
    let after = 5_700_003;
    fake.dispatch(
        "MESSAGE_CREATE",
        fd::guild_message(
            after,
            GUILD_ON_SHARD_1,
            ch + 1,
            7_701,
            "ida",
            "after",
            false,
            &[],
        ),
    )
    .await;
    one.expect(
        "the message after the resume",
        |s| matches!(s, Seen::Message(id) if *id == after),
    )
    .await;
    fake.wait_for_reply_to(after, T).await;
    assert_eq!(fake.identify_count(), 2, "resumed, not re-identified");
    let seen_0 = drain(&mut zero);
    assert_eq!(
        messages(&seen_0),
        Vec::<u64>::new(),
        "shard 0 saw {seen_0:?}"
    );
    assert!(
        !seen_0.iter().any(|s| matches!(s, Seen::Resumed)),
        "{seen_0:?}"
    );
    drain(&mut one);
    fake.assert_clean();
    zero.shutdown().await;
    one.shutdown().await;
}
