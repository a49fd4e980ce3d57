//! The one turn boundary, over the store: loads a member's session, runs the engine, commits
//! the result (and any ticket it opens) and hands the effects back. The Discord bot, the
//! terminal chat and the tests all go through [`App`]; so do staff actions on tickets.
//!
//! Every operation on one member runs under that member's lock, so two presses at the same
//! instant, or a press and a moderator's `/escalate`, are handled one after the other; the
//! store's unique index is what makes "one active ticket per member" hold across processes.

use crate::config::Config;
use crate::engine::checks::{self, AppVerdict, CheckError, ExpiryVerdict, LimitVerdict};
use crate::engine::content::IntentKind;
use crate::engine::dialogue::stored::StoredSession;
use crate::engine::dialogue::{Answer, At, Flow, Outcome};
use crate::engine::ids::{ChannelId, GuildId, MemberId, MessageId, RoleId, TicketId};
use crate::engine::incident::{self, Incident};
use crate::engine::insight::{flow_position, ActivityKind, ActivityRow};
use crate::engine::sensitive;
use crate::engine::throttle::{CapVerdict, ReplyCap};
use crate::engine::tickets::{
    mask, EventKind, NewTicket, Packet, Refusal, StaffAction, Ticket, TicketEvent, TicketStatus,
    Timer, FORGET_REASON, INACTIVE_REASON, RECENT_MAX,
};
use crate::engine::IncidentId;
use crate::engine::{Choice, Classification, Effect, Engine, Input, Session, State, Timestamp};
use crate::metrics::{self, FlowOutcome, Silence};
use crate::store::memory::MemoryStore;
use crate::store::{
    Expect, Forgotten, IncidentRecord, Note, Opened, OutcomeKind, OutcomeRow, Purged,
    SessionRecord, Started, Store, StoreError, Subscribed, TicketFilter, Updated,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::engine::ids::UserKey;

/// Who a turn is for, and the request it came from (an interaction or message id), which
/// makes opening a ticket idempotent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub user: UserKey,
    pub request: Option<String>,
    /// The event's claim key (`message:ID`) when another process on a shared store may have
    /// been sent it too: the turn claims it with its first read, and a claim another process
    /// made first ends the turn silently ([`Turn::duplicate`]).
    pub claim: Option<String>,
    /// Whether the scam shield screens this member's text: a member who is not staff, in a
    /// public support channel (or the terminal). DMs to the bot and staff are not screened.
    pub screen: bool,
}

impl From<UserKey> for Origin {
    fn from(user: UserKey) -> Origin {
        Origin {
            user,
            request: None,
            claim: None,
            screen: false,
        }
    }
}

/// What one input produced.
#[derive(Debug)]
pub struct Turn<'a> {
    pub effects: Vec<Effect<'a>>,
    pub classification: Option<Classification>,
    /// The member's ticket, when this turn concerns it.
    pub ticket: Option<TicketNote>,
    /// Set when the per-member cooldown decided this turn (a notice, or silence).
    pub cooldown: Option<Cooldown>,
    /// The member's ticket has them: the engine was not asked (for the metrics).
    handed_off: bool,
    /// Another process claimed this event first and answers it: this one says nothing.
    pub duplicate: bool,
}

/// What the per-member cooldown did to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cooldown {
    /// Too fast: the turn is the one gentle notice.
    Notice,
    /// Too fast, and already told: the turn is silent.
    Silenced,
}

impl Turn<'_> {
    fn silent() -> Self {
        Turn {
            effects: Vec::new(),
            classification: None,
            ticket: None,
            cooldown: None,
            handed_off: false,
            duplicate: false,
        }
    }

    fn duplicate() -> Self {
        Turn {
            duplicate: true,
            ..Turn::silent()
        }
    }

    pub fn is_silent(&self) -> bool {
        self.effects.is_empty() && self.ticket.is_none()
    }
}

/// A ticket a turn concerns, for the adapter to act on.
#[derive(Clone, Debug, PartialEq)]
pub enum TicketNote {
    /// Just opened (status `Opening`): create its thread, post the packet, then call
    /// [`App::ticket_opened`] or [`App::ticket_failed`].
    Opened(Ticket),
    /// The member asked again: link them to the ticket they have.
    Existing(Ticket),
    /// The member wrote while their ticket is open: point them to it (at most once an hour
    /// for typed messages).
    Pointer(Ticket),
}

impl TicketNote {
    pub fn ticket(&self) -> &Ticket {
        match self {
            TicketNote::Opened(t) | TicketNote::Existing(t) | TicketNote::Pointer(t) => t,
        }
    }
}

/// Proof that a member passed the staff check: only [`App::staff`] (roles from the server)
/// and [`Staff::trusted`] make one, and every ticket action takes one.
///
/// Staff act in the guild whose roles made them staff: tickets of another guild don't exist
/// for them (role ids are global, so the same config serves several guilds). Tickets opened
/// from DMs (guild 0) belong to every guild's staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Staff {
    member: MemberId,
    /// `None`: every guild (the terminal's operator).
    guild: Option<GuildId>,
}

impl Staff {
    /// For adapters whose operator is the admin (the terminal's `/mod` commands).
    pub fn trusted(member: MemberId) -> Staff {
        Staff {
            member,
            guild: None,
        }
    }

    pub fn member(self) -> MemberId {
        self.member
    }

    /// Whether this staff member may see and act on a ticket of `guild`.
    pub fn serves(self, guild: GuildId) -> bool {
        self.guild.is_none_or(|g| g == guild) || guild == GuildId(0)
    }
}

/// Why a staff action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a staff action (or a timer that closed a ticket) did.
#[derive(Clone, Debug)]
pub struct Changed {
    pub ticket: Ticket,
    /// What to tell the member, when the ticket went back to the bot.
    pub member_notice: Option<String>,
    /// The transcript, when the ticket closed.
    pub transcript: Option<String>,
}

/// A ticket timer that fired (and is already recorded).
#[derive(Clone, Debug)]
pub struct Fired {
    pub timer: Timer,
    pub changed: Changed,
}

/// What `/forget-me` did.
#[derive(Clone, Debug, Default)]
pub struct ForgetReport {
    /// The member's open ticket, closed first.
    pub closed: Option<Changed>,
    pub forgotten: Forgotten,
}

/// Why `/incident start` did not start (or update) an incident.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(
        "the notice is empty: say what's broken, e.g. \"Klarna checkout is down; they're on it.\""
    )]
    EmptyNotice,
    #[error("the notice is {len} characters; keep it to {max}")]
    NoticeTooLong { len: usize, max: usize },
    /// An unknown intent id; the text lists the valid ones.
    #[error("{0}")]
    Intents(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An ended incident and who to tell: the adapter DMs each subscriber once, calling
/// [`App::incident_told`] after each, so a fan-out cut short resumes without a second DM.
#[derive(Clone, Debug)]
pub struct Ended {
    pub incident: IncidentRecord,
    pub subscribers: Vec<UserKey>,
}

/// The active incident as last read from the store, and when (engine time).
#[derive(Clone, Debug)]
struct IncidentCache {
    read_at: Timestamp,
    active: Option<IncidentRecord>,
}

/// How long the active incident is cached: processes sharing a database agree within this.
pub const INCIDENT_CACHE_MS: u64 = 5_000;
/// The longest incident notice, in characters: it leads a reply and a `/check status` answer.
pub const INCIDENT_NOTICE_MAX: usize = 500;

/// Whether a member's message should be answered, given the per-user cooldown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admit {
    /// Answer it.
    Yes,
    /// Too fast: send one gentle notice.
    Notice,
    /// Too fast, and already told: stay quiet.
    Drop,
}

#[derive(Clone, Copy, Debug)]
struct Pace {
    last_answered: Timestamp,
    noticed: bool,
}

/// Member locks, striped: a fixed number of locks, each member hashing to one. Bounded memory
/// whatever the number of members; two members rarely share a stripe, and sharing only means
/// waiting a few microseconds.
const LOCK_STRIPES: usize = 256;
/// A member is pointed to their open ticket at most this often when they write.
const POINTER_EVERY_MS: u64 = 3_600_000;
/// How many checks a session keeps for the packet.
const CHECKS_MAX: usize = 5;
/// A stale ticket update (someone else changed it) is retried this many times.
const RETRIES: usize = 3;
/// How many times a turn (or a moderator's change to a member's conversation) runs when its
/// session write keeps finding a newer version than it read (another process got there first).
const TURN_TRIES: usize = 4;

pub struct App {
    /// Every content pack and settings generation loaded since start-up, the current one
    /// last-indexed by `current`. See [`Generation`] for why none is ever dropped early.
    generations: elsa::sync::FrozenVec<Box<Generation>>,
    current: AtomicUsize,
    /// Reloads run one at a time.
    reloading: Mutex<()>,
    /// Where a reload reads the pack and settings from.
    source: Option<crate::reload::Source>,
    store: Arc<dyn Store>,
    locks: Box<[tokio::sync::Mutex<()>]>,
    hasher: std::hash::RandomState,
    pace: Mutex<HashMap<UserKey, Pace>>,
    /// Display names already reported to the moderators, by member and name (bounded).
    names_reported: Mutex<HashSet<(UserKey, u64)>>,
    cap: Mutex<ReplyCap>,
    tally: Tally,
    incident: Mutex<Option<IncidentCache>>,
    activity: Mutex<ActivityLog>,
    /// Held by a flush from taking the rows to writing them, and by `/forget-me`: a member's
    /// words are never on their way to the store while they are being forgotten.
    flushing: tokio::sync::Mutex<()>,
}

/// Activity rows waiting for [`App::flush_activity`]: one store write for many rows, instead
/// of a round trip per message (most are silent and commit nothing else). Bounded: past
/// [`ACTIVITY_BUFFER_MAX`] rows the oldest are dropped, and counted.
#[derive(Debug, Default)]
struct ActivityLog {
    rows: VecDeque<ActivityRow>,
    dropped: u64,
}

/// Activity rows kept in memory between flushes at most.
pub const ACTIVITY_BUFFER_MAX: usize = 10_000;

impl ActivityLog {
    fn push(&mut self, row: ActivityRow) {
        if self.rows.len() >= ACTIVITY_BUFFER_MAX {
            self.rows.pop_front();
            self.dropped += 1;
        }
        self.rows.push_back(row);
    }
}

/// One content pack with the settings it runs under. A [`Turn`]'s effects borrow text from
/// the pack that produced them, and the adapters send them after the turn returns, perhaps
/// after a reload: so the app keeps every generation until it is dropped, and a reply's text
/// is never freed under it. Reloads are a moderator's action and are capped at
/// [`GENERATIONS_MAX`], so this is bounded; the alternative (owned effects) would copy every
/// reply's text on every turn and change every adapter and test.
pub struct Generation {
    pub engine: Engine,
    pub config: Config,
}

/// The most generations an app holds: the start-up one and 63 reloads. Past it, a reload asks
/// for a restart instead.
pub const GENERATIONS_MAX: usize = 64;

/// What became of a member message the bot was asked to answer. Each message lands in
/// exactly one bucket, so the counts add up to the messages seen (see [`Tally`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Answered (including a pointer to the member's open ticket).
    Answered,
    /// Too fast for the per-member cooldown: got the one gentle notice.
    CooldownNotice,
    /// Too fast, already told: nothing sent.
    CooldownSilenced,
    /// Nothing to say (chatter in a support channel, a member whose ticket has them).
    Quiet,
    /// Over the channel's reply cap: nothing sent.
    ChannelCapped,
    /// Shed under overload before it was handled: nothing sent.
    Shed,
    /// Held card or login details: removed (where possible) and the member warned.
    SecretRemoved,
    /// A store or send failure (logged).
    Failed,
}

impl Bucket {
    pub const ALL: [Bucket; 8] = [
        Bucket::Answered,
        Bucket::CooldownNotice,
        Bucket::CooldownSilenced,
        Bucket::Quiet,
        Bucket::ChannelCapped,
        Bucket::Shed,
        Bucket::SecretRemoved,
        Bucket::Failed,
    ];

    /// The bucket's name in logs and the bench.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Answered => "answered",
            Bucket::CooldownNotice => "cooldown_notice",
            Bucket::CooldownSilenced => "cooldown_silenced",
            Bucket::Quiet => "quiet",
            Bucket::ChannelCapped => "channel_capped",
            Bucket::Shed => "shed",
            Bucket::SecretRemoved => "secret_removed",
            Bucket::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of what became of member messages, by [`Bucket`], since start-up. The Discord
/// adapter adds one per message it was asked to answer; the load bench reads them from the
/// log line the bot writes at shutdown.
#[derive(Debug, Default)]
pub struct Tally {
    counts: [AtomicU64; Bucket::ALL.len()],
}

impl Tally {
    pub fn add(&self, b: Bucket) {
        self.counts[b.index()].fetch_add(1, Ordering::Relaxed);
        // Messages the adapter drops before any turn; every other bucket was counted by the
        // turn itself (see `count_turn`).
        match b {
            Bucket::ChannelCapped => metrics::message_silent(Silence::ChannelCapped),
            Bucket::Shed => metrics::message_silent(Silence::Shed),
            _ => {}
        }
    }

    pub fn get(&self, b: Bucket) -> u64 {
        self.counts[b.index()].load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        Bucket::ALL.iter().map(|b| self.get(*b)).sum()
    }

    /// `answered=3 cooldown_notice=1 ...`, every bucket in [`Bucket::ALL`] order.
    pub fn line(&self) -> String {
        Bucket::ALL
            .iter()
            .map(|b| format!("{}={}", b.name(), self.get(*b)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How many reported display names are remembered; past it the memory starts over (a name
/// may then be reported a second time, which beats growing without bound).
const NAMES_REPORTED_MAX: usize = 10_000;

impl App {
    /// An app over a fresh in-memory store.
    pub fn new(engine: Engine, config: Config) -> App {
        App::with_store(engine, config, Arc::new(MemoryStore::new()))
    }

    pub fn with_store(engine: Engine, config: Config, store: Arc<dyn Store>) -> App {
        let generations = elsa::sync::FrozenVec::new();
        let cap = ReplyCap::new(config.limits.channel_replies_per_10s);
        generations.push(Box::new(Generation { engine, config }));
        App {
            generations,
            current: AtomicUsize::new(0),
            reloading: Mutex::new(()),
            source: None,
            store,
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            hasher: std::hash::RandomState::new(),
            pace: Mutex::new(HashMap::new()),
            names_reported: Mutex::new(HashSet::new()),
            cap: Mutex::new(cap),
            tally: Tally::default(),
            incident: Mutex::new(None),
            activity: Mutex::new(ActivityLog::default()),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    /// The current generation: the content pack and settings every new turn uses.
    fn generation(&self) -> &Generation {
        let i = self.current.load(Ordering::Acquire);
        // `current` only ever names a generation already pushed, and none is removed.
        self.generations
            .get(i)
            .expect("the current generation is always stored")
    }

    /// The content pack (compiled, with its classifier) new turns use. A turn takes this once
    /// and uses it throughout, so a reload in the middle of a turn never mixes two packs; what
    /// the turn returns stays valid after a reload (see [`Generation`]).
    pub fn engine(&self) -> &Engine {
        &self.generation().engine
    }

    /// The settings new turns use (the reloadable ones change on [`App::reload_with`]).
    pub fn config(&self) -> &Config {
        &self.generation().config
    }

    /// The settings, to adjust before the app serves anything (the terminal turns the
    /// cooldown off).
    pub fn config_mut(&mut self) -> &mut Config {
        let i = *self.current.get_mut();
        &mut self.generations.as_mut()[i].config
    }

    /// Where [`crate::reload::reload`] reads the pack and settings from (set at start-up).
    pub fn set_source(&mut self, source: crate::reload::Source) {
        self.source = Some(source);
    }

    pub fn source(&self) -> Option<&crate::reload::Source> {
        self.source.as_ref()
    }

    /// How many generations (the start-up one included) this app holds.
    pub fn generations(&self) -> usize {
        self.generations.len()
    }

    /// Makes `engine` and `config` the current generation: turns that start from now on use
    /// them; turns already running finish on the one they started with. Refused (returns
    /// `false`) once [`GENERATIONS_MAX`] generations are held.
    pub fn swap(&self, engine: Engine, config: Config) -> bool {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        if self.generations.len() >= GENERATIONS_MAX {
            return false;
        }
        let i = self
            .generations
            .push_get_index(Box::new(Generation { engine, config }));
        self.current.store(i, Ordering::Release);
        true
    }

    /// The same app over another store (before it serves anything).
    pub fn into_store(self, store: Arc<dyn Store>) -> App {
        App { store, ..self }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn lock(&self, user: UserKey) -> tokio::sync::MutexGuard<'_, ()> {
        let mut h = self.hasher.build_hasher();
        user.hash(&mut h);
        let i = (std::hash::Hasher::finish(&h) as usize) % self.locks.len();
        self.locks[i].lock().await
    }

    /// The per-user cooldown: within `cooldown_ms` of the last answer, a member gets one
    /// gentle notice and then silence until they slow down.
    ///
    /// `Yes` reserves the answer at once, so a burst handled concurrently still gets only one;
    /// [`App::unanswered`] gives the reservation back when nothing was said.
    fn admit(&self, user: UserKey, now: Timestamp) -> Admit {
        let mut pace = self.pace.lock().unwrap_or_else(|p| p.into_inner());
        match pace.get_mut(&user) {
            Some(p) if now.0.saturating_sub(p.last_answered.0) < self.config().cooldown_ms => {
                if std::mem::replace(&mut p.noticed, true) {
                    Admit::Drop
                } else {
                    Admit::Notice
                }
            }
            _ => {
                pace.insert(
                    user,
                    Pace {
                        last_answered: now,
                        noticed: false,
                    },
                );
                Admit::Yes
            }
        }
    }

    /// The per-channel reply cap (`[limits] channel_replies_per_10s`): may the bot reply in
    /// `channel` at `now`? A `Send` counts the reply; [`App::release_reply`] gives it back
    /// when nothing was said after all. See [`crate::engine::throttle`].
    pub fn reserve_reply(&self, channel: ChannelId, now: Timestamp) -> CapVerdict {
        self.cap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reserve(channel, now)
    }

    pub fn release_reply(&self, channel: ChannelId, at: Timestamp) {
        self.cap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .release(channel, at);
    }

    /// What became of member messages so far.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    fn log(&self, rows: impl IntoIterator<Item = ActivityRow>) {
        let mut log = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        for r in rows {
            log.push(r);
        }
    }

    /// Activity rows dropped because the buffer was full between flushes, since start-up.
    pub fn activity_dropped(&self) -> u64 {
        self.activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dropped
    }

    /// Activity rows waiting to be written.
    pub fn activity_pending(&self) -> usize {
        self.activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rows
            .len()
    }

    /// Writes the buffered activity rows in one transaction; returns how many were written.
    /// Rows already past the retention period at `now` are dropped instead (the purge would
    /// delete them). On failure the rows go back to the buffer for the next flush.
    pub async fn flush_activity(&self, now: Timestamp) -> Result<usize, StoreError> {
        let keep_ms = u64::from(self.config().retention_days) * 86_400_000;
        let cutoff = Timestamp(now.0.saturating_sub(keep_ms));
        let _flushing = self.flushing.lock().await;
        let rows: Vec<ActivityRow> = {
            let mut log = self.activity.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut log.rows).into()
        };
        let rows: Vec<ActivityRow> = rows.into_iter().filter(|r| r.at >= cutoff).collect();
        if rows.is_empty() {
            return Ok(0);
        }
        match self.store.record_activity(&rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                let mut log = self.activity.lock().unwrap_or_else(|p| p.into_inner());
                // Back in front of what arrived meanwhile, oldest first, within the bound.
                let newer = std::mem::take(&mut log.rows);
                for r in rows.into_iter().chain(newer) {
                    log.push(r);
                }
                Err(e)
            }
        }
    }

    /// Sets the open-tickets gauge from the store (opening or open tickets), so it is right
    /// after a restart and whatever another process did; returns the count. Called at
    /// start-up, on every change, and periodically by the bot.
    pub async fn count_open_tickets(&self) -> Result<usize, StoreError> {
        let n = self
            .store
            .tickets(&TicketFilter {
                statuses: vec![TicketStatus::Opening, TicketStatus::Open],
                ..TicketFilter::default()
            })
            .await?
            .len();
        metrics::tickets_open(n);
        Ok(n)
    }

    /// After a ticket opened or closed: the gauge follows. A store error here only leaves the
    /// gauge stale until the next change or periodic count, so it is logged, not returned.
    async fn tickets_changed(&self) {
        if let Err(e) = self.count_open_tickets().await {
            tracing::warn!(error = %e, "could not count open tickets for the metrics");
        }
    }

    fn unanswered(&self, user: UserKey, now: Timestamp) {
        let mut pace = self.pace.lock().unwrap_or_else(|p| p.into_inner());
        if pace
            .get(&user)
            .is_some_and(|p| p.last_answered == now && !p.noticed)
        {
            pace.remove(&user);
        }
    }

    fn to_session(eng: &Engine, record: Option<&SessionRecord>, now: Timestamp) -> Session {
        record.map_or_else(|| Session::new(now), |r| r.session.to_session(&eng.content))
    }

    /// The record to store for `session`: `old`'s packet data, with the session and pack
    /// hash replaced.
    fn record(eng: &Engine, session: &Session, old: Option<&SessionRecord>) -> SessionRecord {
        let stored = StoredSession::from_session(session, &eng.content);
        let pack = eng.content.pack_hash;
        match old {
            Some(r) => SessionRecord {
                session: stored,
                pack,
                ..r.clone()
            },
            None => SessionRecord {
                session: stored,
                pack,
                recent: Vec::new(),
                checks: Vec::new(),
                confidence: None,
                pointed_at: None,
                version: 0,
            },
        }
    }

    /// The scam shield's verdict on a screened member's text (see [`Origin::screen`]): for a
    /// turn, and for an edited message, which is no turn but may turn into a scam.
    pub fn screen(&self, text: &str) -> Option<crate::engine::scam::ScamFlag> {
        let eng = self.engine();
        eng.content.scam.check(text)
    }

    /// A member's display name, when it imitates one of `protected` (the bot's or the support
    /// role's name) or a brand's staff, and has not been reported before: the adapter reports
    /// it to the moderators. Each member and name is reported once.
    pub fn impersonating_name(
        &self,
        user: UserKey,
        name: &str,
        protected: &[&str],
    ) -> Option<crate::engine::scam::NameFlag> {
        let eng = self.engine();
        let flag = eng.content.scam.check_name(name, protected)?;
        let key = (user, crate::engine::content::pack_hash(name));
        let mut seen = self
            .names_reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(&key) {
            return None;
        }
        if seen.len() >= NAMES_REPORTED_MAX {
            seen.clear();
        }
        seen.insert(key);
        Some(flag)
    }

    /// One input from one member, start to finish: the one turn boundary that the Discord bot,
    /// the terminal and the tests call. In this order:
    ///
    /// 1. the sensitive-data guard, on every message before anything else, so a card number is
    ///    flagged (and removed by the adapter) even for a member who is flooding or whose
    ///    ticket a human has; nothing of it is stored; then the scam shield, for a screened
    ///    origin (see [`Origin::screen`]): a flagged message is not answered or stored;
    /// 2. hand-off: while the member has an open ticket, the bot stays quiet, except for a
    ///    pointer to the ticket (at most once an hour for typed messages);
    /// 3. the per-member cooldown, for typed messages only (a button press answers a question
    ///    the bot asked, so it is never throttled);
    /// 4. the engine step, then one commit of the session, the outcome counts and any ticket
    ///    the turn opens, before the caller sends anything.
    ///
    /// The turn uses one content pack throughout (the current one when it starts), and its
    /// wall time, what became of a typed message, the answers and flow outcomes are counted
    /// in the [`crate::metrics`].
    pub async fn turn(
        &self,
        origin: impl Into<Origin>,
        input: Input<'_>,
        now: Timestamp,
    ) -> Result<Turn<'_>, StoreError> {
        let started = std::time::Instant::now();
        let eng = self.engine();
        let mut origin = origin.into();
        // Claimed with the first try's read only: a retry's claim would find its own.
        let claim = origin.claim.take();
        let mut result = self
            .turn_in(eng, &origin, claim.as_deref(), input, now, true)
            .await;
        let mut tries = 1;
        while matches!(result, Err(StoreError::Stale)) && tries < TURN_TRIES {
            // Another process (or a moderator) changed the conversation between this turn's
            // read and its write, and nothing was written: run it again from a fresh read.
            tries += 1;
            metrics::turn_retried();
            result = self.turn_in(eng, &origin, None, input, now, false).await;
        }
        metrics::turn_took(started.elapsed());
        match &result {
            // The process that claimed it counts it.
            Ok(turn) if turn.duplicate => {}
            Ok(turn) => count_turn(eng, &input, turn),
            Err(_) if matches!(input, Input::Text { .. }) => {
                metrics::message_silent(Silence::Failed)
            }
            Err(_) => {}
        }
        result
    }

    /// One try of [`App::turn`]; `first` is false when a stale write sent it round again
    /// (then the cooldown, which admitted the message the first time, is not asked again).
    async fn turn_in<'a>(
        &'a self,
        eng: &'a Engine,
        origin: &Origin,
        claim: Option<&str>,
        input: Input<'_>,
        now: Timestamp,
        first: bool,
    ) -> Result<Turn<'a>, StoreError> {
        let user = origin.user;
        if let Input::Text { text, .. } = input {
            let flagged = match sensitive::kind(text) {
                Some(secret) => Some(Effect::Sensitive(secret)),
                None if origin.screen => self.screen(text).map(Effect::Scam),
                None => None,
            };
            if let Some(effect) = flagged {
                // Said without reading the session: claimed on its own.
                if let Some(claim) = claim {
                    if !self.store.claim(claim, now).await? {
                        return Ok(Turn::duplicate());
                    }
                }
                // Not answered, not stored, no cooldown: the adapter removes a secret, or
                // warns the channel about a scam and tells the moderators.
                self.log([ActivityRow::new(now, user.guild, ActivityKind::Removed)]);
                return Ok(Turn {
                    effects: vec![effect],
                    ..Turn::silent()
                });
            }
        }
        let _guard = self.lock(user).await;
        // (A flagged message returned above, claimed on its own.)
        let old = match claim {
            Some(claim) => {
                let (first, old) = self.store.claim_and_session(claim, now, user).await?;
                if !first {
                    return Ok(Turn::duplicate());
                }
                old
            }
            _ => self.store.session(user).await?,
        };
        let mut session = Self::to_session(eng, old.as_ref(), now);
        if matches!(session.state, State::HandedOff { .. }) {
            match self.store.active_ticket(user.guild, user.member).await? {
                Some(ticket) => {
                    if matches!(input, Input::Text { .. }) {
                        self.log([ActivityRow::new(now, user.guild, ActivityKind::HandedOff)]);
                    }
                    return self.handed_off(user, old, ticket, input, now).await;
                }
                // The ticket closed without the session hearing of it (another process, a
                // purge): the member is back with the bot.
                None => session.state = State::Idle,
            }
        }
        let text = match input {
            Input::Text { text, .. } => Some(text),
            _ => None,
        };
        if text.is_some() && first {
            let admit = self.admit(user, now);
            if admit != Admit::Yes {
                self.log([ActivityRow::new(now, user.guild, ActivityKind::Cooldown)]);
            }
            match admit {
                Admit::Yes => {}
                Admit::Notice => {
                    return Ok(Turn {
                        effects: vec![Effect::Say(&eng.content.copy.slow_down)],
                        cooldown: Some(Cooldown::Notice),
                        ..Turn::silent()
                    })
                }
                Admit::Drop => {
                    return Ok(Turn {
                        cooldown: Some(Cooldown::Silenced),
                        ..Turn::silent()
                    })
                }
            }
        }
        let rows = self.turn_rows(eng, user, old.as_ref(), &session, now);
        if let (
            Input::Choose {
                choice: Choice::Stuck,
                ..
            },
            State::InFlow(flow),
        ) = (input, &session.state)
        {
            if first {
                // "Still stuck" ends nothing, so the engine records no outcome for it.
                metrics::flow_outcome(
                    &eng.content.intent(flow.intent).key,
                    FlowOutcome::StillStuck,
                );
            }
        }
        let incident = self.incident_now(eng, now).await;
        let step = eng.step_during(session, input, now, incident.as_ref());
        let rows = self.step_rows(eng, user, rows, text, &step, now);
        let mut session = step.session;
        let outcomes = Self::outcome_rows(eng, &step.effects);
        let request = step.effects.iter().find_map(|e| match e {
            Effect::RequestHuman { intent, tried } => Some((*intent, tried.clone())),
            _ => None,
        });
        let mut record = Self::record(eng, &session, old.as_ref());
        if let Some(text) = text {
            push_capped(&mut record.recent, mask(text), RECENT_MAX);
        }
        if let Some(c) = &step.classification {
            if c.intent.is_some() && c.intent == current_intent(&session.state) {
                record.confidence = Some(c.confidence);
            }
        }
        let open = request.map(|(intent, tried)| {
            session.state = State::HandedOff { intent };
            record.session = StoredSession::from_session(&session, &eng.content);
            record.pointed_at = Some(now.0);
            NewTicket {
                guild: user.guild,
                member: user.member,
                opened_by: None,
                packet: Self::packet(eng, intent, tried, &record, None),
                at: now,
                request_key: origin.request.clone(),
            }
        });
        let keep = session.state != State::Idle || !record.checks.is_empty();
        let new = keep.then_some(&record);
        let unchanged = new == old.as_ref();
        let opened = if unchanged && outcomes.is_empty() && open.is_none() {
            None
        } else {
            self.store
                .commit_turn(
                    user,
                    Expect::read(old.as_ref()),
                    new,
                    &outcomes,
                    open.as_ref(),
                )
                .await?
        };
        // Committed (or nothing to commit): what happened is logged.
        self.log(rows);
        if step.effects.is_empty() && text.is_some() {
            // Nothing was said, so nothing starts the member's cooldown.
            self.unanswered(user, now);
        }
        let mut effects = step.effects;
        if matches!(opened, Some(Opened::Created(_))) {
            self.tickets_changed().await;
        }
        let ticket = opened.map(|o| match o {
            Opened::Created(t) => TicketNote::Opened(t),
            Opened::Existing(t) => {
                // A moderator's /escalate (or another process) got there first: the engine's
                // "I've let the team know" stands, and the adapter links the ticket.
                TicketNote::Existing(t)
            }
        });
        if ticket.is_some() {
            // The adapter says it with the ticket's link instead.
            let said = eng.content.copy.human_requested.as_str();
            effects.retain(|e| *e != Effect::Say(said));
        }
        Ok(Turn {
            effects,
            classification: step.classification,
            ticket,
            cooldown: None,
            handed_off: false,
            duplicate: false,
        })
    }

    /// A turn while the member has an open ticket: nothing from the engine, only pointers.
    async fn handed_off(
        &self,
        user: UserKey,
        old: Option<SessionRecord>,
        ticket: Ticket,
        input: Input<'_>,
        now: Timestamp,
    ) -> Result<Turn<'_>, StoreError> {
        let note = match input {
            Input::Tick | Input::HandOff | Input::HandBack => None,
            Input::Choose {
                choice: Choice::Human,
                ..
            } => Some(TicketNote::Existing(ticket)),
            // A press, a command: answered every time (they're explicit, and ephemeral).
            Input::Choose { .. } | Input::Start(_) | Input::Menu | Input::Reset => {
                Some(TicketNote::Pointer(ticket))
            }
            Input::Text { .. } => {
                let due = old
                    .as_ref()
                    .and_then(|r| r.pointed_at)
                    .is_none_or(|at| now.0.saturating_sub(at) >= POINTER_EVERY_MS);
                if due {
                    if let Some(mut r) = old {
                        r.pointed_at = Some(now.0);
                        let expect = Expect::Version(r.version);
                        self.store
                            .commit_turn(user, expect, Some(&r), &[], None)
                            .await?;
                    }
                    Some(TicketNote::Pointer(ticket))
                } else {
                    None
                }
            }
        };
        Ok(Turn {
            ticket: note,
            handed_off: true,
            ..Turn::silent()
        })
    }

    /// The activity a turn starts with, before the engine steps: a conversation that expired
    /// while in a flow is a member who gave up there (the sweep counts those it deletes
    /// first; a session is either deleted or replaced, so each counts once).
    fn turn_rows(
        &self,
        eng: &Engine,
        user: UserKey,
        old: Option<&SessionRecord>,
        session: &Session,
        now: Timestamp,
    ) -> (Vec<ActivityRow>, Option<Flow>) {
        let mut rows = Vec::new();
        let expired = now.0.saturating_sub(session.updated.0) > eng.settings.idle_timeout_ms;
        if expired {
            if let Some((intent, step)) = old.and_then(|r| flow_position(&r.session)) {
                rows.push(
                    ActivityRow::new(now, user.guild, ActivityKind::GaveUp)
                        .with_intent(Some(intent), step),
                );
            }
        }
        // The flow the engine steps from (an expired one restarts: none).
        let before = match &session.state {
            State::InFlow(f) if !expired => Some(f.clone()),
            _ => None,
        };
        (rows, before)
    }

    /// What a step did, as activity rows: the message's fate (typed messages), conversations
    /// started, steps reached, "still stuck", and how flows ended.
    fn step_rows(
        &self,
        eng: &Engine,
        user: UserKey,
        (mut rows, before): (Vec<ActivityRow>, Option<Flow>),
        text: Option<&str>,
        step: &crate::engine::Step<'_>,
        now: Timestamp,
    ) -> Vec<ActivityRow> {
        let c = &eng.content;
        let ikey = |i: crate::engine::IntentId| c.intent(i).key.clone();
        let skey = |i: crate::engine::IntentId, s: crate::engine::StepId| c.step(i, s).key.clone();
        let row = |kind| ActivityRow::new(now, user.guild, kind);
        let class = step.classification.as_ref();
        let state = &step.session.state;
        if let Some(text) = text {
            let missed = class.filter(|c| c.intent.is_none());
            let r = match missed {
                Some(m) => ActivityRow {
                    text: Some(mask(text)),
                    member: Some(user.member),
                    nearest: m.best.map(ikey),
                    score: m.best.map(|_| m.confidence),
                    ..row(ActivityKind::OutOfScope)
                },
                None if step.effects.is_empty() => row(ActivityKind::OutOfScope),
                None => {
                    let intent = class
                        .and_then(|c| c.intent)
                        .or_else(|| current_intent(state));
                    let at = match state {
                        State::InFlow(f) => match f.at {
                            At::Step(s) => Some(skey(f.intent, s)),
                            _ => None,
                        },
                        _ => None,
                    };
                    ActivityRow {
                        confidence: class
                            .filter(|c| c.intent.is_some() && c.intent == intent)
                            .map(|c| c.confidence),
                        ..row(ActivityKind::Answered).with_intent(intent.map(ikey), at)
                    }
                }
            };
            rows.push(r);
        }
        let mut started = Vec::new();
        let recorded_escalation = step.effects.iter().any(|e| {
            matches!(
                e,
                Effect::Record {
                    outcome: Outcome::Escalated,
                    ..
                }
            )
        });
        for e in &step.effects {
            match e {
                Effect::Answer { intent, .. } if c.intent(*intent).kind == IntentKind::Support => {
                    started.push(*intent);
                    rows.push(ActivityRow {
                        confidence: class
                            .filter(|c| c.intent == Some(*intent))
                            .map(|c| c.confidence),
                        ..row(ActivityKind::Started).with_intent(Some(ikey(*intent)), None)
                    });
                }
                Effect::Record {
                    intent,
                    step,
                    outcome,
                } => {
                    let kind = match outcome {
                        Outcome::Fixed => ActivityKind::Fixed,
                        Outcome::Escalated => ActivityKind::Escalated,
                        Outcome::DeclinedHuman => ActivityKind::DeclinedHuman,
                    };
                    rows.push(
                        row(kind).with_intent(Some(ikey(*intent)), step.map(|s| skey(*intent, s))),
                    );
                }
                Effect::RequestHuman { intent, .. } if !recorded_escalation => {
                    rows.push(row(ActivityKind::Escalated).with_intent(intent.map(ikey), None));
                }
                _ => {}
            }
        }
        if let State::InFlow(f) = state {
            // The same flow, further on: only what this turn added counts.
            let same = before.as_ref().filter(|b| {
                b.intent == f.intent && !started.contains(&f.intent) && f.path.starts_with(&b.path)
            });
            let offset = same.map_or(0, |b| b.path.len());
            for (k, a) in f.path.iter().enumerate().skip(offset) {
                match *a {
                    Answer::Step {
                        step: s,
                        inferred: true,
                        ..
                    } => rows.push(
                        row(ActivityKind::Reached)
                            .with_intent(Some(ikey(f.intent)), Some(skey(f.intent, s))),
                    ),
                    Answer::Step {
                        step: s,
                        option: None,
                        ..
                    } => rows.push(
                        row(ActivityKind::StillStuck)
                            .with_intent(Some(ikey(f.intent)), Some(skey(f.intent, s))),
                    ),
                    Answer::Step { .. } => {}
                    Answer::NotFixed => {
                        let last = f.path[..k].iter().rev().find_map(|a| match *a {
                            Answer::Step { step, .. } => Some(step),
                            Answer::NotFixed => None,
                        });
                        rows.push(
                            row(ActivityKind::StillStuck)
                                .with_intent(Some(ikey(f.intent)), last.map(|s| skey(f.intent, s))),
                        );
                    }
                }
            }
            if let At::Step(s) = f.at {
                if same.is_none_or(|b| b.at != f.at) {
                    rows.push(
                        row(ActivityKind::Reached)
                            .with_intent(Some(ikey(f.intent)), Some(skey(f.intent, s))),
                    );
                }
            }
        }
        rows
    }

    fn outcome_rows(eng: &Engine, effects: &[Effect<'_>]) -> Vec<OutcomeRow> {
        let c = &eng.content;
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record {
                    intent,
                    step,
                    outcome,
                } => Some(OutcomeRow {
                    intent: c.intent(*intent).key.clone(),
                    step: step.map(|s| c.step(*intent, s).key.clone()),
                    outcome: match outcome {
                        Outcome::Fixed => OutcomeKind::Fixed,
                        Outcome::Escalated => OutcomeKind::Escalated,
                        Outcome::DeclinedHuman => OutcomeKind::DeclinedHuman,
                    },
                }),
                _ => None,
            })
            .collect()
    }

    fn packet(
        eng: &Engine,
        intent: Option<crate::engine::IntentId>,
        tried: Vec<String>,
        record: &SessionRecord,
        reason: Option<&str>,
    ) -> Packet {
        let c = &eng.content;
        Packet {
            intent: intent.map(|i| c.intent(i).key.clone()),
            intent_title: intent.map(|i| c.intent(i).title.clone()),
            confidence: intent.and(record.confidence),
            tried,
            checks: record.checks.clone(),
            recent: record.recent.clone(),
            reason: reason.map(mask),
        }
    }

    /// The ticket's intent in this content pack (by its stored key), if it still exists.
    fn packet_intent(eng: &Engine, t: &Ticket) -> Option<crate::engine::IntentId> {
        let key = t.packet.intent.as_deref()?;
        eng.content.intent_by_key(key)
    }

    /// Whether a member with these roles in `guild` is staff there: any of `moderator_roles`,
    /// or `support_role`. Checked on every staff action, from roles the server sent with it.
    pub fn staff(&self, member: MemberId, guild: GuildId, roles: &[RoleId]) -> Option<Staff> {
        let d = self.config().discord.as_ref()?;
        roles
            .iter()
            .any(|r| d.moderator_roles.contains(r) || d.support_role == Some(*r))
            .then_some(Staff {
                member,
                guild: Some(guild),
            })
    }

    /// Whether a member with these roles in `guild` is a moderator there (any of
    /// `moderator_roles`; the support role is not enough): for the operator's commands such
    /// as `/reload`. Checked from roles the server sent with the command.
    pub fn moderator(&self, member: MemberId, guild: GuildId, roles: &[RoleId]) -> Option<Staff> {
        let d = self.config().discord.as_ref()?;
        roles
            .iter()
            .any(|r| d.moderator_roles.contains(r))
            .then_some(Staff {
                member,
                guild: Some(guild),
            })
    }

    /// A moderator escalates a member: opens their ticket (or finds the one they have) with a
    /// packet from their conversation so far.
    pub async fn escalate(
        &self,
        by: Staff,
        user: UserKey,
        reason: Option<&str>,
        now: Timestamp,
        request: Option<String>,
    ) -> Result<Opened, StoreError> {
        if !by.serves(user.guild) {
            return Err(StoreError::Backend(
                "a moderator escalated a member of another guild".into(),
            ));
        }
        let mut tries = 1;
        loop {
            match self
                .escalate_once(by, user, reason, now, request.clone())
                .await
            {
                Err(StoreError::Stale) if tries < TURN_TRIES => tries += 1,
                other => return other,
            }
        }
    }

    /// One try of [`App::escalate`]: [`StoreError::Stale`] when the member's conversation
    /// changed meanwhile.
    async fn escalate_once(
        &self,
        by: Staff,
        user: UserKey,
        reason: Option<&str>,
        now: Timestamp,
        request: Option<String>,
    ) -> Result<Opened, StoreError> {
        let eng = self.engine();
        let _guard = self.lock(user).await;
        if let Some(t) = self.store.active_ticket(user.guild, user.member).await? {
            return Ok(Opened::Existing(t));
        }
        let old = self.store.session(user).await?;
        let mut session = Self::to_session(eng, old.as_ref(), now);
        let (intent, tried) = match &session.state {
            State::InFlow(flow) => (Some(flow.intent), eng.tried(flow)),
            other => (current_intent(other), Vec::new()),
        };
        let old_state = std::mem::replace(&mut session.state, State::HandedOff { intent });
        let mut record = Self::record(eng, &session, old.as_ref());
        record.pointed_at = Some(now.0);
        let new = NewTicket {
            guild: user.guild,
            member: user.member,
            opened_by: Some(by.member()),
            packet: Self::packet(eng, intent, tried, &record, reason),
            at: now,
            request_key: request,
        };
        let opened = self
            .store
            .commit_turn(
                user,
                Expect::read(old.as_ref()),
                Some(&record),
                &[],
                Some(&new),
            )
            .await?;
        if matches!(opened, Some(Opened::Created(_))) {
            let c = &eng.content;
            let step = match &old_state {
                State::InFlow(f) => f.last_step().map(|s| c.step(f.intent, s).key.clone()),
                _ => None,
            };
            self.log([ActivityRow::new(now, user.guild, ActivityKind::Escalated)
                .with_intent(intent.map(|i| c.intent(i).key.clone()), step)]);
            self.tickets_changed().await;
        }
        opened.ok_or_else(|| StoreError::Backend("opening a ticket returned nothing".into()))
    }

    /// The ticket's thread exists (or, in the terminal, needs none): `Opening` becomes `Open`.
    pub async fn ticket_opened(
        &self,
        id: TicketId,
        thread: Option<ChannelId>,
        packet_message: Option<MessageId>,
        now: Timestamp,
    ) -> Result<Option<Ticket>, StoreError> {
        for _ in 0..RETRIES {
            let Some(mut t) = self.store.ticket(id).await? else {
                return Ok(None);
            };
            if t.status != TicketStatus::Opening {
                return Ok(Some(t));
            }
            t.status = TicketStatus::Open;
            t.thread = thread.or(t.thread);
            t.packet_message = packet_message.or(t.packet_message);
            let event = TicketEvent::new(
                now,
                Some(t.opened_by.unwrap_or(t.member)),
                EventKind::Opened,
            );
            if self.store.update_ticket(&t, Some(&event), None).await? == Updated::Done {
                t.version += 1;
                metrics::ticket_opened();
                self.tickets_changed().await;
                return Ok(Some(t));
            }
        }
        Err(StoreError::Backend(format!(
            "ticket #{id} kept changing while it was being opened"
        )))
    }

    /// Records the packet message once it is posted (it is edited in place on claim).
    pub async fn set_packet_message(
        &self,
        id: TicketId,
        thread: ChannelId,
        message: MessageId,
    ) -> Result<Option<Ticket>, StoreError> {
        for _ in 0..RETRIES {
            let Some(mut t) = self.store.ticket(id).await? else {
                return Ok(None);
            };
            t.thread = Some(thread);
            t.packet_message = Some(message);
            if self.store.update_ticket(&t, None, None).await? == Updated::Done {
                t.version += 1;
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The ticket's thread could not be made: the ticket is `Failed`, never left open with no
    /// thread, and the member is back with the bot (escalated, so it won't ask again).
    pub async fn ticket_failed(
        &self,
        id: TicketId,
        why: &str,
        now: Timestamp,
    ) -> Result<Option<Ticket>, StoreError> {
        let eng = self.engine();
        for _ in 0..RETRIES {
            let Some(mut t) = self.store.ticket(id).await? else {
                return Ok(None);
            };
            if t.status != TicketStatus::Opening {
                return Ok(Some(t));
            }
            let user = UserKey::new(t.guild, t.member);
            let _guard = self.lock(user).await;
            t.status = TicketStatus::Failed;
            t.closed_at = Some(now);
            let event = TicketEvent::new(now, None, EventKind::Failed).with_text(why);
            let old = self.store.session(user).await?;
            let mut session = Self::to_session(eng, old.as_ref(), now);
            session.state = State::Escalated {
                intent: Self::packet_intent(eng, &t),
            };
            session.updated = now;
            let record = Self::record(eng, &session, old.as_ref());
            if self
                .store
                .update_ticket(&t, Some(&event), Some((user, Some(&record))))
                .await?
                == Updated::Done
            {
                t.version += 1;
                drop(_guard);
                self.tickets_changed().await;
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// A staff action on a ticket. Closing and handing back return the member to the bot (the
    /// notice says so) and closing keeps a transcript.
    pub async fn act(
        &self,
        staff: Staff,
        id: TicketId,
        action: StaffAction,
        now: Timestamp,
    ) -> Result<Changed, ActionError> {
        for _ in 0..RETRIES {
            let t = self
                .store
                .ticket(id)
                .await?
                .filter(|t| staff.serves(t.guild))
                .ok_or(Refusal::NoSuchTicket(id))?;
            let (next, event) = t.apply(staff.member(), &action, now, &self.config().tickets)?;
            match self.commit_change(t, next, event, now).await? {
                Some(changed) => return Ok(changed),
                None => continue,
            }
        }
        Err(Refusal::Conflict(id).into())
    }

    /// Writes a ticket change with what it means for the member's session. `None`: someone
    /// else changed the ticket first (retry).
    async fn commit_change(
        &self,
        before: Ticket,
        mut next: Ticket,
        event: TicketEvent,
        now: Timestamp,
    ) -> Result<Option<Changed>, ActionError> {
        let eng = self.engine();
        let user = UserKey::new(next.guild, next.member);
        let _guard = self.lock(user).await;
        let to_bot = before.status.is_active() && next.status == TicketStatus::Closed;
        let reopened = !before.status.is_active() && next.status.is_active();
        let mut member_notice = None;
        let mut transcript = None;
        let session = if next.member == MemberId::FORGOTTEN {
            None
        } else if to_bot {
            let mut events = self.store.events(next.id).await?;
            events.push(event.clone());
            let text = next.transcript_text(&events);
            next.transcript = Some(text.clone());
            transcript = Some(text);
            member_notice = Some(eng.content.copy.ticket_closed.clone());
            // Back to the bot: the conversation starts fresh.
            Some((user, None))
        } else if reopened {
            let old = self.store.session(user).await?;
            let mut session = Self::to_session(eng, old.as_ref(), now);
            session.state = State::HandedOff {
                intent: Self::packet_intent(eng, &next),
            };
            session.updated = now;
            Some((user, Some(Self::record(eng, &session, old.as_ref()))))
        } else {
            None
        };
        let session_ref = session.as_ref().map(|(k, r)| (*k, r.as_ref()));
        match self
            .store
            .update_ticket(&next, Some(&event), session_ref)
            .await?
        {
            Updated::Done => {
                next.version += 1;
                if before.status.is_active() && next.status == TicketStatus::Closed {
                    metrics::ticket_closed();
                }
                if before.status.is_active() != next.status.is_active() {
                    self.tickets_changed().await;
                }
                Ok(Some(Changed {
                    ticket: next,
                    member_notice,
                    transcript,
                }))
            }
            Updated::Stale => Ok(None),
            Updated::MemberHasActive => {
                let other = self
                    .store
                    .active_ticket(next.guild, next.member)
                    .await?
                    .map_or(next.id, |t| t.id);
                Err(Refusal::MemberHasOpenTicket(other).into())
            }
        }
    }

    /// A message in a ticket's thread: kept (masked) for the transcript, and it counts as
    /// activity. A message with card details is kept as "[removed: card details]".
    pub async fn ticket_message(
        &self,
        thread: ChannelId,
        author: MemberId,
        text: &str,
        now: Timestamp,
    ) -> Result<Option<Ticket>, StoreError> {
        let Some(t) = self.store.ticket_by_thread(thread).await? else {
            return Ok(None);
        };
        if !t.status.is_active() {
            return Ok(Some(t));
        }
        let event = if sensitive::kind(text).is_some() {
            TicketEvent::new(now, Some(author), EventKind::Removed)
        } else {
            TicketEvent::message(now, author, text)
        };
        // Time to the first human reply: the first message by someone other than the member
        // (the bot's own messages never come here).
        let first_reply = author != t.member
            && !self.store.events(t.id).await?.iter().any(|e| {
                matches!(e.kind, EventKind::Message | EventKind::Removed)
                    && e.actor.is_some_and(|a| a != t.member)
            });
        self.store.add_event(t.id, &event, true).await?;
        if first_reply {
            metrics::first_human_reply(now.0.saturating_sub(t.opened_at.0));
        }
        Ok(Some(t))
    }

    /// The member's answer to "Did we solve it?". Only the ticket's member can answer, and
    /// only once it is closed; returns whether it was taken.
    pub async fn rate(
        &self,
        id: TicketId,
        member: MemberId,
        solved: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(t) = self.store.ticket(id).await? else {
            return Ok(false);
        };
        if t.member != member || t.status != TicketStatus::Closed {
            return Ok(false);
        }
        self.store.record_feedback(id, member, solved, now).await?;
        let answer = if solved { "yes" } else { "no" };
        self.store
            .add_event(
                id,
                &TicketEvent::new(now, Some(member), EventKind::Rated).with_text(answer),
                false,
            )
            .await?;
        Ok(true)
    }

    /// Runs the ticket timers due at `now`: each is recorded before it is returned, so it
    /// fires once even across restarts, and the adapter then posts it.
    pub async fn run_timers(&self, now: Timestamp) -> Result<Vec<Fired>, StoreError> {
        let settings = self.config().tickets;
        let mut fired = Vec::new();
        let open = self
            .store
            .tickets(&TicketFilter {
                statuses: vec![TicketStatus::Open],
                ..TicketFilter::default()
            })
            .await?;
        for t in open {
            let Some(timer) = t.due(now, &settings) else {
                continue;
            };
            let (next, event) = match timer {
                Timer::SlaReminder => {
                    let mut n = t.clone();
                    n.sla_reminded = true;
                    (n, TicketEvent::new(now, None, EventKind::SlaReminder))
                }
                Timer::InactivityWarning => {
                    let mut n = t.clone();
                    n.inactivity_warned = true;
                    (n, TicketEvent::new(now, None, EventKind::InactivityWarning))
                }
                Timer::AutoClose => t.close_by_bot(INACTIVE_REASON, now),
            };
            match self.commit_change(t, next, event, now).await {
                Ok(Some(changed)) => fired.push(Fired { timer, changed }),
                // Changed by someone else meanwhile: the next run looks again.
                Ok(None) => {}
                Err(ActionError::Store(e)) => return Err(e),
                Err(ActionError::Refused(_)) => {}
            }
        }
        Ok(fired)
    }

    /// The adapter found a ticket's thread deleted (Discord answered 10003): an active ticket
    /// of that thread closes like an auto-close, with `reason`, so its member is back with the
    /// bot instead of handed off to a thread nobody can see. `None`: no active ticket there.
    pub async fn thread_gone(
        &self,
        thread: ChannelId,
        reason: &str,
        now: Timestamp,
    ) -> Result<Option<Changed>, StoreError> {
        for _ in 0..RETRIES {
            let Some(t) = self.store.ticket_by_thread(thread).await? else {
                return Ok(None);
            };
            if !t.status.is_active() {
                return Ok(None);
            }
            let (next, event) = t.close_by_bot(reason, now);
            match self.commit_change(t, next, event, now).await {
                Ok(Some(changed)) => return Ok(Some(changed)),
                Ok(None) => continue,
                Err(ActionError::Store(e)) => return Err(e),
                Err(ActionError::Refused(_)) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// `/forget-me`: closes the member's open ticket ("closed at the member's request"), then
    /// deletes their conversations and feedback and removes them from stored tickets.
    pub async fn forget(&self, user: UserKey, now: Timestamp) -> Result<ForgetReport, StoreError> {
        let mut report = ForgetReport::default();
        for _ in 0..RETRIES {
            let Some(t) = self.store.active_ticket(user.guild, user.member).await? else {
                break;
            };
            let (next, event) = t.close_by_bot(FORGET_REASON, now);
            match self.commit_change(t, next, event, now).await {
                Ok(Some(c)) => {
                    report.closed = Some(c);
                    break;
                }
                Ok(None) | Err(ActionError::Refused(_)) => continue,
                Err(ActionError::Store(e)) => return Err(e),
            }
        }
        let _guard = self.lock(user).await;
        self.pace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user);
        // Their words waiting in the buffer go too, not only those already written (and none
        // is being written meanwhile).
        let _flushing = self.flushing.lock().await;
        self.activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rows
            .retain(|r| !(r.guild == user.guild && r.member == Some(user.member)));
        report.forgotten = self.store.forget_member(user.guild, user.member).await?;
        Ok(report)
    }

    /// Purges closed-ticket transcripts and sessions older than `retention_days`.
    pub async fn purge(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let keep_ms = u64::from(self.config().retention_days) * 86_400_000;
        self.store
            .purge(Timestamp(now.0.saturating_sub(keep_ms)))
            .await
    }

    /// Tickets a crash left `Opening`: the adapter finishes them (makes the thread) or fails
    /// them.
    pub async fn half_open(&self) -> Result<Vec<Ticket>, StoreError> {
        self.store
            .tickets(&TicketFilter {
                statuses: vec![TicketStatus::Opening],
                ..TicketFilter::default()
            })
            .await
    }

    /// Records a check the member ran, for the hand-off packet.
    pub async fn note_check(
        &self,
        user: UserKey,
        what: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let eng = self.engine();
        let _guard = self.lock(user).await;
        let mut tries = 1;
        loop {
            let old = self.store.session(user).await?;
            let session = Self::to_session(eng, old.as_ref(), now);
            let mut record = Self::record(eng, &session, old.as_ref());
            push_capped(&mut record.checks, mask(what), CHECKS_MAX);
            let expect = Expect::read(old.as_ref());
            match self
                .store
                .commit_turn(user, expect, Some(&record), &[], None)
                .await
            {
                Err(StoreError::Stale) if tries < TURN_TRIES => tries += 1,
                other => return other.map(|_| ()),
            }
        }
    }

    /// The member's current session, if one is stored.
    pub async fn session(&self, user: UserKey) -> Result<Option<Session>, StoreError> {
        let eng = self.engine();
        Ok(self
            .store
            .session(user)
            .await?
            .map(|r| r.session.to_session(&eng.content)))
    }

    /// Whether the member has an open ticket (the bot stays quiet toward them).
    pub async fn is_handed_off(&self, user: UserKey) -> Result<bool, StoreError> {
        Ok(self
            .store
            .active_ticket(user.guild, user.member)
            .await?
            .is_some())
    }

    /// Drops sessions that have gone idle (and cooldown entries long past); returns how many
    /// sessions were dropped.
    ///
    /// `expire`: whether this process also expires stored sessions (the leader's job when
    /// several processes share the store; the in-memory sweep is every process's own).
    pub async fn sweep(&self, now: Timestamp, expire: bool) -> Result<u64, StoreError> {
        let eng = self.engine();
        let cooldown = self.config().cooldown_ms;
        self.pace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, p| now.0.saturating_sub(p.last_answered.0) < cooldown);
        self.cap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sweep(now);
        if !expire {
            return Ok(0);
        }
        let idle = eng.settings.idle_timeout_ms;
        let expired = self
            .store
            .expire_sessions(Timestamp(now.0.saturating_sub(idle)))
            .await?;
        // A conversation that expired in a flow: the member gave up there.
        self.log(expired.sessions.iter().filter_map(|(k, s)| {
            flow_position(s).map(|(intent, step)| {
                ActivityRow::new(now, k.guild, ActivityKind::GaveUp).with_intent(Some(intent), step)
            })
        }));
        Ok(expired.count)
    }

    pub async fn session_count(&self) -> Result<u64, StoreError> {
        self.store.session_count().await
    }

    pub async fn outcomes(&self) -> Result<Vec<(OutcomeRow, u64)>, StoreError> {
        self.store.outcomes().await
    }

    pub fn check_limit(
        &self,
        purchase: &str,
        balance: &str,
        limit: &str,
    ) -> Result<LimitVerdict, CheckError> {
        checks::limit(purchase, balance, limit)
    }

    pub fn check_app(&self, platform: &str, version: &str) -> Result<AppVerdict, CheckError> {
        checks::app_version(platform, version, |p| self.config().app_versions(p))
    }

    pub fn check_expiry(
        &self,
        expiry: &str,
        today: (i32, u32),
    ) -> Result<ExpiryVerdict, CheckError> {
        checks::card_expiry(expiry, today.0, today.1)
    }

    /// `/check status`: the active incident's notice, or that there is no known outage.
    pub async fn check_status(&self, now: Timestamp) -> Result<String, StoreError> {
        let copy = &self.engine().content.copy;
        Ok(match self.active_incident(now).await? {
            Some(i) => copy.status_incident.replace("{notice}", &i.notice),
            None => copy.status_clear.clone(),
        })
    }

    // ---------------------------------------------------------------------------------------
    // Incident mode
    // ---------------------------------------------------------------------------------------

    /// The active incident, read from the store at most every [`INCIDENT_CACHE_MS`] (by
    /// `now`), so several processes sharing a database agree within a few seconds.
    pub async fn active_incident(
        &self,
        now: Timestamp,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        {
            let cache = self.incident.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.as_ref() {
                if now >= c.read_at && now.0 - c.read_at.0 < INCIDENT_CACHE_MS {
                    return Ok(c.active.clone());
                }
            }
        }
        let active = self.store.active_incident().await?;
        self.cache_incident(now, active.clone());
        Ok(active)
    }

    fn cache_incident(&self, now: Timestamp, active: Option<IncidentRecord>) {
        *self.incident.lock().unwrap_or_else(|p| p.into_inner()) = Some(IncidentCache {
            read_at: now,
            active,
        });
    }

    /// The active incident for the engine. A store failure here is logged and the member is
    /// answered as if there were none: a missing notice beats a missing answer.
    async fn incident_now(&self, eng: &Engine, now: Timestamp) -> Option<Incident> {
        match self.active_incident(now).await {
            Ok(active) => active.map(|r| engine_incident(eng, &r)),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the active incident; answering without it");
                None
            }
        }
    }

    /// A stored incident with its intent keys resolved in the current content pack (keys the
    /// pack no longer has are dropped).
    pub fn engine_incident(&self, r: &IncidentRecord) -> Incident {
        engine_incident(self.engine(), r)
    }

    /// The intent ids an incident covers when the moderator names none: `[status]
    /// incident_intents`, or [`incident::DEFAULT_INTENTS`] (those this pack has).
    pub fn default_incident_intents(&self) -> Vec<String> {
        let c = &self.engine().content;
        match &self.config().incident_intents {
            Some(keys) => keys.clone(),
            None => incident::DEFAULT_INTENTS
                .iter()
                .filter(|k| c.intent_by_key(k).is_some())
                .map(|k| k.to_string())
                .collect(),
        }
    }

    /// `/incident start`: starts an incident, or replaces the active one's notice and intents
    /// (its subscribers stay on the list): moderators update a notice as an outage unfolds,
    /// and ending and restarting would DM everyone "fixed" by mistake. `intents` is the
    /// moderator's comma- or space-separated list of intent ids; empty: the default. The
    /// notice is masked before it is stored.
    pub async fn start_incident(
        &self,
        by: Staff,
        notice: &str,
        intents: &str,
        now: Timestamp,
    ) -> Result<Started, IncidentError> {
        let notice = mask(notice.trim());
        if notice.is_empty() {
            return Err(IncidentError::EmptyNotice);
        }
        let len = notice.chars().count();
        if len > INCIDENT_NOTICE_MAX {
            return Err(IncidentError::NoticeTooLong {
                len,
                max: INCIDENT_NOTICE_MAX,
            });
        }
        let c = &self.engine().content;
        let keys = match incident::parse_intents(c, intents).map_err(IncidentError::Intents)? {
            Some(ids) => ids.iter().map(|i| c.intent(*i).key.clone()).collect(),
            None => self.default_incident_intents(),
        };
        let started = self
            .store
            .start_incident(&notice, &keys, now, by.member())
            .await?;
        self.cache_incident(now, Some(started.incident().clone()));
        self.tell(Note::Incident).await;
        Ok(started)
    }

    /// Tells the other processes on a shared store; a failure is logged (they catch up
    /// within [`INCIDENT_CACHE_MS`], or at their next reload).
    pub async fn tell(&self, note: Note) {
        if let Err(e) = self.store.tell(note).await {
            tracing::warn!(note = note.as_str(), error = %e, "could not tell the other processes");
        }
    }

    /// Another process started, changed or ended an incident: the next turn reads it afresh.
    pub fn incident_changed(&self) {
        *self.incident.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `/incident end`: ends the active incident and returns who to tell (`None`: none was
    /// active).
    pub async fn end_incident(
        &self,
        by: Staff,
        now: Timestamp,
    ) -> Result<Option<Ended>, StoreError> {
        let ended = self.store.end_incident(now, by.member()).await?;
        self.cache_incident(now, None);
        if ended.is_some() {
            self.tell(Note::Incident).await;
        }
        let Some(incident) = ended else {
            return Ok(None);
        };
        let subscribers = self.store.subscribers(incident.id).await?;
        Ok(Some(Ended {
            incident,
            subscribers,
        }))
    }

    /// Ended incidents whose fan-out a crash or restart cut short, with who is still to be
    /// told: the adapter finishes them at start-up.
    pub async fn unfinished_fanouts(&self) -> Result<Vec<Ended>, StoreError> {
        let mut out = Vec::new();
        for incident in self.store.unfinished_fanouts().await? {
            let subscribers = self.store.subscribers(incident.id).await?;
            out.push(Ended {
                incident,
                subscribers,
            });
        }
        Ok(out)
    }

    /// "Notify me when it's fixed": idempotent; [`Subscribed::Over`] once the incident ended.
    pub async fn subscribe_incident(
        &self,
        incident: IncidentId,
        who: UserKey,
        now: Timestamp,
    ) -> Result<Subscribed, StoreError> {
        self.store.subscribe(incident, who, now).await
    }

    /// The member was told the incident is fixed (or skipped: DMs closed): their subscription
    /// goes, so a resumed fan-out doesn't tell them twice.
    pub async fn incident_told(
        &self,
        incident: IncidentId,
        who: UserKey,
    ) -> Result<bool, StoreError> {
        self.store.unsubscribe(incident, who).await
    }

    /// `[status] notice` is the default for the first incident: when the store has never had
    /// one and the config sets a notice, an incident starts with it (started by member 0, the
    /// config), which moderators end with `/incident end` like any other. Once any incident
    /// was stored, the setting is ignored (a warning says so).
    pub async fn seed_incident(&self, now: Timestamp) -> Result<Option<Started>, StoreError> {
        let Some(notice) = self.config().status_notice.as_deref() else {
            return Ok(None);
        };
        if self.store.had_incident().await? {
            tracing::warn!("[status] notice is ignored: incidents are now started and ended with /incident (remove the setting)");
            return Ok(None);
        }
        let by = Staff::trusted(MemberId(0));
        match self.start_incident(by, notice, "", now).await {
            Ok(s) => Ok(Some(s)),
            Err(IncidentError::Store(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "[status] notice could not start an incident");
                Ok(None)
            }
        }
    }
}

/// Counts what a turn did: for a typed message, answered or why not; for any input, the
/// intent answers (with the classifier's confidence, for a typed message) and flow outcomes.
/// `eng` is the pack the turn ran on, which its intent ids index.
fn count_turn(eng: &Engine, input: &Input<'_>, turn: &Turn<'_>) {
    let typed = matches!(input, Input::Text { .. });
    let c = &eng.content;
    for e in &turn.effects {
        match e {
            Effect::Answer { intent, .. } => {
                let confidence = turn
                    .classification
                    .as_ref()
                    .filter(|k| typed && k.intent == Some(*intent))
                    .map(|k| k.confidence);
                metrics::answer(&c.intent(*intent).key, confidence);
            }
            Effect::Record {
                intent, outcome, ..
            } => {
                let outcome = match outcome {
                    Outcome::Fixed => FlowOutcome::Fixed,
                    Outcome::Escalated => FlowOutcome::Escalated,
                    Outcome::DeclinedHuman => FlowOutcome::DeclinedHuman,
                };
                metrics::flow_outcome(&c.intent(*intent).key, outcome);
            }
            _ => {}
        }
    }
    if !typed {
        return;
    }
    let silence = if turn
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Sensitive(_)))
    {
        Some(Silence::Sensitive)
    } else if turn.effects.iter().any(|e| matches!(e, Effect::Scam(_))) {
        Some(Silence::Scam)
    } else if turn.cooldown.is_some() {
        Some(Silence::Cooldown)
    } else if turn.is_silent() {
        Some(if turn.handed_off {
            Silence::HandedOff
        } else {
            Silence::OutOfScope
        })
    } else {
        None
    };
    match silence {
        Some(why) => metrics::message_silent(why),
        None => metrics::message_answered(),
    }
}

/// A stored incident with its intent keys resolved in `eng`'s content pack (keys the pack no
/// longer has, after a reload, are dropped).
fn engine_incident(eng: &Engine, r: &IncidentRecord) -> Incident {
    let c = &eng.content;
    Incident {
        id: r.id,
        notice: r.notice.clone(),
        intents: r
            .intents
            .iter()
            .filter_map(|k| c.intent_by_key(k))
            .collect(),
    }
}

fn push_capped(list: &mut Vec<String>, item: String, max: usize) {
    list.push(item);
    if list.len() > max {
        let extra = list.len() - max;
        list.drain(..extra);
    }
}

fn current_intent(state: &State) -> Option<crate::engine::IntentId> {
    match state {
        State::InFlow(f) => Some(f.intent),
        State::Resolved { intent } => Some(*intent),
        State::Escalated { intent } | State::HandedOff { intent } => *intent,
        State::Idle | State::Menu => None,
    }
}

/// The wall clock as engine time. Adapters call this; the engine never does.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Timestamp(ms)
}

/// Today's (year, month) in UTC, for the card expiry check.
pub fn today() -> (i32, u32) {
    let days = (now().0 / 86_400_000) as i64;
    let (y, m, _) = civil_from_days(days);
    (y, m)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gets_one_notice_then_silence_until_it_slows() {
        let app = App::new(Engine::embedded(), Config::default());
        let u = UserKey::new(GuildId(1), MemberId(1));
        let other = UserKey::new(GuildId(1), MemberId(2));
        let cd = app.config().cooldown_ms;
        assert_eq!(app.admit(u, Timestamp(0)), Admit::Yes);
        // Unanswered chatter starts no cooldown.
        app.unanswered(u, Timestamp(0));
        assert_eq!(app.admit(u, Timestamp(5)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(10)), Admit::Notice);
        for t in 11..30 {
            assert_eq!(app.admit(u, Timestamp(t)), Admit::Drop);
        }
        assert_eq!(app.admit(other, Timestamp(20)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(cd + 5)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(cd + 6)), Admit::Notice);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
