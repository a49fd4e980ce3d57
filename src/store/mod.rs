//! Durable state behind one small trait: sessions, tickets and their events, feedback,
//! outcome counts, and the activity log behind the dashboard and `report`.
//!
//! Three backends: [`memory::MemoryStore`] (tests, and `chat` without `--db`),
//! [`sqlite::SqliteStore`] (the default for `run`) and [`postgres::PgStore`] (several
//! processes on one database). One contract suite (`tests/store_contract.rs`) runs against
//! every backend, so they can't drift.
//!
//! The rules every backend keeps:
//! - **A turn is one transaction** ([`Store::commit_turn`]): the session, the outcome counts and
//!   any ticket it opens are committed together, before the reply is sent.
//! - **One active ticket per member per guild**, enforced by the backend (a partial unique index
//!   in SQL), never by check-then-insert: a second open returns the existing ticket.
//! - **A request key opens at most one ticket**: the same interaction twice is one ticket.
//! - **At most one active incident**, enforced by the backend (a partial unique index in
//!   SQL): a second start replaces the active incident's notice and intents.
//! - **A member subscribes to an incident at most once** (a unique key): pressing "Notify me"
//!   twice is one subscription.
//! - **Tickets change by version**: [`Store::update_ticket`] writes only over the version it
//!   read, so two moderators (or processes) acting at once can't overwrite each other.

pub mod memory;
pub mod postgres;
mod sql;
pub mod sqlite;

use crate::engine::dialogue::stored::StoredSession;
use crate::engine::ids::{ChannelId, GuildId, IncidentId, MemberId, TicketId, UserKey};
pub use crate::engine::insight::{ActivityKind, ActivityRow};
use crate::engine::tickets::{NewTicket, Ticket, TicketEvent, TicketStatus};
use crate::engine::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A member's conversation as stored: the session by content keys, plus what the hand-off
/// packet needs. Every string is masked before it gets here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session: StoredSession,
    /// `pack_hash` of the content pack the session was saved under.
    pub pack: u64,
    /// The member's last messages to the bot, oldest first.
    #[serde(default)]
    pub recent: Vec<String>,
    /// Checks the member ran.
    #[serde(default)]
    pub checks: Vec<String>,
    /// The classifier's confidence in the conversation's intent.
    #[serde(default)]
    pub confidence: Option<f32>,
    /// When the member was last pointed to their open ticket (at most once an hour).
    #[serde(default)]
    pub pointed_at: Option<u64>,
    /// The stored row's version, as read: every write adds one. Not part of the saved data;
    /// a write that changes the session names the version it read ([`Expect`]).
    #[serde(skip)]
    pub version: u64,
}

/// What a session write expects to find stored: the optimistic check that keeps two
/// processes handling one member from losing each other's update. A write that finds
/// anything else fails with [`StoreError::Stale`], and the turn is run again from a fresh
/// read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No session was stored when the turn read it.
    Absent,
    /// The session was stored at this version.
    Version(u64),
    /// Write whatever is stored (a moderator's change to a ticket, which wins).
    Any,
}

impl Expect {
    /// What a turn that read `old` expects.
    pub fn read(old: Option<&SessionRecord>) -> Expect {
        old.map_or(Expect::Absent, |r| Expect::Version(r.version))
    }
}

impl SessionRecord {
    pub fn updated(&self) -> Timestamp {
        Timestamp(self.session.updated)
    }

    pub fn is_handed_off(&self) -> bool {
        matches!(
            self.session.state,
            crate::engine::dialogue::stored::StoredState::HandedOff { .. }
        )
    }
}

/// How a flow ended, by content keys: one row of the outcome counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutcomeRow {
    pub intent: String,
    /// The step whose advice was last given; `None` for the first answer.
    pub step: Option<String>,
    pub outcome: OutcomeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Fixed,
    Escalated,
    DeclinedHuman,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Fixed => "fixed",
            OutcomeKind::Escalated => "escalated",
            OutcomeKind::DeclinedHuman => "declined_human",
        }
    }

    pub fn parse(s: &str) -> Option<OutcomeKind> {
        Some(match s {
            "fixed" => OutcomeKind::Fixed,
            "escalated" => OutcomeKind::Escalated,
            "declined_human" => OutcomeKind::DeclinedHuman,
            _ => return None,
        })
    }
}

/// What opening a ticket did.
#[derive(Clone, Debug, PartialEq)]
pub enum Opened {
    /// A new ticket, written as `Opening`.
    Created(Ticket),
    /// The member already had an active ticket, or this request key already opened one.
    Existing(Ticket),
}

impl Opened {
    pub fn ticket(&self) -> &Ticket {
        match self {
            Opened::Created(t) | Opened::Existing(t) => t,
        }
    }
}

/// What [`Store::update_ticket`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Updated {
    Done,
    /// The stored version was not the one the change was made from: reload and retry.
    Stale,
    /// The change would give the member a second active ticket (a reopen while another is
    /// open).
    MemberHasActive,
}

/// Which tickets to list.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub guild: Option<GuildId>,
    /// Empty: any status.
    pub statuses: Vec<TicketStatus>,
    pub limit: Option<u32>,
}

impl TicketFilter {
    pub fn active() -> TicketFilter {
        TicketFilter {
            statuses: vec![TicketStatus::Opening, TicketStatus::Open],
            ..TicketFilter::default()
        }
    }
}

/// What `/forget-me` removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub sessions: u64,
    pub feedback: u64,
    /// Tickets whose member was replaced by the forgotten placeholder.
    pub tickets: u64,
    /// Activity rows holding their words (unanswered messages).
    pub activity: u64,
}

/// What a retention purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub tickets: u64,
    /// Activity rows older than the cut-off.
    pub activity: u64,
}

/// What [`Store::expire_sessions`] removed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expired {
    pub count: u64,
    /// The sessions removed (those whose stored form could not be read are only counted):
    /// one that was in a flow is a member who gave up there.
    pub sessions: Vec<(UserKey, StoredSession)>,
}

/// An incident (a known outage moderators announced), as stored. Intents are by their keys
/// from `intents.toml`, so an edited pack can't change what a stored incident covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: IncidentId,
    /// The moderators' notice, masked before it is stored.
    pub notice: String,
    pub intents: Vec<String>,
    pub started_at: Timestamp,
    pub started_by: MemberId,
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<MemberId>,
}

/// What [`Store::start_incident`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// No incident was active: this one is new.
    New(IncidentRecord),
    /// One was active: its notice and intents were replaced (its subscribers stay).
    Replaced(IncidentRecord),
}

impl Started {
    pub fn incident(&self) -> &IncidentRecord {
        match self {
            Started::New(i) | Started::Replaced(i) => i,
        }
    }
}

/// What [`Store::subscribe`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscribed {
    Added,
    /// The member was already on the list.
    Already,
    /// The incident is over (or unknown): nobody is added.
    Over,
}

/// The gateway shards one process runs: `first..=last` of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpan {
    pub first: u32,
    pub last: u32,
    pub total: u32,
}

/// News one process sends the others through a shared store (PostgreSQL `NOTIFY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// The content pack and settings were reloaded: re-read yours.
    Reload,
    /// An incident started, changed or ended: stop trusting the cached one.
    Incident,
    /// The connection that listens was lost and is back: notes may have been missed, so act
    /// as if every kind had come.
    Missed,
}

impl Note {
    pub fn as_str(self) -> &'static str {
        match self {
            Note::Reload => "reload",
            Note::Incident => "incident",
            Note::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<Note> {
        Some(match s {
            "reload" => Note::Reload,
            "incident" => Note::Incident,
            "missed" => Note::Missed,
            _ => return None,
        })
    }
}

/// A store failure. Each says what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: this is not a paymedic database, or it is damaged ({detail}). It was left untouched: restore it from a backup, or point [store] path at another file", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{}: written by a newer paymedic (it has migration {version}, which this version does not know). Run the newer paymedic, or restore a backup", path.display())]
    TooNew { path: PathBuf, version: i64 },
    #[error("cannot open the store at {}: {detail}", path.display())]
    Open { path: PathBuf, detail: String },
    #[error("cannot use the PostgreSQL database at {target}: {detail}")]
    Connect { target: String, detail: String },
    #[error("the store failed: {0}")]
    Backend(String),
    #[error("a stored {what} could not be read: {detail}")]
    Decode { what: &'static str, detail: String },
    /// Another process holds shards this one was asked to run, or runs with another total.
    #[error("cannot run these shards: {detail}")]
    ShardsTaken { detail: String },
    /// The member's session changed between this turn's read and its write (another process,
    /// or a moderator's action): nothing was written; run the turn again.
    #[error("the conversation changed while this turn ran (another process or a moderator); nothing was written")]
    Stale,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend, for logs and `/metrics`.
    fn name(&self) -> &'static str;

    /// Whether several processes may share this store (PostgreSQL): then a gateway event is
    /// claimed here ([`Store::claim`]) before it is answered, since another process may have
    /// been sent the same one. One process's own replays are caught in memory.
    fn shared(&self) -> bool {
        false
    }

    /// Claims an event (`message:ID`, `interaction:ID`) for this process: `true` the first
    /// time, `false` when any process claimed it before. One `INSERT … ON CONFLICT DO
    /// NOTHING`, so two processes claiming at once get one `true` between them.
    async fn claim(&self, key: &str, at: Timestamp) -> Result<bool>;
    /// Forgets claims made before `before` (Discord replays an event within minutes, not
    /// hours); returns how many.
    async fn expire_claims(&self, before: Timestamp) -> Result<u64>;

    /// Whether this process runs the jobs one process must run for all (ticket timers,
    /// retention, expiry): asked again every few seconds. A store of one process always
    /// leads; PostgreSQL elects one leader with an advisory lock held on a connection, which a
    /// dead leader's connection releases, so another process takes over at its next ask.
    async fn lead(&self) -> Result<bool> {
        Ok(true)
    }

    /// Takes this process's gateway shards (`None`: every shard) for as long as it runs, and
    /// refuses ([`StoreError::ShardsTaken`], naming the holder) shards another process on
    /// this store already runs, or a total other than theirs.
    async fn hold_shards(&self, _shards: Option<ShardSpan>) -> Result<()> {
        Ok(())
    }

    /// Tells the other processes on this store (none, for a store of one process).
    async fn tell(&self, _note: Note) -> Result<()> {
        Ok(())
    }

    /// The notes other processes send, for as long as the receiver is kept; `None` for a store
    /// of one process.
    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Note>>> {
        Ok(None)
    }

    async fn session(&self, key: UserKey) -> Result<Option<SessionRecord>>;

    /// One turn in one transaction: saves the session (`None` deletes it), adds the outcome
    /// counts and, with `open`, opens a ticket (or finds the member's active one). The session
    /// is saved either way, if the stored one is still what `expect` says; otherwise nothing
    /// is written and the answer is [`StoreError::Stale`].
    async fn commit_turn(
        &self,
        key: UserKey,
        expect: Expect,
        session: Option<&SessionRecord>,
        outcomes: &[OutcomeRow],
        open: Option<&NewTicket>,
    ) -> Result<Option<Opened>>;

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>>;
    async fn ticket_by_thread(&self, thread: ChannelId) -> Result<Option<Ticket>>;
    /// The member's opening or open ticket in a guild.
    async fn active_ticket(&self, guild: GuildId, member: MemberId) -> Result<Option<Ticket>>;
    /// Tickets by the filter, newest first.
    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>>;

    /// Writes `ticket` if the stored version is still `ticket.version` (then stores version + 1),
    /// with an event and a change to the member's session, all in one transaction.
    async fn update_ticket(
        &self,
        ticket: &Ticket,
        event: Option<&TicketEvent>,
        session: Option<(UserKey, Option<&SessionRecord>)>,
    ) -> Result<Updated>;

    /// Adds an event; with `touch`, the ticket's last activity becomes the event's time.
    async fn add_event(&self, id: TicketId, event: &TicketEvent, touch: bool) -> Result<()>;
    async fn events(&self, id: TicketId) -> Result<Vec<TicketEvent>>;

    /// Stores a member's "Did we solve it?" answer (the latest one counts).
    async fn record_feedback(
        &self,
        ticket: TicketId,
        member: MemberId,
        solved: bool,
        at: Timestamp,
    ) -> Result<()>;
    /// Feedback rows as (ticket, solved).
    async fn feedback(&self) -> Result<Vec<(TicketId, bool)>>;

    async fn outcomes(&self) -> Result<Vec<(OutcomeRow, u64)>>;

    /// Deletes sessions not touched since `before`, except those a human has, and returns
    /// them.
    async fn expire_sessions(&self, before: Timestamp) -> Result<Expired>;
    async fn session_count(&self) -> Result<u64>;

    /// Deletes a member's sessions, feedback and the activity rows holding their words, and replaces them in stored tickets (and their
    /// transcripts and events) with the forgotten placeholder. Active tickets are the caller's
    /// to close first.
    async fn forget_member(&self, guild: GuildId, member: MemberId) -> Result<Forgotten>;

    /// Deletes tickets closed (or failed) before `before`, with their events and feedback,
    /// sessions not touched since then, and activity rows older than it.
    async fn purge(&self, before: Timestamp) -> Result<Purged>;

    /// Starts an incident, or replaces the active one's notice and intents (one transaction,
    /// so two processes starting at once end with one active incident).
    async fn start_incident(
        &self,
        notice: &str,
        intents: &[String],
        at: Timestamp,
        by: MemberId,
    ) -> Result<Started>;
    async fn active_incident(&self) -> Result<Option<IncidentRecord>>;
    /// Ends the active incident; `None` when none was active. Its subscriptions stay until
    /// each subscriber has been told ([`Store::unsubscribe`]).
    async fn end_incident(&self, at: Timestamp, by: MemberId) -> Result<Option<IncidentRecord>>;
    /// Whether any incident was ever stored (active or ended).
    async fn had_incident(&self) -> Result<bool>;
    /// Adds a member to an active incident's "notify me" list.
    async fn subscribe(
        &self,
        incident: IncidentId,
        who: UserKey,
        at: Timestamp,
    ) -> Result<Subscribed>;
    /// An incident's subscribers, in the order they subscribed.
    async fn subscribers(&self, incident: IncidentId) -> Result<Vec<UserKey>>;
    /// Removes one subscription (once its member was told); whether it was there.
    async fn unsubscribe(&self, incident: IncidentId, who: UserKey) -> Result<bool>;
    /// Ended incidents that still have subscribers: a fan-out a crash or restart cut short.
    async fn unfinished_fanouts(&self) -> Result<Vec<IncidentRecord>>;
    /// Appends activity rows, all in one transaction.
    async fn record_activity(&self, rows: &[ActivityRow]) -> Result<()>;
    /// Activity rows at or after `since`, oldest first (rows of one time in the order they
    /// were recorded).
    async fn activity(&self, since: Timestamp) -> Result<Vec<ActivityRow>>;
}

/// Replaces a member's mention and id in stored text.
pub(crate) fn scrub(text: &str, member: MemberId) -> String {
    let id = member.to_string();
    text.replace(&format!("<@{id}>"), "(forgotten member)")
        .replace(&format!("<@!{id}>"), "(forgotten member)")
        .replace(&format!("member {id}"), "member (forgotten)")
}

/// Opens (or creates) the SQLite store at `path`: the store `run` and `chat --db` use.
pub async fn open_sqlite(
    path: &std::path::Path,
    durability: sqlite::Durability,
) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(
        sqlite::SqliteStore::open_with(path, durability).await?,
    ))
}

/// Opens an existing SQLite store for reading only (`paymedic web`): never creates, migrates
/// or writes it (see [`sqlite::SqliteStore::open_read_only`]).
pub async fn open_sqlite_read_only(path: &std::path::Path) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(
        sqlite::SqliteStore::open_read_only(path).await?,
    ))
}

/// Where a store lives: an SQLite file, or a PostgreSQL database by URL. Every command that
/// takes `--db` takes either.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` URL (it may hold a password: never shown, see [`Location`]'s Display).
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is a PostgreSQL URL; anything else a file path.
    pub fn parse(s: &str) -> Location {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s))
        }
    }

    /// Whether there is a database to read: an SQLite file must exist; a PostgreSQL database
    /// is only known once connected.
    pub fn exists(&self) -> bool {
        match self {
            Location::Sqlite(p) => p.exists(),
            Location::Postgres(_) => true,
        }
    }
}

/// The file's path, or the database's `host:port/name`: never a URL's password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => match postgres::target_of(url) {
                Some(t) => write!(f, "postgres://{t}"),
                None => write!(f, "a PostgreSQL database (its URL is not valid)"),
            },
        }
    }
}

/// Debug shows what Display shows, so a URL's password can't reach a log through `{:?}`.
impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

/// Opens (or creates) the store at `location`: SQLite with `durability`, or PostgreSQL
/// (migrated on connect).
pub async fn open(
    location: &Location,
    durability: sqlite::Durability,
) -> Result<std::sync::Arc<dyn Store>> {
    match location {
        Location::Sqlite(path) => open_sqlite(path, durability).await,
        Location::Postgres(url) => Ok(std::sync::Arc::new(postgres::PgStore::connect(url).await?)),
    }
}

/// Opens an existing store without changing it (`web`, `report`, `tickets`): never created
/// or migrated; writes fail.
pub async fn open_read_only(location: &Location) -> Result<std::sync::Arc<dyn Store>> {
    match location {
        Location::Sqlite(path) => open_sqlite_read_only(path).await,
        Location::Postgres(url) => Ok(std::sync::Arc::new(
            postgres::PgStore::connect_read_only(url).await?,
        )),
    }
}
