//! The PostgreSQL store, for several bot processes sharing one database; through sqlx, like
//! SQLite, with its own migrations (`migrations/postgres`) and the same contract suite.
//!
//! # Concurrency
//!
//! Every rule the trait states is kept by the database, so it holds across processes:
//! - one active ticket per member per guild is a partial unique index, and a new ticket is
//!   inserted with `ON CONFLICT DO NOTHING`: of two processes opening at once, one inserts and
//!   the other (which PostgreSQL makes wait for the first to commit) finds the winner's ticket;
//! - a request key is a unique index, the same way;
//! - a ticket changes only over the version it was read at (`WHERE id = $n AND version = $m`),
//!   so two processes acting on one ticket can't overwrite each other.
//! - at most one incident is active (a partial unique index), and starting, ending and
//!   subscribing take a transaction advisory lock, so a start can't race another and a
//!   subscription can't land after the end read its list.
//!
//! A turn is one transaction (session, outcome counts, and the ticket it opens). There is no
//! group commit as in SQLite: PostgreSQL commits concurrent transactions together on its own.
//!
//! # Values
//!
//! As in SQLite: snowflakes in BIGINT by a bit-preserving cast, times as BIGINT milliseconds,
//! sessions and packets as JSON text. Errors never carry stored text or the URL (which may
//! hold a password): a connection error names the host, port and database only.

use super::sql::{
    backend, bad, decode_json, encode_json, is_unique_violation, session_of, sid, sts, uid, uts,
    IncidentRow, TicketRow, INCIDENT_COLUMNS, TICKET_COLUMNS,
};
use super::sql::{ActivityRecord, ACTIVITY_COLUMNS};
use super::{
    scrub, ActivityRow, Expect, Expired, Forgotten, IncidentRecord, Note, Opened, OutcomeKind,
    OutcomeRow, Purged, Result, SessionRecord, ShardSpan, Started, Store, StoreError, Subscribed,
    TicketFilter, Updated,
};
use crate::engine::ids::{ChannelId, GuildId, IncidentId, MemberId, TicketId, UserKey};
use crate::engine::tickets::{EventKind, NewTicket, Packet, Ticket, TicketEvent};
use crate::engine::Timestamp;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres,
};
use sqlx::query::{Query, QueryAs};
use sqlx::{Connection, Row};
use std::str::FromStr;
use std::time::Duration;

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per process. Each turn holds one for a transaction of a few statements.
const MAX_CONNECTIONS: u32 = 8;
/// How long start-up waits for the database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a running bot's store call waits for a connection. A healthy pool hands one out in
/// milliseconds (handlers in flight are bounded near the pool's size), so a longer wait means
/// the database is gone: sqlx then retries a refused connection, with backoff, until this
/// runs out. A member's message waits once (its claim and session read are one statement),
/// a button press twice (the gate's claim, then the session), so at 3 s the press is told
/// "something went wrong" within about 6 s instead of 20, and the next call after the
/// database returns connects again.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// A pooled connection idle at least this long is pinged before it is handed out (one that
/// died in an outage is then replaced instead of failing a turn). sqlx pings before every
/// acquire by default, a round trip on every statement's path; a busy bot reuses its
/// connections within milliseconds, so it skips that, while a quiet or recovering one still
/// checks. (sqlx 0.8 also pings every connection when it goes back to the pool, after the
/// statement: that one can't be turned off.)
const PING_IF_IDLE: Duration = Duration::from_secs(1);

pub struct PgStore {
    pool: PgPool,
    /// `host:port/database`, for errors (never the URL: it may hold a password).
    target: String,
    /// The first key of this schema's advisory locks and the suffix of its notification
    /// channel: locks and channels are database-wide, so two schemas (two test runs, two
    /// deployments on one server) must not share them.
    ns: i32,
    /// The connection holding the leader lock, while this process leads. The lock lives as
    /// long as the connection: a process that dies (even by SIGKILL) releases it at once.
    leader: tokio::sync::Mutex<Option<PgConnection>>,
    /// The connection holding this process's shard locks (see [`Store::hold_shards`]).
    shards: tokio::sync::Mutex<Option<PgConnection>>,
    /// This process's tag in notifications, so it skips its own.
    tag: String,
}

/// Advisory lock keys, second half of `(ns, key)`.
const LEADER_KEY: i32 = 1;
/// Held exclusively by a process running every shard, shared by one running a range.
const ALL_SHARDS_KEY: i32 = 2;
/// `TOTAL_KEYS + total_shards`, held shared: processes must agree on the total.
const TOTAL_KEYS: i32 = 1_000_000;
/// `SHARD_KEYS + shard`, held exclusively by the process running that shard.
const SHARD_KEYS: i32 = 2_000_000;
/// Shard counts above this are refused (Discord's largest bots run a few thousand).
const SHARDS_MAX: u32 = 100_000;

/// A schema's lock namespace: FNV-1a of its name, kept positive (pg_locks shows it as an oid).
fn namespace(schema: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in schema.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h & 0x7fff_ffff) as i32
}

/// A random tag for this process's notifications.
fn process_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos}", std::process::id())
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), creating or
    /// migrating its schema.
    pub async fn connect(url: &str) -> Result<PgStore> {
        PgStore::connect_in(url, None).await
    }

    /// [`PgStore::connect`] inside a schema of its own (created if missing): tests use one
    /// per run, so runs never collide, and drop it with [`PgStore::drop_schema`].
    pub async fn connect_in(url: &str, schema: Option<&str>) -> Result<PgStore> {
        let options = parse(url)?;
        let target = target(&options);
        let options = options.application_name("paymedic");
        if let Some(s) = schema {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::Connect {
                    target,
                    detail: format!("{s:?} is not a plain schema name"),
                });
            }
        }
        // One connection first: a refused or unknown host fails here at once, with its
        // reason (the pool would retry until its timeout and report only that).
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| unreachable(&target, "no answer in 10 s"))?
            .map_err(|e| connect_failure(&target, e))?;
        if let Some(s) = schema {
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
                .execute(&mut conn)
                .await
                .map_err(|e| connect_failure(&target, e))?;
        }
        let _ = conn.close().await;
        let options = match schema {
            Some(s) => options.options([("search_path", s)]),
            None => options,
        };
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| connect_failure(&target, e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| migrate_failure(&target, e))?;
        PgStore::over(pool, target).await
    }

    async fn over(pool: PgPool, target: String) -> Result<PgStore> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await
            .map_err(|e| connect_failure(&target, e))?;
        Ok(PgStore {
            pool,
            target,
            ns: namespace(&schema),
            leader: tokio::sync::Mutex::new(None),
            shards: tokio::sync::Mutex::new(None),
            tag: process_tag(),
        })
    }

    /// The channel `LISTEN`/`NOTIFY` use for this schema.
    fn channel(&self) -> String {
        format!("paymedic_{}", self.ns)
    }

    /// Who holds the advisory lock `(ns, key)`: the holder's `application_name`.
    async fn holder(&self, conn: &mut PgConnection, key: i32) -> String {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
             AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid LIMIT 1",
        )
        .bind(self.ns)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .flatten();
        match name {
            Some(n) if !n.is_empty() => format!("\"{n}\""),
            _ => "another paymedic process".into(),
        }
    }

    async fn try_lock(conn: &mut PgConnection, ns: i32, key: i32, shared: bool) -> Result<bool> {
        let sql = if shared {
            "SELECT pg_try_advisory_lock_shared($1, $2)"
        } else {
            "SELECT pg_try_advisory_lock($1, $2)"
        };
        sqlx::query_scalar(sql)
            .bind(ns)
            .bind(key)
            .fetch_one(conn)
            .await
            .map_err(backend)
    }

    /// Takes the locks for `span` on `conn`; an error says who holds what.
    async fn take_shards(&self, conn: &mut PgConnection, span: Option<ShardSpan>) -> Result<()> {
        let refused = |detail: String| StoreError::ShardsTaken { detail };
        let Some(span) = span else {
            if Self::try_lock(conn, self.ns, ALL_SHARDS_KEY, false).await? {
                return Ok(());
            }
            let who = self.holder(conn, ALL_SHARDS_KEY).await;
            return Err(refused(format!(
                "{who} already runs shards on this database; with several processes, give \
                 each its own range ([discord] shards and total_shards, or --shards and \
                 --total-shards)"
            )));
        };
        if span.total > SHARDS_MAX {
            return Err(refused(format!(
                "total_shards {} is over {SHARDS_MAX}",
                span.total
            )));
        }
        if !Self::try_lock(conn, self.ns, ALL_SHARDS_KEY, true).await? {
            let who = self.holder(conn, ALL_SHARDS_KEY).await;
            return Err(refused(format!(
                "{who} runs every shard on this database (it has no shard range set)"
            )));
        }
        let total_key = TOTAL_KEYS + span.total as i32;
        Self::try_lock(conn, self.ns, total_key, true).await?;
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT l.objid::int8 - $2 FROM pg_locks l WHERE l.locktype = 'advisory' \
             AND l.granted AND l.objsubid = 2 AND l.classid = $1::int4::oid \
             AND l.objid::int8 >= $2 AND l.objid::int8 < $3 AND l.objid::int8 <> $4 LIMIT 1",
        )
        .bind(self.ns)
        .bind(i64::from(TOTAL_KEYS))
        .bind(i64::from(SHARD_KEYS))
        .bind(i64::from(total_key))
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
        if let Some(other) = other {
            return Err(refused(format!(
                "another process runs with total_shards = {other}, this one with {}: every \
                 process must use the same total",
                span.total
            )));
        }
        for shard in span.first..=span.last {
            let key = SHARD_KEYS + shard as i32;
            if !Self::try_lock(conn, self.ns, key, false).await? {
                let who = self.holder(conn, key).await;
                return Err(refused(format!(
                    "shard {shard} of {} is already run by {who}; shard ranges must not \
                     overlap",
                    span.total
                )));
            }
        }
        Ok(())
    }

    /// Connects without changing anything: no schema is created or migrated, and every
    /// transaction is read-only (`default_transaction_read_only`), so writes fail. The schema
    /// must be this version's: an older one needs the bot (which migrates) to start once.
    pub async fn connect_read_only(url: &str) -> Result<PgStore> {
        let options = parse(url)?;
        let target = target(&options);
        let options = options
            .application_name("paymedic (read-only)")
            .options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| connect_failure(&target, e))?;
        let applied: Option<i64> =
            match sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
            {
                Ok(v) => v,
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P01") => None,
                Err(e) => return Err(connect_failure(&target, e)),
            };
        let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        match applied {
            None => Err(unreachable(
                &target,
                "it holds no paymedic schema (start the bot on it once, which creates it)",
            )),
            Some(v) if v < newest => Err(unreachable(
                &target,
                &format!(
                    "its schema is at migration {v}, this paymedic needs {newest}: start the \
                     bot on it once, which migrates it"
                ),
            )),
            Some(v) if v > newest => Err(StoreError::TooNew {
                path: target.into(),
                version: v,
            }),
            Some(_) => PgStore::over(pool, target).await,
        }
    }

    /// `host:port/database`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Drops a schema made by [`PgStore::connect_in`], with everything in it (tests).
    ///
    /// A deadlock aborts the drop only for this try: a session of a store that was just closed
    /// can still hold a table the drop needs (its client is gone, its backend not yet) while
    /// it waits for something the drop took, and PostgreSQL breaks the cycle by aborting
    /// whichever waited first. The drop then tries again, a few times, after a pause.
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Backend("not a plain schema name".into()));
        }
        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        let mut tries = 0;
        loop {
            tries += 1;
            match sqlx::query(&sql).execute(&self.pool).await {
                Ok(_) => return Ok(()),
                Err(e) if tries < DROP_TRIES && is_deadlock(&e) => {
                    tracing::warn!(schema, tries, "dropping a schema: {e}; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    /// Closes the pool and the connections holding this process's lead and shards, which
    /// gives those up at once (not when the value is dropped).
    pub async fn close(&self) {
        for held in [&self.leader, &self.shards] {
            let conn = held.lock().await.take();
            if let Some(conn) = conn {
                let _ = conn.close().await;
            }
        }
        self.pool.close().await;
    }
}

/// How many times [`PgStore::drop_schema`] tries before it gives up on deadlocks.
const DROP_TRIES: u64 = 5;

/// Whether PostgreSQL aborted the statement to break a deadlock (SQLSTATE 40P01).
fn is_deadlock(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "40P01")
}

fn parse(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|_| StoreError::Connect {
        target: "the PostgreSQL URL".into(),
        detail:
            "it is not a valid postgres:// URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)"
                .into(),
    })
}

/// `host:port/database`: what errors and logs name (never the URL, which may hold a password).
fn target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}

/// A URL's `host:port/database`, or `None` when it isn't a valid URL.
pub fn target_of(url: &str) -> Option<String> {
    PgConnectOptions::from_str(url).ok().map(|o| target(&o))
}

fn unreachable(target: &str, detail: &str) -> StoreError {
    StoreError::Connect {
        target: target.to_string(),
        detail: detail.to_string(),
    }
}

/// A connection error in plain words, naming the database but not the URL.
fn connect_failure(target: &str, e: sqlx::Error) -> StoreError {
    let detail = match &e {
        sqlx::Error::Io(io) => format!("it can't be reached ({})", io.kind()),
        sqlx::Error::PoolTimedOut => "no answer in 10 s".to_string(),
        sqlx::Error::Tls(_) => "the TLS handshake failed".to_string(),
        sqlx::Error::Database(db) => format!("PostgreSQL says: {}", db.message()),
        other => other.to_string(),
    };
    unreachable(target, &detail)
}

fn migrate_failure(target: &str, e: MigrateError) -> StoreError {
    match e {
        MigrateError::VersionMissing(version) => StoreError::TooNew {
            path: target.into(),
            version,
        },
        MigrateError::VersionMismatch(v) => StoreError::Corrupt {
            path: target.into(),
            detail: format!("its migration {v} differs from the one this version of paymedic has"),
        },
        MigrateError::Dirty(v) => StoreError::Corrupt {
            path: target.into(),
            detail: format!("its migration {v} was left half done"),
        },
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            connect_failure(target, e)
        }
        other => unreachable(target, &format!("the schema could not be set up: {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Incidents

/// The advisory lock key of incident changes ("paymed" in ASCII): starting and ending take it
/// exclusively, subscribing shared, each for its transaction, so a start can't race another
/// start, and a subscription can't land after the end read the list.
const INCIDENT_LOCK: i64 = 0x7061_796d_6564;

async fn active_incident_in(conn: &mut PgConnection) -> Result<Option<IncidentRecord>> {
    let row: Option<IncidentRow> = sqlx::query_as(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ended_at IS NULL"
    ))
    .fetch_optional(conn)
    .await
    .map_err(backend)?;
    row.map(IncidentRow::into_record).transpose()
}

async fn lock_incidents(conn: &mut PgConnection, shared: bool) -> Result<()> {
    let q = if shared {
        "SELECT pg_advisory_xact_lock_shared($1)"
    } else {
        "SELECT pg_advisory_xact_lock($1)"
    };
    sqlx::query(q)
        .bind(INCIDENT_LOCK)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tickets

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;
type TicketQuery<'q> = QueryAs<'q, Postgres, TicketRow, PgArguments>;

/// Binds every ticket column but `id` and `version` ($1–$18), in [`TICKET_COLUMNS`] order.
fn bind_ticket<'q>(q: PgQuery<'q>, t: &'q Ticket, packet: String) -> PgQuery<'q> {
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
    version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
    $17, $18, $19) ON CONFLICT DO NOTHING RETURNING id";

const UPDATE_TICKET: &str = "UPDATE tickets SET guild = $1, member = $2, status = $3, \
    opened_by = $4, packet = $5, thread = $6, packet_message = $7, claimed_by = $8, \
    opened_at = $9, last_activity = $10, sla_reminded = $11, inactivity_warned = $12, \
    closed_at = $13, closed_by = $14, close_reason = $15, rating = $16, request_key = $17, \
    transcript = $18, version = version + 1 WHERE id = $19 AND version = $20";

const ACTIVE: &str = "status IN ('opening', 'open')";

async fn fetch_ticket(
    conn: &mut PgConnection,
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

async fn ticket_by_request_key(conn: &mut PgConnection, key: &str) -> Result<Option<Ticket>> {
    let key = key.to_string();
    fetch_ticket(conn, "request_key = $1", move |q| q.bind(key)).await
}

async fn active_of(
    conn: &mut PgConnection,
    guild: GuildId,
    member: MemberId,
) -> Result<Option<Ticket>> {
    let condition = format!("guild = $1 AND member = $2 AND {ACTIVE}");
    fetch_ticket(conn, &condition, |q| {
        q.bind(sid(guild.0)).bind(sid(member.0))
    })
    .await
}

async fn insert_event(conn: &mut PgConnection, id: TicketId, e: &TicketEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_events (ticket, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5)",
    )
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
    conn: &mut PgConnection,
    key: UserKey,
    expect: Expect,
    session: Option<&SessionRecord>,
) -> Result<()> {
    // $1, $2: the member; $3..$5: the session, when written; then the version expected.
    let sql = match (session.is_some(), expect) {
        (true, Expect::Absent) => {
            "INSERT INTO sessions (guild, member, updated, handed_off, data, version) \
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (guild, member) DO NOTHING"
        }
        (true, Expect::Version(_)) => {
            "UPDATE sessions SET updated = $3, handed_off = $4, data = $5, \
             version = version + 1 WHERE guild = $1 AND member = $2 AND version = $6"
        }
        (true, Expect::Any) => {
            "INSERT INTO sessions (guild, member, updated, handed_off, data, version) \
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (guild, member) DO UPDATE SET \
             updated = excluded.updated, handed_off = excluded.handed_off, \
             data = excluded.data, version = sessions.version + 1"
        }
        (false, Expect::Absent) => return Ok(()),
        (false, Expect::Version(_)) => {
            "DELETE FROM sessions WHERE guild = $1 AND member = $2 AND version = $3"
        }
        (false, Expect::Any) => "DELETE FROM sessions WHERE guild = $1 AND member = $2",
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

/// One turn's writes, inside the caller's transaction.
async fn apply_turn(
    conn: &mut PgConnection,
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
            "INSERT INTO outcomes (intent, step, outcome, count) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (intent, step, outcome) DO UPDATE SET count = outcomes.count + 1",
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

#[async_trait::async_trait]
impl Store for PgStore {
    async fn start_incident(
        &self,
        notice: &str,
        intents: &[String],
        at: Timestamp,
        by: MemberId,
    ) -> Result<Started> {
        let intents_json = encode_json("incident intents", &intents)?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_incidents(&mut tx, false).await?;
        let started = match active_incident_in(&mut tx).await? {
            Some(mut active) => {
                sqlx::query("UPDATE incidents SET notice = $1, intents = $2 WHERE id = $3")
                    .bind(notice)
                    .bind(&intents_json)
                    .bind(active.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                active.notice = notice.to_string();
                active.intents = intents.to_vec();
                Started::Replaced(active)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO incidents (notice, intents, started_at, started_by) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(notice)
                .bind(&intents_json)
                .bind(sts(at))
                .bind(sid(by.0))
                .fetch_one(&mut *tx)
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
        tx.commit().await.map_err(backend)?;
        Ok(started)
    }

    async fn active_incident(&self) -> Result<Option<IncidentRecord>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        active_incident_in(&mut conn).await
    }

    async fn end_incident(&self, at: Timestamp, by: MemberId) -> Result<Option<IncidentRecord>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_incidents(&mut tx, false).await?;
        let Some(mut active) = active_incident_in(&mut tx).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE incidents SET ended_at = $1, ended_by = $2 WHERE id = $3")
            .bind(sts(at))
            .bind(sid(by.0))
            .bind(active.id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        lock_incidents(&mut tx, true).await?;
        let active: Option<i64> =
            sqlx::query_scalar("SELECT id FROM incidents WHERE id = $1 AND ended_at IS NULL")
                .bind(incident.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if active.is_none() {
            return Ok(Subscribed::Over);
        }
        let added = sqlx::query(
            "INSERT INTO incident_subscriptions (incident, guild, member, at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(incident.0)
        .bind(sid(who.guild.0))
        .bind(sid(who.member.0))
        .bind(sts(at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(if added == 1 {
            Subscribed::Added
        } else {
            Subscribed::Already
        })
    }

    async fn subscribers(&self, incident: IncidentId) -> Result<Vec<UserKey>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT guild, member FROM incident_subscriptions WHERE incident = $1 \
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
        let n = sqlx::query(
            "DELETE FROM incident_subscriptions WHERE incident = $1 AND guild = $2 AND member = $3",
        )
        .bind(incident.0)
        .bind(sid(who.guild.0))
        .bind(sid(who.member.0))
        .execute(&self.pool)
        .await
        .map_err(backend)?
        .rows_affected();
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

    fn name(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> bool {
        true
    }

    async fn claim(&self, key: &str, at: Timestamp) -> Result<bool> {
        let n = sqlx::query("INSERT INTO claims (key, at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(key)
            .bind(sts(at))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn lead(&self) -> Result<bool> {
        let mut held = self.leader.lock().await;
        if let Some(conn) = held.as_mut() {
            // The lock is ours while its connection lives.
            return match sqlx::query("SELECT 1").execute(&mut *conn).await {
                Ok(_) => Ok(true),
                Err(e) => {
                    *held = None;
                    Err(backend(e))
                }
            };
        }
        let mut conn = self.pool.acquire().await.map_err(backend)?.detach();
        if Self::try_lock(&mut conn, self.ns, LEADER_KEY, false).await? {
            *held = Some(conn);
            Ok(true)
        } else {
            let _ = conn.close().await;
            Ok(false)
        }
    }

    async fn hold_shards(&self, span: Option<ShardSpan>) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?.detach();
        let name = match span {
            Some(s) => format!(
                "paymedic shards {}-{} of {} (pid {})",
                s.first,
                s.last,
                s.total,
                std::process::id()
            ),
            None => format!("paymedic all shards (pid {})", std::process::id()),
        };
        // What another process's refusal shows as the holder.
        sqlx::query("SELECT set_config('application_name', $1, false)")
            .bind(&name)
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        let taken = self.take_shards(&mut conn, span).await;
        if taken.is_err() {
            // Closing releases whatever was taken before the refusal.
            let _ = conn.close().await;
            return taken;
        }
        *self.shards.lock().await = Some(conn);
        Ok(())
    }

    async fn tell(&self, note: Note) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(self.channel())
            .bind(format!("{} {}", note.as_str(), self.tag))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Note>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(backend)?;
        listener.listen(&self.channel()).await.map_err(backend)?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let tag = self.tag.clone();
        // The listener holds one of the pool's connections. The task ends, and gives it
        // back, when nobody takes its notes any more or the pool is closed: otherwise
        // `close()` would wait for that connection for ever.
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(500);
            loop {
                // `try_recv` answers `None` when the connection was lost; the next call
                // reconnects and listens again.
                let received = tokio::select! {
                    biased;
                    () = tx.closed() => return,
                    r = listener.try_recv() => r,
                };
                let note = match received {
                    Ok(Some(n)) => {
                        wait = Duration::from_millis(500);
                        let mut words = n.payload().split(' ');
                        let note = words.next().and_then(Note::parse);
                        if words.next() == Some(tag.as_str()) {
                            continue;
                        }
                        match note {
                            Some(note) => note,
                            None => continue,
                        }
                    }
                    Ok(None) => {
                        tracing::warn!("lost the database connection that listens for other processes' news; reconnecting");
                        Note::Missed
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot listen for other processes' news; retrying");
                        tokio::select! {
                            () = tx.closed() => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                        wait = (wait * 2).min(Duration::from_secs(30));
                        continue;
                    }
                };
                if tx.send(note).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }

    async fn expire_claims(&self, before: Timestamp) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM claims WHERE at < $1")
            .bind(sts(before))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected())
    }

    async fn session(&self, key: UserKey) -> Result<Option<SessionRecord>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, version FROM sessions WHERE guild = $1 AND member = $2")
                .bind(sid(key.guild.0))
                .bind(sid(key.member.0))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(|(data, version)| session_of(&data, version))
            .transpose()
    }

    async fn claim_and_session(
        &self,
        claim: &str,
        at: Timestamp,
        key: UserKey,
    ) -> Result<(bool, Option<SessionRecord>)> {
        let (first, data, version): (bool, Option<String>, Option<i64>) = sqlx::query_as(
            "WITH c AS (INSERT INTO claims (key, at) VALUES ($1, $2) ON CONFLICT DO NOTHING \
             RETURNING 1) \
             SELECT EXISTS (SELECT 1 FROM c), s.data, s.version FROM (SELECT 1) AS one \
             LEFT JOIN sessions s ON s.guild = $3 AND s.member = $4",
        )
        .bind(claim)
        .bind(sts(at))
        .bind(sid(key.guild.0))
        .bind(sid(key.member.0))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        if !first {
            return Ok((false, None));
        }
        let session = match (data, version) {
            (Some(d), Some(v)) => Some(session_of(&d, v)?),
            _ => None,
        };
        Ok((true, session))
    }

    async fn commit_turn(
        &self,
        key: UserKey,
        expect: Expect,
        session: Option<&SessionRecord>,
        outcomes: &[OutcomeRow],
        open: Option<&NewTicket>,
    ) -> Result<Option<Opened>> {
        if open.is_none() && outcomes.is_empty() {
            // One statement: atomic on its own, no BEGIN and COMMIT round trips.
            let mut conn = self.pool.acquire().await.map_err(backend)?;
            save_session(&mut conn, key, expect, session).await?;
            return Ok(None);
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // A stale session returns before the commit: the transaction rolls back.
        let opened = apply_turn(&mut tx, key, expect, session, outcomes, open).await?;
        tx.commit().await.map_err(backend)?;
        Ok(opened)
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_ticket(&mut conn, "id = $1", |q| q.bind(id.0)).await
    }

    async fn ticket_by_thread(&self, thread: ChannelId) -> Result<Option<Ticket>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_ticket(&mut conn, "thread = $1 ORDER BY id DESC LIMIT 1", |q| {
            q.bind(sid(thread.0))
        })
        .await
    }

    async fn active_ticket(&self, guild: GuildId, member: MemberId) -> Result<Option<Ticket>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        active_of(&mut conn, guild, member).await
    }

    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE TRUE");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.guild.is_some() {
            sql.push_str(&format!(" AND guild = {}", next()));
        }
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter.statuses.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        // LIMIT NULL: no limit.
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", next()));
        let mut q: TicketQuery<'_> = sqlx::query_as(&sql);
        if let Some(g) = filter.guild {
            q = q.bind(sid(g.0));
        }
        for s in &filter.statuses {
            q = q.bind(s.as_str());
        }
        q = q.bind(filter.limit.map(i64::from));
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let packet = encode_json("ticket packet", &ticket.packet)?;
        let written = bind_ticket(sqlx::query(UPDATE_TICKET), ticket, packet)
            .bind(ticket.id.0)
            .bind(ticket.version)
            .execute(&mut *tx)
            .await;
        match written {
            Ok(r) if r.rows_affected() == 0 => return Ok(Updated::Stale),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) && ticket.status.is_active() => {
                // The failed statement aborted the transaction: look outside it.
                let _ = tx.rollback().await;
                let mut conn = self.pool.acquire().await.map_err(backend)?;
                return match active_of(&mut conn, ticket.guild, ticket.member).await? {
                    Some(other) if other.id != ticket.id => Ok(Updated::MemberHasActive),
                    _ => Err(backend(e)),
                };
            }
            Err(e) => return Err(backend(e)),
        }
        if let Some(e) = event {
            insert_event(&mut tx, ticket.id, e).await?;
        }
        if let Some((key, s)) = session {
            save_session(&mut tx, key, Expect::Any, s).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(Updated::Done)
    }

    async fn add_event(&self, id: TicketId, event: &TicketEvent, touch: bool) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Locks the ticket's row, so a purge can't delete it between the check and the insert.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1 FOR UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if exists.is_none() {
            return Ok(());
        }
        insert_event(&mut tx, id, event).await?;
        if touch {
            sqlx::query(
                "UPDATE tickets SET last_activity = GREATEST(last_activity, $1) WHERE id = $2",
            )
            .bind(sts(event.at))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
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
            "SELECT at, actor, kind, text FROM ticket_events WHERE ticket = $1 ORDER BY id",
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let rated = sqlx::query("UPDATE tickets SET rating = $1 WHERE id = $2")
            .bind(solved)
            .bind(ticket.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if rated.rows_affected() == 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO feedback (ticket, member, solved, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket) DO UPDATE SET member = excluded.member, \
             solved = excluded.solved, at = excluded.at",
        )
        .bind(ticket.0)
        .bind(sid(member.0))
        .bind(solved)
        .bind(sts(at))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
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
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "DELETE FROM sessions WHERE NOT handed_off AND updated < $1 \
             RETURNING guild, member, data",
        )
        .bind(sts(before))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let mut out = Forgotten::default();
        let (g, m) = (sid(guild.0), sid(member.0));
        sqlx::query("DELETE FROM incident_subscriptions WHERE guild = $1 AND member = $2")
            .bind(g)
            .bind(m)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        out.activity = sqlx::query("DELETE FROM activity WHERE guild = $1 AND member = $2")
            .bind(g)
            .bind(m)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        out.sessions = sqlx::query("DELETE FROM sessions WHERE guild = $1 AND member = $2")
            .bind(g)
            .bind(m)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();

        let theirs: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT id, packet, transcript FROM tickets WHERE guild = $1 AND member = $2 \
             ORDER BY id FOR UPDATE",
        )
        .bind(g)
        .bind(m)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for (id, packet, transcript) in theirs {
            let mut packet: Packet = decode_json("ticket packet", &packet)?;
            packet.recent.clear();
            sqlx::query(
                "UPDATE tickets SET member = $1, packet = $2, transcript = $3, \
                 version = version + 1 WHERE id = $4",
            )
            .bind(sid(MemberId::FORGOTTEN.0))
            .bind(encode_json("ticket packet", &packet)?)
            .bind(transcript.map(|s| scrub(&s, member)))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            out.tickets += 1;
            out.feedback += sqlx::query("DELETE FROM feedback WHERE ticket = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }

        // Events on any ticket in the guild: the member's own, and others' that name them.
        let events: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT e.id, e.actor, e.text FROM ticket_events e JOIN tickets t ON t.id = e.ticket \
             WHERE t.guild = $1 AND (e.actor = $2 OR strpos(e.text, $3) > 0)",
        )
        .bind(g)
        .bind(m)
        .bind(member.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for (id, actor, text) in events {
            let actor = if actor == Some(m) {
                Some(sid(MemberId::FORGOTTEN.0))
            } else {
                actor
            };
            sqlx::query("UPDATE ticket_events SET actor = $1, text = $2 WHERE id = $3")
                .bind(actor)
                .bind(text.map(|s| scrub(&s, member)))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn purge(&self, before: Timestamp) -> Result<Purged> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let before = sts(before);
        // Events and feedback go with their tickets (ON DELETE CASCADE).
        let tickets = sqlx::query(
            "DELETE FROM tickets WHERE status IN ('closed', 'failed') \
             AND COALESCE(closed_at, opened_at) < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE updated < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let activity = sqlx::query("DELETE FROM activity WHERE at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        tx.commit().await.map_err(backend)?;
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
        // One statement for the whole batch: each column as an array, unnested into rows.
        let mut cols = ActivityColumns::default();
        for r in rows {
            cols.at.push(sts(r.at));
            cols.guild.push(sid(r.guild.0));
            cols.kind.push(r.kind.as_str().to_string());
            cols.intent.push(r.intent.clone());
            cols.step.push(r.step.clone());
            cols.confidence.push(r.confidence);
            cols.text.push(r.text.clone());
            cols.nearest.push(r.nearest.clone());
            cols.score.push(r.score);
            cols.member.push(r.member.map(|m| sid(m.0)));
        }
        sqlx::query(
            "INSERT INTO activity (at, guild, kind, intent, step, confidence, text, nearest, \
             score, member) SELECT at, guild, kind, intent, step, confidence, text, nearest, score, \
             member FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], \
             $4::TEXT[], $5::TEXT[], $6::REAL[], $7::TEXT[], $8::TEXT[], $9::REAL[], \
             $10::BIGINT[]) WITH ORDINALITY AS r(at, guild, kind, intent, step, confidence, \
             text, nearest, score, member, n) ORDER BY n",
        )
        .bind(cols.at)
        .bind(cols.guild)
        .bind(cols.kind)
        .bind(cols.intent)
        .bind(cols.step)
        .bind(cols.confidence)
        .bind(cols.text)
        .bind(cols.nearest)
        .bind(cols.score)
        .bind(cols.member)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn activity(&self, since: Timestamp) -> Result<Vec<ActivityRow>> {
        let rows: Vec<ActivityRecord> = sqlx::query_as(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity WHERE at >= $1 ORDER BY at, id"
        ))
        .bind(sts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ActivityRecord::into_row).collect()
    }
}

/// Activity rows as columns, for one `INSERT … SELECT FROM UNNEST`.
#[derive(Default)]
struct ActivityColumns {
    at: Vec<i64>,
    guild: Vec<i64>,
    kind: Vec<String>,
    intent: Vec<Option<String>>,
    step: Vec<Option<String>>,
    confidence: Vec<Option<f32>>,
    text: Vec<Option<String>>,
    nearest: Vec<Option<String>>,
    score: Vec<Option<f32>>,
    member: Vec<Option<i64>>,
}
