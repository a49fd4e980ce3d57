//! paymedic: a Discord support bot that answers "why did my pay-later payment fail?".
//!
//! # Layout
//!
//! - [`engine`]: the pure core, with no I/O, clock, Discord, async runtime or database.
//!   - [`engine::content`]: `intents.toml` parsed (`raw`), validated and compiled (`compile`)
//!     into typed IDs; errors carry `file:line:col`.
//!   - [`engine::nlu`]: normalization, features, the load-time-trained linear model, and the
//!     classifier that combines it with regex patterns, vetoes and thresholds.
//!   - [`engine::dialogue`]: the per-member conversation state machine,
//!     `step(session, input, now) -> Step { session, effects }`.
//!   - [`engine::checks`]: limit, app version and card expiry checks.
//!   - [`engine::incident`]: incident mode's answers (the notice, the "notify me" choice,
//!     shortened steps) and the moderator's intent list.
//!   - [`engine::sensitive`]: spotting card numbers, CVV codes and passwords (the secrets
//!     guard) and redacting them, with IBANs, email addresses and phone numbers.
//!   - [`engine::limits`]: Discord's limits as named constants.
//!   - [`engine::scam`]: the scam and impersonation shield: `[scam]` rules over folded text,
//!     lookalike links and hidden links, brand-imitating handles and display names.
//!   - [`engine::throttle`]: load policy: the per-channel reply cap (a sliding window, one
//!     moderator notice per raid) and the overload shedding rule.
//!   - [`engine::tickets`]: the ticket model: staff actions checked against a ticket's state,
//!     timers from stored times, the hand-off packet and the transcript.
//!   - [`engine::insight`]: the dashboard's and `report`'s figures over a window (the types,
//!     and the pure aggregation from stored rows).
//!   - [`engine::ids`]: typed IDs (member, guild, channel, role, message, ticket).
//! - [`app`]: `App::turn`, the one turn boundary both adapters call: the sensitive-data guard,
//!   hand-off, the cooldown, the engine step, and one commit to the store before any reply;
//!   staff actions, timers, `/forget-me` and retention; the channel reply cap's state, the
//!   message tally (what became of each message) and the activity log's buffer (what the bot
//!   did, by content keys, written in batches by `flush_activity`).
//! - [`store`]: the `Store` trait (sessions by content key, tickets and events, feedback,
//!   outcome counts, the activity log) with an in-memory backend, SQLite (`sqlx`, embedded
//!   migrations, group commit) and PostgreSQL (the same contract, for several processes on one
//!   database).
//! - [`discord`]: the serenity/poise adapter: event routing and start-up, `convert` (Discord
//!   types and component ids), `effects` (rendering), `outbox` (the one place anything is sent,
//!   for messages, buttons, modals and commands), `retry` (what a REST error leads to: retry
//!   with backoff, give up and log, log once per channel; the fault counts), `dedupe` (each
//!   gateway event handled once, even when Discord replays it), `tickets` (private threads,
//!   the packet, staff actions, `/ticket`, `/escalate`, `/forget-me`), `shards` (which gateway
//!   shards this process runs) and the slash commands.
//! - [`insight`]: `load_report` (the dashboard's and `paymedic report`'s figures from the
//!   store) and the report as plain-text tables.
//! - [`config`]: `config.toml` settings (the token comes only from the environment).
//! - [`terminal`]: `paymedic chat`, the terminal adapter, with `/mod` commands for the ticket
//!   life.
//! - [`explain`]: why a message got its classification (CLI `explain`, `/explain`).
//! - [`eval`]: scoring the classifier on a labelled corpus at production thresholds.
//! - [`metrics`]: the Prometheus metrics (names, help, buckets) and the process's recorder;
//!   `/metrics` renders it.
//! - [`reload`]: hot reload of the content pack and the reloadable settings (`/reload`,
//!   SIGHUP, `/mod reload`), with every error located.
//! - [`logging`]: the log writer that redacts every line, dependencies' lines included.
//! - [`web`]: the staff dashboard and `/metrics` over HTTP (axum): login by token or session
//!   cookie, security headers, and the pages rendered from [`engine::insight::Report`]
//!   (`web::html`). Reads the store, never Discord.

pub mod app;
pub mod cluster;
pub mod config;
pub mod discord;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod insight;
pub mod logging;
pub mod metrics;
pub mod reload;
pub mod store;
pub mod terminal;
pub mod web;
