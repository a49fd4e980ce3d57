//! The SQLite store: one file, WAL journal, `synchronous = FULL`, through sqlx.
//!
//! # Opening
//!
//! [`SqliteStore::open`] never creates, truncates or rewrites a file it didn't make:
//! 1. An existing file (or its `-wal`/`-shm` companion) whose permissions allow no writing is
//!    refused first: SQLite would open it read-only without a word, and create the companions
//!    read-only too, so fixing the file's permissions afterwards wouldn't be enough.
//! 2. A non-empty file is then opened through a **read-only** connection (no journal change,
//!    no checkpoint on close, so nothing written): SQLite checks the 16-byte header ("file is
//!    not a database" for anything else), `PRAGMA quick_check` the pages, then its tables are
//!    read (tables but no `_sqlx_migrations`: another program's database) and its applied
//!    migrations (one this binary doesn't know: [`StoreError::TooNew`]). Any of these failing
//!    leaves the file as it was.
//! 3. Only then is the pool opened read-write, with WAL, `synchronous = FULL`, foreign keys
//!    and a busy timeout on every connection; the embedded migrations run; a row written and
//!    rolled back checks the file and its folder can be written (on a write-protected file
//!    SQLite even turns `BEGIN IMMEDIATE` into a read); and the journal mode is checked.
//!
//! The file itself is never opened outside SQLite (not even to read its header): closing any
//! descriptor of a file drops every POSIX lock this process holds on it, including those of
//! a pool already open on it, which could let another process delete a WAL still in use.
//!
//! A missing file is created (`create_if_missing` only then); an empty file is an empty
//! database to SQLite, so it is initialized like a new one.
//!
//! # Writes
//!
//! SQLite has one writer at a time. A plain (deferred) `BEGIN` that reads and then writes can
//! fail with `SQLITE_BUSY` at once, without waiting, when another connection wrote in between
//! (its snapshot is stale), so every write transaction here starts with `BEGIN IMMEDIATE`,
//! which takes the write lock up front and waits for it (busy timeout) when another process
//! holds it. Inside this process, writers also queue on one async mutex before taking a pool
//! connection: with 50 writers at once they wait in FIFO order on the mutex instead of
//! polling SQLite's lock with the busy handler's sleeps (where one could lose the race until
//! its timeout ran out), and readers keep the pool's other connections, since WAL lets them
//! read while one connection writes. A dropped (cancelled) write is rolled back by sqlx before
//! its connection is used again.
//!
//! # Group commit
//!
//! With `synchronous = FULL` every commit waits for the disk (an fsync of the WAL): 3.3 ms a
//! commit on the development machine, so one commit per turn would cap the bot near 300 turns
//! a second. Turns are therefore committed by one task, [`committer`]: whatever turns are
//! waiting when it comes round go into one transaction, each in a savepoint of its own, and
//! share one fsync. An idle bot commits a lone turn at once; a busy one commits many per disk
//! write. Each caller still hears back only after its turn is on disk. The queue is bounded
//! ([`QUEUE_MAX`] turns): a caller that finds it full waits for room, so a slow disk slows
//! the callers down instead of growing the queue.
//!
//! # Values
//!
//! Snowflakes (u64) are stored in INTEGER (i64) columns by a bit-preserving cast (`as i64`,
//! and `as u64` back), so ids above `i64::MAX` read back unchanged; they are only compared
//! for equality. Timestamps (milliseconds) are stored as i64, saturating (exact until the year
//! 292 million), so comparing them in SQL is comparing times. Sessions and packets are JSON.
//! Errors never carry stored text: sqlx's messages name tables and columns, never values, and
//! JSON errors are reported by kind and position only.

use super::sql::{
    backend, bad, decode_json, encode_json, is_unique_violation, session_of, sid, sts, uid, uts,
    IncidentRow, TicketRow, INCIDENT_COLUMNS, TICKET_COLUMNS,
};
use super::sql::{ActivityRecord, ACTIVITY_COLUMNS};
use super::{
    scrub, ActivityRow, Expect, Expired, Forgotten, IncidentRecord, Opened, OutcomeKind,
    OutcomeRow, Purged, Result, SessionRecord, Started, Store, StoreError, Subscribed,
    TicketFilter, Updated,
};
use crate::engine::ids::{ChannelId, GuildId, IncidentId, MemberId, TicketId, UserKey};
use crate::engine::tickets::{EventKind, NewTicket, Packet, Ticket, TicketEvent};
use crate::engine::Timestamp;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::query::{Query, QueryAs};
use sqlx::sqlite::{
    Sqlite, SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex, MutexGuard};

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Connections in the pool: one writes at a time, the others read alongside (WAL). Two
/// measured slower in `benches/discord.rs` (reads waited behind writes) and used no less memory.
const MAX_CONNECTIONS: u32 = 4;
/// Each connection's page cache, in KiB (SQLite's default is 2000). The working set is small:
/// sessions and open tickets.
const CACHE_KIB: u32 = 1024;
/// How long a write waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection's settings, as SQLite reports them (for checks and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pragmas {
    pub journal_mode: String,
    /// 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

pub struct SqliteStore {
    pool: SqlitePool,
    /// Queues this process's writers (see the module docs).
    writer: Arc<Mutex<()>>,
    path: PathBuf,
    /// Turns waiting to be committed together (see "Group commit" in the module docs).
    turns: mpsc::Sender<TurnJob>,
}

/// One turn's write, waiting for the committer.
struct TurnJob {
    key: UserKey,
    expect: Expect,
    session: Option<SessionRecord>,
    outcomes: Vec<OutcomeRow>,
    open: Option<NewTicket>,
    done: oneshot::Sender<Result<Option<Opened>>>,
}

/// How hard a commit waits for the disk (`[store] synchronous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = FULL`: every commit is on disk before the reply is sent, even if the
    /// machine loses power. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL`: commits survive the bot crashing or being killed, but the last
    /// ones can be lost if the machine itself loses power; no fsync per commit.
    Normal,
}

/// The most turns committed in one transaction.
const BATCH_MAX: usize = 256;
/// Turns waiting for the committer at most; more wait for room (back-pressure). Each caller
/// waits on its own turn anyway, so this only matters with more callers than this at once.
const QUEUE_MAX: usize = 1024;

/// One write transaction: `BEGIN IMMEDIATE` on a pool connection, holding the writer mutex.
/// Dropped without [`Write::commit`], it rolls back (the transaction is dropped first, then
/// the mutex is released).
struct Write<'a> {
    tx: Transaction<'static, Sqlite>,
    _turn: MutexGuard<'a, ()>,
}

impl Write<'_> {
    fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(backend)
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`; see the module docs for what is checked.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, Durability::Full).await
    }

    /// [`SqliteStore::open`] with a chosen durability (`[store] synchronous`).
    pub async fn open_with(path: &Path, durability: Durability) -> Result<SqliteStore> {
        let existing = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(open_error(path, "it is a folder, not a file")),
            Ok(m) => Some(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(open_error(path, &io_detail(&e))),
        };
        match existing {
            None => {
                let parent = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                if !parent.is_dir() {
                    return Err(open_error(
                        path,
                        &format!("the folder {} does not exist", parent.display()),
                    ));
                }
            }
            Some(len) => {
                check_writable(path)?;
                if len > 0 {
                    inspect(path).await?;
                }
            }
        }

        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(existing.is_none())
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{CACHE_KIB}"));
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .connect_with(options)
            .await
            .map_err(|e| open_failure(path, e))?;
        let writer = Arc::new(Mutex::new(()));
        let (turns, queue) = mpsc::channel(QUEUE_MAX);
        let store = SqliteStore {
            pool: pool.clone(),
            writer: writer.clone(),
            path: path.to_path_buf(),
            turns,
        };
        match store.prepare().await {
            Ok(()) => {
                // Ends when the store (the queue's only sender) is dropped.
                tokio::spawn(committer(pool, writer, queue));
                Ok(store)
            }
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    /// Opens an existing, up-to-date database for reading only (`paymedic web`): nothing is
    /// created, migrated or written. A missing or empty file, or one that still needs a
    /// migration, is refused with its name; every write through the store fails.
    pub async fn open_read_only(path: &Path) -> Result<SqliteStore> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(open_error(path, "it is a folder, not a file")),
            Ok(m) if m.len() == 0 => {
                return Err(open_error(path, "it is empty: not a paymedic database yet"))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(open_error(
                    path,
                    "no such file (it is not created when read-only)",
                ))
            }
            Err(e) => return Err(open_error(path, &io_detail(&e))),
        }
        inspect(path).await?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{CACHE_KIB}"));
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .connect_with(options)
            .await
            .map_err(|e| open_failure(path, e))?;
        // Every migration this version knows must be there: reading an older schema would
        // fail query by query, and migrating is a write.
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&pool)
            .await
            .map_err(|e| open_failure(path, e))?;
        if let Some(missing) = MIGRATOR
            .iter()
            .map(|m| m.version)
            .find(|v| !applied.contains(v))
        {
            pool.close().await;
            return Err(open_error(
                path,
                &format!(
                    "it lacks migration {missing}: open it once with `paymedic run` or \
                     `paymedic chat --db` of this version to upgrade it, then read it"
                ),
            ));
        }
        // No committer: a turn sent here finds the queue closed and fails.
        let (turns, _) = mpsc::channel(1);
        Ok(SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
            path: path.to_path_buf(),
            turns,
        })
    }

    /// Migrates the file, checks it can be written, and checks the journal mode took.
    async fn prepare(&self) -> Result<()> {
        let path = &self.path;
        if let Err(first) = MIGRATOR.run(&self.pool).await {
            match first {
                // Another process may have been migrating the same new file at the same
                // moment: once it is done, a second run finds everything applied.
                MigrateError::Execute(_) | MigrateError::ExecuteMigration(..) => {
                    MIGRATOR
                        .run(&self.pool)
                        .await
                        .map_err(|e| migrate_failure(path, e))?;
                }
                e => return Err(migrate_failure(path, e)),
            }
        }

        // SQLite opens a write-protected file read-only without a word, and even turns
        // `BEGIN IMMEDIATE` into a read transaction there: only a real write shows it, so
        // write a row and roll it back.
        let mut probe = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| open_failure(path, e))?;
        sqlx::query(
            "INSERT INTO outcomes (intent, step, outcome, count) VALUES ('', '', 'fixed', 0) \
             ON CONFLICT DO NOTHING",
        )
        .execute(&mut *probe)
        .await
        .map_err(|e| open_failure(path, e))?;
        probe.rollback().await.map_err(|e| open_failure(path, e))?;

        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| open_failure(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_error(
                path,
                &format!(
                    "SQLite kept the {mode} journal instead of WAL (is it on a network drive?)"
                ),
            ));
        }
        Ok(())
    }

    /// The settings of every connection the pool holds (it opens all of them for this).
    pub async fn pragmas(&self) -> Result<Vec<Pragmas>> {
        let mut conns: Vec<PoolConnection<Sqlite>> = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            conns.push(self.pool.acquire().await.map_err(backend)?);
        }
        let mut out = Vec::new();
        for c in &mut conns {
            let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **c)
                .await
                .map_err(backend)?;
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **c)
                .await
                .map_err(backend)?;
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut **c)
                .await
                .map_err(backend)?;
            let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut **c)
                .await
                .map_err(backend)?;
            out.push(Pragmas {
                journal_mode,
                synchronous,
                foreign_keys: foreign_keys != 0,
                busy_timeout_ms,
            });
        }
        Ok(out)
    }

    /// Closes every connection (the last one checkpoints the WAL into the file). Later calls
    /// fail with a backend error.
    pub async fn close(&self) {
        // sqlx's `close` can miss a connection that is being handed back at that moment: it
        // lands in the idle queue after `close` looked there, and would be closed later, in
        // the background, when the pool is dropped. Closing again closes it now.
        for _ in 0..1000 {
            self.pool.close().await;
            if self.pool.size() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write(&self) -> Result<Write<'_>> {
        let turn = self.writer.lock().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        Ok(Write { tx, _turn: turn })
    }

    async fn read(&self) -> Result<PoolConnection<Sqlite>> {
        self.pool.acquire().await.map_err(backend)
    }
}

// ---------------------------------------------------------------------------------------------
// Group commit

/// Commits queued turns: everything waiting when it comes round goes into one transaction,
/// each turn in a savepoint of its own, so one fsync covers them all and a turn that fails
/// leaves the others. A turn's caller hears back only after the commit (commit before speak).
async fn committer(pool: SqlitePool, writer: Arc<Mutex<()>>, mut queue: mpsc::Receiver<TurnJob>) {
    let mut jobs = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = queue.recv().await {
        jobs.push(first);
        while jobs.len() < BATCH_MAX {
            match queue.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        commit_batch(&pool, &writer, &mut jobs).await;
    }
}

async fn commit_batch(pool: &SqlitePool, writer: &Mutex<()>, jobs: &mut Vec<TurnJob>) {
    let _turn = writer.lock().await;
    if let [j] = jobs.as_slice() {
        if j.open.is_none() && j.outcomes.is_empty() {
            // The commonest turn alone: one statement, atomic on its own, so it runs without
            // BEGIN and COMMIT (two fewer round trips to SQLite's thread; the same one sync).
            let r = match pool.acquire().await {
                Ok(mut conn) => save_session(&mut conn, j.key, j.expect, j.session.as_ref()).await,
                Err(e) => Err(backend(e)),
            };
            if let Some(j) = jobs.pop() {
                let _ = j.done.send(r.map(|()| None));
            }
            return;
        }
    }
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            for j in jobs.drain(..) {
                let _ = j.done.send(Err(backend_ref(&e)));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    if let [j] = jobs.as_slice() {
        // Alone: no savepoint needed (two fewer round trips to SQLite's thread); a failure
        // rolls the transaction back.
        match apply_turn(
            &mut tx,
            j.key,
            j.expect,
            j.session.as_ref(),
            &j.outcomes,
            j.open.as_ref(),
        )
        .await
        {
            Ok(opened) => results.push(Ok(opened)),
            Err(e) => {
                let _ = tx.rollback().await;
                if let Some(j) = jobs.pop() {
                    let _ = j.done.send(Err(e));
                }
                return;
            }
        }
    }
    let batched = if results.is_empty() { &jobs[..] } else { &[] };
    for j in batched {
        let r = match tx.begin().await {
            Ok(mut sp) => {
                match apply_turn(
                    &mut sp,
                    j.key,
                    j.expect,
                    j.session.as_ref(),
                    &j.outcomes,
                    j.open.as_ref(),
                )
                .await
                {
                    Ok(opened) => match sp.commit().await {
                        Ok(()) => Ok(opened),
                        Err(e) => Err(backend(e)),
                    },
                    Err(e) => {
                        let _ = sp.rollback().await;
                        Err(e)
                    }
                }
            }
            Err(e) => Err(backend(e)),
        };
        results.push(r);
    }
    match tx.commit().await {
        Ok(()) => {
            for (j, r) in jobs.drain(..).zip(results) {
                let _ = j.done.send(r);
            }
        }
        Err(e) => {
            for j in jobs.drain(..) {
                let _ = j.done.send(Err(backend_ref(&e)));
            }
        }
    }
}

fn backend_ref(e: &sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// One turn's writes, inside the caller's transaction.
async fn apply_turn(
    conn: &mut SqliteConnection,
    key: UserKey,
    expect: Expect,
    session: Option<&SessionRecord>,
    outcomes: &[OutcomeRow],
    open: Option<&NewTicket>,
) -> Result<Option<Opened>> {
    let opened = match open {
        None => None,
        Some(new) => {
            let t = Ticket::from_new(TicketId(0), new);
            let packet = encode_json("ticket packet", &t.packet)?;
            let inserted: Option<i64> = bind_ticket(sqlx::query(INSERT_TICKET), &t, packet)
                .bind(t.version)
                .fetch_optional(&mut *conn)
                .await
                .map_err(backend)?
                .map(|row| row.try_get::<i64, _>(0))
                .transpose()
                .map_err(backend)?;
            match inserted {
                Some(id) => Some(Opened::Created(Ticket {
                    id: TicketId(id),
                    ..t
                })),
                // A unique index refused it: the same request, or an active ticket.
                None => {
                    let by_key = match &new.request_key {
                        Some(k) => ticket_by_request_key(&mut *conn, k).await?,
                        None => None,
                    };
                    let existing = match by_key {
                        Some(t) => t,
                        None => active_of(&mut *conn, new.guild, new.member)
                            .await?
                            .ok_or_else(|| {
                                StoreError::Backend(
                                    "a new ticket was refused, but no ticket stands in its way"
                                        .into(),
                                )
                            })?,
                    };
                    Some(Opened::Existing(existing))
                }
            }
        }
    };
    save_session(&mut *conn, key, expect, session).await?;
    for o in outcomes {
        sqlx::query(
            "INSERT INTO outcomes (intent, step, outcome, count) VALUES (?, ?, ?, 1) \
                 ON CONFLICT (intent, step, outcome) DO UPDATE SET count = count + 1",
        )
        .bind(o.intent.as_str())
        .bind(o.step.as_deref().unwrap_or(""))
        .bind(o.outcome.as_str())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    Ok(opened)
}

// ---------------------------------------------------------------------------------------------
// Opening checks

fn open_error(path: &Path, detail: &str) -> StoreError {
    StoreError::Open {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn corrupt(path: &Path, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn io_detail(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "permission denied: paymedic may not read or write it (check the permissions of the \
             file and its folder)"
                .to_string()
        }
        std::io::ErrorKind::NotFound => "it does not exist".to_string(),
        _ => e.to_string(),
    }
}

/// An error from SQLite while opening, in plain words; a damaged file is [`StoreError::Corrupt`].
fn open_failure(path: &Path, e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    let message = match &e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    };
    // Primary result codes (the low byte of an extended code).
    match code.map(|c| c & 0xff) {
        Some(26) => corrupt(
            path,
            format!("it is not an SQLite database; SQLite says: {message}"),
        ),
        Some(11) => corrupt(path, format!("SQLite says: {message}")),
        Some(8) => open_error(
            path,
            "the database, its -wal or -shm file, or its folder is read-only: paymedic must \
             write all of them (the folder holds the -wal and -shm files next to the database)",
        ),
        Some(14) => open_error(
            path,
            &format!(
                "SQLite cannot open or create it (does its folder exist, and may paymedic write \
                 there?): {message}"
            ),
        ),
        Some(5) | Some(6) => open_error(
            path,
            "another program holds the database locked; stop it or wait, then start again",
        ),
        Some(23) | Some(3) => open_error(
            path,
            "permission denied: paymedic may not read or write it (check the permissions of \
             the file and its folder)",
        ),
        _ => open_error(path, &format!("SQLite says: {message}")),
    }
}

fn migrate_failure(path: &Path, e: MigrateError) -> StoreError {
    match e {
        MigrateError::VersionMissing(version) => StoreError::TooNew {
            path: path.to_path_buf(),
            version,
        },
        MigrateError::VersionMismatch(v) => corrupt(
            path,
            format!("its migration {v} differs from the one this version of paymedic has"),
        ),
        MigrateError::Dirty(v) => corrupt(path, format!("its migration {v} was left half done")),
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => open_failure(path, e),
        other => open_error(path, &format!("the schema could not be set up: {other}")),
    }
}

/// Refuses a database, or a `-wal`/`-shm` file next to it, that its permissions make
/// read-only (by its mode bits: no file is opened, see the module docs).
fn check_writable(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        match std::fs::metadata(&file) {
            Ok(m) if m.permissions().readonly() => {
                let detail = format!(
                    "{} is read-only: paymedic must be able to write it (check its permissions)",
                    file.display()
                );
                return Err(open_error(path, &detail));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(open_error(path, &io_detail(&e))),
        }
    }
    Ok(())
}

/// Looks at an existing database through a read-only connection, which can't change it: its
/// integrity, whose tables it holds, and which migrations it has.
async fn inspect(path: &Path) -> Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| open_failure(path, e))?;
    let verdict = inspect_with(path, &mut conn).await;
    // Closing a read-only connection never checkpoints or writes.
    let _ = conn.close().await;
    verdict
}

async fn inspect_with(path: &Path, conn: &mut SqliteConnection) -> Result<()> {
    let check: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(1)")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| open_failure(path, e))?;
    match check.first().map(String::as_str) {
        Some("ok") => {}
        Some(problem) => {
            return Err(corrupt(
                path,
                format!("SQLite's integrity check found: {problem}"),
            ))
        }
        None => return Err(corrupt(path, "SQLite's integrity check gave no answer")),
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master \
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| open_failure(path, e))?;
    if tables.is_empty() {
        return Ok(());
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(corrupt(
            path,
            "it is another program's SQLite database (it has tables, but no paymedic schema)",
        ));
    }
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| open_failure(path, e))?;
    if let Some(version) = applied
        .into_iter()
        .filter(|v| !MIGRATOR.version_exists(*v))
        .max()
    {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            version,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tickets (values and rows are shared with PostgreSQL: see `sql.rs`)

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;
type TicketQuery<'q> = QueryAs<'q, Sqlite, TicketRow, SqliteArguments<'q>>;

/// Binds every ticket column but `id` and `version`, in [`TICKET_COLUMNS`] order.
fn bind_ticket<'q>(q: SqliteQuery<'q>, t: &'q Ticket, packet: String) -> SqliteQuery<'q> {
    let member = |m: Option<MemberId>| m.map(|m| sid(m.0));
    q.bind(sid(t.guild.0))
        .bind(sid(t.member.0))
        .bind(t.status.as_str())
        .bind(member(t.opened_by))
        .bind(packet)
        .bind(t.thread.map(|c| sid(c.0)))
        .bind(t.packet_message.map(|m| sid(m.0)))
        .bind(member(t.claimed_by))
        .bind(sts(t.opened_at))
        .bind(sts(t.last_activity))
        .bind(t.sla_reminded)
        .bind(t.inactivity_warned)
        .bind(t.closed_at.map(sts))
        .bind(member(t.closed_by))
        .bind(t.close_reason.as_deref())
        .bind(t.rating)
        .bind(t.request_key.as_deref())
        .bind(t.transcript.as_deref())
}

const INSERT_TICKET: &str = "INSERT INTO tickets (guild, member, status, opened_by, packet, \
    thread, packet_message, claimed_by, opened_at, last_activity, sla_reminded, \
    inactivity_warned, closed_at, closed_by, close_reason, rating, request_key, transcript, \
    version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
    ON CONFLICT DO NOTHING RETURNING id";

const UPDATE_TICKET: &str = "UPDATE tickets SET guild = ?, member = ?, status = ?, \
    opened_by = ?, packet = ?, thread = ?, packet_message = ?, claimed_by = ?, opened_at = ?, \
    last_activity = ?, sla_reminded = ?, inactivity_warned = ?, closed_at = ?, closed_by = ?, \
    close_reason = ?, rating = ?, request_key = ?, transcript = ?, version = version + 1 \
    WHERE id = ? AND version = ?";

const ACTIVE: &str = "status IN ('opening', 'open')";

async fn fetch_ticket(
    conn: &mut SqliteConnection,
    condition: &str,
    bind: impl for<'q> FnOnce(TicketQuery<'q>) -> TicketQuery<'q>,
) -> Result<Option<Ticket>> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE {condition}");
    let row = bind(sqlx::query_as::<_, TicketRow>(&sql))
        .fetch_optional(conn)
        .await
        .map_err(backend)?;
    row.map(TicketRow::into_ticket).transpose()
}

async fn ticket_by_id(conn: &mut SqliteConnection, id: TicketId) -> Result<Option<Ticket>> {
    fetch_ticket(conn, "id = ?", |q| q.bind(id.0)).await
}

async fn ticket_by_request_key(conn: &mut SqliteConnection, key: &str) -> Result<Option<Ticket>> {
    let key = key.to_string();
    fetch_ticket(conn, "request_key = ?", move |q| q.bind(key)).await
}

async fn active_of(
    conn: &mut SqliteConnection,
    guild: GuildId,
    member: MemberId,
) -> Result<Option<Ticket>> {
    let condition = format!("guild = ? AND member = ? AND {ACTIVE}");
    fetch_ticket(conn, &condition, |q| {
        q.bind(sid(guild.0)).bind(sid(member.0))
    })
    .await
}

async fn insert_event(conn: &mut SqliteConnection, id: TicketId, e: &TicketEvent) -> Result<()> {
    sqlx::query("INSERT INTO ticket_events (ticket, at, actor, kind, text) VALUES (?, ?, ?, ?, ?)")
        .bind(id.0)
        .bind(sts(e.at))
        .bind(e.actor.map(|m| sid(m.0)))
        .bind(e.kind.as_str())
        .bind(e.text.as_deref())
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn save_session(
    conn: &mut SqliteConnection,
    key: UserKey,
    expect: Expect,
    session: Option<&SessionRecord>,
) -> Result<()> {
    // ?1, ?2: the member; ?3..?5: the session, when written; then the version expected.
    let sql = match (session.is_some(), expect) {
        (true, Expect::Absent) => {
            "INSERT INTO sessions (guild, member, updated, handed_off, data, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (guild, member) DO NOTHING"
        }
        (true, Expect::Version(_)) => {
            "UPDATE sessions SET updated = ?3, handed_off = ?4, data = ?5, \
             version = version + 1 WHERE guild = ?1 AND member = ?2 AND version = ?6"
        }
        (true, Expect::Any) => {
            "INSERT INTO sessions (guild, member, updated, handed_off, data, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (guild, member) DO UPDATE SET \
             updated = excluded.updated, handed_off = excluded.handed_off, \
             data = excluded.data, version = sessions.version + 1"
        }
        (false, Expect::Absent) => return Ok(()),
        (false, Expect::Version(_)) => {
            "DELETE FROM sessions WHERE guild = ?1 AND member = ?2 AND version = ?3"
        }
        (false, Expect::Any) => "DELETE FROM sessions WHERE guild = ?1 AND member = ?2",
    };
    let mut q = sqlx::query(sql)
        .bind(sid(key.guild.0))
        .bind(sid(key.member.0));
    if let Some(s) = session {
        q = q
            .bind(sts(s.updated()))
            .bind(s.is_handed_off())
            .bind(encode_json("session", s)?);
    }
    if let Expect::Version(v) = expect {
        q = q.bind(sid(v));
    }
    let done = q.execute(conn).await.map_err(backend)?.rows_affected();
    if done == 0 && expect != Expect::Any {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// An `incidents` row.
async fn active_incident_in(conn: &mut SqliteConnection) -> Result<Option<IncidentRecord>> {
    let row: Option<IncidentRow> = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ended_at IS NULL"
    ))
    .fetch_optional(conn)
    .await
    .map_err(backend)?;
    row.map(IncidentRow::into_record).transpose()
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn claim(&self, key: &str, at: Timestamp) -> Result<bool> {
        let mut w = self.write().await?;
        let n = sqlx::query("INSERT INTO claims (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(sts(at))
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        w.commit().await?;
        Ok(n == 1)
    }

    async fn expire_claims(&self, before: Timestamp) -> Result<u64> {
        let mut w = self.write().await?;
        let n = sqlx::query("DELETE FROM claims WHERE at < ?")
            .bind(sts(before))
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        w.commit().await?;
        Ok(n)
    }

    async fn start_incident(
        &self,
        notice: &str,
        intents: &[String],
        at: Timestamp,
        by: MemberId,
    ) -> Result<Started> {
        let intents_json = encode_json("incident intents", &intents)?;
        let mut w = self.write().await?;
        // BEGIN IMMEDIATE holds the write lock, so the check and the write can't interleave
        // with another process; the unique index backs it up.
        let started = match active_incident_in(w.conn()).await? {
            Some(mut active) => {
                sqlx::query("UPDATE incidents SET notice = ?, intents = ? WHERE id = ?")
                    .bind(notice)
                    .bind(&intents_json)
                    .bind(active.id.0)
                    .execute(w.conn())
                    .await
                    .map_err(backend)?;
                active.notice = notice.to_string();
                active.intents = intents.to_vec();
                Started::Replaced(active)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO incidents (notice, intents, started_at, started_by) \
                     VALUES (?, ?, ?, ?) RETURNING id",
                )
                .bind(notice)
                .bind(&intents_json)
                .bind(sts(at))
                .bind(sid(by.0))
                .fetch_one(w.conn())
                .await
                .map_err(backend)?;
                Started::New(IncidentRecord {
                    id: IncidentId(id),
                    notice: notice.to_string(),
                    intents: intents.to_vec(),
                    started_at: at,
                    started_by: by,
                    ended_at: None,
                    ended_by: None,
                })
            }
        };
        w.commit().await?;
        Ok(started)
    }

    async fn active_incident(&self) -> Result<Option<IncidentRecord>> {
        let mut conn = self.read().await?;
        active_incident_in(&mut conn).await
    }

    async fn end_incident(&self, at: Timestamp, by: MemberId) -> Result<Option<IncidentRecord>> {
        let mut w = self.write().await?;
        let Some(mut active) = active_incident_in(w.conn()).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE incidents SET ended_at = ?, ended_by = ? WHERE id = ?")
            .bind(sts(at))
            .bind(sid(by.0))
            .bind(active.id.0)
            .execute(w.conn())
            .await
            .map_err(backend)?;
        w.commit().await?;
        active.ended_at = Some(at);
        active.ended_by = Some(by);
        Ok(Some(active))
    }

    async fn had_incident(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n > 0)
    }

    async fn subscribe(
        &self,
        incident: IncidentId,
        who: UserKey,
        at: Timestamp,
    ) -> Result<Subscribed> {
        let mut w = self.write().await?;
        let active: Option<i64> =
            sqlx::query_scalar("SELECT id FROM incidents WHERE id = ? AND ended_at IS NULL")
                .bind(incident.0)
                .fetch_optional(w.conn())
                .await
                .map_err(backend)?;
        if active.is_none() {
            return Ok(Subscribed::Over);
        }
        let added = sqlx::query(
            "INSERT INTO incident_subscriptions (incident, guild, member, at) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(incident.0)
        .bind(sid(who.guild.0))
        .bind(sid(who.member.0))
        .bind(sts(at))
        .execute(w.conn())
        .await
        .map_err(backend)?
        .rows_affected();
        w.commit().await?;
        Ok(if added == 1 {
            Subscribed::Added
        } else {
            Subscribed::Already
        })
    }

    async fn subscribers(&self, incident: IncidentId) -> Result<Vec<UserKey>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT guild, member FROM incident_subscriptions WHERE incident = ? \
             ORDER BY at, guild, member",
        )
        .bind(incident.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(g, m)| UserKey::new(GuildId(uid(g)), MemberId(uid(m))))
            .collect())
    }

    async fn unsubscribe(&self, incident: IncidentId, who: UserKey) -> Result<bool> {
        let mut w = self.write().await?;
        let n = sqlx::query(
            "DELETE FROM incident_subscriptions WHERE incident = ? AND guild = ? AND member = ?",
        )
        .bind(incident.0)
        .bind(sid(who.guild.0))
        .bind(sid(who.member.0))
        .execute(w.conn())
        .await
        .map_err(backend)?
        .rows_affected();
        w.commit().await?;
        Ok(n > 0)
    }

    async fn unfinished_fanouts(&self) -> Result<Vec<IncidentRecord>> {
        let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ended_at IS NOT NULL \
             AND id IN (SELECT incident FROM incident_subscriptions) ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(IncidentRow::into_record).collect()
    }

    async fn session(&self, key: UserKey) -> Result<Option<SessionRecord>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, version FROM sessions WHERE guild = ? AND member = ?")
                .bind(sid(key.guild.0))
                .bind(sid(key.member.0))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(|(data, version)| session_of(&data, version))
            .transpose()
    }

    async fn commit_turn(
        &self,
        key: UserKey,
        expect: Expect,
        session: Option<&SessionRecord>,
        outcomes: &[OutcomeRow],
        open: Option<&NewTicket>,
    ) -> Result<Option<Opened>> {
        let (done, answer) = oneshot::channel();
        let job = TurnJob {
            key,
            expect,
            session: session.cloned(),
            outcomes: outcomes.to_vec(),
            open: open.cloned(),
            done,
        };
        self.turns
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the store's committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the store's committer has stopped".into()))?
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        ticket_by_id(&mut *self.read().await?, id).await
    }

    async fn ticket_by_thread(&self, thread: ChannelId) -> Result<Option<Ticket>> {
        fetch_ticket(
            &mut *self.read().await?,
            "thread = ? ORDER BY id DESC LIMIT 1",
            |q| q.bind(sid(thread.0)),
        )
        .await
    }

    async fn active_ticket(&self, guild: GuildId, member: MemberId) -> Result<Option<Ticket>> {
        active_of(&mut *self.read().await?, guild, member).await
    }

    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE 1 = 1");
        if filter.guild.is_some() {
            sql.push_str(" AND guild = ?");
        }
        if !filter.statuses.is_empty() {
            let marks = vec!["?"; filter.statuses.len()].join(", ");
            sql.push_str(&format!(" AND status IN ({marks})"));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        let mut q: TicketQuery<'_> = sqlx::query_as(&sql);
        if let Some(g) = filter.guild {
            q = q.bind(sid(g.0));
        }
        for s in &filter.statuses {
            q = q.bind(s.as_str());
        }
        // LIMIT -1: no limit.
        q = q.bind(filter.limit.map_or(-1, i64::from));
        q.fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .into_iter()
            .map(TicketRow::into_ticket)
            .collect()
    }

    async fn update_ticket(
        &self,
        ticket: &Ticket,
        event: Option<&TicketEvent>,
        session: Option<(UserKey, Option<&SessionRecord>)>,
    ) -> Result<Updated> {
        let mut w = self.write().await?;
        let packet = encode_json("ticket packet", &ticket.packet)?;
        let written = bind_ticket(sqlx::query(UPDATE_TICKET), ticket, packet)
            .bind(ticket.id.0)
            .bind(ticket.version)
            .execute(w.conn())
            .await;
        match written {
            Ok(r) if r.rows_affected() == 0 => return Ok(Updated::Stale),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) && ticket.status.is_active() => {
                // Dropping `w` rolls the transaction back.
                return match active_of(w.conn(), ticket.guild, ticket.member).await? {
                    Some(other) if other.id != ticket.id => Ok(Updated::MemberHasActive),
                    _ => Err(backend(e)),
                };
            }
            Err(e) => return Err(backend(e)),
        }
        if let Some(e) = event {
            insert_event(w.conn(), ticket.id, e).await?;
        }
        if let Some((key, s)) = session {
            save_session(w.conn(), key, Expect::Any, s).await?;
        }
        w.commit().await?;
        Ok(Updated::Done)
    }

    async fn add_event(&self, id: TicketId, event: &TicketEvent, touch: bool) -> Result<()> {
        let mut w = self.write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = ?")
            .bind(id.0)
            .fetch_optional(w.conn())
            .await
            .map_err(backend)?;
        if exists.is_none() {
            return Ok(());
        }
        insert_event(w.conn(), id, event).await?;
        if touch {
            sqlx::query("UPDATE tickets SET last_activity = MAX(last_activity, ?) WHERE id = ?")
                .bind(sts(event.at))
                .bind(id.0)
                .execute(w.conn())
                .await
                .map_err(backend)?;
        }
        w.commit().await
    }

    async fn events(&self, id: TicketId) -> Result<Vec<TicketEvent>> {
        #[derive(sqlx::FromRow)]
        struct EventRow {
            at: i64,
            actor: Option<i64>,
            kind: String,
            text: Option<String>,
        }
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT at, actor, kind, text FROM ticket_events WHERE ticket = ? ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|r| {
                Ok(TicketEvent {
                    at: uts("ticket event", r.at)?,
                    actor: r.actor.map(|a| MemberId(uid(a))),
                    kind: EventKind::parse(&r.kind)
                        .ok_or_else(|| bad("ticket event", "an unknown kind"))?,
                    text: r.text,
                })
            })
            .collect()
    }

    async fn record_feedback(
        &self,
        ticket: TicketId,
        member: MemberId,
        solved: bool,
        at: Timestamp,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let rated = sqlx::query("UPDATE tickets SET rating = ? WHERE id = ?")
            .bind(solved)
            .bind(ticket.0)
            .execute(w.conn())
            .await
            .map_err(backend)?;
        if rated.rows_affected() == 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO feedback (ticket, member, solved, at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (ticket) DO UPDATE SET member = excluded.member, \
             solved = excluded.solved, at = excluded.at",
        )
        .bind(ticket.0)
        .bind(sid(member.0))
        .bind(solved)
        .bind(sts(at))
        .execute(w.conn())
        .await
        .map_err(backend)?;
        w.commit().await
    }

    async fn feedback(&self) -> Result<Vec<(TicketId, bool)>> {
        let rows: Vec<(i64, bool)> =
            sqlx::query_as("SELECT ticket, solved FROM feedback ORDER BY ticket")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(t, s)| (TicketId(t), s)).collect())
    }

    async fn outcomes(&self) -> Result<Vec<(OutcomeRow, u64)>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT intent, step, outcome, count FROM outcomes")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        let mut out = rows
            .into_iter()
            .map(|(intent, step, outcome, count)| {
                let outcome = OutcomeKind::parse(&outcome)
                    .ok_or_else(|| bad("outcome", "an unknown kind"))?;
                let row = OutcomeRow {
                    intent,
                    step: (!step.is_empty()).then_some(step),
                    outcome,
                };
                Ok((row, u64::try_from(count).unwrap_or(0)))
            })
            .collect::<Result<Vec<_>>>()?;
        // The memory store's order: by intent, then step (none first), then outcome.
        out.sort();
        Ok(out)
    }

    async fn expire_sessions(&self, before: Timestamp) -> Result<Expired> {
        let mut w = self.write().await?;
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "DELETE FROM sessions WHERE handed_off = 0 AND updated < ? \
             RETURNING guild, member, data",
        )
        .bind(sts(before))
        .fetch_all(w.conn())
        .await
        .map_err(backend)?;
        w.commit().await?;
        let mut out = Expired {
            count: rows.len() as u64,
            sessions: Vec::new(),
        };
        for (g, m, data) in rows {
            // Already deleted: one that can't be read is only counted.
            if let Ok(r) = decode_json::<SessionRecord>("session", &data) {
                let key = UserKey::new(GuildId(uid(g)), MemberId(uid(m)));
                out.sessions.push((key, r.session));
            }
        }
        Ok(out)
    }

    async fn session_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn forget_member(&self, guild: GuildId, member: MemberId) -> Result<Forgotten> {
        let mut w = self.write().await?;
        let mut out = Forgotten::default();
        let (g, m) = (sid(guild.0), sid(member.0));
        sqlx::query("DELETE FROM incident_subscriptions WHERE guild = ? AND member = ?")
            .bind(g)
            .bind(m)
            .execute(w.conn())
            .await
            .map_err(backend)?;
        out.activity = sqlx::query("DELETE FROM activity WHERE guild = ? AND member = ?")
            .bind(g)
            .bind(m)
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        out.sessions = sqlx::query("DELETE FROM sessions WHERE guild = ? AND member = ?")
            .bind(g)
            .bind(m)
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();

        let theirs: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT id, packet, transcript FROM tickets WHERE guild = ? AND member = ? ORDER BY id",
        )
        .bind(g)
        .bind(m)
        .fetch_all(w.conn())
        .await
        .map_err(backend)?;
        for (id, packet, transcript) in theirs {
            let mut packet: Packet = decode_json("ticket packet", &packet)?;
            packet.recent.clear();
            sqlx::query(
                "UPDATE tickets SET member = ?, packet = ?, transcript = ?, version = version + 1 \
                 WHERE id = ?",
            )
            .bind(sid(MemberId::FORGOTTEN.0))
            .bind(encode_json("ticket packet", &packet)?)
            .bind(transcript.map(|s| scrub(&s, member)))
            .bind(id)
            .execute(w.conn())
            .await
            .map_err(backend)?;
            out.tickets += 1;
            out.feedback += sqlx::query("DELETE FROM feedback WHERE ticket = ?")
                .bind(id)
                .execute(w.conn())
                .await
                .map_err(backend)?
                .rows_affected();
        }

        // Events on any ticket in the guild: the member's own, and others' that name them
        // (every text `scrub` changes contains the id).
        let events: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, e.actor, e.text FROM ticket_events e JOIN tickets t ON t.id = e.ticket \
             WHERE t.guild = ? AND (e.actor = ? OR instr(e.text, ?) > 0)",
        )
        .bind(g)
        .bind(m)
        .bind(member.to_string())
        .fetch_all(w.conn())
        .await
        .map_err(backend)?;
        for (id, actor, text) in events {
            let actor = if actor == Some(m) {
                Some(sid(MemberId::FORGOTTEN.0))
            } else {
                actor
            };
            sqlx::query("UPDATE ticket_events SET actor = ?, text = ? WHERE id = ?")
                .bind(actor)
                .bind(text.map(|s| scrub(&s, member)))
                .bind(id)
                .execute(w.conn())
                .await
                .map_err(backend)?;
        }
        w.commit().await?;
        Ok(out)
    }

    async fn purge(&self, before: Timestamp) -> Result<Purged> {
        let mut w = self.write().await?;
        let before = sts(before);
        let old = "SELECT id FROM tickets WHERE status IN ('closed', 'failed') \
                   AND COALESCE(closed_at, opened_at) < ?";
        // Events and feedback go by the foreign keys' cascade too; deleting them here doesn't
        // depend on the connection's foreign_keys setting.
        for table in ["ticket_events", "feedback"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE ticket IN ({old})"))
                .bind(before)
                .execute(w.conn())
                .await
                .map_err(backend)?;
        }
        let tickets = sqlx::query(&format!("DELETE FROM tickets WHERE id IN ({old})"))
            .bind(before)
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE updated < ?")
            .bind(before)
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        let activity = sqlx::query("DELETE FROM activity WHERE at < ?")
            .bind(before)
            .execute(w.conn())
            .await
            .map_err(backend)?
            .rows_affected();
        w.commit().await?;
        Ok(Purged {
            sessions,
            tickets,
            activity,
        })
    }

    async fn record_activity(&self, rows: &[ActivityRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut w = self.write().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO activity (at, guild, kind, intent, step, confidence, text, \
                 nearest, score, member) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(sts(r.at))
            .bind(sid(r.guild.0))
            .bind(r.kind.as_str())
            .bind(r.intent.as_deref())
            .bind(r.step.as_deref())
            .bind(r.confidence)
            .bind(r.text.as_deref())
            .bind(r.nearest.as_deref())
            .bind(r.score)
            .bind(r.member.map(|m| sid(m.0)))
            .execute(w.conn())
            .await
            .map_err(backend)?;
        }
        w.commit().await
    }

    async fn activity(&self, since: Timestamp) -> Result<Vec<ActivityRow>> {
        let rows: Vec<ActivityRecord> = sqlx::query_as(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity WHERE at >= ? ORDER BY at, id"
        ))
        .bind(sts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ActivityRecord::into_row).collect()
    }
}
