//! The Discord adapter: serenity + poise around the same [`App`] the terminal chat uses.
//!
//! It converts Discord events into engine inputs (`convert`), calls [`App::handle`], and
//! carries the effects out (`effects`). Slash commands live in `commands`. Nothing here decides
//! what to say: that is the engine's job.

mod commands;
pub mod convert;
pub mod effects;

use crate::app::{self, App, UserKey};
use crate::config::DiscordConfig;
use crate::engine::sensitive::Secret;
use crate::engine::{Effect, Input, IntentId};
use effects::{escalation_embed, no_mentions, only_role, only_user, render, Reply};
use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, ComponentInteraction, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, FullEvent, GatewayIntents, Message, UserId,
};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared state for every handler. Kept small: the app, the Discord settings, who we are, and
/// the bound on concurrent sends.
pub struct Data {
    pub app: Arc<App>,
    pub discord: DiscordConfig,
    pub bot_id: UserId,
    /// Bounds concurrent REST sends. Without it a burst opens one HTTP connection per
    /// in-flight reply, and memory grows with the burst.
    sends: Semaphore,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Concurrent REST sends allowed at once.
const SENDS_IN_FLIGHT: usize = 4;
/// Gateway events handled at once; the rest wait their turn at the [`Gate`].
const HANDLERS_IN_FLIGHT: usize = 8;

/// Events being handled right now, and handled so far: when a burst is over, free memory is
/// handed back to the OS.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static HANDLED: AtomicUsize = AtomicUsize::new(0);

/// Returns freed heap pages to the OS. A burst of events leaves the heap at its peak size
/// with glibc's allocator unless asked; measured in `benches/discord.rs`.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator already considers free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's heap arenas at two. glibc gives a thread that meets contention an arena of its
/// own, and after a burst handled across the runtime's threads each arena stays at its peak:
/// with the cap, RSS right after the 1000-message burst of `benches/discord.rs` measured
/// 34–35 MB instead of 38.7–40.2 MB, with the same latency. Call it before the runtime starts
/// its threads. An admin's own `MALLOC_ARENA_MAX` wins.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only tunes the allocator; it is called before other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Why the bot stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "Discord refused the MESSAGE CONTENT intent (close code 4014). In the Discord developer \
         portal, open your application, go to Bot > Privileged Gateway Intents, switch on \
         MESSAGE CONTENT INTENT, save, and start paymedic again."
    )]
    DisallowedIntents,
    #[error("Discord rejected the token (close code 4004 or HTTP 401). Check DISCORD_TOKEN.")]
    InvalidToken,
    #[error("cannot start the Discord client: {0}")]
    Client(serenity::Error),
    #[error("the Discord connection failed: {0}")]
    Gateway(serenity::Error),
}

/// The gateway intents paymedic needs. MESSAGE_CONTENT is privileged: it must be enabled in
/// the developer portal, or Discord closes the connection with 4014.
pub fn gateway_intents() -> GatewayIntents {
    GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// Runs the bot until `shutdown` resolves (then exits cleanly) or the connection fails.
///
/// `api_base` (from `DISCORD_API_BASE`) points the client at another Discord API, such as the
/// test suite's fake on 127.0.0.1. Serenity ignores a proxy while its ratelimiter is on, so the
/// ratelimiter is off then; in production (`None`) nothing changes.
pub async fn run(
    app: Arc<App>,
    discord: DiscordConfig,
    token: String,
    api_base: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let http_client = reqwest::Client::builder()
        // Reuse a few connections instead of opening one per concurrent request.
        .pool_max_idle_per_host(SENDS_IN_FLIGHT)
        .build()
        .map_err(|e| RunError::Client(serenity::Error::Http(e.into())))?;
    let mut http = serenity::HttpBuilder::new(&token).client(http_client);
    if let Some(base) = api_base {
        http = http.proxy(base).ratelimiter_disabled(true);
    }
    let http = http.build();

    // One signal, watched in two places: the token check and the running client.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            // An error means the sender is gone, which happens only after it sent.
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let ready = tokio::select! {
        r = check_token(&http) => r,
        () = stopped() => return Ok(()),
    };
    if let Err(e) = ready {
        signal.abort();
        return Err(e);
    }

    let commands = commands::all(&app.engine.content);
    let guilds = discord.guild_ids.clone();
    let setup_app = app.clone();
    let setup_discord = discord.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands,
            event_handler: |fw, event| Box::pin(on_event(fw.serenity_context, event, fw.user_data)),
            // paymedic has no prefix commands. With poise's default, every message that
            // mentions the bot was parsed as a command and logged as an unknown one.
            prefix_options: poise::PrefixFrameworkOptions {
                prefix: None,
                mention_as_prefix: false,
                ..Default::default()
            },
            on_error: |error| Box::pin(commands::on_error(error)),
            allowed_mentions: Some(no_mentions()),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                if guilds.is_empty() {
                    poise::builtins::register_globally(ctx, commands).await?;
                } else {
                    for g in &guilds {
                        poise::builtins::register_in_guild(ctx, commands, serenity::GuildId::new(*g)).await?;
                    }
                }
                tracing::info!(bot = %ready.user.name, guilds = guilds.len(), "connected and commands registered");
                Ok(Data {
                    app: setup_app,
                    discord: setup_discord,
                    bot_id: ready.user.id,
                    sends: Semaphore::new(SENDS_IN_FLIGHT),
                })
            })
        })
        .build();

    let mut client = serenity::ClientBuilder::new_with_http(http, gateway_intents())
        .framework(Gate {
            inner: framework,
            permits: Semaphore::new(HANDLERS_IN_FLIGHT),
        })
        .await
        .map_err(|e| match e {
            serenity::Error::Http(ref h) if h.status_code().is_some_and(|s| s.as_u16() == 401) => {
                RunError::InvalidToken
            }
            other => RunError::Client(other),
        })?;

    let shards = client.shard_manager.clone();
    let sweeper_app = app.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = sweeper_app.sweep(app::now()).await {
                tracing::warn!(error = %e, "could not expire idle sessions");
            }
        }
    });
    let trimmer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut last = HANDLED.load(Ordering::Relaxed);
        loop {
            tick.tick().await;
            let now = HANDLED.load(Ordering::Relaxed);
            // A burst just ended: nothing new in the last second, but something since the
            // last trim.
            if now != last && IN_FLIGHT.load(Ordering::Relaxed) == 0 {
                release_free_memory();
                last = now;
            }
        }
    });
    let result = {
        let start = client.start();
        tokio::pin!(start);
        tokio::select! {
            r = &mut start => r,
            () = stopped() => {
                // Close the shards cleanly if they are up. When the gateway was never reached
                // there is nothing to close and serenity would wait for ever, so both steps
                // are bounded: a signal ends the process within a few seconds in every state.
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, shards.shutdown_all()).await;
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut start).await;
                Ok(())
            }
        }
    };
    sweeper.abort();
    trimmer.abort();
    signal.abort();
    match result {
        Ok(()) => Ok(()),
        Err(serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents)) => {
            Err(RunError::DisallowedIntents)
        }
        Err(serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication)) => {
            Err(RunError::InvalidToken)
        }
        Err(e) => Err(RunError::Gateway(e)),
    }
}

/// How long shutdown waits for the shards to close before it exits anyway.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);
/// Waits between attempts to reach Discord at start-up: doubling from the first, up to the last.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_secs(1);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the token with one authenticated REST call before the gateway starts, so a bad token
/// fails fast with the token message (HTTP 401) instead of a gateway loop. While Discord can't
/// be reached, it retries with a growing backoff and logs each attempt; the caller races it
/// against the shutdown signal.
async fn check_token(http: &serenity::Http) -> Result<(), RunError> {
    let mut wait = RETRY_FIRST;
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        match http.get_current_user().await {
            Ok(_) => return Ok(()),
            Err(serenity::Error::Http(ref h))
                if h.status_code().is_some_and(|s| s.as_u16() == 401) =>
            {
                return Err(RunError::InvalidToken)
            }
            Err(e) => {
                tracing::warn!(
                    attempt,
                    retry_in_s = wait.as_secs(),
                    error = %e,
                    "cannot reach Discord; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Serenity's framework slot, holding poise behind a queue.
///
/// Serenity spawns a task per gateway event and hands it to the framework. poise's dispatch
/// future is large (it carries command parsing and error handling state), and in a burst of
/// 1000 messages a thousand of them would sit in memory at once, waiting their turn. Here each
/// waiting event holds only itself: poise's future is created once the event's turn comes.
struct Gate {
    inner: poise::Framework<Data, Error>,
    permits: Semaphore,
}

#[serenity::async_trait]
impl serenity::Framework for Gate {
    async fn init(&mut self, client: &serenity::Client) {
        serenity::Framework::init(&mut self.inner, client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: FullEvent) {
        // The semaphore is never closed, so this only fails if it were; then run anyway.
        let _permit = self.permits.acquire().await.ok();
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        serenity::Framework::dispatch(&self.inner, ctx, event).await;
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
        HANDLED.fetch_add(1, Ordering::Relaxed);
    }
}

async fn on_event(ctx: &serenity::Context, event: &FullEvent, data: &Data) -> Result<(), Error> {
    match event {
        FullEvent::Message { new_message } => on_message(ctx, data, new_message).await,
        FullEvent::MessageUpdate { event, .. } => on_edit(ctx, data, event).await,
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(press),
        } => on_button(ctx, data, press).await,
        _ => Ok(()),
    }
}

async fn on_message(ctx: &serenity::Context, data: &Data, msg: &Message) -> Result<(), Error> {
    if msg.author.bot || msg.webhook_id.is_some() || msg.author.id == data.bot_id {
        return Ok(());
    }
    let dm = msg.guild_id.is_none();
    let mentioned = msg.mentions.iter().any(|u| u.id == data.bot_id);
    let support = data
        .discord
        .support_channels
        .contains(&msg.channel_id.get());
    if !(dm || mentioned || support) {
        // Elsewhere the bot answers nothing, but a card number or password is removed in any
        // channel it can read: a leaked card is as harmful in #general as in #support.
        if let Some(secret) = crate::engine::sensitive::kind(&msg.content) {
            return remove_and_warn(ctx, data, &Posted::of(msg), secret).await;
        }
        return Ok(());
    }
    let user = convert::user_key(msg.guild_id.map(|g| g.get()), msg.author.id.get());
    let text = convert::strip_mention(&msg.content, data.bot_id.get());
    let turn = data
        .app
        .turn(
            user,
            Input::Text {
                text: &text,
                addressed: dm || mentioned,
            },
            app::now(),
        )
        .await?;
    if turn.effects.is_empty() && turn.ticket.is_none() {
        return Ok(());
    }
    let secret = turn.effects.iter().find_map(|e| match e {
        Effect::Sensitive(s) => Some(*s),
        _ => None,
    });
    if let Some(secret) = secret {
        return remove_and_warn(ctx, data, &Posted::of(msg), secret).await;
    }
    let intent = turn.classification.as_ref().and_then(|c| c.intent);
    tracing::debug!(member = user.member.get(), ?intent, "answering message");
    let reply = render(msg.author.id.get(), &turn.effects);
    send_reply(ctx, data, msg, &reply).await?;
    if let Some((intent, tried)) = &reply.escalate {
        escalate(ctx, data, user, &msg.link(), *intent, tried).await?;
    }
    Ok(())
}

/// A member's message, as far as removing it and warning its author goes: a new message or
/// an edit (whose event carries no full message).
struct Posted {
    id: serenity::MessageId,
    channel: ChannelId,
    guild: Option<serenity::GuildId>,
    author: UserId,
}

impl Posted {
    fn of(msg: &Message) -> Posted {
        Posted {
            id: msg.id,
            channel: msg.channel_id,
            guild: msg.guild_id,
            author: msg.author.id,
        }
    }
}

/// An edited message: the secrets guard runs on the new text too, in any channel, since a
/// card number can be added by editing ("every message" includes edits). Nothing is answered.
async fn on_edit(
    ctx: &serenity::Context,
    data: &Data,
    edit: &serenity::MessageUpdateEvent,
) -> Result<(), Error> {
    // Partial updates (an embed resolving) carry no author or content.
    let (Some(author), Some(content)) = (&edit.author, &edit.content) else {
        return Ok(());
    };
    if author.bot || author.id == data.bot_id || edit.webhook_id.flatten().is_some() {
        return Ok(());
    }
    let Some(secret) = crate::engine::sensitive::kind(content) else {
        return Ok(());
    };
    let posted = Posted {
        id: edit.id,
        channel: edit.channel_id,
        guild: edit.guild_id,
        author: author.id,
    };
    remove_and_warn(ctx, data, &posted, secret).await
}

/// A member posted what looked like card or login details: remove the message if the bot
/// can (Manage Messages; never in DMs), then warn them, saying which of the two happened.
///
/// The warning mentions the member, since their message may be gone, and pings only them. It
/// carries no reply reference once the message is deleted: Discord refuses a reply to a
/// deleted message (400, unknown message), and the member would never see why their message
/// vanished. When the message stays, the warning replies to it, without failing if the member
/// deletes it first.
async fn remove_and_warn(
    ctx: &serenity::Context,
    data: &Data,
    msg: &Posted,
    secret: Secret,
) -> Result<(), Error> {
    let removed = if msg.guild.is_some() {
        let _permit = data.sends.acquire().await?;
        match msg.channel.delete_message(&ctx.http, msg.id).await {
            Ok(()) => true,
            Err(e) => {
                // The error names the route, never the message's content.
                tracing::warn!(
                    channel = msg.channel.get(),
                    member = msg.author.get(),
                    error = %e,
                    "could not remove a message that looked like it held a secret (does the bot have Manage Messages?)"
                );
                false
            }
        }
    } else {
        false
    };
    let warning = data
        .app
        .engine
        .content
        .copy
        .sensitive_warning(secret, removed);
    let mut m = CreateMessage::new()
        .content(format!("<@{}> {warning}", msg.author))
        .allowed_mentions(only_user(msg.author.get()));
    if !removed {
        let mut reference = serenity::MessageReference::from((msg.channel, msg.id));
        reference.guild_id = msg.guild;
        m = m.reference_message(reference.fail_if_not_exists(false));
    }
    let _permit = data.sends.acquire().await?;
    msg.channel.send_message(&ctx.http, m).await?;
    tracing::info!(
        channel = msg.channel.get(),
        member = msg.author.get(),
        removed,
        ?secret,
        "warned a member about posting a secret"
    );
    Ok(())
}

/// Sends a rendered reply to a member's message: the embed with the first piece of text, the
/// buttons with the last.
async fn send_reply(
    ctx: &serenity::Context,
    data: &Data,
    msg: &Message,
    reply: &Reply,
) -> Result<(), Error> {
    if reply.is_empty() {
        return Ok(());
    }
    let pieces = reply.content.len().max(1);
    for i in 0..pieces {
        let mut m = CreateMessage::new()
            .reference_message(msg)
            .allowed_mentions(no_mentions());
        if let Some(text) = reply.content.get(i) {
            m = m.content(text);
        }
        if i == 0 {
            if let Some(e) = &reply.embed {
                m = m.embed(e.clone());
            }
        }
        if i + 1 == pieces {
            m = m.components(reply.rows.clone());
        }
        let _permit = data.sends.acquire().await?;
        msg.channel_id.send_message(&ctx.http, m).await?;
    }
    Ok(())
}

async fn on_button(
    ctx: &serenity::Context,
    data: &Data,
    press: &ComponentInteraction,
) -> Result<(), Error> {
    let content = &data.app.engine.content;
    let Some(id) = convert::parse_button_id(&press.data.custom_id, content) else {
        return respond_ephemeral(ctx, data, press, &content.copy.stale).await;
    };
    if id.owner != press.user.id.get() {
        return respond_ephemeral(ctx, data, press, &content.copy.not_yours).await;
    }
    let user = convert::user_key(press.guild_id.map(|g| g.get()), id.owner);
    let turn = data
        .app
        .turn(
            user,
            Input::Choose {
                choice: id.choice,
                shown_at: id.at,
            },
            app::now(),
        )
        .await?;
    let reply = render(id.owner, &turn.effects);
    if reply.is_empty() {
        // Silent (a moderator has the ticket): acknowledge the press without a message.
        let _permit = data.sends.acquire().await?;
        press
            .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
            .await?;
        return Ok(());
    }
    let mut first = CreateInteractionResponseMessage::new().allowed_mentions(no_mentions());
    if let Some(e) = &reply.embed {
        first = first.embed(e.clone());
    }
    if let Some(text) = reply.content.first() {
        first = first.content(text);
    }
    if reply.content.len() <= 1 {
        first = first.components(reply.rows.clone());
    }
    {
        let _permit = data.sends.acquire().await?;
        press
            .create_response(&ctx.http, CreateInteractionResponse::Message(first))
            .await?;
    }
    for (i, text) in reply.content.iter().enumerate().skip(1) {
        let mut f = CreateInteractionResponseFollowup::new()
            .content(text)
            .allowed_mentions(no_mentions());
        if i + 1 == reply.content.len() {
            f = f.components(reply.rows.clone());
        }
        let _permit = data.sends.acquire().await?;
        press.create_followup(&ctx.http, f).await?;
    }
    if let Some((intent, tried)) = &reply.escalate {
        // Link the member's own message: the bot's message replies to it.
        let link = match press
            .message
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
        {
            Some(m) => m.link(press.channel_id, press.guild_id),
            None => press.message.id.link(press.channel_id, press.guild_id),
        };
        escalate(ctx, data, user, &link, *intent, tried).await?;
    }
    Ok(())
}

async fn respond_ephemeral(
    ctx: &serenity::Context,
    data: &Data,
    press: &ComponentInteraction,
    text: &str,
) -> Result<(), Error> {
    let _permit = data.sends.acquire().await?;
    press
        .create_response(
            &ctx.http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(no_mentions()),
            ),
        )
        .await?;
    Ok(())
}

/// Posts a request for a human in the escalation channel, pinging only the support role.
pub(crate) async fn escalate(
    ctx: &serenity::Context,
    data: &Data,
    user: UserKey,
    link: &str,
    intent: Option<IntentId>,
    tried: &[String],
) -> Result<(), Error> {
    let Some(channel) = data.discord.escalation_channel else {
        tracing::warn!("a member asked for a human, but discord.escalation_channel is not set");
        return Ok(());
    };
    let embed = escalation_embed(
        &data.app.engine.content,
        user.member.get(),
        link,
        intent,
        tried,
    );
    let (content, mentions) = match data.discord.support_role {
        Some(role) => (format!("<@&{role}> a member needs help."), only_role(role)),
        None => ("A member needs help.".to_string(), no_mentions()),
    };
    let _permit = data.sends.acquire().await?;
    ChannelId::new(channel)
        .send_message(
            &ctx.http,
            CreateMessage::new()
                .content(content)
                .embed(embed)
                .allowed_mentions(mentions),
        )
        .await?;
    tracing::info!(member = user.member.get(), "escalated to the moderators");
    Ok(())
}
