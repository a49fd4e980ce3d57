//! The store contract: one set of checks, run against every backend (`memory`, `sqlite` and
//! `postgres` below), so the backends can't drift. Then the SQLite-only checks: reopening,
//! damaged files, newer schemas, settings.
//!
//! The PostgreSQL runs need `PAYMEDIC_TEST_DATABASE_URL` (`.ci/run` sets it, and fails when
//! the database can't be reached); each test works in a schema of its own, dropped after it.
//! Without the variable they are skipped, and one line on stderr says so.

use paymedic::engine::dialogue::stored::{StoredSession, StoredState};
use paymedic::engine::ids::{
    ChannelId, GuildId, IncidentId, MemberId, MessageId, TicketId, UserKey,
};
use paymedic::engine::tickets::{EventKind, NewTicket, Packet, Ticket, TicketEvent, TicketStatus};
use paymedic::engine::Timestamp;
use paymedic::store::memory::MemoryStore;
use paymedic::store::postgres::PgStore;
use paymedic::store::sqlite::SqliteStore;
use paymedic::store::{
    ActivityKind, ActivityRow, Expect, Forgotten, IncidentRecord, Note, Opened, OutcomeKind,
    OutcomeRow, Purged, SessionRecord, ShardSpan, Started, Store, StoreError, Subscribed,
    TicketFilter, Updated,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Backends

/// A folder under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "paymedic-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store for one test, and whatever must live as long as it.
pub struct Backend {
    pub store: Arc<dyn Store>,
    _dir: Option<TempDir>,
    /// A PostgreSQL store and its schema, dropped by [`Backend::finish`].
    pg: Option<(Arc<PgStore>, String)>,
}

impl Backend {
    fn of(store: Arc<dyn Store>, dir: Option<TempDir>) -> Option<Backend> {
        Some(Backend {
            store,
            _dir: dir,
            pg: None,
        })
    }

    /// Drops a PostgreSQL test schema (a failed test leaves its schema behind, to look at).
    pub async fn finish(self) {
        if let Some((pg, schema)) = self.pg {
            pg.drop_schema(&schema).await.unwrap();
            pg.close().await;
        }
    }
}

async fn memory_store() -> Option<Backend> {
    Backend::of(Arc::new(MemoryStore::new()), None)
}

async fn sqlite_store() -> Option<Backend> {
    let dir = TempDir::new("contract");
    let store = SqliteStore::open(&dir.path().join("paymedic.db"))
        .await
        .unwrap();
    Backend::of(Arc::new(store), Some(dir))
}

/// The PostgreSQL URL for tests, or `None` (said once on stderr) when it isn't set.
pub fn postgres_url() -> Option<String> {
    static SAID: std::sync::Once = std::sync::Once::new();
    match std::env::var("PAYMEDIC_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            SAID.call_once(|| {
                // Straight to stderr: the test harness captures only print macros, and this
                // line must show even when every test passes.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: PAYMEDIC_TEST_DATABASE_URL is not set, so the PostgreSQL store tests are skipped"
                );
            });
            None
        }
    }
}

/// A schema name no other test or run uses.
pub fn fresh_schema() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "paymedic_test_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn postgres_store() -> Option<Backend> {
    let url = postgres_url()?;
    let schema = fresh_schema();
    let store = match PgStore::connect_in(&url, Some(&schema)).await {
        Ok(s) => Arc::new(s),
        Err(e) => panic!("PAYMEDIC_TEST_DATABASE_URL is set, but: {e}"),
    };
    Some(Backend {
        store: store.clone(),
        _dir: None,
        pg: Some((store, schema)),
    })
}

/// One `#[tokio::test]` per contract check in a module per backend.
macro_rules! backend {
    ($backend:ident, $factory:ident, $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let Some(backend) = super::$factory().await else {
                        return;
                    };
                    super::$check(backend.store.clone()).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        backend!(memory, memory_store, $($check),*);
        backend!(sqlite, sqlite_store, $($check),*);
        backend!(postgres, postgres_store, $($check),*);
    };
}

contract!(
    an_event_is_claimed_once_until_its_claim_expires,
    a_claim_with_the_session_read_answers_both,
    sessions_round_trip_and_delete,
    session_writes_check_the_version_they_read,
    concurrent_read_modify_writes_lose_no_update,
    a_moderators_session_change_makes_a_turn_that_read_before_it_stale,
    a_second_open_gives_the_active_ticket,
    a_request_key_opens_one_ticket,
    another_guild_gets_its_own_ticket,
    a_closed_ticket_makes_room_for_a_new_one,
    every_ticket_field_round_trips,
    updates_by_an_old_version_are_stale,
    a_reopen_beside_an_active_ticket_is_refused,
    events_keep_their_order_and_touch_moves_activity_forward,
    feedback_keeps_the_latest_answer,
    outcomes_count_up,
    forgetting_a_member_anonymizes_their_tickets,
    purge_removes_old_closed_tickets_and_sessions,
    expiry_keeps_handed_off_sessions,
    tickets_filter_limit_and_order,
    fifty_concurrent_opens_make_one_ticket,
    concurrent_updates_of_one_version_let_one_through,
    an_incident_starts_is_replaced_and_ends,
    subscribing_is_once_per_member_and_only_while_active,
    unsubscribing_leaves_the_others_and_resumes_the_fanout,
    forgetting_a_member_drops_their_subscriptions,
    concurrent_starts_make_one_active_incident,
    activity_rows_round_trip_in_time_order,
    forgetting_a_member_deletes_the_activity_rows_with_their_words,
    purge_removes_old_activity,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

const G: GuildId = GuildId(1);
const M: MemberId = MemberId(10);
/// Snowflakes above i64::MAX must survive a backend that stores i64.
const BIG: u64 = u64::MAX - 12345;

fn key(guild: GuildId, member: MemberId) -> UserKey {
    UserKey::new(guild, member)
}

fn session(updated: u64, state: StoredState) -> SessionRecord {
    SessionRecord {
        session: StoredSession { state, updated },
        pack: 0xfeed_beef_dead_cafe,
        recent: vec!["my payment failed".into(), "still stuck ✓".into()],
        checks: vec!["/check limit: 20".into()],
        confidence: Some(0.75),
        pointed_at: Some(updated),
        version: 0,
    }
}

/// A stored session without its version (which the store sets), to compare with what was
/// written.
fn data(stored: Option<SessionRecord>) -> Option<SessionRecord> {
    stored.map(|r| SessionRecord { version: 0, ..r })
}

fn idle(updated: u64) -> SessionRecord {
    session(updated, StoredState::Idle)
}

fn handed_off(updated: u64) -> SessionRecord {
    session(updated, StoredState::HandedOff { intent: None })
}

fn new_ticket(guild: GuildId, member: MemberId, at: u64, request: Option<&str>) -> NewTicket {
    NewTicket {
        guild,
        member,
        opened_by: None,
        packet: Packet {
            intent: Some("declined".into()),
            intent_title: Some("Payment declined".into()),
            confidence: Some(0.5),
            tried: vec!["Is your card valid? → yes".into()],
            checks: vec![],
            recent: vec![format!("hi, I am <@{member}>"), "help".into()],
            reason: None,
        },
        at: Timestamp(at),
        request_key: request.map(str::to_string),
    }
}

/// Opens a ticket through a turn (saving no session) and returns what happened.
async fn open(store: &dyn Store, new: &NewTicket) -> Opened {
    store
        .commit_turn(
            key(new.guild, new.member),
            Expect::Any,
            None,
            &[],
            Some(new),
        )
        .await
        .unwrap()
        .expect("an open gives a ticket")
}

async fn created(store: &dyn Store, new: &NewTicket) -> Ticket {
    match open(store, new).await {
        Opened::Created(t) => t,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

/// Writes `change` over `t` (which must be current) and returns the stored ticket.
async fn change(store: &dyn Store, t: &Ticket, change: impl FnOnce(&mut Ticket)) -> Ticket {
    let mut next = t.clone();
    change(&mut next);
    assert_eq!(
        store.update_ticket(&next, None, None).await.unwrap(),
        Updated::Done
    );
    let stored = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(stored.version, t.version + 1);
    stored
}

async fn close(store: &dyn Store, t: &Ticket, at: u64) -> Ticket {
    change(store, t, |t| {
        t.status = TicketStatus::Closed;
        t.closed_at = Some(Timestamp(at));
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The contract

async fn sessions_round_trip_and_delete(store: Arc<dyn Store>) {
    let k = key(G, M);
    assert_eq!(store.session(k).await.unwrap(), None);
    let s = idle(1000);
    assert_eq!(
        store
            .commit_turn(k, Expect::Any, Some(&s), &[], None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(data(store.session(k).await.unwrap()), Some(s.clone()));

    let s2 = session(
        2000,
        StoredState::Escalated {
            intent: Some("declined".into()),
        },
    );
    store
        .commit_turn(k, Expect::Any, Some(&s2), &[], None)
        .await
        .unwrap();
    assert_eq!(data(store.session(k).await.unwrap()), Some(s2));

    // Another guild or member is another conversation; big snowflakes keep their bits.
    let other = key(GuildId(BIG), MemberId(BIG - 1));
    store
        .commit_turn(other, Expect::Any, Some(&s), &[], None)
        .await
        .unwrap();
    assert_eq!(data(store.session(other).await.unwrap()), Some(s.clone()));
    assert_eq!(store.session(key(GuildId(BIG), M)).await.unwrap(), None);
    assert_eq!(store.session_count().await.unwrap(), 2);

    store
        .commit_turn(k, Expect::Any, None, &[], None)
        .await
        .unwrap();
    assert_eq!(store.session(k).await.unwrap(), None);
    assert_eq!(store.session_count().await.unwrap(), 1);
    // Deleting what isn't there is fine.
    store
        .commit_turn(k, Expect::Any, None, &[], None)
        .await
        .unwrap();
}

async fn session_writes_check_the_version_they_read(store: Arc<dyn Store>) {
    let k = key(G, M);
    let version = |r: Option<SessionRecord>| r.map(|r| r.version);
    // Written where none was read: only while there is none.
    store
        .commit_turn(k, Expect::Absent, Some(&idle(1000)), &[], None)
        .await
        .unwrap();
    let v1 = version(store.session(k).await.unwrap()).unwrap();
    assert!(matches!(
        store
            .commit_turn(k, Expect::Absent, Some(&idle(1500)), &[], None)
            .await,
        Err(StoreError::Stale)
    ));
    // Over the version read: once; the second writer read the same version and is refused.
    store
        .commit_turn(k, Expect::Version(v1), Some(&idle(2000)), &[], None)
        .await
        .unwrap();
    let v2 = version(store.session(k).await.unwrap()).unwrap();
    assert!(v2 > v1, "a write raises the version: {v1} then {v2}");
    assert!(matches!(
        store
            .commit_turn(k, Expect::Version(v1), Some(&idle(2500)), &[], None)
            .await,
        Err(StoreError::Stale)
    ));
    assert_eq!(data(store.session(k).await.unwrap()), Some(idle(2000)));
    // A stale turn writes nothing at all: no ticket, no outcome counts.
    let row = OutcomeRow {
        intent: "declined".into(),
        step: None,
        outcome: OutcomeKind::Escalated,
    };
    let new = new_ticket(G, M, 3000, Some("stale-turn"));
    assert!(matches!(
        store
            .commit_turn(
                k,
                Expect::Version(v1),
                Some(&handed_off(3000)),
                &[row],
                Some(&new)
            )
            .await,
        Err(StoreError::Stale)
    ));
    assert_eq!(store.active_ticket(G, M).await.unwrap(), None);
    assert!(store.outcomes().await.unwrap().is_empty());
    assert_eq!(data(store.session(k).await.unwrap()), Some(idle(2000)));
    // A delete is checked too.
    assert!(matches!(
        store
            .commit_turn(k, Expect::Version(v1), None, &[], None)
            .await,
        Err(StoreError::Stale)
    ));
    store
        .commit_turn(k, Expect::Version(v2), None, &[], None)
        .await
        .unwrap();
    assert_eq!(store.session(k).await.unwrap(), None);
}

/// Many writers (tasks on a multi-threaded runtime) each read the member's session, add one
/// line and write it back over the version they read, retrying when it is stale: every line
/// arrives. Without the check, concurrent writers overwrite each other's lines.
async fn concurrent_read_modify_writes_lose_no_update(store: Arc<dyn Store>) {
    concurrent_appends(&[store.clone(), store]).await;
}

/// `stores`: one handle per "process"; writers take turns using them.
pub async fn concurrent_appends(stores: &[Arc<dyn Store>]) {
    const WRITERS: usize = 8;
    const EACH: usize = 5;
    let k = key(G, M);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = stores[w % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut stale = 0;
            for i in 0..EACH {
                loop {
                    let old = store.session(k).await.unwrap();
                    let mut record = old.clone().unwrap_or_else(|| idle(1000));
                    record.recent.push(format!("writer {w} line {i}"));
                    // Let the other writers read the same version meanwhile.
                    tokio::task::yield_now().await;
                    match store
                        .commit_turn(k, Expect::read(old.as_ref()), Some(&record), &[], None)
                        .await
                    {
                        Ok(_) => break,
                        Err(StoreError::Stale) => stale += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            stale
        }));
    }
    let mut stale = 0;
    for t in tasks {
        stale += t.await.unwrap();
    }
    let record = stores[0].session(k).await.unwrap().unwrap();
    let lines: std::collections::BTreeSet<&String> = record
        .recent
        .iter()
        .filter(|l| l.starts_with("writer "))
        .collect();
    assert_eq!(
        lines.len(),
        WRITERS * EACH,
        "lost updates ({stale} stale writes were retried)"
    );
}

async fn a_moderators_session_change_makes_a_turn_that_read_before_it_stale(store: Arc<dyn Store>) {
    let k = key(G, M);
    let t = created(&*store, &new_ticket(G, M, 1000, Some("r"))).await;
    store
        .commit_turn(k, Expect::Any, Some(&handed_off(1000)), &[], None)
        .await
        .unwrap();
    let read = store.session(k).await.unwrap();
    // A moderator hands the member back to the bot (another process): the session goes.
    let mut closed = t.clone();
    closed.status = TicketStatus::Closed;
    closed.closed_at = Some(Timestamp(2000));
    assert_eq!(
        store
            .update_ticket(&closed, None, Some((k, None)))
            .await
            .unwrap(),
        Updated::Done
    );
    // The member's turn that read the handed-off session must not bring it back.
    assert!(matches!(
        store
            .commit_turn(
                k,
                Expect::read(read.as_ref()),
                Some(&handed_off(2500)),
                &[],
                None
            )
            .await,
        Err(StoreError::Stale)
    ));
    assert_eq!(store.session(k).await.unwrap(), None);
}

async fn a_second_open_gives_the_active_ticket(store: Arc<dyn Store>) {
    let store = &*store;
    let first = created(store, &new_ticket(G, M, 1000, Some("a"))).await;
    assert_eq!(first.status, TicketStatus::Opening);
    assert_eq!(first.version, 1);
    assert_eq!(first.opened_at, Timestamp(1000));
    assert_eq!(first.last_activity, Timestamp(1000));
    assert_eq!(first.request_key.as_deref(), Some("a"));
    assert_eq!(store.ticket(first.id).await.unwrap(), Some(first.clone()));

    // A second open (another request) finds the member's active ticket, and the session in
    // the same turn is saved either way.
    let s = idle(2000);
    let again = store
        .commit_turn(
            key(G, M),
            Expect::Any,
            Some(&s),
            &[],
            Some(&new_ticket(G, M, 2000, Some("b"))),
        )
        .await
        .unwrap();
    assert_eq!(again, Some(Opened::Existing(first.clone())));
    assert_eq!(data(store.session(key(G, M)).await.unwrap()), Some(s));

    // Still so once it is open.
    let open_now = change(store, &first, |t| {
        t.status = TicketStatus::Open;
        t.thread = Some(ChannelId(500));
    })
    .await;
    assert_eq!(
        open(store, &new_ticket(G, M, 3000, None)).await,
        Opened::Existing(open_now.clone())
    );
    assert_eq!(
        store.active_ticket(G, M).await.unwrap(),
        Some(open_now.clone())
    );
    assert_eq!(store.active_ticket(G, MemberId(11)).await.unwrap(), None);
    assert_eq!(
        store.tickets(&TicketFilter::default()).await.unwrap().len(),
        1
    );
}

async fn a_request_key_opens_one_ticket(store: Arc<dyn Store>) {
    let store = &*store;
    let first = created(store, &new_ticket(G, M, 1000, Some("interaction-1"))).await;
    assert_eq!(
        open(store, &new_ticket(G, M, 1001, Some("interaction-1"))).await,
        Opened::Existing(first.clone())
    );
    // The same request is the same ticket even for another member, and after it closed.
    let closed = close(store, &first, 2000).await;
    assert_eq!(
        open(
            store,
            &new_ticket(G, MemberId(11), 2001, Some("interaction-1"))
        )
        .await,
        Opened::Existing(closed.clone())
    );
    assert_eq!(
        open(store, &new_ticket(G, M, 2002, Some("interaction-1"))).await,
        Opened::Existing(closed)
    );
    assert_eq!(
        store.tickets(&TicketFilter::default()).await.unwrap().len(),
        1
    );
    // A new request key opens a new one.
    let second = created(store, &new_ticket(G, M, 3000, Some("interaction-2"))).await;
    assert_ne!(second.id, first.id);
}

async fn another_guild_gets_its_own_ticket(store: Arc<dyn Store>) {
    let store = &*store;
    let here = created(store, &new_ticket(G, M, 1000, None)).await;
    let there = created(store, &new_ticket(GuildId(2), M, 1001, None)).await;
    assert_ne!(here.id, there.id);
    let someone_else = created(store, &new_ticket(G, MemberId(11), 1002, None)).await;
    assert!(someone_else.id > there.id && there.id > here.id);
    assert_eq!(
        store.active_ticket(GuildId(2), M).await.unwrap(),
        Some(there)
    );
    assert_eq!(store.active_ticket(G, M).await.unwrap(), Some(here));
}

async fn a_closed_ticket_makes_room_for_a_new_one(store: Arc<dyn Store>) {
    let store = &*store;
    let first = created(store, &new_ticket(G, M, 1000, None)).await;
    close(store, &first, 1500).await;
    assert_eq!(store.active_ticket(G, M).await.unwrap(), None);
    let second = created(store, &new_ticket(G, M, 2000, None)).await;
    assert!(second.id > first.id);
    // A failed one too.
    change(store, &second, |t| t.status = TicketStatus::Failed).await;
    let third = created(store, &new_ticket(G, M, 3000, None)).await;
    assert!(third.id > second.id);
    assert_eq!(store.active_ticket(G, M).await.unwrap(), Some(third));
}

async fn every_ticket_field_round_trips(store: Arc<dyn Store>) {
    let store = &*store;
    let mut new = new_ticket(GuildId(BIG), MemberId(BIG - 1), 1000, Some("k"));
    new.opened_by = Some(MemberId(BIG - 2));
    new.packet.reason = Some("they asked twice".into());
    new.packet.checks = vec!["/check expiry: 12/30".into()];
    let t = created(store, &new).await;
    assert_eq!(t.packet, new.packet);
    assert_eq!(t.opened_by, Some(MemberId(BIG - 2)));
    let full = change(store, &t, |t| {
        t.status = TicketStatus::Closed;
        t.thread = Some(ChannelId(BIG - 3));
        t.packet_message = Some(MessageId(BIG - 4));
        t.claimed_by = Some(MemberId(BIG - 5));
        t.last_activity = Timestamp(1_700_000_000_123);
        t.sla_reminded = true;
        t.inactivity_warned = true;
        t.closed_at = Some(Timestamp(1_700_000_000_456));
        t.closed_by = Some(MemberId(BIG - 6));
        t.close_reason = Some("done — thanks".into());
        t.rating = Some(false);
        t.transcript = Some("# transcript\nline two".into());
        t.packet.tried.push("Another step → no".into());
    })
    .await;
    let mut expected = t.clone();
    expected.status = TicketStatus::Closed;
    expected.thread = Some(ChannelId(BIG - 3));
    expected.packet_message = Some(MessageId(BIG - 4));
    expected.claimed_by = Some(MemberId(BIG - 5));
    expected.last_activity = Timestamp(1_700_000_000_123);
    expected.sla_reminded = true;
    expected.inactivity_warned = true;
    expected.closed_at = Some(Timestamp(1_700_000_000_456));
    expected.closed_by = Some(MemberId(BIG - 6));
    expected.close_reason = Some("done — thanks".into());
    expected.rating = Some(false);
    expected.transcript = Some("# transcript\nline two".into());
    expected.packet.tried.push("Another step → no".into());
    expected.version = 2;
    assert_eq!(full, expected);
    assert_eq!(
        store.ticket_by_thread(ChannelId(BIG - 3)).await.unwrap(),
        Some(expected)
    );
    assert_eq!(store.ticket(TicketId(9999)).await.unwrap(), None);
}

async fn updates_by_an_old_version_are_stale(store: Arc<dyn Store>) {
    let store = &*store;
    let t = created(store, &new_ticket(G, M, 1000, None)).await;
    let v2 = change(store, &t, |t| t.status = TicketStatus::Open).await;
    // Another moderator acting on version 1 is refused, and nothing of theirs is written.
    let mut late = t.clone();
    late.claimed_by = Some(MemberId(99));
    let ev = TicketEvent::new(Timestamp(1500), Some(MemberId(99)), EventKind::Claimed);
    let s = idle(1500);
    assert_eq!(
        store
            .update_ticket(&late, Some(&ev), Some((key(G, M), Some(&s))))
            .await
            .unwrap(),
        Updated::Stale
    );
    assert_eq!(store.ticket(t.id).await.unwrap(), Some(v2.clone()));
    assert_eq!(store.events(t.id).await.unwrap(), vec![]);
    assert_eq!(store.session(key(G, M)).await.unwrap(), None);
    // A ticket that doesn't exist is stale too.
    let mut ghost = v2.clone();
    ghost.id = TicketId(9999);
    assert_eq!(
        store.update_ticket(&ghost, None, None).await.unwrap(),
        Updated::Stale
    );
    // The current version goes through, with its event and session change.
    let mut claim = v2.clone();
    claim.claimed_by = Some(MemberId(99));
    assert_eq!(
        store
            .update_ticket(&claim, Some(&ev), Some((key(G, M), Some(&s))))
            .await
            .unwrap(),
        Updated::Done
    );
    let stored = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(stored.claimed_by, Some(MemberId(99)));
    assert_eq!(store.events(t.id).await.unwrap(), vec![ev]);
    assert_eq!(data(store.session(key(G, M)).await.unwrap()), Some(s));
    // And a session change can delete.
    let mut unclaim = stored.clone();
    unclaim.claimed_by = None;
    assert_eq!(
        store
            .update_ticket(&unclaim, None, Some((key(G, M), None)))
            .await
            .unwrap(),
        Updated::Done
    );
    assert_eq!(store.session(key(G, M)).await.unwrap(), None);
}

async fn a_reopen_beside_an_active_ticket_is_refused(store: Arc<dyn Store>) {
    let store = &*store;
    let old = created(store, &new_ticket(G, M, 1000, None)).await;
    let old = close(store, &old, 1500).await;
    let current = created(store, &new_ticket(G, M, 2000, None)).await;
    let s = idle(2500);
    store
        .commit_turn(key(G, M), Expect::Any, Some(&s), &[], None)
        .await
        .unwrap();

    let mut reopen = old.clone();
    reopen.status = TicketStatus::Open;
    reopen.closed_at = None;
    let ev = TicketEvent::new(Timestamp(2600), Some(MemberId(99)), EventKind::Reopened);
    assert_eq!(
        store
            .update_ticket(&reopen, Some(&ev), Some((key(G, M), None)))
            .await
            .unwrap(),
        Updated::MemberHasActive
    );
    // Nothing of it was written.
    assert_eq!(store.ticket(old.id).await.unwrap(), Some(old.clone()));
    assert_eq!(store.events(old.id).await.unwrap(), vec![]);
    assert_eq!(data(store.session(key(G, M)).await.unwrap()), Some(s));
    assert_eq!(
        store.active_ticket(G, M).await.unwrap(),
        Some(current.clone())
    );

    // Once the other closes, the reopen goes through.
    close(store, &current, 2700).await;
    assert_eq!(
        store.update_ticket(&reopen, Some(&ev), None).await.unwrap(),
        Updated::Done
    );
    assert_eq!(store.active_ticket(G, M).await.unwrap().unwrap().id, old.id);
}

async fn events_keep_their_order_and_touch_moves_activity_forward(store: Arc<dyn Store>) {
    let store = &*store;
    let t = created(store, &new_ticket(G, M, 1000, None)).await;
    let other = created(store, &new_ticket(G, MemberId(11), 1000, None)).await;
    let e1 = TicketEvent::new(Timestamp(1000), None, EventKind::Opened);
    let e2 = TicketEvent::message(Timestamp(5000), M, "my card is 4111 1111 1111 1111");
    let e3 = TicketEvent::message(Timestamp(3000), MemberId(99), "an older message, later");
    let e4 =
        TicketEvent::new(Timestamp(6000), Some(MemberId(99)), EventKind::Claimed).with_text("mine");
    store.add_event(t.id, &e1, false).await.unwrap();
    store
        .add_event(
            other.id,
            &TicketEvent::new(Timestamp(1), None, EventKind::Opened),
            true,
        )
        .await
        .unwrap();
    store.add_event(t.id, &e2, true).await.unwrap();
    assert_eq!(
        store.ticket(t.id).await.unwrap().unwrap().last_activity,
        Timestamp(5000)
    );
    // Touching with an older time keeps the later activity.
    store.add_event(t.id, &e3, true).await.unwrap();
    let after = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(after.last_activity, Timestamp(5000));
    // Adding events doesn't change the version.
    assert_eq!(after.version, 1);
    // Without touch, activity stays.
    store.add_event(t.id, &e4, false).await.unwrap();
    assert_eq!(
        store.ticket(t.id).await.unwrap().unwrap().last_activity,
        Timestamp(5000)
    );
    assert_eq!(
        store.events(t.id).await.unwrap(),
        vec![e1.clone(), e2, e3, e4]
    );
    // The other ticket's activity never went back.
    assert_eq!(
        store.ticket(other.id).await.unwrap().unwrap().last_activity,
        Timestamp(1000)
    );
    // An unknown ticket: nothing happens.
    store.add_event(TicketId(9999), &e1, true).await.unwrap();
    assert_eq!(store.events(TicketId(9999)).await.unwrap(), vec![]);
}

async fn feedback_keeps_the_latest_answer(store: Arc<dyn Store>) {
    let store = &*store;
    let a = created(store, &new_ticket(G, M, 1000, None)).await;
    let b = created(store, &new_ticket(G, MemberId(11), 1000, None)).await;
    store
        .record_feedback(b.id, MemberId(11), true, Timestamp(2000))
        .await
        .unwrap();
    store
        .record_feedback(a.id, M, true, Timestamp(2000))
        .await
        .unwrap();
    store
        .record_feedback(a.id, M, false, Timestamp(3000))
        .await
        .unwrap();
    // Unknown ticket: nothing.
    store
        .record_feedback(TicketId(9999), M, true, Timestamp(3000))
        .await
        .unwrap();
    assert_eq!(
        store.feedback().await.unwrap(),
        vec![(a.id, false), (b.id, true)]
    );
    let stored = store.ticket(a.id).await.unwrap().unwrap();
    assert_eq!(stored.rating, Some(false));
    assert_eq!(stored.version, 1);
    assert_eq!(
        store.ticket(b.id).await.unwrap().unwrap().rating,
        Some(true)
    );
}

async fn outcomes_count_up(store: Arc<dyn Store>) {
    let store = &*store;
    let row = |intent: &str, step: Option<&str>, outcome| OutcomeRow {
        intent: intent.into(),
        step: step.map(str::to_string),
        outcome,
    };
    let fixed = row("declined", Some("card_valid"), OutcomeKind::Fixed);
    let first = row("declined", None, OutcomeKind::Escalated);
    let declined = row("declined", Some("card_valid"), OutcomeKind::DeclinedHuman);
    let other = row("app_crash", Some("update"), OutcomeKind::Fixed);
    assert_eq!(store.outcomes().await.unwrap(), vec![]);
    store
        .commit_turn(
            key(G, M),
            Expect::Any,
            None,
            &[fixed.clone(), fixed.clone(), first.clone()],
            None,
        )
        .await
        .unwrap();
    store
        .commit_turn(
            key(G, MemberId(11)),
            Expect::Any,
            Some(&idle(1)),
            &[fixed.clone(), declined.clone(), other.clone()],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.outcomes().await.unwrap(),
        vec![(other, 1), (first, 1), (fixed, 3), (declined, 1)]
    );
}

async fn forgetting_a_member_anonymizes_their_tickets(store: Arc<dyn Store>) {
    let store = &*store;
    let gone = MemberId(BIG);
    let staff = MemberId(99);
    let mention = format!("<@{gone}>");

    // Their closed ticket, with a transcript and feedback.
    let mut new = new_ticket(G, gone, 1000, None);
    new.packet.recent = vec![format!("I am {mention}")];
    let closed = created(store, &new).await;
    let closed = change(store, &closed, |t| {
        t.status = TicketStatus::Closed;
        t.closed_at = Some(Timestamp(1500));
        t.transcript = Some(format!(
            "Ticket for member {gone}\n{mention}: hi\n<@!{gone}>: bye\n<@{staff}>: ok"
        ));
    })
    .await;
    store
        .add_event(
            closed.id,
            &TicketEvent::message(Timestamp(1100), gone, "hi there"),
            false,
        )
        .await
        .unwrap();
    store
        .add_event(
            closed.id,
            &TicketEvent::message(Timestamp(1200), staff, &format!("thanks {mention}")),
            false,
        )
        .await
        .unwrap();
    store
        .record_feedback(closed.id, gone, true, Timestamp(1600))
        .await
        .unwrap();
    // Their open ticket in the same guild.
    let open_one = created(store, &new_ticket(G, gone, 2000, None)).await;
    // Someone else's ticket in the guild that names them, with its own feedback.
    let neighbour = created(store, &new_ticket(G, MemberId(11), 2000, None)).await;
    store
        .add_event(
            neighbour.id,
            &TicketEvent::message(Timestamp(2100), MemberId(11), &format!("same as {mention}")),
            false,
        )
        .await
        .unwrap();
    store
        .record_feedback(neighbour.id, MemberId(11), false, Timestamp(2200))
        .await
        .unwrap();
    // Their ticket and session in another guild stay.
    let elsewhere = created(store, &new_ticket(GuildId(2), gone, 2000, None)).await;
    store
        .add_event(
            elsewhere.id,
            &TicketEvent::message(Timestamp(2100), gone, &format!("I am {mention}")),
            false,
        )
        .await
        .unwrap();
    store
        .commit_turn(key(G, gone), Expect::Any, Some(&idle(3000)), &[], None)
        .await
        .unwrap();
    store
        .commit_turn(
            key(GuildId(2), gone),
            Expect::Any,
            Some(&idle(3000)),
            &[],
            None,
        )
        .await
        .unwrap();

    let out = store.forget_member(G, gone).await.unwrap();
    assert_eq!(
        out,
        Forgotten {
            sessions: 1,
            feedback: 1,
            tickets: 2,
            activity: 0,
        }
    );
    assert_eq!(store.session(key(G, gone)).await.unwrap(), None);
    assert!(store
        .session(key(GuildId(2), gone))
        .await
        .unwrap()
        .is_some());

    let c = store.ticket(closed.id).await.unwrap().unwrap();
    assert_eq!(c.member, MemberId::FORGOTTEN);
    assert_eq!(c.version, closed.version + 1);
    assert!(c.packet.recent.is_empty());
    assert_eq!(c.packet.tried, closed.packet.tried);
    let transcript = c.transcript.unwrap();
    assert!(!transcript.contains(&gone.to_string()), "{transcript}");
    assert!(
        transcript.contains("(forgotten member): hi"),
        "{transcript}"
    );
    assert!(
        transcript.contains(&format!("<@{staff}>: ok")),
        "{transcript}"
    );
    let events = store.events(closed.id).await.unwrap();
    assert_eq!(events[0].actor, Some(MemberId::FORGOTTEN));
    assert_eq!(events[0].text.as_deref(), Some("hi there"));
    assert_eq!(events[1].actor, Some(staff));
    assert_eq!(events[1].text.as_deref(), Some("thanks (forgotten member)"));

    let o = store.ticket(open_one.id).await.unwrap().unwrap();
    assert_eq!(o.member, MemberId::FORGOTTEN);
    assert_eq!(store.active_ticket(G, gone).await.unwrap(), None);

    let n = store.ticket(neighbour.id).await.unwrap().unwrap();
    assert_eq!(
        n,
        Ticket {
            rating: Some(false),
            ..neighbour.clone()
        }
    );
    assert_eq!(
        store.events(neighbour.id).await.unwrap()[0].text.as_deref(),
        Some("same as (forgotten member)")
    );
    assert_eq!(store.feedback().await.unwrap(), vec![(neighbour.id, false)]);

    let e = store.ticket(elsewhere.id).await.unwrap().unwrap();
    assert_eq!(e, elsewhere);
    assert_eq!(
        store.events(elsewhere.id).await.unwrap()[0].text,
        Some(format!("I am {mention}"))
    );

    // Forgetting again finds nothing of theirs but the placeholder tickets.
    assert_eq!(
        store.forget_member(G, gone).await.unwrap(),
        Forgotten::default()
    );
}

async fn purge_removes_old_closed_tickets_and_sessions(store: Arc<dyn Store>) {
    let store = &*store;
    let old_closed = created(store, &new_ticket(G, MemberId(1), 1000, None)).await;
    close(store, &old_closed, 2000).await;
    // Failed with no closing time: its opening time counts.
    let old_failed = created(store, &new_ticket(G, MemberId(2), 1000, None)).await;
    change(store, &old_failed, |t| t.status = TicketStatus::Failed).await;
    // Opened long ago but closed recently: kept.
    let late_closed = created(store, &new_ticket(G, MemberId(3), 1000, None)).await;
    close(store, &late_closed, 9000).await;
    // Still open, however old: kept.
    let old_open = created(store, &new_ticket(G, MemberId(4), 1000, None)).await;

    for t in [&old_closed, &old_failed, &late_closed, &old_open] {
        store
            .add_event(
                t.id,
                &TicketEvent::new(Timestamp(1000), None, EventKind::Opened),
                false,
            )
            .await
            .unwrap();
        store
            .record_feedback(t.id, t.member, true, Timestamp(2500))
            .await
            .unwrap();
    }
    // Sessions: old ones go, handed off or not; recent ones stay.
    store
        .commit_turn(
            key(G, MemberId(1)),
            Expect::Any,
            Some(&idle(1000)),
            &[],
            None,
        )
        .await
        .unwrap();
    store
        .commit_turn(
            key(G, MemberId(2)),
            Expect::Any,
            Some(&handed_off(1000)),
            &[],
            None,
        )
        .await
        .unwrap();
    store
        .commit_turn(
            key(G, MemberId(3)),
            Expect::Any,
            Some(&idle(5000)),
            &[],
            None,
        )
        .await
        .unwrap();

    let out = store.purge(Timestamp(5000)).await.unwrap();
    assert_eq!(
        out,
        Purged {
            sessions: 2,
            tickets: 2,
            activity: 0,
        }
    );
    for gone in [&old_closed, &old_failed] {
        assert_eq!(store.ticket(gone.id).await.unwrap(), None);
        assert_eq!(store.events(gone.id).await.unwrap(), vec![]);
    }
    for kept in [&late_closed, &old_open] {
        assert!(store.ticket(kept.id).await.unwrap().is_some());
        assert_eq!(store.events(kept.id).await.unwrap().len(), 1);
    }
    assert_eq!(
        store.feedback().await.unwrap(),
        vec![(late_closed.id, true), (old_open.id, true)]
    );
    assert_eq!(store.session_count().await.unwrap(), 1);
    assert!(store.session(key(G, MemberId(3))).await.unwrap().is_some());

    // A purged ticket's number is not given out again.
    let next = created(store, &new_ticket(G, MemberId(5), 10_000, None)).await;
    assert!(next.id > old_open.id);
}

async fn expiry_keeps_handed_off_sessions(store: Arc<dyn Store>) {
    let store = &*store;
    store
        .commit_turn(
            key(G, MemberId(1)),
            Expect::Any,
            Some(&idle(1000)),
            &[],
            None,
        )
        .await
        .unwrap();
    store
        .commit_turn(
            key(G, MemberId(2)),
            Expect::Any,
            Some(&handed_off(1000)),
            &[],
            None,
        )
        .await
        .unwrap();
    store
        .commit_turn(
            key(G, MemberId(3)),
            Expect::Any,
            Some(&idle(5000)),
            &[],
            None,
        )
        .await
        .unwrap();
    // Exactly at the cut-off is kept.
    store
        .commit_turn(
            key(G, MemberId(4)),
            Expect::Any,
            Some(&idle(4000)),
            &[],
            None,
        )
        .await
        .unwrap();
    let expired = store.expire_sessions(Timestamp(4000)).await.unwrap();
    assert_eq!(expired.count, 1);
    // The expired session comes back, so the caller can tell where it stood.
    assert_eq!(
        expired.sessions,
        vec![(key(G, MemberId(1)), idle(1000).session)]
    );
    assert_eq!(store.session_count().await.unwrap(), 3);
    assert_eq!(store.session(key(G, MemberId(1))).await.unwrap(), None);
    assert!(store.session(key(G, MemberId(2))).await.unwrap().is_some());

    // A handed-off session that goes back to the bot expires like any other.
    store
        .commit_turn(
            key(G, MemberId(2)),
            Expect::Any,
            Some(&idle(1000)),
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.expire_sessions(Timestamp(4000)).await.unwrap().count,
        1
    );
    assert_eq!(store.session_count().await.unwrap(), 2);
}

async fn tickets_filter_limit_and_order(store: Arc<dyn Store>) {
    let store = &*store;
    let g2 = GuildId(2);
    let a = created(store, &new_ticket(G, MemberId(1), 1000, None)).await;
    let b = created(store, &new_ticket(g2, MemberId(1), 1000, None)).await;
    let c = created(store, &new_ticket(G, MemberId(2), 1000, None)).await;
    let c = change(store, &c, |t| {
        t.status = TicketStatus::Open;
        t.thread = Some(ChannelId(77));
    })
    .await;
    let a = close(store, &a, 2000).await;
    let d = created(store, &new_ticket(G, MemberId(3), 1000, None)).await;
    let d = change(store, &d, |t| t.status = TicketStatus::Failed).await;
    let e = created(store, &new_ticket(G, MemberId(1), 3000, None)).await;

    let ids = |ts: Vec<Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let all = store.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(all[0], e);
    assert_eq!(ids(all), vec![e.id, d.id, c.id, b.id, a.id]);
    assert_eq!(
        ids(store.tickets(&TicketFilter::active()).await.unwrap()),
        vec![e.id, c.id, b.id]
    );
    let in_g = TicketFilter {
        guild: Some(G),
        ..TicketFilter::default()
    };
    assert_eq!(
        ids(store.tickets(&in_g).await.unwrap()),
        vec![e.id, d.id, c.id, a.id]
    );
    let done_in_g = TicketFilter {
        guild: Some(G),
        statuses: vec![TicketStatus::Closed, TicketStatus::Failed],
        limit: None,
    };
    assert_eq!(
        store.tickets(&done_in_g).await.unwrap(),
        vec![d.clone(), a.clone()]
    );
    let newest_two = TicketFilter {
        limit: Some(2),
        ..TicketFilter::default()
    };
    assert_eq!(
        ids(store.tickets(&newest_two).await.unwrap()),
        vec![e.id, d.id]
    );
    let none = TicketFilter {
        limit: Some(0),
        ..TicketFilter::default()
    };
    assert_eq!(store.tickets(&none).await.unwrap(), vec![]);
    let elsewhere = TicketFilter {
        guild: Some(GuildId(3)),
        ..TicketFilter::active()
    };
    assert_eq!(store.tickets(&elsewhere).await.unwrap(), vec![]);

    // By thread: the newest ticket on it.
    assert_eq!(
        store.ticket_by_thread(ChannelId(77)).await.unwrap(),
        Some(c.clone())
    );
    let e = change(store, &e, |t| t.thread = Some(ChannelId(77))).await;
    assert_eq!(
        store.ticket_by_thread(ChannelId(77)).await.unwrap(),
        Some(e)
    );
    assert_eq!(store.ticket_by_thread(ChannelId(78)).await.unwrap(), None);
}

async fn fifty_concurrent_opens_make_one_ticket(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let s = idle(1000 + i);
                let row = OutcomeRow {
                    intent: "declined".into(),
                    step: None,
                    outcome: OutcomeKind::Escalated,
                };
                let new = new_ticket(G, M, 1000 + i, Some(&format!("request-{i}")));
                store
                    .commit_turn(key(G, M), Expect::Any, Some(&s), &[row], Some(&new))
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut existing = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Opened::Created(t) => created.push(t),
            Opened::Existing(t) => existing.push(t),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(existing.len(), 49);
    let id = created[0].id;
    assert!(existing.iter().all(|t| t.id == id));
    assert_eq!(
        store.tickets(&TicketFilter::default()).await.unwrap().len(),
        1
    );
    // Every turn was committed.
    assert_eq!(store.session_count().await.unwrap(), 1);
    assert_eq!(store.outcomes().await.unwrap()[0].1, 50);
}

async fn concurrent_updates_of_one_version_let_one_through(store: Arc<dyn Store>) {
    let t = created(&*store, &new_ticket(G, M, 1000, None)).await;
    let t = change(&*store, &t, |t| t.status = TicketStatus::Open).await;
    let tasks: Vec<_> = (0..20u64)
        .map(|i| {
            let store = store.clone();
            let mut claim = t.clone();
            claim.claimed_by = Some(MemberId(100 + i));
            tokio::spawn(async move {
                let ev = TicketEvent::new(Timestamp(2000), claim.claimed_by, EventKind::Claimed);
                store.update_ticket(&claim, Some(&ev), None).await.unwrap()
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        match task.await.unwrap() {
            Updated::Done => done += 1,
            Updated::Stale => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 1);
    let stored = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(stored.version, t.version + 1);
    let events = store.events(t.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, stored.claimed_by);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only

mod postgres_only {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_database_is_named_without_its_password() {
        // Port 9 (discard) has no PostgreSQL on this machine: the connection is refused.
        let err = match PgStore::connect("postgres://paymedic:s3cret-pw@127.0.0.1:9/shop").await {
            Ok(_) => panic!("a store over a closed port"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(matches!(err, StoreError::Connect { .. }), "{text}");
        assert!(text.contains("127.0.0.1:9/shop"), "{text}");
        assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused_without_echoing_it() {
        let err = match PgStore::connect("postgres://u:s3cret-pw@[::1/x").await {
            Ok(_) => panic!("a store over a malformed URL"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(text.contains("not a valid postgres:// URL"), "{text}");
        assert!(!text.contains("s3cret-pw"), "the password leaked: {text}");
    }

    #[tokio::test]
    async fn two_stores_on_one_schema_share_tickets_and_one_active_rule() {
        // Two processes' stores over one database: what one opens, the other sees, and the
        // unique index holds between them.
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let a = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let b = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let new = new_ticket(G, M, 1_000, Some("interaction-1"));
        let first = created(&a, &new).await;
        let again = NewTicket {
            request_key: Some("interaction-2".into()),
            ..new.clone()
        };
        match open(&b, &again).await {
            Opened::Existing(t) => assert_eq!(t.id, first.id),
            other => panic!("a second active ticket through another store: {other:?}"),
        }
        assert_eq!(b.ticket(first.id).await.unwrap().unwrap(), first);
        a.drop_schema(&schema).await.unwrap();
    }

    fn span(first: u32, last: u32, total: u32) -> Option<ShardSpan> {
        Some(ShardSpan { first, last, total })
    }

    fn refusal(r: paymedic::store::Result<()>) -> String {
        match r {
            Err(e @ StoreError::ShardsTaken { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Shard ranges are held per schema: overlaps, another total, and "every shard" beside a
    /// range are refused, naming who holds them; a process that goes away frees its shards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_shard_ranges_are_refused_naming_the_holder() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let connect = || PgStore::connect_in(&url, Some(&schema));
        let a = connect().await.unwrap();
        let b = connect().await.unwrap();
        a.hold_shards(span(0, 1, 4)).await.unwrap();
        let text = refusal(b.hold_shards(span(1, 2, 4)).await);
        assert!(text.contains("shard 1 of 4 is already run by"), "{text}");
        assert!(text.contains("paymedic shards 0-1 of 4"), "{text}");
        let text = refusal(b.hold_shards(span(2, 2, 8)).await);
        assert!(text.contains("total_shards = 4"), "{text}");
        let text = refusal(b.hold_shards(None).await);
        assert!(text.contains("already runs shards"), "{text}");
        // The rest of the range is free (the refusals above took nothing).
        b.hold_shards(span(2, 3, 4)).await.unwrap();
        // Another schema is another deployment.
        let other = fresh_schema();
        let c = PgStore::connect_in(&url, Some(&other)).await.unwrap();
        c.hold_shards(span(0, 3, 4)).await.unwrap();
        c.drop_schema(&other).await.unwrap();
        drop(c);
        // A process that stops (its connections close) frees its shards.
        drop(a);
        let d = connect().await.unwrap();
        let mut held = Err(StoreError::Stale);
        for _ in 0..50 {
            held = d.hold_shards(span(0, 1, 4)).await;
            if held.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        held.unwrap();
        b.drop_schema(&schema).await.unwrap();
    }

    /// Of two processes, one leads; when it goes away the other leads at its next ask.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_process_leads_and_another_takes_over_when_it_goes() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let a = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let b = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        assert!(a.lead().await.unwrap());
        assert!(!b.lead().await.unwrap());
        // Asking again keeps it; the follower stays a follower.
        assert!(a.lead().await.unwrap());
        assert!(!b.lead().await.unwrap());
        // A leader in another schema is another deployment's.
        let other = fresh_schema();
        let c = PgStore::connect_in(&url, Some(&other)).await.unwrap();
        assert!(c.lead().await.unwrap());
        c.drop_schema(&other).await.unwrap();
        drop(a);
        let mut led = false;
        for _ in 0..50 {
            led = b.lead().await.unwrap();
            if led {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(led, "the survivor never took over");
        b.drop_schema(&schema).await.unwrap();
    }

    /// Closing a store gives up its lead and its shards there and then, not when the value
    /// is dropped: a stopped bot's store closed and kept leaves none of its locks behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_a_store_gives_up_its_lead_and_shards() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let a = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let b = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        assert!(a.lead().await.unwrap());
        a.hold_shards(None).await.unwrap();
        assert!(b.hold_shards(None).await.is_err(), "a holds every shard");
        a.close().await;
        // The server ends a's sessions a moment after their Terminate.
        let (mut led, mut held) = (false, false);
        for _ in 0..50 {
            led = led || b.lead().await.unwrap();
            held = held || b.hold_shards(None).await.is_ok();
            if led && held {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            led && held,
            "after a closed: b leads {led}, b holds the shards {held}"
        );
        b.drop_schema(&schema).await.unwrap();
    }

    /// A note one process tells reaches the others on the schema, and not itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_note_reaches_the_other_processes_only() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let a = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let b = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let mut to_a = a.listen().await.unwrap().unwrap();
        let mut to_b = b.listen().await.unwrap().unwrap();
        a.tell(Note::Reload).await.unwrap();
        a.tell(Note::Incident).await.unwrap();
        let wait = std::time::Duration::from_secs(10);
        assert_eq!(
            tokio::time::timeout(wait, to_b.recv()).await.unwrap(),
            Some(Note::Reload)
        );
        assert_eq!(
            tokio::time::timeout(wait, to_b.recv()).await.unwrap(),
            Some(Note::Incident)
        );
        b.tell(Note::Incident).await.unwrap();
        // `a` hears b's note, and nothing of its own before it.
        assert_eq!(
            tokio::time::timeout(wait, to_a.recv()).await.unwrap(),
            Some(Note::Incident)
        );
        assert!(to_a.try_recv().is_err());
        a.drop_schema(&schema).await.unwrap();
    }

    /// The connection that listens goes back to the pool when nobody takes the notes any
    /// more, or when the pool closes: `close()` does not wait for it for ever (a stopped
    /// bot's store closing used to hang on it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_the_store_is_not_held_up_by_its_listener() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let direct = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let wait = std::time::Duration::from_secs(10);
        // The receiver dropped first (the bot stopped), then the store closed.
        let a = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let to_a = a.listen().await.unwrap().unwrap();
        drop(to_a);
        tokio::time::timeout(wait, a.close())
            .await
            .expect("close() returns once the receiver is gone");
        // The store closed while the receiver is still held: the notes end.
        let b = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
        let mut to_b = b.listen().await.unwrap().unwrap();
        tokio::time::timeout(wait, b.close())
            .await
            .expect("close() returns while a receiver is held");
        assert_eq!(tokio::time::timeout(wait, to_b.recv()).await.unwrap(), None);
        direct.drop_schema(&schema).await.unwrap();
    }

    /// A test's schema still drops when PostgreSQL ends the first try to break a deadlock: a
    /// session of the stopped bot (its client gone, its backend not yet) can hold a table the
    /// drop needs while it waits for something the drop took. Here another session holds a
    /// table, the drop waits for it holding the schema, and the session then creates a table
    /// in the schema: a cycle, and the drop, waiting first, is the one PostgreSQL aborts.
    /// (A CI run failed on such a cleanup once; the drop now tries again.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_schema_drop_aborted_by_a_deadlock_is_tried_again() {
        use sqlx::Connection;
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let store = Arc::new(PgStore::connect_in(&url, Some(&schema)).await.unwrap());
        let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
        for sql in [
            "BEGIN".to_string(),
            format!("LOCK TABLE {schema}.claims IN ACCESS SHARE MODE"),
        ] {
            sqlx::query(&sql).execute(&mut other).await.unwrap();
        }
        let dropping = tokio::spawn({
            let (store, schema) = (store.clone(), schema.clone());
            async move { store.drop_schema(&schema).await }
        });
        // Wait until the drop waits for the table (it holds the schema by then).
        let mut watch = sqlx::PgConnection::connect(&url).await.unwrap();
        let waits = format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT l.granted AND c.relname = 'claims' AND n.nspname = '{schema}'"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let n: i64 = sqlx::query_scalar(&waits)
                .fetch_one(&mut watch)
                .await
                .unwrap();
            if n > 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the drop never waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Creating a table in the schema needs the schema: the cycle. Once PostgreSQL aborts
        // the drop, this goes through, and ending the transaction frees the table.
        sqlx::query(&format!("CREATE TABLE {schema}.extra (x int)"))
            .execute(&mut other)
            .await
            .expect("the drop, not this session, is aborted: it waited first");
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        let dropped = tokio::time::timeout(std::time::Duration::from_secs(20), dropping)
            .await
            .expect("the drop ends")
            .unwrap();
        assert!(dropped.is_ok(), "{dropped:?}");
        let left: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
        ))
        .fetch_one(&mut watch)
        .await
        .unwrap();
        assert_eq!(left, 0, "the schema is gone");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_processes_writing_one_members_session_lose_no_update() {
        let Some(url) = postgres_url() else { return };
        let schema = fresh_schema();
        let a = Arc::new(PgStore::connect_in(&url, Some(&schema)).await.unwrap());
        let b = Arc::new(PgStore::connect_in(&url, Some(&schema)).await.unwrap());
        concurrent_appends(&[a.clone(), b]).await;
        a.drop_schema(&schema).await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite only

// ---------------------------------------------------------------------------------------------
// Incidents

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

async fn an_incident_starts_is_replaced_and_ends(store: Arc<dyn Store>) {
    assert_eq!(store.active_incident().await.unwrap(), None);
    assert!(!store.had_incident().await.unwrap());
    assert_eq!(store.end_incident(Timestamp(5), M).await.unwrap(), None);
    let by = MemberId(BIG);
    let first = match store
        .start_incident(
            "Checkout is down",
            &keys(&["payment_declined"]),
            Timestamp(100),
            by,
        )
        .await
        .unwrap()
    {
        Started::New(i) => i,
        other => panic!("expected a new incident, got {other:?}"),
    };
    let expected = IncidentRecord {
        id: first.id,
        notice: "Checkout is down".into(),
        intents: keys(&["payment_declined"]),
        started_at: Timestamp(100),
        started_by: by,
        ended_at: None,
        ended_by: None,
    };
    assert_eq!(first, expected);
    assert_eq!(
        store.active_incident().await.unwrap(),
        Some(expected.clone())
    );
    assert!(store.had_incident().await.unwrap());
    // A second start replaces the notice and intents of the same incident.
    let replaced = store
        .start_incident(
            "Fix expected at 5pm",
            &keys(&["browser_issue", "technical_glitch"]),
            Timestamp(200),
            M,
        )
        .await
        .unwrap();
    let updated = IncidentRecord {
        notice: "Fix expected at 5pm".into(),
        intents: keys(&["browser_issue", "technical_glitch"]),
        ..expected.clone()
    };
    assert_eq!(replaced, Started::Replaced(updated.clone()));
    assert_eq!(
        store.active_incident().await.unwrap(),
        Some(updated.clone())
    );
    let ended = store.end_incident(Timestamp(300), M).await.unwrap();
    assert_eq!(
        ended,
        Some(IncidentRecord {
            ended_at: Some(Timestamp(300)),
            ended_by: Some(M),
            ..updated
        })
    );
    assert_eq!(store.active_incident().await.unwrap(), None);
    assert_eq!(store.end_incident(Timestamp(301), M).await.unwrap(), None);
    // The next start is a new incident with a new number.
    let next = store
        .start_incident("Again", &keys(&["payment_declined"]), Timestamp(400), M)
        .await
        .unwrap();
    assert!(
        matches!(&next, Started::New(i) if i.id != first.id),
        "{next:?}"
    );
}

async fn subscribing_is_once_per_member_and_only_while_active(store: Arc<dyn Store>) {
    let id = store
        .start_incident("Down", &keys(&["payment_declined"]), Timestamp(1), M)
        .await
        .unwrap()
        .incident()
        .id;
    let a = key(G, MemberId(1));
    let b = key(GuildId(BIG), MemberId(BIG));
    assert_eq!(
        store.subscribe(id, a, Timestamp(2)).await.unwrap(),
        Subscribed::Added
    );
    assert_eq!(
        store.subscribe(id, a, Timestamp(3)).await.unwrap(),
        Subscribed::Already
    );
    assert_eq!(
        store.subscribe(id, b, Timestamp(4)).await.unwrap(),
        Subscribed::Added
    );
    // The same member in another guild is another subscription.
    let a2 = key(GuildId(2), MemberId(1));
    assert_eq!(
        store.subscribe(id, a2, Timestamp(5)).await.unwrap(),
        Subscribed::Added
    );
    assert_eq!(store.subscribers(id).await.unwrap(), vec![a, b, a2]);
    assert_eq!(
        store
            .subscribe(IncidentId(id.0 + 100), a, Timestamp(6))
            .await
            .unwrap(),
        Subscribed::Over
    );
    store.end_incident(Timestamp(10), M).await.unwrap();
    let c = key(G, MemberId(3));
    assert_eq!(
        store.subscribe(id, c, Timestamp(11)).await.unwrap(),
        Subscribed::Over
    );
    // Ending keeps the list: the fan-out removes each member once told.
    assert_eq!(store.subscribers(id).await.unwrap(), vec![a, b, a2]);
}

async fn unsubscribing_leaves_the_others_and_resumes_the_fanout(store: Arc<dyn Store>) {
    let id = store
        .start_incident("Down", &keys(&["payment_declined"]), Timestamp(1), M)
        .await
        .unwrap()
        .incident()
        .id;
    let (a, b) = (key(G, MemberId(1)), key(G, MemberId(2)));
    store.subscribe(id, a, Timestamp(2)).await.unwrap();
    store.subscribe(id, b, Timestamp(3)).await.unwrap();
    // Active incidents are not unfinished fan-outs.
    assert!(store.unfinished_fanouts().await.unwrap().is_empty());
    let ended = store.end_incident(Timestamp(4), M).await.unwrap().unwrap();
    assert_eq!(store.unfinished_fanouts().await.unwrap(), vec![ended]);
    assert!(store.unsubscribe(id, a).await.unwrap());
    assert!(!store.unsubscribe(id, a).await.unwrap());
    assert_eq!(store.subscribers(id).await.unwrap(), vec![b]);
    assert!(store.unsubscribe(id, b).await.unwrap());
    assert!(store.subscribers(id).await.unwrap().is_empty());
    assert!(store.unfinished_fanouts().await.unwrap().is_empty());
}

async fn forgetting_a_member_drops_their_subscriptions(store: Arc<dyn Store>) {
    let id = store
        .start_incident("Down", &keys(&["payment_declined"]), Timestamp(1), M)
        .await
        .unwrap()
        .incident()
        .id;
    let other = key(G, MemberId(2));
    store.subscribe(id, key(G, M), Timestamp(2)).await.unwrap();
    store.subscribe(id, other, Timestamp(3)).await.unwrap();
    store.forget_member(G, M).await.unwrap();
    assert_eq!(store.subscribers(id).await.unwrap(), vec![other]);
}

async fn concurrent_starts_make_one_active_incident(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..20u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .start_incident(
                    &format!("notice {n}"),
                    &keys(&["payment_declined"]),
                    Timestamp(n),
                    M,
                )
                .await
                .unwrap()
        }));
    }
    let mut new = 0;
    let mut ids = Vec::new();
    for t in tasks {
        let started = t.await.unwrap();
        new += usize::from(matches!(started, Started::New(_)));
        ids.push(started.incident().id);
    }
    assert_eq!(new, 1, "exactly one start is new");
    ids.dedup();
    assert_eq!(ids.len(), 1, "every start names the same incident: {ids:?}");
    let active = store.active_incident().await.unwrap().unwrap();
    assert_eq!(active.id, ids[0]);
}

mod sqlite_only {
    use super::*;

    fn db(dir: &TempDir) -> PathBuf {
        dir.path().join("paymedic.db")
    }

    #[tokio::test]
    async fn an_incident_and_its_subscribers_survive_reopening_the_file() {
        let dir = TempDir::new("incident-reopen");
        let path = db(&dir);
        let store = SqliteStore::open(&path).await.unwrap();
        let started = store
            .start_incident("Down", &keys(&["payment_declined"]), Timestamp(1), M)
            .await
            .unwrap();
        let id = started.incident().id;
        store.subscribe(id, key(G, M), Timestamp(2)).await.unwrap();
        store.close().await;
        drop(store);
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            store.active_incident().await.unwrap().as_ref(),
            Some(started.incident())
        );
        assert_eq!(store.subscribers(id).await.unwrap(), vec![key(G, M)]);
    }

    #[tokio::test]
    async fn data_survives_reopening_the_file() {
        let dir = TempDir::new("reopen");
        let path = db(&dir);
        let store = SqliteStore::open(&path).await.unwrap();
        let s = handed_off(1000);
        let row = OutcomeRow {
            intent: "declined".into(),
            step: Some("card_valid".into()),
            outcome: OutcomeKind::Fixed,
        };
        let opened = store
            .commit_turn(
                key(G, M),
                Expect::Any,
                Some(&s),
                std::slice::from_ref(&row),
                Some(&new_ticket(G, M, 1000, Some("k"))),
            )
            .await
            .unwrap()
            .unwrap();
        let t = opened.ticket().clone();
        let ev = TicketEvent::message(Timestamp(1100), M, "hello");
        store.add_event(t.id, &ev, true).await.unwrap();
        store
            .record_feedback(t.id, M, true, Timestamp(1200))
            .await
            .unwrap();
        store.close().await;
        drop(store);

        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(data(store.session(key(G, M)).await.unwrap()), Some(s));
        let mut expected = t.clone();
        expected.last_activity = Timestamp(1100);
        expected.rating = Some(true);
        assert_eq!(store.ticket(t.id).await.unwrap(), Some(expected));
        assert_eq!(store.events(t.id).await.unwrap(), vec![ev]);
        assert_eq!(store.feedback().await.unwrap(), vec![(t.id, true)]);
        assert_eq!(store.outcomes().await.unwrap(), vec![(row, 1)]);
        // And the rules still hold on the reopened file.
        assert_eq!(
            open(&store, &new_ticket(G, M, 2000, None))
                .await
                .ticket()
                .id,
            t.id
        );
        store.close().await;
    }

    async fn assert_refused_untouched(path: &Path, bytes: &[u8]) -> StoreError {
        std::fs::write(path, bytes).unwrap();
        let err = match SqliteStore::open(path).await {
            Ok(_) => panic!("opened a damaged file"),
            Err(e) => e,
        };
        let after = std::fs::read(path).unwrap();
        if after != bytes {
            let first = after.iter().zip(bytes).position(|(a, b)| a != b);
            panic!(
                "the file was changed ({} bytes, was {}; first difference at {first:?}); {err}",
                after.len(),
                bytes.len()
            );
        }
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        err
    }

    #[tokio::test]
    async fn a_text_file_is_refused_and_left_alone() {
        let dir = TempDir::new("text");
        let path = db(&dir);
        let err = assert_refused_untouched(&path, b"[store]\npath = \"paymedic.db\"\n").await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        // A file shorter than the header, too.
        let err = assert_refused_untouched(&path, b"SQLite").await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn random_bytes_are_refused_and_left_alone() {
        let dir = TempDir::new("random");
        let path = db(&dir);
        // A simple generator: no dependency needed for noise.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let bytes: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let err = assert_refused_untouched(&path, &bytes).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        // The right header over noise.
        let mut faked = b"SQLite format 3\0".to_vec();
        faked.extend_from_slice(&bytes);
        let err = assert_refused_untouched(&path, &faked).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(!dir.path().join("paymedic.db-wal").exists());
    }

    #[tokio::test]
    async fn a_truncated_database_is_refused_and_left_alone() {
        let dir = TempDir::new("truncated");
        let path = db(&dir);
        let store = SqliteStore::open(&path).await.unwrap();
        for i in 0..200u64 {
            let mut new = new_ticket(G, MemberId(i + 1), 1000, None);
            new.packet.tried = vec!["x".repeat(500); 4];
            open(&store, &new).await;
        }
        store.close().await;
        drop(store);
        // Closing checkpointed everything into the file and removed the WAL.
        assert!(!dir.path().join("paymedic.db-wal").exists());
        let full = std::fs::read(&path).unwrap();
        assert!(full.len() > 64 * 1024, "{}", full.len());
        let err = assert_refused_untouched(&path, &full[..full.len() / 3]).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn another_programs_database_is_refused_and_left_alone() {
        use sqlx::Connection;
        let dir = TempDir::new("foreign");
        let path = db(&dir);
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let err = assert_refused_untouched(&path, &bytes).await;
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused() {
        use sqlx::Connection;
        let dir = TempDir::new("newer");
        let path = db(&dir);
        SqliteStore::open(&path).await.unwrap().close().await;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99999999, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        match SqliteStore::open(&path).await {
            Err(StoreError::TooNew { path: p, version }) => {
                assert_eq!(p, path);
                assert_eq!(version, 99999999);
            }
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("opened a newer database"),
        }
    }

    #[tokio::test]
    async fn a_missing_folder_is_an_open_error_naming_the_path() {
        let dir = TempDir::new("missing");
        let path = dir.path().join("no-such-folder").join("paymedic.db");
        let err = match SqliteStore::open(&path).await {
            Ok(_) => panic!("opened in a missing folder"),
            Err(e) => e,
        };
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("does not exist"), "{text}");
        assert!(!dir.path().join("no-such-folder").exists());
    }

    /// Root writes through permissions, so these checks only mean something for other users.
    fn running_as_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    async fn open_error(path: &Path) -> String {
        match SqliteStore::open(path).await {
            Ok(_) => panic!("opened {} without write access", path.display()),
            Err(e @ StoreError::Open { .. }) => e.to_string(),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[tokio::test]
    async fn a_read_only_file_or_folder_is_an_open_error() {
        if running_as_root() {
            return;
        }
        let dir = TempDir::new("readonly");
        let path = db(&dir);
        SqliteStore::open(&path).await.unwrap().close().await;
        let bytes = std::fs::read(&path).unwrap();

        set_mode(&path, 0o444);
        let text = open_error(&path).await;
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("read-only"), "{text}");
        set_mode(&path, 0o644);

        set_mode(dir.path(), 0o555);
        let text = open_error(&path).await;
        set_mode(dir.path(), 0o755);
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("read-only"), "{text}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // Writable again: it opens.
        SqliteStore::open(&path).await.unwrap().close().await;
    }

    #[tokio::test]
    async fn a_folder_at_the_path_is_an_open_error() {
        let dir = TempDir::new("folder");
        let err = match SqliteStore::open(dir.path()).await {
            Ok(_) => panic!("opened a folder"),
            Err(e) => e,
        };
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn an_empty_file_becomes_a_new_database() {
        let dir = TempDir::new("empty");
        let path = db(&dir);
        std::fs::write(&path, b"").unwrap();
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.session_count().await.unwrap(), 0);
        store.close().await;
    }

    #[tokio::test]
    async fn every_connection_uses_wal_and_full_sync() {
        let dir = TempDir::new("pragmas");
        let store = SqliteStore::open(&db(&dir)).await.unwrap();
        let all = store.pragmas().await.unwrap();
        assert_eq!(all.len(), 4);
        for p in all {
            assert_eq!(p.journal_mode, "wal");
            assert_eq!(p.synchronous, 2, "FULL");
            assert!(p.foreign_keys);
            assert!(p.busy_timeout_ms >= 1000, "{}", p.busy_timeout_ms);
        }
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_stores_on_one_file_keep_one_active_ticket() {
        // Two processes' worth of pools on one file: BEGIN IMMEDIATE and the unique index
        // keep the rules across them.
        let dir = TempDir::new("two");
        let path = db(&dir);
        let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let tasks: Vec<_> = (0..20u64)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move {
                    let new = new_ticket(G, M, 1000 + i, None);
                    store
                        .commit_turn(key(G, M), Expect::Any, Some(&idle(i)), &[], Some(&new))
                        .await
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        let mut ids = std::collections::HashSet::new();
        for t in tasks {
            let o = t.await.unwrap();
            created += usize::from(matches!(o, Opened::Created(_)));
            ids.insert(o.ticket().id);
        }
        assert_eq!(created, 1);
        assert_eq!(ids.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The activity log

fn activity_row(at: u64, kind: ActivityKind) -> ActivityRow {
    ActivityRow::new(Timestamp(at), G, kind)
}

fn unanswered_row(at: u64, guild: GuildId, member: MemberId, text: &str) -> ActivityRow {
    ActivityRow {
        text: Some(text.into()),
        member: Some(member),
        nearest: Some("payment_declined".into()),
        score: Some(0.25),
        ..ActivityRow::new(Timestamp(at), guild, ActivityKind::OutOfScope)
    }
}

async fn activity_rows_round_trip_in_time_order(store: Arc<dyn Store>) {
    let store = &*store;
    assert_eq!(store.activity(Timestamp(0)).await.unwrap(), vec![]);
    let full = ActivityRow {
        confidence: Some(0.875),
        ..ActivityRow::new(Timestamp(2000), GuildId(BIG), ActivityKind::Fixed)
            .with_intent(Some("payment_declined".into()), Some("message ✓".into()))
    };
    let text = unanswered_row(3000, G, MemberId(BIG), "is the shop open on sunday ✓");
    // Written out of time order, in two batches; rows of one time keep their order.
    store
        .record_activity(&[text.clone(), activity_row(1000, ActivityKind::Started)])
        .await
        .unwrap();
    store
        .record_activity(&[
            full.clone(),
            activity_row(2000, ActivityKind::Reached),
            activity_row(500, ActivityKind::Cooldown),
        ])
        .await
        .unwrap();
    store.record_activity(&[]).await.unwrap();
    assert_eq!(
        store.activity(Timestamp(1000)).await.unwrap(),
        vec![
            activity_row(1000, ActivityKind::Started),
            full,
            activity_row(2000, ActivityKind::Reached),
            text,
        ]
    );
    assert_eq!(store.activity(Timestamp(0)).await.unwrap().len(), 5);
    assert_eq!(store.activity(Timestamp(3001)).await.unwrap(), vec![]);
    // Every kind survives the trip.
    let every: Vec<ActivityRow> = ActivityKind::ALL
        .iter()
        .map(|k| activity_row(10_000, *k))
        .collect();
    store.record_activity(&every).await.unwrap();
    assert_eq!(store.activity(Timestamp(10_000)).await.unwrap(), every);
}

async fn forgetting_a_member_deletes_the_activity_rows_with_their_words(store: Arc<dyn Store>) {
    let store = &*store;
    let theirs = unanswered_row(1000, G, M, "my words");
    let elsewhere = unanswered_row(1000, GuildId(2), M, "my words elsewhere");
    let someone = unanswered_row(1000, G, MemberId(11), "their words");
    // Count-only rows name nobody and stay.
    let count = activity_row(1000, ActivityKind::Answered);
    store
        .record_activity(&[theirs, elsewhere.clone(), someone.clone(), count.clone()])
        .await
        .unwrap();
    let out = store.forget_member(G, M).await.unwrap();
    assert_eq!(out.activity, 1);
    assert_eq!(
        store.activity(Timestamp(0)).await.unwrap(),
        vec![elsewhere, someone, count]
    );
}

async fn purge_removes_old_activity(store: Arc<dyn Store>) {
    let store = &*store;
    store
        .record_activity(&[
            activity_row(1000, ActivityKind::Answered),
            unanswered_row(4999, G, M, "old"),
            activity_row(5000, ActivityKind::Answered),
        ])
        .await
        .unwrap();
    let out = store.purge(Timestamp(5000)).await.unwrap();
    assert_eq!(out.activity, 2);
    assert_eq!(
        store.activity(Timestamp(0)).await.unwrap(),
        vec![activity_row(5000, ActivityKind::Answered)]
    );
}

async fn an_event_is_claimed_once_until_its_claim_expires(store: Arc<dyn Store>) {
    assert!(store.claim("message:1", Timestamp(1_000)).await.unwrap());
    assert!(!store.claim("message:1", Timestamp(2_000)).await.unwrap());
    assert!(store
        .claim("interaction:1", Timestamp(2_000))
        .await
        .unwrap());
    // Fifty claims of one event at once: exactly one wins.
    let wins = futures_util::future::join_all((0..50).map(|_| {
        let store = store.clone();
        async move { store.claim("message:2", Timestamp(3_000)).await.unwrap() }
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    // Expiry forgets claims made before the cut-off, and only those.
    assert_eq!(store.expire_claims(Timestamp(2_000)).await.unwrap(), 1);
    assert!(store.claim("message:1", Timestamp(4_000)).await.unwrap());
    assert!(!store
        .claim("interaction:1", Timestamp(4_000))
        .await
        .unwrap());
}

async fn a_claim_with_the_session_read_answers_both(store: Arc<dyn Store>) {
    let k = key(G, M);
    let at = Timestamp(1_000);
    // No session yet: claimed, nothing read.
    assert_eq!(
        store.claim_and_session("message:1", at, k).await.unwrap(),
        (true, None)
    );
    store
        .commit_turn(k, Expect::Absent, Some(&idle(1000)), &[], None)
        .await
        .unwrap();
    let (first, read) = store.claim_and_session("message:2", at, k).await.unwrap();
    assert!(first);
    assert_eq!(data(read.clone()), Some(idle(1000)));
    assert_eq!(
        read,
        store.session(k).await.unwrap(),
        "the version is read too"
    );
    // The same event again, from this or another process: not ours, nothing read.
    assert_eq!(
        store.claim_and_session("message:2", at, k).await.unwrap(),
        (false, None)
    );
    assert!(!store.claim("message:1", at).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// The app over a shared store

mod app_over_a_shared_store {
    use crate::support::hooked_store::{Hook, Hooked};
    use paymedic::app::{App, Origin};
    use paymedic::config::Config;
    use paymedic::engine::{Input, Timestamp};
    use paymedic::store::Store;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::sync::Notify;

    /// Holds the first `commit_turn` until released: a turn that has read the session and is
    /// about to write it, while another process works.
    #[derive(Default)]
    struct HoldFirstCommit {
        held: AtomicBool,
        reached: Notify,
        release: Notify,
    }

    #[async_trait::async_trait]
    impl Hook for HoldFirstCommit {
        async fn before(&self, op: &'static str) -> paymedic::store::Result<()> {
            if op == "commit_turn" && !self.held.swap(true, Ordering::SeqCst) {
                self.reached.notify_one();
                self.release.notified().await;
            }
            Ok(())
        }
    }

    /// Two processes (two apps over one store) take one member's messages at once: the turn
    /// whose write comes second finds the session changed, runs again from a fresh read, and
    /// both messages are in the conversation. Without the version check the second write
    /// replaced the first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_turn_that_loses_the_race_runs_again_and_keeps_both_messages() {
        let store = Arc::new(Hooked::new(HoldFirstCommit::default()));
        let app = |s: Arc<Hooked<HoldFirstCommit>>| {
            Arc::new(App::with_store(
                crate::common::engine(),
                Config::default(),
                s,
            ))
        };
        let (a, b) = (app(store.clone()), app(store.clone()));
        let user = crate::common::member(7, 1);
        let first = tokio::spawn(async move {
            let text = "klarna declined my order at asos";
            let turn = a
                .turn(
                    Origin::from(user),
                    Input::Text {
                        text,
                        addressed: true,
                    },
                    Timestamp(1_000),
                )
                .await;
            turn.map(|t| t.effects.len()).map_err(|e| e.to_string())
        });
        store.hook.reached.notified().await;
        let second = b
            .turn(
                Origin::from(user),
                Input::Text {
                    text: "my bank blocked the payment",
                    addressed: true,
                },
                Timestamp(1_001),
            )
            .await
            .unwrap();
        assert!(!second.effects.is_empty());
        store.hook.release.notify_one();
        let said = first.await.unwrap().unwrap();
        assert!(said > 0, "the first message was answered after its retry");
        let record = store.session(user).await.unwrap().unwrap();
        for text in [
            "klarna declined my order at asos",
            "my bank blocked the payment",
        ] {
            assert!(
                record.recent.iter().any(|r| r == text),
                "{text:?} was lost: {:?}",
                record.recent
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Apps on one PostgreSQL database

mod apps_on_one_database {
    use paymedic::app::{App, Staff};
    use paymedic::config::Config;
    use paymedic::engine::{MemberId, Timestamp};
    use paymedic::store::postgres::PgStore;
    use std::sync::Arc;
    use std::time::Duration;

    /// An incident one process starts reaches another process's next turn at once, through
    /// NOTIFY, though that process read "no incident" a moment before and would otherwise
    /// trust it for 5 s.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_incident_started_in_one_process_reaches_the_other_at_once() {
        let Some(url) = crate::store_contract::postgres_url() else {
            return;
        };
        let schema = crate::store_contract::fresh_schema();
        let store = |s: PgStore| -> Arc<dyn paymedic::store::Store> { Arc::new(s) };
        let a = store(PgStore::connect_in(&url, Some(&schema)).await.unwrap());
        let b_pg = Arc::new(PgStore::connect_in(&url, Some(&schema)).await.unwrap());
        let app = |s: Arc<dyn paymedic::store::Store>| {
            Arc::new(App::with_store(
                crate::common::engine(),
                Config::default(),
                s,
            ))
        };
        let (a, b) = (app(a), app(b_pg.clone()));
        let follower = tokio::spawn(paymedic::cluster::follow(b.clone()));
        // Give the listener time to LISTEN before anything is told.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = Timestamp(1_000_000);
        assert_eq!(b.active_incident(now).await.unwrap(), None);
        a.start_incident(
            Staff::trusted(MemberId(1)),
            "Card payments are failing at checkout",
            "",
            now,
        )
        .await
        .unwrap();
        // The same `now`: b's cache of "none" is still fresh, so only the note can change it.
        let mut seen = None;
        for _ in 0..100 {
            seen = b.active_incident(now).await.unwrap();
            if seen.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = seen.expect("the other process never heard of the incident");
        assert_eq!(seen.notice, "Card payments are failing at checkout");
        follower.abort();
        b_pg.drop_schema(&schema).await.unwrap();
    }
}
