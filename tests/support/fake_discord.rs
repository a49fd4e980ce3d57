//! A fake Discord (REST API v10 + gateway) for offline end-to-end tests of the bot.
//!
//! [`FakeDiscord::start`] binds one server on `127.0.0.1:0` that serves both the REST API
//! (under `/api/v10/...`) and the gateway websocket (at `/`). The real, unmodified serenity client
//! connects to it like this:
//!
//! ```ignore
//! let http = serenity::http::HttpBuilder::new("any-token")
//!     .proxy(fake.api_base())          // "http://127.0.0.1:PORT"
//!     .ratelimiter_disabled(true)      // with the ratelimiter on, serenity ignores the proxy
//!     .build();
//! let client = serenity::Client::builder ... ClientBuilder::new_with_http(http, intents) ...;
//! ```
//!
//! Serenity asks `GET /api/v10/gateway` for the websocket URL (the fake answers
//! `ws://127.0.0.1:PORT`; serenity appends `?v=10`), poise asks `GET /oauth2/applications/@me`,
//! then the gateway handshake runs (HELLO, IDENTIFY, READY, heartbeats, RESUME/RESUMED) and poise
//! registers its commands with `PUT /applications/{app}/commands` (or the guild variant).
//! [`FakeDiscord::wait_for_ready`] waits for READY *and* that PUT.
//!
//! What the fake does to stay close to Discord (and to fail loudly instead of hanging):
//! - [`FakeDiscord::dispatch`] validates each payload with serenity's own types first and panics
//!   with the serde error if serenity would silently drop it as `Event::Unknown`; it also panics
//!   if the bot did not IDENTIFY with the intent Discord requires for that event, and blanks the
//!   content of guild messages (not mentioning the bot) if `MESSAGE_CONTENT` was not requested,
//!   as Discord does. [`FakeDiscord::dispatch_unchecked`] skips all of that.
//! - every REST request is recorded ([`Recorded`]), including the JSON of multipart bodies
//!   (`payload_json`) and their files; unknown routes get a 404
//!   `{"message":"Unknown route","code":0}` and are listed by [`FakeDiscord::unknown_requests`].
//! - REST answers are built as Discord would (new snowflakes, author = the bot, echoed content,
//!   embeds, components, `message_reference`, ...) and are themselves checked against serenity's
//!   types; a mismatch is listed by [`FakeDiscord::problems`] (a bug in the fake).
//! - Discord errors the bot may hit are reproduced: replying to an unknown message (400, 50035),
//!   an empty message (400, 50006), over-long content (400, 50035), answering an interaction twice
//!   (400, 40060) or one that was never dispatched (404, 10062), a follow-up before the interaction
//!   was acknowledged (404, 10015), unknown messages (404, 10008).
//! - [`FakeDiscord::fail_next`] injects a one-shot error answer on any route.
//! - Faults, for the bot's resilience tests:
//!   - gateway: [`FakeDiscord::close_session`] (a close frame with a code),
//!     [`FakeDiscord::drop_connection`] (TCP gone without a close frame: the client sees 1006),
//!     [`FakeDiscord::stop_heartbeat_acks`] (a zombie connection), and, as Discord does, a
//!     RESUME replays the dispatches after the client's `seq` before RESUMED;
//!     [`FakeDiscord::replay_on_next_resume`] replays the last N as well, so the bot sees the
//!     same event twice;
//!   - REST: [`FakeDiscord::fail_next_times`] (N× 500/502, then the real answer),
//!     [`FakeDiscord::fail_next_applied`] (the request takes effect, the answer is an error:
//!     a 502 from a proxy after Discord did the work), [`FakeDiscord::rate_limit_next`] (429
//!     with Discord's body and `Retry-After`/`X-RateLimit-*` headers),
//!     [`FakeDiscord::delete_channel`] (404, 10003 on every route of it) and
//!     [`FakeDiscord::deny_send`] (403, 50013 on its messages);
//!   - `enforce_nonce` is honoured: a message POST whose nonce the bot already used in that
//!     channel gets the first message back, not a second one.
//!
//! Sharding, as Discord does it: `GET /gateway/bot` recommends [`FakeOptions::total_shards`];
//! any number of gateway connections may be open at once, each IDENTIFYing with
//! `shard: [i, n]` (none means `[0, 1]`). READY carries that shard and lists only its guilds
//! (GUILD_CREATEs likewise); [`FakeDiscord::dispatch`] sends a guild's events to the shard with
//! `(guild_id >> 22) % n == i` and DMs to shard 0. Each shard has its own session, sequence
//! numbers and resume. [`FakeDiscord::dispatch_to_shard`] and
//! [`FakeDiscord::dispatch_everywhere`] deliver an event where Discord would not, or twice (as
//! during a reconnect or deploy overlap). The single-connection API (`close_session`,
//! `drop_connection`, `send_raw`, ...) acts on shard 0, or the only shard.
//!
//! Replies come back in any order (serenity spawns a task per event): match them by
//! `message_reference.message_id`, by channel, or by interaction token, never by arrival order.
//!
//! Every wait takes a timeout and panics with a summary of what the fake has seen.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The REST prefix serenity 0.12 uses (API v10).
pub const API_PREFIX: &str = "/api/v10";

/// Default timeout of the waits the fake does on its own (e.g. `dispatch` waiting for a session).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const INTENT_GUILDS: u64 = 1 << 0;
const INTENT_GUILD_MEMBERS: u64 = 1 << 1;
const INTENT_GUILD_MESSAGES: u64 = 1 << 9;
const INTENT_GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
const INTENT_DIRECT_MESSAGES: u64 = 1 << 12;
const INTENT_DIRECT_MESSAGE_REACTIONS: u64 = 1 << 13;
const INTENT_MESSAGE_CONTENT: u64 = 1 << 15;

/// Permissions of an ordinary member (view, send, embed, attach, history, reactions, external
/// emojis, application commands, create/send in threads), as put in interaction payloads
/// (`member.permissions`) and on the `@everyone` role.
pub const MEMBER_PERMISSIONS: u64 = (1 << 6)
    | (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 31)
    | (1 << 35)
    | (1 << 36)
    | (1 << 38);

/// Permissions of the bot in interaction payloads (`app_permissions`): the member ones plus
/// manage messages and manage threads.
pub const BOT_PERMISSIONS: u64 = MEMBER_PERMISSIONS | (1 << 13) | (1 << 34);

/// Message flag EPHEMERAL.
pub const FLAG_EPHEMERAL: u64 = 1 << 6;
/// Message flag LOADING (set on the original response of a deferred interaction).
pub const FLAG_LOADING: u64 = 1 << 7;

/// Configuration of a [`FakeDiscord`]. All ids are snowflakes.
#[derive(Clone, Debug)]
pub struct FakeOptions {
    /// The bot's user id (READY `user.id`, author of every message the bot sends).
    pub bot_user_id: u64,
    /// The bot's username.
    pub bot_username: String,
    /// The application id (READY `application.id`, `/oauth2/applications/@me`).
    pub application_id: u64,
    /// Owner of the application (`owner` in `/oauth2/applications/@me`).
    pub owner_id: u64,
    /// Guilds the bot is in: listed unavailable in READY, then a GUILD_CREATE each if the bot
    /// asked for the GUILDS intent.
    pub guild_ids: Vec<u64>,
    /// HELLO `heartbeat_interval` in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// The shard count `GET /gateway/bot` recommends (`shards`). Routing follows what each
    /// connection IDENTIFYs with (`shard: [i, n]`), as on Discord, not this number.
    pub total_shards: u64,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            bot_user_id: 1_200_000_000_000_000_001,
            bot_username: "paymedic".to_string(),
            application_id: 1_200_000_000_000_000_001,
            owner_id: 1_200_000_000_000_000_099,
            guild_ids: vec![1_200_000_000_000_000_100],
            heartbeat_interval_ms: 41_250,
            total_shards: 1,
        }
    }
}

/// One REST request as the fake saw it, with the answer it gave.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Order of arrival, from 0.
    pub index: usize,
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// The full path as sent, e.g. `/api/v10/channels/123/messages` (see [`Recorded::route`]).
    pub path: String,
    /// The raw query string without `?` (serenity sends e.g. `&wait=true`), or empty.
    pub query: String,
    /// The JSON body; for multipart bodies, the parsed `payload_json` part; `Null` if empty.
    pub body: Value,
    /// Files of a multipart body (parts other than `payload_json`).
    pub files: Vec<RecordedFile>,
    /// HTTP status the fake answered.
    pub status: u16,
    /// JSON the fake answered (`Null` for 204).
    pub response: Value,
    /// When the fake received the request (its body fully read), for latency figures.
    pub at: Instant,
}

impl Recorded {
    /// The path without the `/api/v10` prefix, e.g. `/channels/123/messages`.
    pub fn route(&self) -> &str {
        self.path.strip_prefix(API_PREFIX).unwrap_or(&self.path)
    }

    /// Whether this request is `method` on `route` (path without `/api/v10`).
    pub fn is(&self, method: &str, route: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.route() == route
    }

    /// Whether this is a message sent to `channel_id` (`POST /channels/{id}/messages`).
    pub fn is_message_to(&self, channel_id: u64) -> bool {
        self.is("POST", &format!("/channels/{channel_id}/messages"))
    }

    /// `body.message_reference.message_id`, if any.
    pub fn replied_to(&self) -> Option<u64> {
        id_of(&self.body["message_reference"]["message_id"])
    }

    /// For an interaction callback (`POST /interactions/{id}/{token}/callback`): the id.
    pub fn interaction_callback_id(&self) -> Option<u64> {
        match segments(self.route()).as_slice() {
            ["interactions", id, _, "callback"] => id.parse().ok(),
            _ => None,
        }
    }

    /// Whether this request belongs to the interaction with `token`: its callback, or a
    /// follow-up / original-response webhook call.
    pub fn is_for_interaction_token(&self, token: &str) -> bool {
        match segments(self.route()).as_slice() {
            ["interactions", _, t, "callback"] => *t == token,
            ["webhooks", _, t, ..] => *t == token,
            _ => false,
        }
    }
}

/// One file part of a multipart request.
#[derive(Clone, Debug)]
pub struct RecordedFile {
    /// Form field name, e.g. `files[0]`.
    pub field: String,
    /// File name given by the client.
    pub filename: String,
    /// Content type of the part, if given.
    pub content_type: Option<String>,
    /// Raw bytes.
    pub data: Vec<u8>,
}

enum Outgoing {
    Text(String),
    Close(u16, String),
    /// Drop the TCP connection without a close frame (the client sees 1006).
    Drop,
}

struct Live {
    conn: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

struct InteractionRec {
    id: u64,
    kind: u64,
    channel_id: u64,
    guild_id: Option<u64>,
    message_id: Option<u64>,
    acked: bool,
    original: Option<Value>,
}

struct Override {
    method: String,
    path_contains: String,
    status: u16,
    body: Value,
    /// Extra response headers (a 429's `Retry-After`, `X-RateLimit-*`).
    headers: Vec<(String, String)>,
    /// The request is carried out as usual, and only the answer is replaced.
    applied: bool,
}

/// How many dispatches of a session the fake keeps for replay after a RESUME.
const REPLAY_LOG_MAX: usize = 512;

/// One dispatch sent on a session, kept for replay.
struct Sent {
    seq: u64,
    frame: String,
    at: Instant,
}

/// One shard's gateway session: what Discord keeps per `[index, count]`.
struct Shard {
    /// `n` of the IDENTIFY's `shard: [i, n]`: this shard gets the guilds with
    /// `(guild_id >> 22) % count == i`.
    count: u64,
    live: Option<Live>,
    /// `None` once the session can't be resumed (closed with a code Discord never resumes).
    session_id: Option<String>,
    seq: u64,
    /// Dispatches of the session, oldest first (at most [`REPLAY_LOG_MAX`]).
    sent: VecDeque<Sent>,
    /// Intents the session IDENTIFYed with.
    intents: u64,
}

/// Where a dispatch goes.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// As Discord routes it: a guild's events to shard `(guild_id >> 22) % n`, the rest
    /// (DMs) to shard 0.
    Route,
    /// To this shard index, whatever the event.
    Shard(u64),
    /// To every shard that has a session.
    Everywhere,
}

/// `[i, n]` of an IDENTIFY's `shard` field; `[0, 1]` when it has none.
fn shard_pair(v: &Value) -> [u64; 2] {
    match (v[0].as_u64(), v[1].as_u64()) {
        (Some(i), Some(n)) if v.is_array() => [i, n],
        _ => [0, 1],
    }
}

/// The shard index Discord sends a guild's events to, out of `count`.
pub fn shard_of(guild_id: u64, count: u64) -> u64 {
    (guild_id >> 22) % count.max(1)
}

/// The guild an event belongs to, for routing: `guild_id`, or `id` for the GUILD_* events
/// that are the guild itself.
fn routing_guild(event: &str, data: &Value) -> Option<u64> {
    match event {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" => id_of(&data["id"]),
        _ => id_of(&data["guild_id"]),
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    problems: Vec<String>,
    // gateway
    conn_count: u64,
    gateway_queries: Vec<String>,
    /// The current session of each shard index (the latest IDENTIFY with `shard: [i, n]`;
    /// a connection that sends no `shard` is shard `[0, 1]`).
    shards: BTreeMap<u64, Shard>,
    session_count: u64,
    identifies: Vec<Value>,
    /// Intents of the last IDENTIFY (any shard).
    intents: Option<u64>,
    resume_count: usize,
    resume_seqs: Vec<u64>,
    heartbeat_count: usize,
    ready_count: usize,
    client_ops: Vec<Value>,
    client_close_codes: Vec<Option<u16>>,
    /// The next RESUME (of any shard) replays at least this many of the last dispatches.
    replay_next: usize,
    /// Dispatches replayed after RESUMEs.
    replayed: usize,
    /// Heartbeats on this connection are not acknowledged.
    no_ack_conn: Option<u64>,
    unacked_heartbeats: usize,
    // REST registries
    command_puts: usize,
    commands: HashMap<Option<u64>, Vec<Value>>,
    command_ids: HashMap<(Option<u64>, String), u64>,
    channels: HashMap<u64, Value>,
    messages: HashMap<u64, Value>,
    users: HashMap<u64, Value>,
    roles: HashMap<u64, Vec<Value>>,
    member_roles: HashMap<(u64, u64), Vec<u64>>,
    dm_channels: HashMap<u64, u64>,
    /// Users whose DMs are closed to the bot: a message to their DM channel gets 403, 50007.
    closed_dms: HashSet<u64>,
    interactions: HashMap<String, InteractionRec>,
    overrides: Vec<Override>,
    /// Channels deleted: every route of theirs answers 404, 10003.
    deleted_channels: HashSet<u64>,
    /// Channels where the bot lacks Send Messages: a message POST answers 403, 50013.
    no_send: HashSet<u64>,
    /// Messages created with `enforce_nonce`, by (channel, nonce).
    nonces: HashMap<(u64, String), u64>,
}

struct Inner {
    opts: FakeOptions,
    addr: SocketAddr,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
}

impl State {
    /// The shard the single-connection API (`close_session`, `drop_connection`, ...) acts on:
    /// shard 0, or else the lowest index with a session.
    fn default_shard(&self) -> Option<u64> {
        self.shards.keys().next().copied()
    }

    /// The shard Discord would send this event to, among the sessions the fake has.
    fn route(&self, event: &str, data: &Value) -> Option<u64> {
        match routing_guild(event, data) {
            Some(g) => self
                .shards
                .iter()
                .find(|(i, s)| shard_of(g, s.count) == **i)
                .map(|(i, _)| *i),
            None => self.shards.contains_key(&0).then_some(0),
        }
    }

    fn live_shard(&mut self, which: Option<u64>) -> Option<&mut Shard> {
        let i = which.or_else(|| self.default_shard())?;
        self.shards.get_mut(&i).filter(|s| s.live.is_some())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

/// The fake Discord server. Serves until dropped.
pub struct FakeDiscord {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        let _ = self.inner.shutdown.send(true);
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Binds REST and gateway to `127.0.0.1:0` and serves until dropped.
    pub async fn start(opts: FakeOptions) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("FakeDiscord: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("FakeDiscord: local_addr");
        let mut state = State::default();
        for &g in &opts.guild_ids {
            state
                .roles
                .insert(g, vec![role_json(g, "@everyone", 0, MEMBER_PERMISSIONS)]);
        }
        let bot = user_json(opts.bot_user_id, &opts.bot_username, true);
        state.users.insert(opts.bot_user_id, bot);
        let (changed, _) = watch::channel(0u64);
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            opts,
            addr,
            state: Mutex::new(state),
            changed,
            shutdown,
        });
        let app = Router::new()
            .route("/", get(gateway_route))
            .fallback(rest_route)
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { inner, server }
    }

    /// `http://127.0.0.1:PORT`, to give to `HttpBuilder::proxy` (or `DISCORD_API_BASE`).
    pub fn api_base(&self) -> String {
        self.inner.api_base()
    }

    /// `ws://127.0.0.1:PORT`, what `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.inner.ws_url()
    }

    /// The options the fake runs with.
    pub fn options(&self) -> &FakeOptions {
        &self.inner.opts
    }

    /// Waits until READY was sent and the bot's command registration PUT was answered.
    pub async fn wait_for_ready(&self, timeout: Duration) {
        self.wait_state("READY and the command registration PUT", timeout, |st| {
            (st.ready_count > 0 && st.command_puts > 0).then_some(())
        })
        .await
    }

    /// Waits until a gateway session is live (READY or RESUMED sent) on shard 0 (or the only
    /// shard), without requiring a command PUT (for a bare serenity client).
    pub async fn wait_for_session(&self, timeout: Duration) {
        self.wait_state("a live gateway session", timeout, |st| {
            st.live_shard(None).map(|_| ())
        })
        .await
    }

    /// Waits until every shard index in `shards` has a live session (READY or RESUMED sent).
    pub async fn wait_for_shard_sessions(&self, shards: &[u64], timeout: Duration) {
        let what = format!("live gateway sessions on shards {shards:?}");
        self.wait_state(&what, timeout, |st| {
            shards
                .iter()
                .all(|i| st.live_shard(Some(*i)).is_some())
                .then_some(())
        })
        .await
    }

    /// Waits until `pred(self)` holds, re-checking whenever the fake's state changes (a request,
    /// a gateway message, a connection). Panics with a summary on timeout.
    pub async fn wait_until(&self, what: &str, timeout: Duration, pred: impl Fn(&Self) -> bool) {
        let mut rx = self.inner.changed.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            if pred(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!(
                    "FakeDiscord: timed out after {timeout:?} waiting for {what}\n{}",
                    self.describe()
                );
            }
        }
    }

    /// Validates `data` against serenity's types (panics with the serde error if serenity would
    /// drop it), checks the bot asked for the intent Discord needs for it (panics if not), then
    /// sends it, with the next sequence number of that session, on the shard Discord would:
    /// a guild's events (`guild_id`, or `id` for GUILD_CREATE/UPDATE/DELETE) on the shard
    /// `[i, n]` with `(guild_id >> 22) % n == i`, everything else (DMs) on shard 0. With one
    /// connection that is the only session. Waits up to [`DEFAULT_TIMEOUT`] for that session to
    /// be live (e.g. during a resume). Returns the `s` used.
    ///
    /// Side effects, as on Discord: the channel, message, users, roles and interaction in the
    /// payload become known to the REST side (so `GET /channels/{id}`, replies, interaction
    /// callbacks work). For `INTERACTION_CREATE` the `application_id` is set to the fake's.
    pub async fn dispatch(&self, event: &str, data: Value) -> u64 {
        self.dispatch_checked(event, data, Target::Route).await[0]
    }

    /// [`FakeDiscord::dispatch`] on shard `shard`'s session, whatever shard Discord would pick:
    /// an event the wrong process gets, or the second copy of one (see
    /// [`FakeDiscord::dispatch_everywhere`]). Returns the `s` used on that session.
    pub async fn dispatch_to_shard(&self, shard: u64, event: &str, data: Value) -> u64 {
        self.dispatch_checked(event, data, Target::Shard(shard))
            .await[0]
    }

    /// [`FakeDiscord::dispatch`] on every shard's session at once (waiting until all are live):
    /// one event delivered to several processes, as happens during a reconnect or a deploy
    /// overlap. The side effects (the interaction becoming known, ...) happen once. Returns
    /// the `s` used on each session, by shard index.
    pub async fn dispatch_everywhere(&self, event: &str, data: Value) -> Vec<u64> {
        self.dispatch_checked(event, data, Target::Everywhere).await
    }

    async fn dispatch_checked(&self, event: &str, data: Value, target: Target) -> Vec<u64> {
        let mut data = data;
        if event == "INTERACTION_CREATE" && data.is_object() {
            data["application_id"] = sf(self.inner.opts.application_id);
            // An interaction in a thread the fake knows says so, as on Discord.
            let thread = id_of(&data["channel_id"])
                .and_then(|c| self.inner.lock().channels.get(&c).cloned())
                .filter(|c| matches!(c["type"].as_u64(), Some(10..=12)));
            if let (Some(t), true) = (thread, data["channel"].is_object()) {
                data["channel"]["type"] = t["type"].clone();
                data["channel"]["parent_id"] = t["parent_id"].clone();
                data["channel"]["thread_metadata"] = t["thread_metadata"].clone();
            }
        }
        if let Err(e) = validate_dispatch(event, &data) {
            panic!(
                "FakeDiscord::dispatch({event}): {e}\npayload: {}",
                serde_json::to_string_pretty(&data).unwrap_or_default()
            );
        }
        match self.send_dispatch(event, data, true, target).await {
            Ok(s) => s,
            Err(e) => panic!("FakeDiscord::dispatch({event}): {e}"),
        }
    }

    /// Sends a dispatch as is (routed like [`FakeDiscord::dispatch`]): no validation, no intent
    /// check, no content blanking.
    pub async fn dispatch_unchecked(&self, event: &str, data: Value) -> u64 {
        self.send_dispatch(event, data, false, Target::Route)
            .await
            .unwrap_or_else(|e| panic!("FakeDiscord::dispatch_unchecked({event}): {e}"))[0]
    }

    async fn send_dispatch(
        &self,
        event: &str,
        data: Value,
        checked: bool,
        target: Target,
    ) -> Result<Vec<u64>, String> {
        let opts = self.inner.opts.clone();
        let what = match target {
            Target::Route => match routing_guild(event, &data) {
                Some(g) => format!(
                    "a live gateway session on the shard of guild {g} to send {event} \
                     (shard (guild_id >> 22) % n of an IDENTIFYed [i, n])"
                ),
                None => format!("a live gateway session on shard 0 to send {event}"),
            },
            Target::Shard(i) => format!("a live gateway session on shard {i} to send {event}"),
            Target::Everywhere => format!("live gateway sessions on every shard to send {event}"),
        };
        // Shards already sent to (a send can fail on a connection closing meanwhile; then the
        // rest wait for their session and the ones done are not sent twice).
        let mut done: Vec<(u64, u64)> = Vec::new();
        let mut learned = false;
        let r = self
            .wait_state(&what, DEFAULT_TIMEOUT, |st| {
                let targets: Vec<u64> = match target {
                    Target::Route => vec![st.route(event, &data)?],
                    Target::Shard(i) => vec![i],
                    Target::Everywhere => st.shards.keys().copied().collect(),
                };
                if targets.is_empty() {
                    return None;
                }
                let pending: Vec<u64> = targets
                    .iter()
                    .copied()
                    .filter(|i| !done.iter().any(|(d, _)| d == i))
                    .collect();
                if pending.iter().any(|i| st.live_shard(Some(*i)).is_none()) {
                    return None;
                }
                for i in pending {
                    let shard = st.shards.get_mut(&i)?;
                    let live = shard.live.as_ref()?;
                    let mut data = data.clone();
                    if checked {
                        if let Err(e) = check_intents(event, &data, shard.intents) {
                            return Some(Err(e));
                        }
                        blank_content_without_intent(
                            event,
                            &mut data,
                            shard.intents,
                            opts.bot_user_id,
                        );
                    }
                    let seq = shard.seq + 1;
                    let frame = json!({"op": 0, "s": seq, "t": event, "d": data}).to_string();
                    if live.tx.send(Outgoing::Text(frame.clone())).is_err() {
                        shard.live = None;
                        return None;
                    }
                    shard.seq = seq;
                    if shard.sent.len() == REPLAY_LOG_MAX {
                        shard.sent.pop_front();
                    }
                    shard.sent.push_back(Sent {
                        seq,
                        frame,
                        at: Instant::now(),
                    });
                    done.push((i, seq));
                    // Once, however many sessions get it: a second copy of an interaction is
                    // the same interaction (one token, answerable once).
                    if !learned {
                        learn_from_dispatch(st, &opts, event, &data);
                        learned = true;
                    }
                }
                let mut seqs: Vec<(u64, u64)> = done
                    .iter()
                    .copied()
                    .filter(|(i, _)| targets.contains(i))
                    .collect();
                seqs.sort_unstable();
                Some(Ok(seqs.into_iter().map(|(_, s)| s).collect()))
            })
            .await;
        self.inner.bump();
        r
    }

    /// Sends a raw gateway frame (e.g. `{"op":7}` RECONNECT or `{"op":9,"d":false}`) on shard
    /// 0's (or the only) session. Does not touch the sequence number.
    pub async fn send_raw(&self, frame: Value) {
        self.wait_state(
            "a live gateway session for send_raw",
            DEFAULT_TIMEOUT,
            |st| {
                let live = st.live_shard(None)?.live.as_ref()?;
                live.tx.send(Outgoing::Text(frame.to_string())).ok()
            },
        )
        .await
    }

    /// Closes shard 0's (or the only) session from the server side with `code` (e.g. 4000:
    /// serenity resumes; 4014: disallowed intents, `Client::start` returns an error). The
    /// session stays resumable except for codes Discord never resumes (4004, 4007, 4009-4014).
    pub async fn close_session(&self, code: u16) {
        self.close_session_of(None, code).await
    }

    /// [`FakeDiscord::close_session`] for the session of shard `shard`.
    pub async fn close_shard_session(&self, shard: u64, code: u16) {
        self.close_session_of(Some(shard), code).await
    }

    async fn close_session_of(&self, shard: Option<u64>, code: u16) {
        self.wait_state("a live gateway session to close", DEFAULT_TIMEOUT, |st| {
            let s = st.live_shard(shard)?;
            let live = s.live.take()?;
            let _ = live
                .tx
                .send(Outgoing::Close(code, "closed by FakeDiscord".into()));
            if matches!(code, 4004 | 4007 | 4009..=4014) {
                s.session_id = None;
            }
            Some(())
        })
        .await;
        self.inner.bump();
    }

    /// Drops shard 0's (or the only) session's TCP connection without a close frame, as a
    /// network failure does: the client reads end-of-stream (close code 1006) and, in
    /// serenity, RESUMEs. The session stays resumable.
    pub async fn drop_connection(&self) {
        self.drop_connection_of(None).await
    }

    /// [`FakeDiscord::drop_connection`] for the session of shard `shard`.
    pub async fn drop_shard_connection(&self, shard: u64) {
        self.drop_connection_of(Some(shard)).await
    }

    async fn drop_connection_of(&self, shard: Option<u64>) {
        self.wait_state("a live gateway session to drop", DEFAULT_TIMEOUT, |st| {
            let live = st.live_shard(shard)?.live.take()?;
            let _ = live.tx.send(Outgoing::Drop);
            Some(())
        })
        .await;
        self.inner.bump();
    }

    /// Stops acknowledging heartbeats on shard 0's (or the only) live connection (a zombie
    /// connection: the socket is up, nothing answers). Serenity notices at its next heartbeat,
    /// one interval later, and reconnects. Heartbeats on later connections are acknowledged
    /// again.
    pub async fn stop_heartbeat_acks(&self) {
        self.wait_state("a live gateway session", DEFAULT_TIMEOUT, |st| {
            let conn = st.live_shard(None)?.live.as_ref()?.conn;
            st.no_ack_conn = Some(conn);
            Some(())
        })
        .await;
    }

    /// Heartbeats left unacknowledged by [`FakeDiscord::stop_heartbeat_acks`].
    pub fn unacked_heartbeats(&self) -> usize {
        self.inner.lock().unacked_heartbeats
    }

    /// Makes the next successful RESUME replay the last `n` dispatches of the session (with
    /// their sequence numbers) even if the client had them: the bot sees those events twice,
    /// as after a resume from an older `seq`.
    pub fn replay_on_next_resume(&self, n: usize) {
        self.inner.lock().replay_next = n;
    }

    /// Dispatches replayed after RESUMEs so far.
    pub fn replayed_count(&self) -> usize {
        self.inner.lock().replayed
    }

    /// When the dispatch with sequence number `seq` (as [`FakeDiscord::dispatch`] returned it)
    /// was handed to shard 0's (or the only) connection, on the fake's clock (the clock of
    /// [`Recorded::at`]).
    pub fn dispatched_at(&self, seq: u64) -> Option<Instant> {
        let st = self.inner.lock();
        let shard = st.shards.get(&st.default_shard()?)?;
        shard.sent.iter().find(|s| s.seq == seq).map(|s| s.at)
    }

    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// The REST requests so far that satisfy `pred`.
    /// How many requests satisfy `pred`, without copying them (cheap enough to call on every
    /// change while thousands of requests arrive).
    pub fn count_matching(&self, pred: impl Fn(&Recorded) -> bool) -> usize {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| pred(r))
            .count()
    }

    pub fn requests_matching(&self, pred: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| pred(r))
            .cloned()
            .collect()
    }

    /// The first request (ever, not only from now on) satisfying `pred`, waiting for it up to
    /// `timeout`; panics with the list of seen requests on timeout.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Recorded {
        self.wait_state("a matching REST request", timeout, |st| {
            st.requests.iter().find(|r| pred(r)).cloned()
        })
        .await
    }

    /// The first `n` requests satisfying `pred`, waiting for them up to `timeout`.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Vec<Recorded> {
        self.wait_state(&format!("{n} matching REST requests"), timeout, |st| {
            let v: Vec<Recorded> = st
                .requests
                .iter()
                .filter(|r| pred(r))
                .take(n)
                .cloned()
                .collect();
            (v.len() == n).then_some(v)
        })
        .await
    }

    /// The bot's reply to message `message_id`: the first `POST /channels/{..}/messages` whose
    /// `message_reference.message_id` is `message_id`.
    pub async fn wait_for_reply_to(&self, message_id: u64, timeout: Duration) -> Recorded {
        self.wait_for_request(
            |r| {
                r.method == "POST"
                    && r.route().starts_with("/channels/")
                    && r.route().ends_with("/messages")
                    && r.replied_to() == Some(message_id)
            },
            timeout,
        )
        .await
    }

    /// The callback (`POST /interactions/{id}/{token}/callback`) of interaction `id`.
    pub async fn wait_for_interaction_callback(&self, id: u64, timeout: Duration) -> Recorded {
        self.wait_for_request(|r| r.interaction_callback_id() == Some(id), timeout)
            .await
    }

    /// Requests that hit no known route (answered 404 "Unknown route").
    pub fn unknown_requests(&self) -> Vec<Recorded> {
        self.requests_matching(|r| r.status == 404 && r.response["message"] == "Unknown route")
    }

    /// Inconsistencies the fake found in itself or in the bot's traffic that Discord would not
    /// report as an HTTP error (e.g. an answer of the fake that serenity could not parse).
    pub fn problems(&self) -> Vec<String> {
        self.inner.lock().problems.clone()
    }

    /// Panics if any request hit an unknown route or the fake noted a problem.
    pub fn assert_clean(&self) {
        let unknown = self.unknown_requests();
        let problems = self.problems();
        if !unknown.is_empty() || !problems.is_empty() {
            panic!(
                "FakeDiscord: unexpected traffic: {} unknown route(s), problems: {problems:#?}\n{}",
                unknown.len(),
                self.describe()
            );
        }
    }

    /// Makes the next request whose method is `method` and whose path contains `path_contains`
    /// get `status` with `body` (e.g. `403, {"message":"Missing Permissions","code":50013}`).
    pub fn fail_next(&self, method: &str, path_contains: &str, status: u16, body: Value) {
        self.inner.lock().overrides.push(Override {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            status,
            body,
            headers: Vec::new(),
            applied: false,
        });
    }

    /// [`FakeDiscord::fail_next`] `n` times in a row: the next `n` matching requests fail,
    /// the one after gets the real answer.
    pub fn fail_next_times(
        &self,
        method: &str,
        path_contains: &str,
        n: usize,
        status: u16,
        body: Value,
    ) {
        for _ in 0..n {
            self.fail_next(method, path_contains, status, body.clone());
        }
    }

    /// The next matching request is carried out (a message is created, ...), but answered
    /// with `status` and `body`: a gateway error after Discord did the work.
    pub fn fail_next_applied(&self, method: &str, path_contains: &str, status: u16, body: Value) {
        self.inner.lock().overrides.push(Override {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            status,
            body,
            headers: Vec::new(),
            applied: true,
        });
    }

    /// The next matching request gets a 429 as Discord sends it: the body
    /// `{"message": "You are being rate limited.", "retry_after": <s>, "global": <g>}` and the
    /// headers `Retry-After` (whole seconds, rounded up), `X-RateLimit-Limit`,
    /// `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset`, `X-RateLimit-Reset-After`,
    /// `X-RateLimit-Bucket`, `X-RateLimit-Scope`, and `X-RateLimit-Global: true` when global.
    pub fn rate_limit_next(
        &self,
        method: &str,
        path_contains: &str,
        retry_after: f64,
        global: bool,
    ) {
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            + retry_after;
        let mut headers = vec![
            (
                "retry-after".to_string(),
                format!("{}", retry_after.ceil() as u64),
            ),
            ("x-ratelimit-limit".to_string(), "5".to_string()),
            ("x-ratelimit-remaining".to_string(), "0".to_string()),
            ("x-ratelimit-reset".to_string(), format!("{reset:.3}")),
            (
                "x-ratelimit-reset-after".to_string(),
                format!("{retry_after:.3}"),
            ),
            (
                "x-ratelimit-bucket".to_string(),
                "fakebucket0000000000000000000000".to_string(),
            ),
            (
                "x-ratelimit-scope".to_string(),
                if global { "global" } else { "user" }.to_string(),
            ),
        ];
        if global {
            headers.push(("x-ratelimit-global".to_string(), "true".to_string()));
        }
        self.inner.lock().overrides.push(Override {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            status: 429,
            body: json!({"message": "You are being rate limited.", "retry_after": retry_after,
                         "global": global}),
            headers,
            applied: false,
        });
    }

    /// Deletes a channel or thread: from now on every route of it answers 404 with code
    /// 10003 ("Unknown Channel"), as on Discord.
    pub fn delete_channel(&self, id: u64) {
        let mut st = self.inner.lock();
        st.channels.remove(&id);
        st.deleted_channels.insert(id);
    }

    /// Takes Send Messages from the bot in a channel: a message POST there answers 403 with
    /// code 50013 ("Missing Permissions").
    pub fn deny_send(&self, channel: u64) {
        self.inner.lock().no_send.insert(channel);
    }

    /// Number of IDENTIFYs received.
    pub fn identify_count(&self) -> usize {
        self.inner.lock().identifies.len()
    }

    /// Number of successful RESUMEs.
    pub fn resume_count(&self) -> usize {
        self.inner.lock().resume_count
    }

    /// Number of heartbeats received (each answered with op 11).
    pub fn heartbeat_count(&self) -> usize {
        self.inner.lock().heartbeat_count
    }

    /// Number of websocket connections opened to the gateway.
    pub fn gateway_connection_count(&self) -> u64 {
        self.inner.lock().conn_count
    }

    /// Close codes the client sent when it closed a gateway connection (`None`: no code).
    pub fn client_close_codes(&self) -> Vec<Option<u16>> {
        self.inner.lock().client_close_codes.clone()
    }

    /// The `d` of the last IDENTIFY (token included).
    pub fn last_identify(&self) -> Option<Value> {
        self.inner.lock().identifies.last().cloned()
    }

    /// Gateway intents of the last IDENTIFY.
    pub fn intents(&self) -> Option<u64> {
        self.inner.lock().intents
    }

    /// Whether shard 0's (or the only) gateway session is live now.
    pub fn session_live(&self) -> bool {
        self.inner.lock().live_shard(None).is_some()
    }

    /// The `shard` ([i, n]) of every IDENTIFY so far, in order (`[0, 1]` when it had none).
    pub fn identified_shards(&self) -> Vec<[u64; 2]> {
        self.inner
            .lock()
            .identifies
            .iter()
            .map(|d| shard_pair(&d["shard"]))
            .collect()
    }

    /// Whether shard `shard`'s gateway session is live now.
    pub fn shard_live(&self, shard: u64) -> bool {
        self.inner.lock().live_shard(Some(shard)).is_some()
    }

    /// Number of command registration PUTs answered (each bot process makes one per guild, or
    /// one global).
    pub fn command_put_count(&self) -> usize {
        self.inner.lock().command_puts
    }

    /// Commands registered by the last PUT, globally (`None`) or in a guild.
    pub fn registered_commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.inner
            .lock()
            .commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Id the fake gave to a registered top-level command (global first, then any guild).
    pub fn command_id(&self, name: &str) -> Option<u64> {
        let st = self.inner.lock();
        st.command_ids
            .get(&(None, name.to_string()))
            .copied()
            .or_else(|| {
                st.command_ids
                    .iter()
                    .find(|((_, n), _)| n == name)
                    .map(|(_, id)| *id)
            })
    }

    /// A message the fake knows (dispatched, or sent/edited by the bot).
    pub fn message(&self, id: u64) -> Option<Value> {
        self.inner.lock().messages.get(&id).cloned()
    }

    /// Messages the fake knows in `channel` (dispatched, or sent by the bot), oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<Value> {
        let st = self.inner.lock();
        let mut v: Vec<(u64, Value)> = st
            .messages
            .iter()
            .filter(|(_, m)| id_of(&m["channel_id"]) == Some(channel))
            .map(|(id, m)| (*id, m.clone()))
            .collect();
        v.sort_by_key(|m| m.0);
        v.into_iter().map(|(_, m)| m).collect()
    }

    /// The current original response of the interaction with `token`, if any.
    pub fn interaction_original(&self, token: &str) -> Option<Value> {
        self.inner
            .lock()
            .interactions
            .get(token)
            .and_then(|i| i.original.clone())
    }

    /// Registers a channel (any Discord channel JSON, e.g. from [`guild_text_channel`],
    /// [`dm_channel`], [`thread_channel`]) so `GET /channels/{id}` returns it.
    pub fn add_channel(&self, channel: Value) {
        let id = id_of(&channel["id"]).expect("add_channel: channel without id");
        if let Err(e) = serde_json::from_value::<serenity::model::channel::Channel>(channel.clone())
        {
            panic!("add_channel: serenity cannot parse this channel: {e}\n{channel:#}");
        }
        self.inner.lock().channels.insert(id, channel);
    }

    /// Adds a role to a guild (returned by `GET /guilds/{g}/roles`, in GUILD_CREATE).
    pub fn add_role(&self, guild_id: u64, role_id: u64, name: &str, permissions: u64) {
        let mut st = self.inner.lock();
        let roles = st.roles.entry(guild_id).or_default();
        roles.retain(|r| id_of(&r["id"]) != Some(role_id));
        let pos = roles.len() as u64;
        roles.push(role_json(role_id, name, pos, permissions));
    }

    /// Sets the roles `GET /guilds/{g}/members/{u}` returns for a user (unknown roles are added
    /// to the guild).
    pub fn set_member_roles(&self, guild_id: u64, user_id: u64, roles: &[u64]) {
        let mut st = self.inner.lock();
        for &r in roles {
            ensure_role(&mut st, guild_id, r);
        }
        st.member_roles.insert((guild_id, user_id), roles.to_vec());
    }

    /// A channel the fake knows (dispatched, created or edited by the bot), as it is now.
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.inner.lock().channels.get(&id).cloned()
    }

    /// Makes a user's DMs closed to the bot, as Discord does for members who turned off DMs
    /// from server members: opening the DM channel works, a message to it gets 403 with code
    /// 50007 ("Cannot send messages to this user").
    pub fn close_dms(&self, user_id: u64) {
        self.inner.lock().closed_dms.insert(user_id);
    }

    /// A human-readable summary of everything seen, used in panic messages.
    pub fn describe(&self) -> String {
        let st = self.inner.lock();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "gateway: connections={} identifies={} resumes={} heartbeats={} \
             intents={:?} queries={:?} client close codes={:?}",
            st.conn_count,
            st.identifies.len(),
            st.resume_count,
            st.heartbeat_count,
            st.intents,
            st.gateway_queries,
            st.client_close_codes
        );
        for (i, sh) in &st.shards {
            let _ = writeln!(
                s,
                "  shard [{i}, {}]: live={} resumable={} seq={} intents={}",
                sh.count,
                sh.live.is_some(),
                sh.session_id.is_some(),
                sh.seq,
                sh.intents
            );
        }
        let _ = writeln!(s, "REST requests ({}):", st.requests.len());
        for r in &st.requests {
            let body = r.body.to_string();
            let body: String = body.chars().take(300).collect();
            let q = if r.query.is_empty() {
                String::new()
            } else {
                format!("?{}", r.query)
            };
            let _ = writeln!(
                s,
                "  #{} {} {}{} -> {} body={}",
                r.index, r.method, r.path, q, r.status, body
            );
        }
        if !st.problems.is_empty() {
            let _ = writeln!(s, "problems: {:#?}", st.problems);
        }
        s
    }

    async fn wait_state<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&mut State) -> Option<T>,
    ) -> T {
        let mut rx = self.inner.changed.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let r = f(&mut self.inner.lock());
            if let Some(v) = r {
                return v;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!(
                    "FakeDiscord: timed out after {timeout:?} waiting for {what}\n{}",
                    self.describe()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation of dispatches
// ---------------------------------------------------------------------------------------------

/// Checks that serenity parses `data` as the event `event` (and does not fall back to its
/// untagged `Event::Unknown`, which it drops silently). Err carries serde's message.
pub fn validate_dispatch(event: &str, data: &Value) -> Result<(), String> {
    use serenity::model::event::{Event, GatewayEvent};
    let frame = json!({"op": 0, "s": 1, "t": event, "d": data});
    match serde_json::from_value::<GatewayEvent>(frame) {
        Err(e) => Err(format!("serenity rejects the whole frame: {e}")),
        Ok(GatewayEvent::Dispatch(_, Event::Unknown(_))) => {
            let detail = typed_error(event, data).unwrap_or_else(|| {
                "serenity does not know this event name, or the payload does not match its type"
                    .to_string()
            });
            Err(format!(
                "serenity would silently drop it as Event::Unknown: {detail}"
            ))
        }
        Ok(GatewayEvent::Dispatch(..)) => Ok(()),
        Ok(_) => Err("not a dispatch".to_string()),
    }
}

fn typed_error(event: &str, data: &Value) -> Option<String> {
    use serenity::model::event::*;
    fn t<T: DeserializeOwned>(d: &Value) -> Option<String> {
        serde_json::from_value::<T>(d.clone())
            .err()
            .map(|e| e.to_string())
    }
    match event {
        "MESSAGE_CREATE" => t::<MessageCreateEvent>(data),
        "MESSAGE_UPDATE" => t::<MessageUpdateEvent>(data),
        "MESSAGE_DELETE" => t::<MessageDeleteEvent>(data),
        "INTERACTION_CREATE" => t::<InteractionCreateEvent>(data),
        "GUILD_CREATE" => t::<GuildCreateEvent>(data),
        "GUILD_UPDATE" => t::<GuildUpdateEvent>(data),
        "GUILD_DELETE" => t::<GuildDeleteEvent>(data),
        "GUILD_MEMBER_ADD" => t::<GuildMemberAddEvent>(data),
        "GUILD_MEMBER_UPDATE" => t::<GuildMemberUpdateEvent>(data),
        "GUILD_MEMBER_REMOVE" => t::<GuildMemberRemoveEvent>(data),
        "GUILD_ROLE_CREATE" => t::<GuildRoleCreateEvent>(data),
        "CHANNEL_CREATE" => t::<ChannelCreateEvent>(data),
        "CHANNEL_UPDATE" => t::<ChannelUpdateEvent>(data),
        "CHANNEL_DELETE" => t::<ChannelDeleteEvent>(data),
        "THREAD_CREATE" => t::<ThreadCreateEvent>(data),
        "THREAD_UPDATE" => t::<ThreadUpdateEvent>(data),
        "THREAD_DELETE" => t::<ThreadDeleteEvent>(data),
        "MESSAGE_REACTION_ADD" => t::<ReactionAddEvent>(data),
        "MESSAGE_REACTION_REMOVE" => t::<ReactionRemoveEvent>(data),
        "TYPING_START" => t::<TypingStartEvent>(data),
        "READY" => t::<ReadyEvent>(data),
        _ => None,
    }
}

fn check_intents(event: &str, data: &Value, intents: u64) -> Result<(), String> {
    let in_guild = !data["guild_id"].is_null();
    let (need, name) = match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            if in_guild {
                (INTENT_GUILD_MESSAGES, "GUILD_MESSAGES")
            } else {
                (INTENT_DIRECT_MESSAGES, "DIRECT_MESSAGES")
            }
        }
        "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => {
            if in_guild {
                (INTENT_GUILD_MESSAGE_REACTIONS, "GUILD_MESSAGE_REACTIONS")
            } else {
                (INTENT_DIRECT_MESSAGE_REACTIONS, "DIRECT_MESSAGE_REACTIONS")
            }
        }
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" | "CHANNEL_CREATE" | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE" | "THREAD_CREATE" | "THREAD_UPDATE" | "THREAD_DELETE"
        | "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" | "GUILD_ROLE_DELETE" => {
            (INTENT_GUILDS, "GUILDS")
        }
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => {
            (INTENT_GUILD_MEMBERS, "GUILD_MEMBERS")
        }
        _ => return Ok(()),
    };
    if intents & need == 0 {
        return Err(format!(
            "the bot identified with intents {intents:#x}, without {name}: Discord would not \
             deliver this {event} (use dispatch_unchecked to send it anyway)"
        ));
    }
    Ok(())
}

fn blank_content_without_intent(event: &str, data: &mut Value, intents: u64, bot_id: u64) {
    if intents & INTENT_MESSAGE_CONTENT != 0
        || !matches!(event, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
    {
        return;
    }
    if data["guild_id"].is_null() || id_of(&data["author"]["id"]) == Some(bot_id) {
        return;
    }
    let mentions_bot = data["mentions"]
        .as_array()
        .is_some_and(|m| m.iter().any(|u| id_of(&u["id"]) == Some(bot_id)));
    if mentions_bot {
        return;
    }
    data["content"] = json!("");
    data["embeds"] = json!([]);
    data["attachments"] = json!([]);
    data["components"] = json!([]);
    if let Some(o) = data.as_object_mut() {
        o.remove("poll");
    }
}

fn learn_from_dispatch(st: &mut State, opts: &FakeOptions, event: &str, data: &Value) {
    let guild_id = id_of(&data["guild_id"]);
    let channel_id = id_of(&data["channel_id"]);
    let learn_user = |st: &mut State, u: &Value| {
        if let Some(id) = id_of(&u["id"]) {
            st.users.insert(id, u.clone());
        }
    };
    match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" => {
            learn_user(st, &data["author"]);
            if let Some(ms) = data["mentions"].as_array() {
                for m in ms.clone() {
                    learn_user(st, &m);
                }
            }
            if let (Some(g), Some(u)) = (guild_id, id_of(&data["author"]["id"])) {
                if let Some(roles) = data["member"]["roles"].as_array() {
                    let roles: Vec<u64> = roles.iter().filter_map(id_of).collect();
                    for &r in &roles {
                        ensure_role(st, g, r);
                    }
                    st.member_roles.insert((g, u), roles);
                }
            }
            if let Some(c) = channel_id {
                if !st.channels.contains_key(&c) {
                    let ch = match guild_id {
                        Some(g) => guild_text_channel(c, g, &format!("channel-{c}")),
                        None => {
                            let author = &data["author"];
                            let uid = id_of(&author["id"]).unwrap_or(0);
                            st.dm_channels.insert(uid, c);
                            json!({"id": sf(c), "type": 1, "last_message_id": null,
                                   "recipients": [author], "flags": 0})
                        }
                    };
                    st.channels.insert(c, ch);
                }
            }
            if let Some(id) = id_of(&data["id"]) {
                let mut m = data.clone();
                if event == "MESSAGE_UPDATE" {
                    if let Some(old) = st.messages.get(&id) {
                        let mut merged = old.clone();
                        merge_into(&mut merged, data);
                        m = merged;
                    }
                }
                st.messages.insert(id, m);
            }
        }
        "MESSAGE_DELETE" => {
            if let Some(id) = id_of(&data["id"]) {
                st.messages.remove(&id);
            }
        }
        "INTERACTION_CREATE" => {
            let user = if data["member"]["user"].is_object() {
                data["member"]["user"].clone()
            } else {
                data["user"].clone()
            };
            learn_user(st, &user);
            if let (Some(g), Some(u)) = (guild_id, id_of(&user["id"])) {
                if let Some(roles) = data["member"]["roles"].as_array() {
                    let roles: Vec<u64> = roles.iter().filter_map(id_of).collect();
                    for &r in &roles {
                        ensure_role(st, g, r);
                    }
                    st.member_roles.insert((g, u), roles);
                }
            }
            if let Some(c) = channel_id {
                if !st.channels.contains_key(&c) {
                    let ch = match guild_id {
                        Some(g) => {
                            let kind = data["channel"]["type"].as_u64().unwrap_or(0);
                            if matches!(kind, 10..=12) {
                                let parent = id_of(&data["channel"]["parent_id"]).unwrap_or(0);
                                thread_channel(c, g, parent, "thread", kind == 12, opts.bot_user_id)
                            } else {
                                guild_text_channel(c, g, &format!("channel-{c}"))
                            }
                        }
                        None => {
                            let uid = id_of(&user["id"]).unwrap_or(0);
                            st.dm_channels.insert(uid, c);
                            json!({"id": sf(c), "type": 1, "last_message_id": null,
                                   "recipients": [user], "flags": 0})
                        }
                    };
                    st.channels.insert(c, ch);
                }
            }
            let message_id = id_of(&data["message"]["id"]);
            if let Some(mid) = message_id {
                st.messages
                    .entry(mid)
                    .or_insert_with(|| data["message"].clone());
            }
            if let (Some(id), Some(token)) = (id_of(&data["id"]), data["token"].as_str()) {
                st.interactions.insert(
                    token.to_string(),
                    InteractionRec {
                        id,
                        kind: data["type"].as_u64().unwrap_or(0),
                        channel_id: channel_id.unwrap_or(0),
                        guild_id,
                        message_id,
                        acked: false,
                        original: None,
                    },
                );
            }
        }
        "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "THREAD_CREATE" | "THREAD_UPDATE" => {
            if let Some(id) = id_of(&data["id"]) {
                st.channels.insert(id, data.clone());
            }
        }
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" => {
            learn_user(st, &data["user"]);
            if let (Some(g), Some(u)) = (guild_id, id_of(&data["user"]["id"])) {
                let roles: Vec<u64> = data["roles"]
                    .as_array()
                    .map(|a| a.iter().filter_map(id_of).collect())
                    .unwrap_or_default();
                for &r in &roles {
                    ensure_role(st, g, r);
                }
                st.member_roles.insert((g, u), roles);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

async fn gateway_route(
    AxState(inner): AxState<Arc<Inner>>,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let query = uri.query().unwrap_or("").to_string();
    ws.on_upgrade(move |socket| gateway_session(inner, socket, query))
}

async fn gateway_session(inner: Arc<Inner>, mut socket: WebSocket, query: String) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let conn = {
        let mut st = inner.lock();
        st.conn_count += 1;
        if !query.split('&').any(|p| p == "v=10") {
            st.problems
                .push(format!("gateway connection without v=10: query {query:?}"));
        }
        st.gateway_queries.push(query);
        st.conn_count
    };
    inner.bump();
    let hello = json!({"op": 10, "s": null, "t": null,
                       "d": {"heartbeat_interval": inner.opts.heartbeat_interval_ms}});
    let _ = tx.send(Outgoing::Text(hello.to_string()));
    let mut shutdown = inner.shutdown.subscribe();
    // Once a close frame went out (or came in), wait a little for the peer's close and EOF.
    let mut closing_deadline: Option<Instant> = None;
    loop {
        let deadline =
            closing_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if closing_deadline.is_none() {
                        handle_client_frame(&inner, conn, &tx, &text);
                        inner.bump();
                    }
                },
                Some(Ok(WsMessage::Binary(_))) => {
                    inner.lock().problems.push("gateway: client sent a binary frame".into());
                },
                Some(Ok(WsMessage::Close(frame))) => {
                    // Keep polling: tungstenite sends the close reply on the next read, then the
                    // stream ends. Serenity's shutdown waits for that reply (5 s otherwise).
                    inner.lock().client_close_codes.push(frame.map(|f| f.code));
                    inner.bump();
                    if closing_deadline.is_none() {
                        closing_deadline = Some(Instant::now() + Duration::from_secs(5));
                    }
                },
                Some(Ok(_)) => {},
                Some(Err(_)) | None => break,
            },
            out = rx.recv(), if closing_deadline.is_none() => match out {
                Some(Outgoing::Text(t)) => {
                    if socket.send(WsMessage::Text(t)).await.is_err() {
                        break;
                    }
                },
                Some(Outgoing::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    if socket.send(WsMessage::Close(Some(frame))).await.is_err() {
                        break;
                    }
                    closing_deadline = Some(Instant::now() + Duration::from_secs(5));
                },
                // Leaving the loop drops the socket: no close frame, the TCP stream just ends.
                Some(Outgoing::Drop) => break,
                None => break,
            },
            _ = tokio::time::sleep_until(deadline), if closing_deadline.is_some() => break,
            _ = shutdown.changed() => break,
        }
    }
    {
        let mut st = inner.lock();
        for shard in st.shards.values_mut() {
            if shard.live.as_ref().is_some_and(|l| l.conn == conn) {
                shard.live = None;
            }
        }
    }
    inner.bump();
}

fn handle_client_frame(inner: &Inner, conn: u64, tx: &mpsc::UnboundedSender<Outgoing>, text: &str) {
    let opts = &inner.opts;
    let mut st = inner.lock();
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        st.problems
            .push(format!("gateway: client sent invalid JSON: {text}"));
        return;
    };
    let op = v["op"].as_u64().unwrap_or(u64::MAX);
    let mut logged = v.clone();
    if logged["d"]["token"].is_string() {
        logged["d"]["token"] = json!("<redacted>");
    }
    st.client_ops.push(logged);
    let send = |frame: Value| {
        let _ = tx.send(Outgoing::Text(frame.to_string()));
    };
    match op {
        1 => {
            st.heartbeat_count += 1;
            if st.no_ack_conn == Some(conn) {
                st.unacked_heartbeats += 1;
            } else {
                send(json!({"op": 11, "s": null, "t": null, "d": null}));
            }
        }
        2 => {
            let d = v["d"].clone();
            let [index, count] = shard_pair(&d["shard"]);
            if count == 0 || index >= count {
                st.problems.push(format!(
                    "gateway: IDENTIFY with an impossible shard {}",
                    d["shard"]
                ));
                let _ = tx.send(Outgoing::Close(4010, "Invalid shard".into()));
                return;
            }
            let intents = d["intents"].as_u64().unwrap_or(0);
            st.intents = d["intents"].as_u64();
            st.identifies.push(d.clone());
            st.session_count += 1;
            let session_id = format!("fake-session-{}", st.session_count);
            // A new session for a shard replaces the previous one (no longer resumable).
            let mut shard = Shard {
                count,
                live: Some(Live {
                    conn,
                    tx: tx.clone(),
                }),
                session_id: Some(session_id.clone()),
                seq: 0,
                sent: VecDeque::new(),
                intents,
            };
            let guilds: Vec<u64> = opts
                .guild_ids
                .iter()
                .copied()
                .filter(|g| shard_of(*g, count) == index)
                .collect();
            let ready = json!({
                "v": 10,
                "user": {
                    "id": sf(opts.bot_user_id), "username": opts.bot_username,
                    "discriminator": "0", "global_name": null, "avatar": null, "bot": true,
                    "verified": true, "mfa_enabled": false, "email": null, "flags": 0,
                },
                "guilds": guilds.iter().map(|g| json!({"id": sf(*g), "unavailable": true})).collect::<Vec<_>>(),
                "session_id": session_id,
                "resume_gateway_url": inner.ws_url(),
                "shard": [index, count],
                "application": {"id": sf(opts.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "session_type": "normal",
                "auth": {},
                "_trace": ["[\"fake-discord\"]"],
            });
            shard.seq += 1;
            send(json!({"op": 0, "s": shard.seq, "t": "READY", "d": ready}));
            st.ready_count += 1;
            if intents & INTENT_GUILDS != 0 {
                for &g in &guilds {
                    let guild = guild_create_json(&st, opts, g);
                    shard.seq += 1;
                    send(json!({"op": 0, "s": shard.seq, "t": "GUILD_CREATE", "d": guild}));
                }
            }
            st.shards.insert(index, shard);
        }
        6 => {
            let d = &v["d"];
            let found = st.shards.iter().find_map(|(i, s)| {
                (s.session_id.is_some() && d["session_id"].as_str() == s.session_id.as_deref())
                    .then_some(*i)
            });
            if let Some(index) = found {
                st.resume_count += 1;
                let from = d["seq"].as_u64().unwrap_or(0);
                st.resume_seqs.push(from);
                // As Discord does: what the client missed (after its seq), in order, then
                // RESUMED. A forced replay adds the last N even if the client had them.
                let forced = std::mem::take(&mut st.replay_next);
                let Some(shard) = st.shards.get_mut(&index) else {
                    return;
                };
                shard.live = Some(Live {
                    conn,
                    tx: tx.clone(),
                });
                let keep_from = shard.sent.len().saturating_sub(forced);
                let replay: Vec<String> = shard
                    .sent
                    .iter()
                    .enumerate()
                    .filter(|(i, s)| s.seq > from || *i >= keep_from)
                    .map(|(_, s)| s.frame.clone())
                    .collect();
                let replayed = replay.len();
                for frame in replay {
                    let _ = tx.send(Outgoing::Text(frame));
                }
                shard.seq += 1;
                let s = shard.seq;
                send(json!({"op": 0, "s": s, "t": "RESUMED", "d": {"_trace": []}}));
                st.replayed += replayed;
            } else {
                send(json!({"op": 9, "s": null, "t": null, "d": false}));
            }
        }
        3 | 4 | 8 | 31 => {}
        _ => st
            .problems
            .push(format!("gateway: unexpected client op {op}: {text}")),
    }
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

async fn rest_route(
    AxState(inner): AxState<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut problems = Vec::new();
    let (body_json, files) = parse_body(&ctype, &body, &mut problems);
    let method_s = method.as_str().to_ascii_uppercase();
    let mut extra_headers: Vec<(String, String)> = Vec::new();

    let (status, response) = {
        let mut st = inner.lock();
        st.problems.append(&mut problems);
        let ov = st
            .overrides
            .iter()
            .position(|o| o.method == method_s && path.contains(&o.path_contains))
            .map(|i| st.overrides.remove(i));
        let mut req = Req {
            inner: &inner,
            method: &method_s,
            path: &path,
            query: &query,
            body: &body_json,
            files: &files,
        };
        let (status, response) = match ov {
            Some(o) => {
                if o.applied {
                    let _ = route_with_faults(&mut req, &mut st);
                }
                extra_headers = o.headers;
                (o.status, o.body)
            }
            None => route_with_faults(&mut req, &mut st),
        };
        let index = st.requests.len();
        st.requests.push(Recorded {
            index,
            method: method_s.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body_json,
            files,
            status,
            response: response.clone(),
            at: Instant::now(),
        });
        (status, response)
    };
    inner.bump();

    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if status == 204 || response.is_null() {
        code.into_response()
    } else {
        (
            code,
            [(header::CONTENT_TYPE, "application/json")],
            response.to_string(),
        )
            .into_response()
    };
    for (k, v) in extra_headers {
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            header::HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// [`route`], after the channel faults: a deleted channel answers 404 (10003) on every route
/// of it, a channel without Send Messages answers 403 (50013) to a message POST.
fn route_with_faults(req: &mut Req<'_>, st: &mut State) -> Answer {
    let rest = req.path.strip_prefix(API_PREFIX).unwrap_or(req.path);
    if let ["channels", c, more @ ..] = segments(rest).as_slice() {
        if let Ok(c) = c.parse::<u64>() {
            if st.deleted_channels.contains(&c) {
                return discord_error(404, 10003, "Unknown Channel");
            }
            if req.method == "POST" && more == ["messages"] && st.no_send.contains(&c) {
                return discord_error(403, 50013, "Missing Permissions");
            }
        }
    }
    route(req, st)
}

struct Req<'a> {
    inner: &'a Inner,
    method: &'a str,
    path: &'a str,
    query: &'a str,
    body: &'a Value,
    files: &'a [RecordedFile],
}

impl Req<'_> {
    fn opts(&self) -> &FakeOptions {
        &self.inner.opts
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

type Answer = (u16, Value);

fn ok(v: Value) -> Answer {
    (200, v)
}

fn no_content() -> Answer {
    (204, Value::Null)
}

fn discord_error(status: u16, code: u64, message: &str) -> Answer {
    (status, json!({"message": message, "code": code}))
}

fn form_error(field: &str, code: &str, message: &str) -> Answer {
    (
        400,
        json!({"message": "Invalid Form Body", "code": 50035,
               "errors": {field: {"_errors": [{"code": code, "message": message}]}}}),
    )
}

fn unknown_route() -> Answer {
    discord_error(404, 0, "Unknown route")
}

fn check<T: DeserializeOwned>(st: &mut State, what: &str, v: &Value) {
    if let Err(e) = serde_json::from_value::<T>(v.clone()) {
        st.problems.push(format!(
            "fake answered a {what} serenity cannot parse: {e}: {v}"
        ));
    }
}

fn route(req: &mut Req<'_>, st: &mut State) -> Answer {
    use serenity::model::prelude as m;
    let Some(rest) = req.path.strip_prefix(API_PREFIX) else {
        return unknown_route();
    };
    let segs = segments(rest);
    let opts = req.opts().clone();
    let app = opts.application_id.to_string();
    let method = req.method;
    let num = |s: &str| s.parse::<u64>().ok();

    match (method, segs.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({"url": req.inner.ws_url()})),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": req.inner.ws_url(), "shards": opts.total_shards.max(1),
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                    "max_concurrency": 1},
        })),
        ("GET", ["oauth2", "applications", "@me"]) => {
            let v = app_info_json(&opts);
            check::<m::CurrentApplicationInfo>(st, "CurrentApplicationInfo", &v);
            ok(v)
        }
        ("GET", ["users", "@me"]) => ok(user_json(opts.bot_user_id, &opts.bot_username, true)),
        ("GET", ["users", uid]) => match num(uid) {
            Some(u) => ok(known_user(st, u)),
            None => discord_error(404, 10013, "Unknown User"),
        },
        ("POST", ["users", "@me", "channels"]) => {
            let Some(u) = id_of(&req.body["recipient_id"]) else {
                return form_error(
                    "recipient_id",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
            };
            let cid = match st.dm_channels.get(&u) {
                Some(c) => *c,
                None => {
                    let c = new_snowflake();
                    st.dm_channels.insert(u, c);
                    c
                }
            };
            let user = known_user(st, u);
            let ch = json!({"id": sf(cid), "type": 1, "last_message_id": null,
                            "recipients": [user], "flags": 0});
            st.channels.insert(cid, ch.clone());
            check::<m::PrivateChannel>(st, "PrivateChannel", &ch);
            ok(ch)
        }

        // ---- application commands
        (_, ["applications", a, ..]) if *a != app => {
            discord_error(404, 10002, "Unknown Application")
        }
        ("PUT", ["applications", _, "commands"]) => put_commands(req, st, None),
        ("PUT", ["applications", _, "guilds", g, "commands"]) => put_commands(req, st, num(g)),
        ("GET", ["applications", _, "commands"]) => ok(Value::Array(
            st.commands.get(&None).cloned().unwrap_or_default(),
        )),
        ("GET", ["applications", _, "guilds", g, "commands"]) => ok(Value::Array(
            st.commands.get(&num(g)).cloned().unwrap_or_default(),
        )),
        ("POST", ["applications", _, "commands"]) => post_command(req, st, None),
        ("POST", ["applications", _, "guilds", g, "commands"]) => post_command(req, st, num(g)),

        // ---- interactions
        ("POST", ["interactions", id, token, "callback"]) => {
            interaction_callback(req, st, num(id), token)
        }
        (_, ["webhooks", a, token, rest @ ..]) => webhook(req, st, a, token, rest),

        // ---- channels
        ("GET", ["channels", c]) => match num(c).and_then(|c| channel_or_default(st, &opts, c)) {
            Some(ch) => {
                check::<m::Channel>(st, "Channel", &ch);
                ok(ch)
            }
            None => discord_error(404, 10003, "Unknown Channel"),
        },
        ("PATCH", ["channels", c]) => {
            let Some(mut ch) = num(c).and_then(|c| channel_or_default(st, &opts, c)) else {
                return discord_error(404, 10003, "Unknown Channel");
            };
            if let Some(body) = req.body.as_object() {
                for (k, v) in body {
                    match k.as_str() {
                        "archived" | "locked" | "auto_archive_duration" | "invitable" => {
                            if ch["thread_metadata"].is_object() {
                                ch["thread_metadata"][k] = v.clone();
                                if k == "archived" {
                                    ch["thread_metadata"]["archive_timestamp"] = json!(now());
                                }
                            }
                        }
                        _ => ch[k] = v.clone(),
                    }
                }
            }
            check::<m::Channel>(st, "Channel", &ch);
            st.channels.insert(num(c).unwrap_or(0), ch.clone());
            ok(ch)
        }
        ("DELETE", ["channels", c]) => match num(c).and_then(|c| st.channels.remove(&c)) {
            Some(ch) => ok(ch),
            None => discord_error(404, 10003, "Unknown Channel"),
        },
        ("POST", ["channels", _, "typing"]) => no_content(),
        ("GET", ["channels", c, "messages"]) => {
            let c = num(c).unwrap_or(0);
            let limit = req
                .query_param("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(50usize);
            let before = req
                .query_param("before")
                .and_then(|v| v.parse::<u64>().ok());
            let after = req.query_param("after").and_then(|v| v.parse::<u64>().ok());
            let mut msgs: Vec<(u64, Value)> = st
                .messages
                .iter()
                .filter(|(_, v)| id_of(&v["channel_id"]) == Some(c))
                .filter(|(id, _)| before.is_none_or(|b| **id < b) && after.is_none_or(|a| **id > a))
                .map(|(id, v)| (*id, v.clone()))
                .collect();
            msgs.sort_by_key(|m| std::cmp::Reverse(m.0));
            ok(Value::Array(
                msgs.into_iter().take(limit).map(|(_, v)| v).collect(),
            ))
        }
        ("POST", ["channels", c, "messages"]) => {
            let Some(c) = num(c) else {
                return discord_error(404, 10003, "Unknown Channel");
            };
            let Some(ch) = channel_or_default(st, &opts, c) else {
                return discord_error(404, 10003, "Unknown Channel");
            };
            if let Err(e) = validate_message_body(req.body, req.files, true) {
                return e;
            }
            if ch["type"] == json!(1) {
                let closed = ch["recipients"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| id_of(&u["id"]))
                    .any(|u| st.closed_dms.contains(&u));
                if closed {
                    return discord_error(403, 50007, "Cannot send messages to this user");
                }
            }
            if is_archived_thread(&ch) {
                return discord_error(400, 50083, "Thread is archived");
            }
            // enforce_nonce: the same nonce from the bot in this channel gets the first
            // message back (Discord keeps nonces for a few minutes).
            let nonce = match &req.body["nonce"] {
                Value::String(n) => Some(n.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
            .filter(|_| req.body["enforce_nonce"] == json!(true));
            if let Some(n) = &nonce {
                if let Some(first) = st.nonces.get(&(c, n.clone())) {
                    if let Some(m) = st.messages.get(first) {
                        return ok(m.clone());
                    }
                }
            }
            let guild_id = id_of(&ch["guild_id"]);
            if let Some(mid) = id_of(&req.body["message_reference"]["message_id"]) {
                let known = st
                    .messages
                    .get(&mid)
                    .is_some_and(|m| id_of(&m["channel_id"]) == Some(c));
                let fail = req.body["message_reference"]["fail_if_not_exists"] != json!(false);
                if !known && fail {
                    return form_error(
                        "message_reference",
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    );
                }
            }
            let msg = build_message(
                st,
                &opts,
                &req.inner.api_base(),
                new_snowflake(),
                c,
                guild_id,
                req.body,
                req.files,
                None,
                0,
            );
            check::<m::Message>(st, "Message", &msg);
            let mid = id_of(&msg["id"]).unwrap_or(0);
            st.messages.insert(mid, msg.clone());
            if let Some(n) = nonce {
                st.nonces.insert((c, n), mid);
            }
            ok(msg)
        }
        ("POST", ["channels", _, "messages", "bulk-delete"]) => {
            if let Some(ids) = req.body["messages"].as_array() {
                for id in ids.iter().filter_map(id_of) {
                    st.messages.remove(&id);
                }
            }
            no_content()
        }
        ("GET", ["channels", c, "messages", mid]) => {
            match num(mid)
                .and_then(|m| st.messages.get(&m))
                .filter(|m| id_of(&m["channel_id"]) == num(c))
            {
                Some(m) => ok(m.clone()),
                None => discord_error(404, 10008, "Unknown Message"),
            }
        }
        ("PATCH", ["channels", c, "messages", mid]) => {
            let Some(mid) = num(mid) else {
                return discord_error(404, 10008, "Unknown Message");
            };
            let Some(old) = st
                .messages
                .get(&mid)
                .filter(|m| id_of(&m["channel_id"]) == num(c))
                .cloned()
            else {
                return discord_error(404, 10008, "Unknown Message");
            };
            if id_of(&old["author"]["id"]) != Some(opts.bot_user_id)
                && req
                    .body
                    .as_object()
                    .is_some_and(|b| b.keys().any(|k| k != "flags"))
            {
                return discord_error(403, 50005, "Cannot edit a message authored by another user");
            }
            if let Err(e) = validate_message_body(req.body, req.files, false) {
                return e;
            }
            if st
                .channels
                .get(&num(c).unwrap_or(0))
                .is_some_and(is_archived_thread)
            {
                return discord_error(400, 50083, "Thread is archived");
            }
            let c = num(c).unwrap_or(0);
            let guild_id = id_of(&old["guild_id"]);
            let msg = build_message(
                st,
                &opts,
                &req.inner.api_base(),
                mid,
                c,
                guild_id,
                req.body,
                req.files,
                Some(&old),
                0,
            );
            check::<m::Message>(st, "Message", &msg);
            st.messages.insert(mid, msg.clone());
            ok(msg)
        }
        ("DELETE", ["channels", c, "messages", mid]) => {
            let exists = num(mid)
                .and_then(|m| st.messages.get(&m))
                .is_some_and(|m| id_of(&m["channel_id"]) == num(c));
            if exists {
                st.messages.remove(&num(mid).unwrap_or(0));
                no_content()
            } else {
                discord_error(404, 10008, "Unknown Message")
            }
        }
        ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", ..]) => no_content(),
        ("PUT" | "DELETE", ["channels", _, "pins", _]) => no_content(),
        ("POST", ["channels", c, "threads"])
        | ("POST", ["channels", c, "messages", _, "threads"]) => {
            let Some(parent) = num(c).and_then(|c| channel_or_default(st, &opts, c)) else {
                return discord_error(404, 10003, "Unknown Channel");
            };
            let Some(g) = id_of(&parent["guild_id"]) else {
                return discord_error(400, 50024, "Cannot execute action on this channel type");
            };
            let Some(name) = req.body["name"].as_str().filter(|n| !n.is_empty()) else {
                return form_error("name", "BASE_TYPE_REQUIRED", "This field is required");
            };
            let from_message = segs.len() == 5;
            let (id, kind) = if from_message {
                let mid = num(segs[3]).unwrap_or(0);
                if !st.messages.contains_key(&mid) {
                    return discord_error(404, 10008, "Unknown Message");
                }
                (mid, 11)
            } else {
                (new_snowflake(), req.body["type"].as_u64().unwrap_or(12))
            };
            let mut th = thread_channel(
                id,
                g,
                num(c).unwrap_or(0),
                name,
                kind == 12,
                opts.bot_user_id,
            );
            th["type"] = json!(kind);
            if let Some(d) = req.body["auto_archive_duration"].as_u64() {
                th["thread_metadata"]["auto_archive_duration"] = json!(d);
            }
            if let Some(i) = req.body["invitable"].as_bool() {
                th["thread_metadata"]["invitable"] = json!(i);
            }
            if let Some(r) = req.body["rate_limit_per_user"].as_u64() {
                th["rate_limit_per_user"] = json!(r);
            }
            check::<m::GuildChannel>(st, "GuildChannel (thread)", &th);
            st.channels.insert(id, th.clone());
            (201, th)
        }
        ("PUT" | "DELETE", ["channels", _, "thread-members", _]) => no_content(),
        ("GET", ["channels", _, "thread-members"]) => ok(json!([])),

        // ---- guilds
        ("GET", ["guilds", g]) => match num(g).filter(|g| opts.guild_ids.contains(g)) {
            Some(g) => {
                let v = partial_guild_json(st, &opts, g);
                check::<m::PartialGuild>(st, "PartialGuild", &v);
                ok(v)
            }
            None => discord_error(404, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "channels"]) => {
            let g = num(g);
            let v: Vec<Value> = st
                .channels
                .values()
                .filter(|c| id_of(&c["guild_id"]) == g)
                .cloned()
                .collect();
            ok(Value::Array(v))
        }
        ("GET", ["guilds", g, "roles"]) => match num(g).filter(|g| opts.guild_ids.contains(g)) {
            Some(g) => {
                let v = Value::Array(st.roles.get(&g).cloned().unwrap_or_default());
                check::<Vec<m::Role>>(st, "Vec<Role>", &v);
                ok(v)
            }
            None => discord_error(404, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "members", u]) => {
            let (Some(g), Some(u)) = (num(g), num(u)) else {
                return discord_error(404, 10007, "Unknown Member");
            };
            if !opts.guild_ids.contains(&g) {
                return discord_error(404, 10004, "Unknown Guild");
            }
            let roles = st.member_roles.get(&(g, u)).cloned().unwrap_or_default();
            let user = known_user(st, u);
            let v = member_json(&user, &roles);
            check::<m::Member>(st, "Member", &v);
            ok(v)
        }
        ("PUT", ["guilds", g, "members", u, "roles", r]) => {
            if let (Some(g), Some(u), Some(r)) = (num(g), num(u), num(r)) {
                ensure_role(st, g, r);
                let roles = st.member_roles.entry((g, u)).or_default();
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            no_content()
        }
        ("DELETE", ["guilds", g, "members", u, "roles", r]) => {
            if let (Some(g), Some(u), Some(r)) = (num(g), num(u), num(r)) {
                if let Some(roles) = st.member_roles.get_mut(&(g, u)) {
                    roles.retain(|x| *x != r);
                }
            }
            no_content()
        }
        _ => unknown_route(),
    }
}

fn put_commands(req: &Req<'_>, st: &mut State, guild: Option<u64>) -> Answer {
    let Some(cmds) = req.body.as_array() else {
        return form_error("_root", "BASE_TYPE_ARRAY", "Must be an array");
    };
    let mut out = Vec::new();
    for c in cmds {
        match command_json(st, req.opts(), guild, c) {
            Ok(v) => out.push(v),
            Err(e) => return e,
        }
    }
    let v = Value::Array(out.clone());
    check::<Vec<serenity::model::application::Command>>(st, "Vec<Command>", &v);
    st.commands.insert(guild, out);
    st.command_puts += 1;
    ok(v)
}

fn post_command(req: &Req<'_>, st: &mut State, guild: Option<u64>) -> Answer {
    let v = match command_json(st, req.opts(), guild, req.body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    check::<serenity::model::application::Command>(st, "Command", &v);
    let list = st.commands.entry(guild).or_default();
    list.retain(|c| c["name"] != v["name"]);
    list.push(v.clone());
    (201, v)
}

fn command_json(
    st: &mut State,
    opts: &FakeOptions,
    guild: Option<u64>,
    c: &Value,
) -> Result<Value, Answer> {
    let Some(name) = c["name"].as_str() else {
        return Err(form_error(
            "name",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    };
    let kind = c["type"].as_u64().unwrap_or(1);
    if kind == 1 {
        let ok_name = !name.is_empty()
            && name.chars().count() <= 32
            && name
                .chars()
                .all(|ch| ch == '-' || ch == '_' || ch.is_alphanumeric())
            && name.to_lowercase() == name;
        if !ok_name {
            return Err(form_error(
                "name",
                "APPLICATION_COMMAND_INVALID_NAME",
                "Invalid command name",
            ));
        }
        let desc = c["description"].as_str().unwrap_or("");
        if desc.is_empty() || desc.chars().count() > 100 {
            return Err(form_error(
                "description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
    }
    let key = (guild, name.to_string());
    let id = *st.command_ids.entry(key).or_insert_with(new_snowflake);
    let mut v = c.clone();
    let o = v.as_object_mut().expect("command is an object");
    o.insert("id".into(), sf(id));
    o.insert("application_id".into(), sf(opts.application_id));
    o.insert("version".into(), sf(new_snowflake()));
    o.insert("type".into(), json!(kind));
    o.entry("description").or_insert(json!(""));
    o.entry("options").or_insert(json!([]));
    o.entry("default_member_permissions").or_insert(Value::Null);
    o.entry("nsfw").or_insert(json!(false));
    o.entry("integration_types").or_insert(json!([0]));
    o.entry("contexts").or_insert(Value::Null);
    if let Some(g) = guild {
        o.insert("guild_id".into(), sf(g));
    } else {
        o.entry("dm_permission").or_insert(json!(true));
    }
    Ok(v)
}

fn interaction_callback(req: &Req<'_>, st: &mut State, id: Option<u64>, token: &str) -> Answer {
    let opts = req.opts().clone();
    let api_base = req.inner.api_base();
    let Some(rec) = st.interactions.get(token).filter(|r| Some(r.id) == id) else {
        return discord_error(404, 10062, "Unknown interaction");
    };
    if rec.acked {
        return discord_error(400, 40060, "Interaction has already been acknowledged.");
    }
    let (kind, channel_id, guild_id, message_id) =
        (rec.kind, rec.channel_id, rec.guild_id, rec.message_id);
    let ty = req.body["type"].as_u64().unwrap_or(0);
    let data = if req.body["data"].is_object() {
        req.body["data"].clone()
    } else {
        json!({})
    };
    let is_component_like = kind == 3 || (kind == 5 && message_id.is_some());
    let original = match ty {
        4 => {
            if let Err(e) = validate_message_body(&data, req.files, true) {
                return e;
            }
            let msg_type = if kind == 2 { 20 } else { 0 };
            let mut m = build_message(
                st,
                &opts,
                &api_base,
                new_snowflake(),
                channel_id,
                guild_id,
                &data,
                req.files,
                None,
                msg_type,
            );
            m["webhook_id"] = sf(opts.application_id);
            m["application_id"] = sf(opts.application_id);
            Some(m)
        }
        5 => {
            let flags = data["flags"].as_u64().unwrap_or(0) | FLAG_LOADING;
            let body = json!({"content": "", "flags": flags});
            let msg_type = if kind == 2 { 20 } else { 0 };
            let mut m = build_message(
                st,
                &opts,
                &api_base,
                new_snowflake(),
                channel_id,
                guild_id,
                &body,
                &[],
                None,
                msg_type,
            );
            m["webhook_id"] = sf(opts.application_id);
            m["application_id"] = sf(opts.application_id);
            Some(m)
        }
        6 | 7 => {
            if !is_component_like {
                return form_error(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Invalid response type for this interaction",
                );
            }
            let mid = message_id.unwrap_or(0);
            let Some(old) = st.messages.get(&mid).cloned() else {
                return discord_error(404, 10008, "Unknown Message");
            };
            if ty == 7 {
                if let Err(e) = validate_message_body(&data, req.files, false) {
                    return e;
                }
                let ch = id_of(&old["channel_id"]).unwrap_or(channel_id);
                let g = id_of(&old["guild_id"]).or(guild_id);
                let m = build_message(
                    st,
                    &opts,
                    &api_base,
                    mid,
                    ch,
                    g,
                    &data,
                    req.files,
                    Some(&old),
                    0,
                );
                check::<serenity::model::channel::Message>(st, "Message", &m);
                st.messages.insert(mid, m.clone());
                Some(m)
            } else {
                Some(old)
            }
        }
        8 => {
            if kind != 4 {
                return form_error(
                    "type",
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "Invalid response type for this interaction",
                );
            }
            None
        }
        9 => {
            let ok = data["custom_id"].is_string()
                && data["title"].is_string()
                && data["components"].is_array();
            if !ok {
                return form_error(
                    "data",
                    "BASE_TYPE_REQUIRED",
                    "custom_id, title and components are required",
                );
            }
            None
        }
        _ => {
            return form_error(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 4, 5, 6, 7, 8, 9, 10, 12).",
            )
        }
    };
    if let Some(m) = &original {
        check::<serenity::model::channel::Message>(st, "Message", m);
        // Non-ephemeral responses are ordinary channel messages.
        if matches!(ty, 4 | 5) && m["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL == 0 {
            st.messages.insert(id_of(&m["id"]).unwrap_or(0), m.clone());
        }
    }
    let rec = st
        .interactions
        .get_mut(token)
        .expect("interaction still known");
    rec.acked = true;
    if original.is_some() {
        rec.original = original;
    }
    no_content()
}

fn webhook(req: &Req<'_>, st: &mut State, app: &str, token: &str, rest: &[&str]) -> Answer {
    let opts = req.opts().clone();
    let api_base = req.inner.api_base();
    if app != opts.application_id.to_string() {
        return discord_error(404, 10015, "Unknown Webhook");
    }
    let Some(rec) = st.interactions.get(token) else {
        return discord_error(404, 10015, "Unknown Webhook");
    };
    if !rec.acked {
        return discord_error(404, 10015, "Unknown Webhook");
    }
    let (channel_id, guild_id) = (rec.channel_id, rec.guild_id);
    match (req.method, rest) {
        ("POST", []) => {
            if let Err(e) = validate_message_body(req.body, req.files, true) {
                return e;
            }
            // The first follow-up after a deferral (type 5) replaces the "thinking" original
            // message and keeps its ephemerality, as on Discord.
            let deferred = st
                .interactions
                .get(token)
                .and_then(|r| r.original.clone())
                .filter(|o| o["flags"].as_u64().unwrap_or(0) & FLAG_LOADING != 0);
            let m = match deferred {
                Some(orig) => {
                    let mid = id_of(&orig["id"]).unwrap_or(0);
                    let mut m = build_message(
                        st,
                        &opts,
                        &api_base,
                        mid,
                        channel_id,
                        guild_id,
                        req.body,
                        req.files,
                        Some(&orig),
                        0,
                    );
                    m["flags"] = json!(orig["flags"].as_u64().unwrap_or(0) & !FLAG_LOADING);
                    m["edited_timestamp"] = Value::Null;
                    if let Some(r) = st.interactions.get_mut(token) {
                        r.original = Some(m.clone());
                    }
                    m
                }
                None => {
                    let mut m = build_message(
                        st,
                        &opts,
                        &api_base,
                        new_snowflake(),
                        channel_id,
                        guild_id,
                        req.body,
                        req.files,
                        None,
                        0,
                    );
                    m["webhook_id"] = sf(opts.application_id);
                    m["application_id"] = sf(opts.application_id);
                    m
                }
            };
            check::<serenity::model::channel::Message>(st, "Message", &m);
            if m["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL == 0 {
                st.messages.insert(id_of(&m["id"]).unwrap_or(0), m.clone());
            }
            if req.query_param("wait").as_deref() == Some("false") {
                no_content()
            } else {
                ok(m)
            }
        }
        (method, ["messages", "@original"]) => {
            let Some(old) = st.interactions.get(token).and_then(|r| r.original.clone()) else {
                return discord_error(404, 10008, "Unknown Message");
            };
            match method {
                "GET" => ok(old),
                "PATCH" => {
                    if let Err(e) = validate_message_body(req.body, req.files, false) {
                        return e;
                    }
                    let mid = id_of(&old["id"]).unwrap_or(0);
                    let mut m = build_message(
                        st,
                        &opts,
                        &api_base,
                        mid,
                        channel_id,
                        guild_id,
                        req.body,
                        req.files,
                        Some(&old),
                        0,
                    );
                    let flags = m["flags"].as_u64().unwrap_or(0) & !FLAG_LOADING;
                    m["flags"] = json!(flags);
                    check::<serenity::model::channel::Message>(st, "Message", &m);
                    if st.messages.contains_key(&mid) {
                        st.messages.insert(mid, m.clone());
                    }
                    if let Some(r) = st.interactions.get_mut(token) {
                        r.original = Some(m.clone());
                    }
                    ok(m)
                }
                "DELETE" => {
                    if let Some(r) = st.interactions.get_mut(token) {
                        r.original = None;
                    }
                    no_content()
                }
                _ => unknown_route(),
            }
        }
        (method, ["messages", mid]) => {
            let Some(mid) = mid.parse::<u64>().ok() else {
                return discord_error(404, 10008, "Unknown Message");
            };
            let Some(old) = st.messages.get(&mid).cloned() else {
                return discord_error(404, 10008, "Unknown Message");
            };
            match method {
                "GET" => ok(old),
                "PATCH" => {
                    if let Err(e) = validate_message_body(req.body, req.files, false) {
                        return e;
                    }
                    let m = build_message(
                        st,
                        &opts,
                        &api_base,
                        mid,
                        channel_id,
                        guild_id,
                        req.body,
                        req.files,
                        Some(&old),
                        0,
                    );
                    check::<serenity::model::channel::Message>(st, "Message", &m);
                    st.messages.insert(mid, m.clone());
                    ok(m)
                }
                "DELETE" => {
                    st.messages.remove(&mid);
                    no_content()
                }
                _ => unknown_route(),
            }
        }
        _ => unknown_route(),
    }
}

/// Discord's own checks on a message body: not empty (when creating), content at most 2000
/// characters, at most 10 embeds, at most 5 action rows of at most 5 components, custom ids at
/// most 100 characters, button labels at most 80.
fn validate_message_body(
    body: &Value,
    files: &[RecordedFile],
    creating: bool,
) -> Result<(), Answer> {
    let content = body["content"].as_str().unwrap_or("");
    if content.chars().count() > 2000 {
        return Err(form_error(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    let non_empty = |k: &str| body[k].as_array().is_some_and(|a| !a.is_empty());
    if creating
        && content.is_empty()
        && !non_empty("embeds")
        && !non_empty("components")
        && !non_empty("sticker_ids")
        && files.is_empty()
        && body["poll"].is_null()
    {
        return Err(discord_error(400, 50006, "Cannot send an empty message"));
    }
    if body["embeds"].as_array().is_some_and(|e| e.len() > 10) {
        return Err(form_error(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    if let Some(rows) = body["components"].as_array() {
        if rows.len() > 5 {
            return Err(form_error(
                "components",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 5 or fewer in length.",
            ));
        }
        for row in rows {
            let comps = row["components"].as_array().cloned().unwrap_or_default();
            if row["type"] != json!(1) || comps.is_empty() || comps.len() > 5 {
                return Err(form_error(
                    "components",
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "Invalid action row",
                ));
            }
            for c in &comps {
                if c["custom_id"]
                    .as_str()
                    .is_some_and(|s| s.is_empty() || s.chars().count() > 100)
                {
                    return Err(form_error(
                        "components",
                        "BASE_TYPE_BAD_LENGTH",
                        "custom_id must be between 1 and 100 in length.",
                    ));
                }
                if c["type"] == json!(2) {
                    if c["custom_id"].is_null() && c["url"].is_null() && c["sku_id"].is_null() {
                        return Err(form_error(
                            "components",
                            "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                            "A custom id is required",
                        ));
                    }
                    if c["label"].as_str().is_some_and(|s| s.chars().count() > 80) {
                        return Err(form_error(
                            "components",
                            "BASE_TYPE_MAX_LENGTH",
                            "label must be 80 or fewer in length.",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build_message(
    st: &mut State,
    opts: &FakeOptions,
    api_base: &str,
    id: u64,
    channel_id: u64,
    guild_id: Option<u64>,
    body: &Value,
    files: &[RecordedFile],
    base: Option<&Value>,
    msg_type: u64,
) -> Value {
    let mut m = match base {
        Some(b) => {
            let mut b = b.clone();
            b["edited_timestamp"] = json!(now());
            b
        }
        None => json!({
            "id": sf(id),
            "channel_id": sf(channel_id),
            "author": user_json(opts.bot_user_id, &opts.bot_username, true),
            "content": "",
            "timestamp": now(),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [],
            "embeds": [],
            "reactions": [],
            "pinned": false,
            "webhook_id": null,
            "type": msg_type,
            "flags": 0,
            "components": [],
        }),
    };
    if base.is_none() {
        if let Some(g) = guild_id {
            m["guild_id"] = sf(g);
        }
    }
    for key in [
        "content",
        "tts",
        "embeds",
        "components",
        "flags",
        "nonce",
        "poll",
    ] {
        if let Some(v) = body.get(key) {
            if !v.is_null() {
                m[key] = v.clone();
            }
        }
    }
    if base.is_none() {
        if let Some(r) = body.get("message_reference").filter(|r| r.is_object()) {
            let mut r = r.clone();
            if r["channel_id"].is_null() {
                r["channel_id"] = sf(channel_id);
            }
            if r["guild_id"].is_null() {
                if let Some(g) = guild_id {
                    r["guild_id"] = sf(g);
                }
            }
            let ref_kind = r["type"].as_u64().unwrap_or(0);
            if r["type"].is_null() {
                r["type"] = json!(0);
            }
            if let Some(mid) = id_of(&r["message_id"]) {
                if ref_kind == 0 {
                    m["type"] = json!(19);
                    if let Some(target) = st.messages.get(&mid) {
                        let mut t = target.clone();
                        if let Some(o) = t.as_object_mut() {
                            o.remove("referenced_message");
                        }
                        m["referenced_message"] = t;
                    }
                }
            }
            m["message_reference"] = r;
        }
    }
    // Attachments: entries with a filename are new uploads (`files[{id}]`), entries with only an
    // id keep an existing attachment.
    let old_atts: Vec<Value> = m["attachments"].as_array().cloned().unwrap_or_default();
    let mut atts: Vec<Value> = Vec::new();
    let mut used_fields: HashSet<String> = HashSet::new();
    let make_att = |f: &RecordedFile, desc: &Value| {
        let aid = new_snowflake();
        let url = format!("{api_base}/attachments/{channel_id}/{aid}/{}", f.filename);
        json!({"id": sf(aid), "filename": f.filename, "size": f.data.len(), "url": url,
               "proxy_url": url, "content_type": f.content_type, "description": desc})
    };
    match body.get("attachments").and_then(|a| a.as_array()) {
        Some(list) => {
            for a in list {
                if a["filename"].is_string() {
                    let field = format!(
                        "files[{}]",
                        a["id"]
                            .as_u64()
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| a["id"].as_str().unwrap_or("").to_string())
                    );
                    if let Some(f) = files.iter().find(|f| f.field == field) {
                        used_fields.insert(field);
                        atts.push(make_att(f, &a["description"]));
                    } else {
                        st.problems
                            .push(format!("attachment {a} refers to no uploaded file part"));
                    }
                } else if let Some(aid) = id_of(&a["id"]) {
                    if let Some(old) = old_atts.iter().find(|o| id_of(&o["id"]) == Some(aid)) {
                        atts.push(old.clone());
                    }
                }
            }
            for f in files.iter().filter(|f| !used_fields.contains(&f.field)) {
                atts.push(make_att(f, &Value::Null));
            }
            m["attachments"] = Value::Array(atts);
        }
        None => {
            if !files.is_empty() {
                let mut all = if base.is_some() { old_atts } else { Vec::new() };
                all.extend(files.iter().map(|f| make_att(f, &Value::Null)));
                m["attachments"] = Value::Array(all);
            }
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Multipart
// ---------------------------------------------------------------------------------------------

fn parse_body(ctype: &str, body: &[u8], problems: &mut Vec<String>) -> (Value, Vec<RecordedFile>) {
    if body.is_empty() {
        return (Value::Null, Vec::new());
    }
    if ctype.starts_with("multipart/form-data") {
        let Some(boundary) = ctype
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .map(|b| b.trim_matches('"').to_string())
        else {
            problems.push("multipart body without boundary".into());
            return (Value::Null, Vec::new());
        };
        let mut json_body = Value::Null;
        let mut files = Vec::new();
        for part in multipart_parts(body, &boundary) {
            if part.name == "payload_json" {
                match serde_json::from_slice(&part.data) {
                    Ok(v) => json_body = v,
                    Err(e) => problems.push(format!("payload_json is not JSON: {e}")),
                }
            } else {
                files.push(RecordedFile {
                    field: part.name,
                    filename: part.filename.unwrap_or_default(),
                    content_type: part.content_type,
                    data: part.data,
                });
            }
        }
        return (json_body, files);
    }
    match serde_json::from_slice(body) {
        Ok(v) => (v, Vec::new()),
        Err(e) => {
            problems.push(format!("request body is not JSON ({ctype}): {e}"));
            (
                Value::String(String::from_utf8_lossy(body).into_owned()),
                Vec::new(),
            )
        }
    }
}

struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let Some(mut pos) = find(body, &delim, 0) else {
        return parts;
    };
    loop {
        let start = pos + delim.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        let Some(next) = find(body, &delim, start) else {
            break;
        };
        let mut chunk = &body[start..next];
        chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        if let Some(hend) = find(chunk, b"\r\n\r\n", 0) {
            let headers = String::from_utf8_lossy(&chunk[..hend]).into_owned();
            let data = chunk[hend + 4..].to_vec();
            let mut name = String::new();
            let mut filename = None;
            let mut content_type = None;
            for line in headers.split("\r\n") {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("content-disposition:") {
                    for attr in line.split(';').skip(1) {
                        let attr = attr.trim();
                        if let Some(v) = attr.strip_prefix("name=") {
                            name = v.trim_matches('"').to_string();
                        } else if let Some(v) = attr.strip_prefix("filename=") {
                            filename = Some(v.trim_matches('"').to_string());
                        }
                    }
                } else if lower.starts_with("content-type:") {
                    content_type = Some(line["content-type:".len()..].trim().to_string());
                }
            }
            parts.push(Part {
                name,
                filename,
                content_type,
                data,
            });
        }
        pos = next;
    }
    parts
}

// ---------------------------------------------------------------------------------------------
// JSON helpers and payload builders
// ---------------------------------------------------------------------------------------------

fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

/// A snowflake as Discord sends it (a JSON string).
pub fn sf(id: u64) -> Value {
    Value::String(id.to_string())
}

/// Reads a snowflake given as a JSON string or number.
pub fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// A fresh, unique snowflake (timestamp-based, like Discord's).
pub fn new_snowflake() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    (ms.saturating_sub(1_420_070_400_000) << 22) | (c & 0x3F_FFFF)
}

/// Now, as an RFC 3339 timestamp.
pub fn now() -> String {
    serenity::model::Timestamp::now().to_string()
}

fn merge_into(dst: &mut Value, src: &Value) {
    if let (Some(d), Some(s)) = (dst.as_object_mut(), src.as_object()) {
        for (k, v) in s {
            d.insert(k.clone(), v.clone());
        }
    }
}

fn known_user(st: &State, id: u64) -> Value {
    st.users
        .get(&id)
        .cloned()
        .unwrap_or_else(|| user_json(id, &format!("user{id}"), false))
}

fn ensure_role(st: &mut State, guild_id: u64, role_id: u64) {
    let roles = st.roles.entry(guild_id).or_default();
    if !roles.iter().any(|r| id_of(&r["id"]) == Some(role_id)) {
        let pos = roles.len() as u64;
        roles.push(role_json(
            role_id,
            &format!("role-{role_id}"),
            pos,
            MEMBER_PERMISSIONS,
        ));
    }
}

/// An archived thread. Discord would unarchive it on a post (and refuse one in a locked thread
/// without Manage Threads); the fake refuses both, so a bot that posts after archiving a
/// thread is caught instead of silently reopening it.
fn is_archived_thread(ch: &Value) -> bool {
    matches!(ch["type"].as_u64(), Some(10..=12)) && ch["thread_metadata"]["archived"] == json!(true)
}

fn channel_or_default(st: &mut State, opts: &FakeOptions, id: u64) -> Option<Value> {
    if let Some(c) = st.channels.get(&id) {
        return Some(c.clone());
    }
    let g = *opts.guild_ids.first()?;
    let c = guild_text_channel(id, g, &format!("channel-{id}"));
    st.channels.insert(id, c.clone());
    Some(c)
}

/// A user object.
pub fn user_json(id: u64, username: &str, is_bot: bool) -> Value {
    json!({
        "id": sf(id), "username": username, "discriminator": "0", "global_name": null,
        "avatar": null, "bot": is_bot, "public_flags": 0,
    })
}

/// A guild member object (as in interactions and `GET /guilds/{g}/members/{u}`).
pub fn member_json(user: &Value, roles: &[u64]) -> Value {
    json!({
        "user": user, "nick": null, "avatar": null, "banner": null,
        "roles": roles.iter().map(|r| sf(*r)).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false,
        "communication_disabled_until": null,
    })
}

/// A role object.
pub fn role_json(id: u64, name: &str, position: u64, permissions: u64) -> Value {
    json!({
        "id": sf(id), "name": name, "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false, "icon": null, "unicode_emoji": null, "position": position,
        "permissions": permissions.to_string(), "managed": false, "mentionable": false, "flags": 0,
    })
}

/// A guild text channel.
pub fn guild_text_channel(id: u64, guild_id: u64, name: &str) -> Value {
    json!({
        "id": sf(id), "type": 0, "guild_id": sf(guild_id), "name": name, "position": 0,
        "permission_overwrites": [], "nsfw": false, "topic": null, "last_message_id": null,
        "rate_limit_per_user": 0, "parent_id": null, "flags": 0,
    })
}

/// A DM channel with one recipient.
pub fn dm_channel(id: u64, recipient_id: u64, username: &str) -> Value {
    json!({
        "id": sf(id), "type": 1, "last_message_id": null, "flags": 0,
        "recipients": [user_json(recipient_id, username, false)],
    })
}

/// A thread channel (type 12 if `private`, else 11) under `parent_id`.
pub fn thread_channel(
    id: u64,
    guild_id: u64,
    parent_id: u64,
    name: &str,
    private: bool,
    owner_id: u64,
) -> Value {
    let ts = now();
    json!({
        "id": sf(id), "type": if private { 12 } else { 11 }, "guild_id": sf(guild_id),
        "parent_id": sf(parent_id), "owner_id": sf(owner_id), "name": name,
        "last_message_id": null, "rate_limit_per_user": 0, "message_count": 0,
        "member_count": 1, "total_message_sent": 0, "flags": 0,
        "thread_metadata": {
            "archived": false, "auto_archive_duration": 1440, "archive_timestamp": ts,
            "locked": false, "invitable": private, "create_timestamp": ts,
        },
    })
}

fn app_info_json(opts: &FakeOptions) -> Value {
    json!({
        "id": sf(opts.application_id), "name": opts.bot_username, "icon": null,
        "description": "", "summary": "", "rpc_origins": [], "bot_public": false,
        "bot_require_code_grant": false, "terms_of_service_url": null,
        "privacy_policy_url": null,
        "owner": user_json(opts.owner_id, "owner", false),
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "team": null, "flags": 0, "tags": [], "redirect_uris": [],
        "interactions_endpoint_url": null, "role_connections_verification_url": null,
        "bot": user_json(opts.bot_user_id, &opts.bot_username, true),
    })
}

fn guild_base_json(st: &State, opts: &FakeOptions, g: u64) -> Value {
    json!({
        "id": sf(g), "name": format!("guild-{g}"), "icon": null, "icon_hash": null,
        "splash": null, "discovery_splash": null, "owner_id": sf(opts.owner_id),
        "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
        "widget_channel_id": null, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": st.roles.get(&g).cloned().unwrap_or_default(), "emojis": [], "features": [],
        "mfa_level": 0, "application_id": null, "system_channel_id": null,
        "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
    })
}

fn partial_guild_json(st: &State, opts: &FakeOptions, g: u64) -> Value {
    guild_base_json(st, opts, g)
}

fn guild_create_json(st: &State, opts: &FakeOptions, g: u64) -> Value {
    let mut v = guild_base_json(st, opts, g);
    let bot = user_json(opts.bot_user_id, &opts.bot_username, true);
    let channels: Vec<Value> = st
        .channels
        .values()
        .filter(|c| {
            id_of(&c["guild_id"]) == Some(g) && !matches!(c["type"].as_u64(), Some(10..=12))
        })
        .cloned()
        .collect();
    let extra = json!({
        "joined_at": "2024-01-01T00:00:00.000000+00:00", "large": false, "unavailable": false,
        "member_count": 2, "voice_states": [], "members": [member_json(&bot, &[])],
        "channels": channels, "threads": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "incidents_data": null,
    });
    merge_into(&mut v, &extra);
    v
}

/// A full GUILD_CREATE payload for `guild_id` with the bot as only member and the given channels.
pub fn guild_create(guild_id: u64, bot_user_id: u64, owner_id: u64, channels: &[Value]) -> Value {
    let opts = FakeOptions {
        bot_user_id,
        owner_id,
        guild_ids: vec![guild_id],
        ..FakeOptions::default()
    };
    let mut st = State::default();
    st.roles.insert(
        guild_id,
        vec![role_json(guild_id, "@everyone", 0, MEMBER_PERMISSIONS)],
    );
    for c in channels {
        if let Some(id) = id_of(&c["id"]) {
            st.channels.insert(id, c.clone());
        }
    }
    guild_create_json(&st, &opts, guild_id)
}

fn message_base(id: u64, channel_id: u64, author: Value, content: &str, mentions: &[u64]) -> Value {
    json!({
        "id": sf(id), "channel_id": sf(channel_id), "author": author, "content": content,
        "timestamp": now(), "edited_timestamp": null, "tts": false,
        "mention_everyone": content.contains("@everyone") || content.contains("@here"),
        "mentions": mentions.iter().map(|m| user_json(*m, &format!("user{m}"), false)).collect::<Vec<_>>(),
        "mention_roles": [], "attachments": [], "embeds": [], "reactions": [], "pinned": false,
        "type": 0, "flags": 0, "components": [], "nonce": null,
    })
}

/// A MESSAGE_CREATE payload for a guild message. `mentions` are the users mentioned (add
/// `<@id>` to `content` yourself); they get usernames `user{id}`. The author gets a `member`
/// with no roles (set `v["member"]["roles"]` for roles).
#[allow(clippy::too_many_arguments)]
pub fn guild_message(
    id: u64,
    guild_id: u64,
    channel_id: u64,
    author_id: u64,
    username: &str,
    content: &str,
    is_bot: bool,
    mentions: &[u64],
) -> Value {
    let mut m = message_base(
        id,
        channel_id,
        user_json(author_id, username, is_bot),
        content,
        mentions,
    );
    m["guild_id"] = sf(guild_id);
    m["member"] = json!({
        "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false, "nick": null, "avatar": null,
    });
    m
}

/// A MESSAGE_CREATE payload for a DM to the bot (no `guild_id`, no `member`).
pub fn dm_message(
    id: u64,
    channel_id: u64,
    author_id: u64,
    username: &str,
    content: &str,
) -> Value {
    message_base(
        id,
        channel_id,
        user_json(author_id, username, false),
        content,
        &[],
    )
}

/// Makes `message` a reply to `referenced` (sets `type` 19, `message_reference` and
/// `referenced_message`, as Discord does).
pub fn with_reply_to(mut message: Value, referenced: &Value) -> Value {
    message["type"] = json!(19);
    let mut r =
        json!({"type": 0, "message_id": referenced["id"], "channel_id": referenced["channel_id"]});
    if !referenced["guild_id"].is_null() {
        r["guild_id"] = referenced["guild_id"].clone();
    }
    message["message_reference"] = r;
    message["referenced_message"] = referenced.clone();
    message
}

/// A message posted by the bot (e.g. the message a button sits on), for
/// [`component_interaction`]. Prefer the `response` of the recorded send when there is one.
pub fn bot_message(
    id: u64,
    guild_id: Option<u64>,
    channel_id: u64,
    bot_user_id: u64,
    content: &str,
    components: Value,
) -> Value {
    let mut m = message_base(
        id,
        channel_id,
        user_json(bot_user_id, "paymedic", true),
        content,
        &[],
    );
    if let Some(g) = guild_id {
        m["guild_id"] = sf(g);
    }
    m["components"] = components;
    m
}

#[allow(clippy::too_many_arguments)]
fn interaction_base(
    id: u64,
    token: &str,
    kind: u64,
    guild_id: Option<u64>,
    channel_id: u64,
    user_id: u64,
    roles: &[u64],
    data: Value,
) -> Value {
    let user = user_json(user_id, &format!("user{user_id}"), false);
    let mut v = json!({
        "id": sf(id),
        "application_id": sf(FakeOptions::default().application_id),
        "type": kind,
        "data": data,
        "channel_id": sf(channel_id),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10_485_760,
        "app_permissions": BOT_PERMISSIONS.to_string(),
    });
    match guild_id {
        Some(g) => {
            v["guild_id"] = sf(g);
            v["guild_locale"] = json!("en-US");
            let mut member = member_json(&user, roles);
            member["permissions"] = json!(MEMBER_PERMISSIONS.to_string());
            v["member"] = member;
            v["channel"] = json!({"id": sf(channel_id), "type": 0, "name": format!("channel-{channel_id}"),
                                  "guild_id": sf(g), "permissions": MEMBER_PERMISSIONS.to_string(),
                                  "flags": 0});
            v["context"] = json!(0);
            v["authorizing_integration_owners"] = json!({"0": g.to_string()});
        }
        None => {
            v["user"] = user.clone();
            v["channel"] = json!({"id": sf(channel_id), "type": 1, "flags": 0,
                                  "recipients": [user]});
            v["context"] = json!(1);
            v["authorizing_integration_owners"] = json!({"0": "0"});
        }
    }
    v
}

/// An INTERACTION_CREATE payload for a button press (component type 2) with `custom_id` on
/// `message` (the message the button is on, e.g. the `response` of the recorded send). For a
/// select menu set `v["data"]["component_type"] = 3` and `v["data"]["values"] = [...]`.
/// In a guild (`guild_id` Some) the user comes as `member` with `roles`; in DMs as `user`.
#[allow(clippy::too_many_arguments)]
pub fn component_interaction(
    id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user_id: u64,
    roles: &[u64],
    custom_id: &str,
    message: Value,
) -> Value {
    let data = json!({"custom_id": custom_id, "component_type": 2});
    let mut v = interaction_base(id, token, 3, guild_id, channel_id, user_id, roles, data);
    v["message"] = message;
    v
}

/// An INTERACTION_CREATE payload for a slash command `name` (type 1, chat input). `options` is
/// Discord's `data.options` array, nested for subcommands, e.g.
/// `json!([{"name":"why","type":1,"options":[{"name":"code","type":3,"value":"X1"}]}])`.
/// For user/role/channel options add `v["data"]["resolved"]` yourself.
#[allow(clippy::too_many_arguments)]
pub fn slash_interaction(
    id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user_id: u64,
    roles: &[u64],
    name: &str,
    options: Value,
) -> Value {
    let mut data =
        json!({"id": sf(command_id_for(name)), "name": name, "type": 1, "options": options});
    if let Some(g) = guild_id {
        data["guild_id"] = sf(g);
    }
    interaction_base(id, token, 2, guild_id, channel_id, user_id, roles, data)
}

/// An INTERACTION_CREATE payload for a message context-menu command `name` (type 2, command
/// type 3) on `target` (a message JSON, e.g. from [`guild_message`]), which Discord sends in
/// `data.resolved.messages`.
#[allow(clippy::too_many_arguments)]
pub fn message_command_interaction(
    id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user_id: u64,
    roles: &[u64],
    name: &str,
    target: Value,
) -> Value {
    let target_id = target["id"].clone();
    let mut messages = serde_json::Map::new();
    if let Some(t) = target_id.as_str() {
        messages.insert(t.to_string(), target);
    }
    let mut data = json!({"id": sf(command_id_for(name)), "name": name, "type": 3,
                          "target_id": target_id, "resolved": {"messages": messages}});
    if let Some(g) = guild_id {
        data["guild_id"] = sf(g);
    }
    interaction_base(id, token, 2, guild_id, channel_id, user_id, roles, data)
}

/// Adds a user to a command interaction's `data.resolved` (for a USER option, type 6, whose
/// value is the user's id), with their member object in a guild.
pub fn with_resolved_user(mut interaction: Value, user_id: u64, username: &str) -> Value {
    let user = user_json(user_id, username, false);
    let key = user_id.to_string();
    interaction["data"]["resolved"]["users"][&key] = user;
    if !interaction["guild_id"].is_null() {
        let mut member = member_json(&Value::Null, &[]);
        if let Some(o) = member.as_object_mut() {
            o.remove("user");
        }
        interaction["data"]["resolved"]["members"][&key] = member;
    }
    interaction
}

/// An INTERACTION_CREATE payload for a modal submit (type 5) with text inputs
/// `(custom_id, value)`, optionally on the message whose component opened the modal.
#[allow(clippy::too_many_arguments)]
pub fn modal_submit_interaction(
    id: u64,
    token: &str,
    guild_id: Option<u64>,
    channel_id: u64,
    user_id: u64,
    roles: &[u64],
    custom_id: &str,
    fields: &[(&str, &str)],
    message: Option<Value>,
) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(cid, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": cid, "value": value}]}))
        .collect();
    let data = json!({"custom_id": custom_id, "components": rows});
    let mut v = interaction_base(id, token, 5, guild_id, channel_id, user_id, roles, data);
    if let Some(m) = message {
        v["message"] = m;
    }
    v
}

fn command_id_for(name: &str) -> u64 {
    // Deterministic per name; poise dispatches by name, not id.
    let h = name.bytes().fold(1_469_598_103_934_665_603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1_099_511_628_211)
    });
    1_000_000_000_000_000_000 + (h % 100_000_000_000_000_000)
}
