//! The Discord adapter: serenity + poise around the same [`App`] the terminal chat uses.
//!
//! It converts Discord events into engine inputs (`convert`), calls [`App::turn`] (or a staff
//! action), and hands the result to the one outbox (`outbox`), which carries it out for
//! messages, button presses, modal submits and slash commands alike. Slash commands live in
//! `commands` and, for tickets, `tickets`. Nothing here decides what to say: that is the
//! engine's job.
//!
//! A member's request for a human becomes a ticket: a private thread in the escalation channel
//! with the hand-off packet (see `tickets`). A periodic task runs the ticket timers (SLA
//! reminder, inactivity warning, auto-close) and the retention purge; at start-up, tickets a
//! crash left half-open get their thread or are failed.
//!
//! # Load
//!
//! Every queue here is bounded, and overload is shed by policy rather than by memory: events
//! wait at the [`Gate`] in two bounded lanes (messages; interactions), each message first asks
//! the channel reply cap ([`App::reserve_reply`]), and sends go through the outbox's few
//! permits. Each member message ends in exactly one [`Bucket`] of the app's tally, logged at
//! shutdown (see the README's "Load and abuse").
//!
//! # Permissions
//!
//! Invite the bot with: View Channels, Send Messages, Read Message History, Embed Links,
//! Attach Files (transcripts), Manage Messages (removing card numbers), and, in the escalation
//! channel, Create Private Threads, Send Messages in Threads and Manage Threads (archiving,
//! locking and reopening ticket threads). At start-up the bot computes its permissions in the
//! escalation channel and logs a warning naming any that are missing; a thread it can't create
//! is handled anyway (the ticket fails and a plain request is posted).
//!
//! # Faults
//!
//! Serenity resumes the gateway session after a drop (close 4000, or 1006: the connection
//! gone without a close frame); after missed heartbeat ACKs it starts a new session. Events
//! Discord replays after a resume are handled once (`dedupe`, checked in the [`Gate`]). REST
//! errors are retried, given up and logged by the outbox (`retry`); slow interactions are
//! deferred before Discord's 3 seconds run out (`outbox::Outbox::in_time`).

mod commands;
pub mod convert;
pub mod dedupe;
pub mod effects;
pub mod incident;
pub mod outbox;
pub mod retry;
pub mod shards;
pub mod tickets;

use crate::app::{self, App, Bucket, Cooldown, Origin};
use crate::config::DiscordConfig;
use crate::engine::ids::{ChannelId as TChannelId, GuildId, MemberId, RoleId};
use crate::engine::throttle::{self, CapVerdict};
use crate::engine::Input;
use convert::StaffButton;
use effects::no_mentions;
use outbox::{Outbox, Piece, Posted, To};
use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, ComponentInteraction, FullEvent, GatewayIntents, Message, ModalInteraction,
    Permissions, UserId,
};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared state for every handler. Kept small: the app, the Discord settings, who we are, and
/// the bound on concurrent sends.
pub struct Data {
    pub app: Arc<App>,
    pub discord: DiscordConfig,
    pub bot_id: UserId,
    /// Names a member's display name must not imitate: the bot's, and the support and
    /// moderator roles' (the scam shield reports a member who does).
    pub protected_names: Vec<String>,
    /// Bounds concurrent REST sends. Without it a burst opens one HTTP connection per
    /// in-flight reply, and memory grows with the burst. Shared with the timer task.
    sends: Arc<Semaphore>,
}

impl Data {
    /// The outbox for one event.
    pub fn outbox<'a>(&'a self, http: &'a serenity::Http) -> Outbox<'a> {
        Outbox::new(http, &self.app, &self.discord, &self.sends)
    }
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Concurrent REST sends allowed at once.
const SENDS_IN_FLIGHT: usize = 4;
/// Member messages handled at once; the rest wait their turn at the [`Gate`].
const HANDLERS_IN_FLIGHT: usize = 8;
/// How often ticket timers are looked at. Timers are computed from stored times, so a slower
/// tick only delays them, and a restart loses none.
const TIMERS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// On a shared store, a ticket still `Opening` this long after it was opened was left by a
/// process that died while making its thread: the leader finishes it. (A live process makes a
/// thread in seconds.)
const HALF_OPEN_AFTER_MS: u64 = 120_000;
/// How often closed tickets and old sessions past `retention_days` are purged (and once at
/// start-up).
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(86_400);

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
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: as above. A fixed threshold turns off glibc's sliding one, which rises after
        // any large block is freed and then keeps the heap's top from being trimmed.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
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
    let sends = Arc::new(Semaphore::new(SENDS_IN_FLIGHT));
    // Who runs the shared jobs, asked once now so start-up knows; then every few seconds.
    let leadership = crate::cluster::Leadership::default();
    leadership.ask(&app).await;
    let on_lead = Arc::new(tokio::sync::Notify::new());
    let elector = tokio::spawn(leadership.clone().keep_asking(
        app.clone(),
        std::time::Duration::from_millis(app.config().leader_check_ms),
        on_lead.clone(),
    ));
    let follower = tokio::spawn(crate::cluster::follow(app.clone()));
    // Several processes register the same commands over each other: only the one running
    // shard 0 (or every shard) does; `paymedic register` does it without the gateway.
    let register = discord.shards.is_none_or(|r| r.first == 0);
    let setup_leader = leadership.clone();

    let commands = commands::all(&app.engine().content);
    let guilds = discord.guild_ids.clone();
    let setup_app = app.clone();
    let setup_discord = discord.clone();
    let setup_sends = sends.clone();
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
                if register {
                    register_commands(&ctx.http, &framework.options().commands, &guilds).await?;
                    tracing::info!(bot = %ready.user.name, guilds = guilds.len(), "connected and commands registered");
                } else {
                    tracing::info!(bot = %ready.user.name, guilds = guilds.len(), "connected (commands are registered by the process running shard 0)");
                }
                let protected_names = protected_names(&ctx.http, &setup_discord, &ready.user).await;
                let data = Data {
                    app: setup_app,
                    discord: setup_discord,
                    bot_id: ready.user.id,
                    protected_names,
                    sends: setup_sends,
                };
                // Before any event is handled (poise holds them until setup returns), so no
                // request is opening the same tickets meanwhile.
                check_permissions(&ctx.http, &data, ready.user.id).await;
                if !data.app.store().shared() {
                    // Alone, every half-open ticket is this process's own, cut short by a
                    // crash. On a shared store another process may be opening one right now:
                    // the leader finishes those left over a while (see `ticket_timers`).
                    finish_half_open(&data.outbox(&ctx.http), None).await;
                }
                if let Err(e) = data.app.seed_incident(app::now()).await {
                    tracing::warn!(error = %e, "could not start the incident from [status] notice");
                }
                if setup_leader.is_leader() {
                    resume_fanouts(&data, ctx.http.clone()).await;
                }
                Ok(data)
            })
        })
        .build();

    let mut client = serenity::ClientBuilder::new_with_http(http, gateway_intents())
        .framework(Gate {
            inner: framework,
            messages: Lane::new(HANDLERS_IN_FLIGHT, app.config().limits.waiting_messages_max),
            interactions: Lane::new(INTERACTIONS_IN_FLIGHT, INTERACTIONS_WAITING_MAX),
            app: app.clone(),
            seen: dedupe::Seen::default(),
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
    let sweeper_leader = leadership.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut told = 0;
        let mut sweep = retry::JobFailures::new("expire idle sessions");
        let mut activity = retry::JobFailures::new("write the activity log");
        let mut claims = retry::JobFailures::new("expire old event claims");
        loop {
            tick.tick().await;
            let total = sweeper_app.tally().total();
            if total != told {
                told = total;
                tracing::info!(target: "paymedic::tally", "message tally: {}", sweeper_app.tally().line());
            }
            sweep.check(
                sweeper_app
                    .sweep(app::now(), sweeper_leader.is_leader())
                    .await,
            );
            // After the sweep, so the conversations it found abandoned are written too.
            activity.check(sweeper_app.flush_activity(app::now()).await);
            let store = sweeper_app.store();
            if store.shared() && sweeper_leader.is_leader() {
                let before = crate::engine::Timestamp(app::now().0.saturating_sub(CLAIMS_KEPT_MS));
                claims.check(store.expire_claims(before).await);
            }
        }
    });
    let timers = tokio::spawn(ticket_timers(
        client.http.clone(),
        app.clone(),
        discord.clone(),
        sends.clone(),
        leadership.clone(),
        on_lead,
    ));
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
        let range = discord.shards;
        let start = async {
            match range {
                Some(r) => {
                    tracing::info!(
                        first = r.first,
                        last = r.last,
                        total = r.total,
                        "starting shards"
                    );
                    client.start_shard_range(r.serenity_range(), r.total).await
                }
                None => client.start().await,
            }
        };
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
    timers.abort();
    elector.abort();
    follower.abort();
    trimmer.abort();
    signal.abort();
    if let Err(e) = app.flush_activity(app::now()).await {
        tracing::warn!(error = %e, pending = app.activity_pending(), "could not write the activity log at shutdown");
    }
    let dropped = app.activity_dropped();
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "activity rows dropped (the buffer was full between flushes)"
        );
    }
    tracing::info!(counts = %retry::STATS.snapshot(), "Discord faults since start");
    // What became of every member message, for the admin and the load bench.
    tracing::info!(target: "paymedic::tally", "message tally: {}", app.tally().line());
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

/// `paymedic register`: registers the slash commands over REST, without the gateway, and
/// returns how many. For deployments that register once per release instead of from the
/// process running shard 0 (which does it at every start).
pub async fn register(
    app: &App,
    discord: &DiscordConfig,
    token: &str,
    api_base: Option<String>,
) -> Result<usize, RunError> {
    let mut http = serenity::HttpBuilder::new(token);
    if let Some(base) = api_base {
        http = http.proxy(base).ratelimiter_disabled(true);
    }
    let http = http.build();
    let unauthorized = |e: &serenity::Error| matches!(e, serenity::Error::Http(h) if h.status_code().is_some_and(|s| s.as_u16() == 401));
    let info = http.get_current_application_info().await.map_err(|e| {
        if unauthorized(&e) {
            RunError::InvalidToken
        } else {
            RunError::Client(e)
        }
    })?;
    http.set_application_id(info.id);
    let commands = commands::all(&app.engine().content);
    register_commands(&http, &commands, &discord.guild_ids)
        .await
        .map_err(RunError::Client)?;
    Ok(commands.len())
}

/// Registers the slash commands: in each of `guilds`, or globally when there are none.
pub async fn register_commands(
    http: &serenity::Http,
    commands: &[poise::Command<Data, Error>],
    guilds: &[GuildId],
) -> Result<(), serenity::Error> {
    if guilds.is_empty() {
        poise::builtins::register_globally(http, commands).await?;
    } else {
        for g in guilds {
            poise::builtins::register_in_guild(http, commands, serenity::GuildId::new(g.get()))
                .await?;
        }
    }
    Ok(())
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

/// Serenity's framework slot, holding poise behind two bounded queues.
///
/// Serenity spawns a task per gateway event and hands it to the framework. poise's dispatch
/// future is large (it carries command parsing and error handling state), and in a burst of
/// 1000 messages a thousand of them would sit in memory at once, waiting their turn. Here each
/// waiting event holds only itself: poise's future is created once the event's turn comes.
///
/// It also drops an event it has handled before (a replay after a gateway RESUME), before it
/// takes a place in the queue.
///
/// Events wait in one of two lanes ([`Lane`]): members' messages and edits, and interactions
/// (presses, modals, commands), each with its own permits, so a flood of messages never
/// delays a press that Discord expects an answer to within 3 seconds. Each lane is bounded:
/// an event that finds `max` of its lane already waiting is shed (see [`throttle::shed`]):
/// dropped before any work, counted as [`Bucket::Shed`] for messages, and logged at most once
/// per [`SHED_LOG_EVERY`] with the count. Connection events (ready, guild data) never wait
/// in a lane.
struct Gate {
    inner: poise::Framework<Data, Error>,
    messages: Lane,
    interactions: Lane,
    /// The app, for the tally of shed messages (set when the framework is built).
    app: Arc<App>,
    seen: dedupe::Seen,
}

/// One lane of the gate: events handled at once, and how many may wait.
struct Lane {
    permits: Semaphore,
    waiting: AtomicUsize,
    max: usize,
    shed: AtomicUsize,
    /// When a shed was last logged, in ms on the app clock (0: never).
    logged_at: AtomicU64,
}

impl Lane {
    fn new(in_flight: usize, max: usize) -> Lane {
        Lane {
            permits: Semaphore::new(in_flight),
            waiting: AtomicUsize::new(0),
            max,
            shed: AtomicUsize::new(0),
            logged_at: AtomicU64::new(0),
        }
    }

    /// Takes a place in the queue, or `None` when the event is shed.
    fn enter(&self, kind: throttle::Lane) -> Option<Waiting<'_>> {
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        if throttle::shed(kind, waiting, self.max) {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            let total = self.shed.fetch_add(1, Ordering::Relaxed) + 1;
            let now = app::now().0;
            let last = self.logged_at.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= SHED_LOG_EVERY.as_millis() as u64
                && self
                    .logged_at
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(
                    lane = ?kind,
                    waiting,
                    shed_so_far = total,
                    "overloaded: shedding new events instead of queueing them"
                );
            }
            return None;
        }
        Some(Waiting(&self.waiting))
    }
}

/// A place in a lane's queue, given back when the event is done (or its task is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long a claimed event id is kept in a shared store: Discord replays an event within
/// minutes of a reconnect, never an hour later.
const CLAIMS_KEPT_MS: u64 = 60 * 60 * 1000;

/// A shed is logged at most this often (with the count so far).
const SHED_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Interactions handled at once (their own lane), and how many may wait. Enough that one
/// waiting for a permit is rare: an interaction defers itself once it runs (within 1.5 s of
/// its creation), but one still waiting here behind slow ones would miss Discord's 3 s.
const INTERACTIONS_IN_FLIGHT: usize = 32;
const INTERACTIONS_WAITING_MAX: usize = 256;

#[serenity::async_trait]
impl serenity::Framework for Gate {
    async fn init(&mut self, client: &serenity::Client) {
        serenity::Framework::init(&mut self.inner, client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: FullEvent) {
        if let Some(id) = dedupe::EventId::of(&event) {
            if !self.seen.first(id) {
                retry::STATS.replay_dropped();
                tracing::info!(event = ?id, "dropped an event handled before (replayed by Discord)");
                return;
            }
            // Several processes on one database: Discord may have sent this event to another
            // one too (a reconnect, a deploy overlap). The first to claim it answers. A
            // member's message is claimed later, where the bot first acts on it (see
            // `on_message`): in a support channel or DM with the turn's first read, so it
            // costs no round trip of its own.
            let shared = self.app.store().shared();
            if shared
                && !matches!(id, dedupe::EventId::Message(_))
                && !claim_event(&self.app, &id.key()).await
            {
                return;
            }
        }
        let kind = match &event {
            FullEvent::Message { .. } | FullEvent::MessageUpdate { .. } => throttle::Lane::Message,
            FullEvent::InteractionCreate { .. } => throttle::Lane::Interaction,
            _ => throttle::Lane::Control,
        };
        let lane = match kind {
            throttle::Lane::Message => &self.messages,
            throttle::Lane::Interaction => &self.interactions,
            throttle::Lane::Control => {
                serenity::Framework::dispatch(&self.inner, ctx, event).await;
                return;
            }
        };
        let Some(_waiting) = lane.enter(kind) else {
            if let FullEvent::Message { new_message } = &event {
                if !new_message.author.bot {
                    self.app.tally().add(Bucket::Shed);
                    tracing::debug!(target: "paymedic::tally", message_id = new_message.id.get(), bucket = "shed");
                }
            }
            return;
        };
        // The semaphore is never closed, so this only fails if it were; then run anyway.
        let _permit = lane.permits.acquire().await.ok();
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
        // Serenity reconnects on its own; these say it did (a new session, or a resumed one).
        FullEvent::Ready { .. } => {
            crate::metrics::gateway_connect("ready");
            Ok(())
        }
        FullEvent::Resume { .. } => {
            crate::metrics::gateway_connect("resume");
            Ok(())
        }
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(press),
        } => on_press(ctx, data, press).await,
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } => on_modal(ctx, data, modal).await,
        _ => Ok(()),
    }
}

async fn on_message(ctx: &serenity::Context, data: &Data, msg: &Message) -> Result<(), Error> {
    if msg.author.bot || msg.webhook_id.is_some() || msg.author.id == data.bot_id {
        return Ok(());
    }
    let out = data.outbox(&ctx.http);
    let dm = msg.guild_id.is_none();
    let support = data
        .discord
        .support_channels
        .contains(&TChannelId(msg.channel_id.get()));
    let secret = || crate::engine::sensitive::kind(&msg.content);
    // On a shared store, the claim on this message (see `Gate`): taken before the bot first
    // records or says anything about it.
    let mut claim = data
        .app
        .store()
        .shared()
        .then(|| dedupe::EventId::Message(msg.id.get()).key());
    if !dm && !support {
        if !claim_message(data, &mut claim).await {
            return Ok(());
        }
        // A ticket's thread: every message is kept (masked) for the transcript and counts as
        // activity, and none is ever answered by the bot. A card number is still removed, and
        // kept as "[removed]".
        let recorded = data
            .app
            .ticket_message(
                TChannelId(msg.channel_id.get()),
                MemberId(msg.author.id.get()),
                &msg.content,
                app::now(),
            )
            .await;
        let in_ticket = match recorded {
            Ok(t) => t.is_some(),
            Err(e) => {
                tracing::error!(channel = msg.channel_id.get(), error = %e, "could not look up or record a ticket message");
                false
            }
        };
        if in_ticket {
            if let Some(secret) = secret() {
                return out.remove_and_warn(&Posted::of(msg), secret).await;
            }
            return Ok(());
        }
    }
    let mentioned = msg.mentions.iter().any(|u| u.id == data.bot_id);
    if !(dm || mentioned || support) {
        // Elsewhere the bot answers nothing, but a card number or password is removed in any
        // channel it can read: a leaked card is as harmful in #general as in #support.
        if let Some(secret) = secret() {
            return out.remove_and_warn(&Posted::of(msg), secret).await;
        }
        return Ok(());
    }
    let user = convert::user_key(msg.guild_id.map(|g| g.get()), msg.author.id.get());
    let now = app::now();
    let tally = |b: Bucket| {
        data.app.tally().add(b);
        if !matches!(b, Bucket::Answered | Bucket::CooldownNotice) {
            // Message ids only, never text: what the load bench matches unanswered messages by.
            tracing::debug!(target: "paymedic::tally", message_id = msg.id.get(), bucket = b.name());
        }
    };
    // The channel reply cap, before any work: a capped message is not classified and its
    // member's conversation does not move. Card numbers are removed whatever the cap says
    // (removal protects the member), and DMs are not capped (the cooldown covers them).
    let channel = TChannelId(msg.channel_id.get());
    let reserved = !dm && secret().is_none();
    if reserved {
        match data.app.reserve_reply(channel, now) {
            CapVerdict::Send => {}
            verdict => {
                tally(Bucket::ChannelCapped);
                if verdict == CapVerdict::DropAndNotify && claim_message(data, &mut claim).await {
                    out.raid_notice(msg.channel_id).await;
                }
                return Ok(());
            }
        }
    }
    let release = || {
        if reserved {
            data.app.release_reply(channel, now);
        }
    };
    let text = convert::strip_mention(&msg.content, data.bot_id.get());
    // The scam shield screens members, not staff, in the support channels (a DM to the bot
    // reaches nobody else).
    let screen = support && !dm && !is_staff(data, msg);
    if screen {
        let shown = display_name(msg);
        let protected: Vec<&str> = data.protected_names.iter().map(String::as_str).collect();
        if let Some(flag) = data.app.impersonating_name(user, shown, &protected) {
            if !claim_message(data, &mut claim).await {
                release();
                return Ok(());
            }
            out.name_notice(&Posted::of(msg), shown, &flag).await;
        }
    }
    let origin = Origin {
        user,
        request: Some(msg.id.to_string()),
        claim,
        screen,
    };
    let input = Input::Text {
        text: &text,
        addressed: dm || mentioned,
    };
    let turn = match data.app.turn(origin, input, now).await {
        Ok(turn) => turn,
        Err(e) => {
            release();
            tally(Bucket::Failed);
            // Logged without the message: the member's words never reach the log.
            tracing::error!(member = user.member.get(), error = %e, "a turn failed; the message was not answered");
            return Ok(());
        }
    };
    if turn.duplicate {
        release();
        retry::STATS.replay_dropped();
        tracing::info!(
            message = msg.id.get(),
            "dropped a message another process claimed"
        );
        return Ok(());
    }
    if turn.is_silent() {
        release();
        tally(match turn.cooldown {
            Some(Cooldown::Silenced) => Bucket::CooldownSilenced,
            _ => Bucket::Quiet,
        });
        return Ok(());
    }
    let bucket = if turn
        .effects
        .iter()
        .any(|e| matches!(e, crate::engine::Effect::Sensitive(_)))
    {
        Bucket::SecretRemoved
    } else if turn.cooldown == Some(Cooldown::Notice) {
        Bucket::CooldownNotice
    } else {
        Bucket::Answered
    };
    let intent = turn.classification.as_ref().and_then(|c| c.intent);
    tracing::debug!(member = user.member.get(), ?intent, "answering message");
    let sent = out.turn(&mut To::message(msg), user.member, turn).await;
    tally(if sent.is_ok() { bucket } else { Bucket::Failed });
    sent
}

/// [`claim_event`] for a member's message, once (`claim` is then spent; `None`: nothing to
/// claim, or claimed already).
async fn claim_message(data: &Data, claim: &mut Option<String>) -> bool {
    match claim.take() {
        Some(key) => claim_event(&data.app, &key).await,
        None => true,
    }
}

/// Claims an event (`message:ID`, `interaction:ID`) in a shared store: `false` when another
/// process claimed it first and answers it. A store that can't be asked is logged, and the
/// event handled: answering twice is the lesser risk than never answering (and a turn, which
/// needs the database too, will say what is wrong).
async fn claim_event(app: &App, key: &str) -> bool {
    match app.store().claim(key, app::now()).await {
        Ok(true) => true,
        Ok(false) => {
            retry::STATS.replay_dropped();
            tracing::info!(event = %key, "dropped an event another process claimed");
            false
        }
        Err(e) => {
            tracing::warn!(event = %key, error = %e, "could not claim an event; handling it");
            true
        }
    }
}

/// Whether a message's author is staff (a moderator role or the support role), from the roles
/// the message carries.
fn is_staff(data: &Data, msg: &Message) -> bool {
    let (Some(guild), Some(member)) = (msg.guild_id, msg.member.as_ref()) else {
        return false;
    };
    let roles: Vec<RoleId> = member.roles.iter().map(|r| RoleId(r.get())).collect();
    data.app
        .staff(MemberId(msg.author.id.get()), GuildId(guild.get()), &roles)
        .is_some()
}

/// The name a message shows its author under: the server nickname, the global display name,
/// or the username.
fn display_name(msg: &Message) -> &str {
    msg.member
        .as_ref()
        .and_then(|m| m.nick.as_deref())
        .or(msg.author.global_name.as_deref())
        .unwrap_or(&msg.author.name)
}

/// The names display names must not imitate: the bot's, and the support and moderator roles'
/// in the configured guilds (one request per guild at start-up; a failure only shortens the
/// list).
async fn protected_names(
    http: &serenity::Http,
    discord: &DiscordConfig,
    bot: &serenity::CurrentUser,
) -> Vec<String> {
    let mut names = vec![bot.name.clone()];
    names.extend(bot.global_name.clone());
    let staff: Vec<u64> = discord
        .moderator_roles
        .iter()
        .chain(discord.support_role.iter())
        .map(|r| r.get())
        .collect();
    for g in &discord.guild_ids {
        match http.get_guild_roles(serenity::GuildId::new(g.get())).await {
            Ok(roles) => names.extend(
                roles
                    .into_iter()
                    .filter(|r| staff.contains(&r.id.get()))
                    .map(|r| r.name),
            ),
            Err(e) => {
                tracing::warn!(guild = g.get(), error = %e, "could not read the staff roles' names for the scam shield")
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// An edited message: the secrets guard runs on the new text too, in any channel, since a
/// card number can be added by editing ("every message" includes edits); in the support
/// channels, so does the scam shield. Nothing is answered.
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
    let posted = Posted {
        id: edit.id,
        channel: edit.channel_id,
        guild: edit.guild_id,
        author: author.id,
    };
    if let Some(secret) = crate::engine::sensitive::kind(content) {
        return data
            .outbox(&ctx.http)
            .remove_and_warn(&posted, secret)
            .await;
    }
    // A message that passed the scam shield can be edited into a scam. An edit carries no
    // roles, so they are fetched, and only for an edit the shield flags.
    let support = data
        .discord
        .support_channels
        .contains(&TChannelId(edit.channel_id.get()));
    let (Some(guild), true) = (edit.guild_id, support) else {
        return Ok(());
    };
    let Some(flag) = data.app.screen(content) else {
        return Ok(());
    };
    let member = ctx.http.get_member(guild, author.id).await?;
    let roles: Vec<RoleId> = member.roles.iter().map(|r| RoleId(r.get())).collect();
    if data
        .app
        .staff(MemberId(author.id.get()), GuildId(guild.get()), &roles)
        .is_some()
    {
        return Ok(());
    }
    data.outbox(&ctx.http).scam_warning(&posted, &flag).await
}

/// A button press: a staff button on a ticket's packet, a "Did we solve it?" answer, a
/// `/forget-me` confirmation, or a member's answer in their conversation. A failure is logged
/// and the presser told, ephemerally.
async fn on_press(
    ctx: &serenity::Context,
    data: &Data,
    press: &ComponentInteraction,
) -> Result<(), Error> {
    let out = data.outbox(&ctx.http);
    let mut to = To::press(press);
    let id = press.data.custom_id.as_str();
    let result = if let Some(incident) = convert::parse_notify_id(id) {
        incident::notify_press(&out, &mut to, press, incident).await
    } else if let Some((button, ticket)) = convert::parse_staff_id(id) {
        tickets::staff_button(&out, &mut to, press, button, ticket).await
    } else if let Some((ticket, solved)) = convert::parse_rate_id(id) {
        tickets::rate_press(&out, &mut to, press, ticket, solved).await
    } else if let Some(member) = convert::parse_forget_id(id) {
        tickets::forget_press(&out, &mut to, press, member).await
    } else {
        conversation_press(&out, &mut to, press).await
    };
    if let Err(e) = result {
        tracing::error!(member = press.user.id.get(), error = %e, "a button press failed");
        out.fail(&mut to).await;
    }
    Ok(())
}

/// A member's answer to the bot's question: a turn like a message, from the press.
async fn conversation_press(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    press: &ComponentInteraction,
) -> Result<(), Error> {
    let content = &out.app.engine().content;
    let Some(id) = convert::parse_button_id(&press.data.custom_id, content) else {
        return out
            .send(to, Piece::ephemeral(content.copy.stale.clone()))
            .await;
    };
    if id.owner != press.user.id.get() {
        return out
            .send(to, Piece::ephemeral(content.copy.not_yours.clone()))
            .await;
    }
    let user = convert::user_key(press.guild_id.map(|g| g.get()), id.owner);
    let origin = Origin {
        user,
        request: Some(press.id.to_string()),
        claim: None,
        screen: false,
    };
    let input = Input::Choose {
        choice: id.choice,
        shown_at: id.at,
    };
    // A slow store must not make the press miss Discord's 3 seconds.
    let turn = out
        .in_time(to, false, out.app.turn(origin, input, app::now()))
        .await??;
    out.turn(to, user.member, turn).await
}

/// A modal submit, handled by its `custom_id` alone: the only modal is a ticket's close
/// reason (`pmt:close:<ticket>`).
async fn on_modal(
    ctx: &serenity::Context,
    data: &Data,
    modal: &ModalInteraction,
) -> Result<(), Error> {
    let out = data.outbox(&ctx.http);
    let mut to = To::modal(modal);
    let result = match convert::parse_staff_id(&modal.data.custom_id) {
        Some((StaffButton::Close, ticket)) => {
            tickets::close_submit(&out, &mut to, modal, ticket).await
        }
        _ => {
            let stale = data.app.engine().content.copy.stale.clone();
            out.send(&mut to, Piece::ephemeral(stale)).await
        }
    };
    if let Err(e) = result {
        tracing::error!(member = modal.user.id.get(), error = %e, "a modal submit failed");
        out.fail(&mut to).await;
    }
    Ok(())
}

/// "It's fixed" DMs a restart cut short: each ended incident with subscribers left is told
/// now (in the background), without a second DM to anyone already told.
async fn resume_fanouts(data: &Data, http: Arc<serenity::Http>) {
    match data.app.unfinished_fanouts().await {
        Ok(list) => {
            for ended in list {
                tracing::info!(
                    incident = ended.incident.id.get(),
                    left = ended.subscribers.len(),
                    "resuming an incident's \"it's fixed\" DMs"
                );
                incident::spawn_fanout(data, http.clone(), ended, None);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not look for unfinished incident DMs"),
    }
}

/// Tickets a crash left `Opening` (committed, but the thread not made or not recorded): each
/// gets its thread now, or is failed with a plain request. None is left open without a thread.
async fn finish_half_open(out: &Outbox<'_>, before: Option<crate::engine::Timestamp>) {
    let half = match out.app.half_open().await {
        Ok(h) => h
            .into_iter()
            .filter(|t| before.is_none_or(|b| t.opened_at < b))
            .collect::<Vec<_>>(),
        Err(e) => {
            tracing::error!(error = %e, "could not list half-open tickets");
            return;
        }
    };
    for t in half {
        let id = t.id.get();
        match out.open_ticket(t, None).await {
            Ok(outbox::Opening::Open(_)) => {
                tracing::info!(ticket = id, "finished opening a ticket left half-open")
            }
            Ok(outbox::Opening::Failed(_)) => {
                tracing::warn!(ticket = id, "failed a ticket left half-open")
            }
            Err(e) => {
                tracing::error!(ticket = id, error = %e, "could not finish a half-open ticket")
            }
        }
    }
}

/// The periodic job, in the leader only (see [`crate::cluster`]): ticket timers every
/// [`TIMERS_EVERY`] (each recorded before it is posted, so it fires once even across restarts),
/// the retention purge at start-up and daily, and, on a shared store, tickets another process
/// left half-open for [`HALF_OPEN_AFTER_MS`]. A process that becomes the leader runs them at
/// once.
async fn ticket_timers(
    http: Arc<serenity::Http>,
    app: Arc<App>,
    discord: DiscordConfig,
    sends: Arc<Semaphore>,
    leadership: crate::cluster::Leadership,
    on_lead: Arc<tokio::sync::Notify>,
) {
    let out = Outbox::new(&http, &app, &discord, &sends);
    let mut tick = tokio::time::interval(TIMERS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purged: Option<tokio::time::Instant> = None;
    let mut purge = retry::JobFailures::new("the retention purge");
    let mut timers = retry::JobFailures::new("run ticket timers");
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = on_lead.notified() => {}
        }
        if !leadership.is_leader() {
            continue;
        }
        if app.store().shared() {
            let before = app::now().0.saturating_sub(HALF_OPEN_AFTER_MS);
            finish_half_open(&out, Some(crate::engine::Timestamp(before))).await;
        }
        if purged.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            purged = Some(tokio::time::Instant::now());
            if let Some(p) = purge.check(app.purge(app::now()).await) {
                tracing::info!(
                    tickets = p.tickets,
                    sessions = p.sessions,
                    "purged what is past the retention period"
                );
            }
        }
        for f in timers
            .check(app.run_timers(app::now()).await)
            .into_iter()
            .flatten()
        {
            out.fired(&f).await;
        }
    }
}

/// What tickets need from the bot, channel by channel.
const ESCALATION_PERMISSIONS: [(Permissions, &str); 5] = [
    (Permissions::VIEW_CHANNEL, "View Channel"),
    (Permissions::SEND_MESSAGES, "Send Messages"),
    (
        Permissions::CREATE_PRIVATE_THREADS,
        "Create Private Threads",
    ),
    (
        Permissions::SEND_MESSAGES_IN_THREADS,
        "Send Messages in Threads",
    ),
    (Permissions::MANAGE_THREADS, "Manage Threads"),
];
const LOG_PERMISSIONS: [(Permissions, &str); 3] = [
    (Permissions::VIEW_CHANNEL, "View Channel"),
    (Permissions::SEND_MESSAGES, "Send Messages"),
    (Permissions::ATTACH_FILES, "Attach Files"),
];

/// At start-up: the bot's permissions in the escalation and ticket log channels, from three
/// cheap requests each; a warning names what is missing. Tickets still work without this (a
/// thread that can't be made fails the ticket and posts a plain request).
async fn check_permissions(http: &serenity::Http, data: &Data, bot: UserId) {
    let channels = [
        (
            data.discord.escalation_channel,
            "escalation",
            &ESCALATION_PERMISSIONS[..],
        ),
        (
            data.app.config().ticket_log_channel,
            "ticket log",
            &LOG_PERMISSIONS[..],
        ),
    ];
    for (channel, what, needed) in channels {
        let Some(channel) = channel.map(|c| c.get()) else {
            continue;
        };
        match missing_permissions(http, ChannelId::new(channel), bot, needed).await {
            Ok(missing) if missing.is_empty() => {}
            Ok(missing) => tracing::warn!(
                channel,
                missing = %missing.join(", "),
                "the bot lacks permissions in the {what} channel; tickets there will fail until they are granted"
            ),
            Err(e) => {
                tracing::warn!(channel, error = %e, "could not check the bot's permissions in the {what} channel")
            }
        }
    }
}

async fn missing_permissions(
    http: &serenity::Http,
    channel: ChannelId,
    bot: UserId,
    needed: &[(Permissions, &'static str)],
) -> Result<Vec<&'static str>, Error> {
    let serenity::Channel::Guild(channel) = http.get_channel(channel).await? else {
        return Ok(vec!["(not a server text channel)"]);
    };
    let guild = http.get_guild(channel.guild_id).await?;
    let member = http.get_member(channel.guild_id, bot).await?;
    let have = guild.user_permissions_in(&channel, &member);
    Ok(needed
        .iter()
        .filter(|(p, _)| !have.contains(*p))
        .map(|(_, name)| *name)
        .collect())
}
