//! What the two SQL backends share: how values are stored (snowflakes and times as i64,
//! sessions and packets as JSON), how rows read back into tickets and incidents, and how sqlx
//! errors become [`StoreError`]s. Only the SQL dialects differ, in `sqlite.rs` and
//! `postgres.rs`.

use super::{ActivityKind, ActivityRow, IncidentRecord, Result, SessionRecord, StoreError};
use crate::engine::ids::{ChannelId, GuildId, IncidentId, MemberId, MessageId, TicketId};
use crate::engine::tickets::{Packet, Ticket, TicketStatus};
use crate::engine::Timestamp;

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A JSON error by kind and position only: serde's messages can quote the data.
pub(super) fn json_detail(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

pub(super) fn decode_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode {
        what,
        detail: json_detail(&e),
    })
}

/// A `sessions` row's data and version.
pub(super) fn session_of(data: &str, version: i64) -> Result<SessionRecord> {
    let mut record: SessionRecord = decode_json("session", data)?;
    record.version = uid(version);
    Ok(record)
}

pub(super) fn encode_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| {
        StoreError::Backend(format!(
            "a {what} could not be encoded: {}",
            json_detail(&e)
        ))
    })
}

/// A snowflake into an INTEGER (SQLite) or BIGINT (PostgreSQL) column: a bit-preserving cast.
pub(super) fn sid(v: u64) -> i64 {
    v as i64
}

/// An INTEGER column back into a snowflake: the same bits.
pub(super) fn uid(v: i64) -> u64 {
    v as u64
}

/// A time into an INTEGER or BIGINT column (saturating: exact until the year 292 million).
pub(super) fn sts(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

pub(super) fn uts(what: &'static str, v: i64) -> Result<Timestamp> {
    u64::try_from(v)
        .map(Timestamp)
        .map_err(|_| StoreError::Decode {
            what,
            detail: "a negative time".into(),
        })
}

pub(super) fn bad(what: &'static str, detail: &str) -> StoreError {
    StoreError::Decode {
        what,
        detail: detail.to_string(),
    }
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

// ---------------------------------------------------------------------------------------------
// Rows

pub(super) const TICKET_COLUMNS: &str = "id, guild, member, status, opened_by, packet, thread, \
    packet_message, claimed_by, opened_at, last_activity, sla_reminded, inactivity_warned, \
    closed_at, closed_by, close_reason, rating, request_key, transcript, version";

#[derive(sqlx::FromRow)]
pub(super) struct TicketRow {
    id: i64,
    guild: i64,
    member: i64,
    status: String,
    opened_by: Option<i64>,
    packet: String,
    thread: Option<i64>,
    packet_message: Option<i64>,
    claimed_by: Option<i64>,
    opened_at: i64,
    last_activity: i64,
    sla_reminded: bool,
    inactivity_warned: bool,
    closed_at: Option<i64>,
    closed_by: Option<i64>,
    close_reason: Option<String>,
    rating: Option<bool>,
    request_key: Option<String>,
    transcript: Option<String>,
    version: i64,
}

impl TicketRow {
    pub(super) fn into_ticket(self) -> Result<Ticket> {
        const WHAT: &str = "ticket";
        let member = |v: Option<i64>| v.map(|v| MemberId(uid(v)));
        Ok(Ticket {
            id: TicketId(self.id),
            guild: GuildId(uid(self.guild)),
            member: MemberId(uid(self.member)),
            status: TicketStatus::parse(&self.status)
                .ok_or_else(|| bad(WHAT, "an unknown status"))?,
            opened_by: member(self.opened_by),
            packet: decode_json::<Packet>("ticket packet", &self.packet)?,
            thread: self.thread.map(|v| ChannelId(uid(v))),
            packet_message: self.packet_message.map(|v| MessageId(uid(v))),
            claimed_by: member(self.claimed_by),
            opened_at: uts(WHAT, self.opened_at)?,
            last_activity: uts(WHAT, self.last_activity)?,
            sla_reminded: self.sla_reminded,
            inactivity_warned: self.inactivity_warned,
            closed_at: self.closed_at.map(|v| uts(WHAT, v)).transpose()?,
            closed_by: member(self.closed_by),
            close_reason: self.close_reason,
            rating: self.rating,
            request_key: self.request_key,
            transcript: self.transcript,
            version: self.version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct IncidentRow {
    id: i64,
    notice: String,
    intents: String,
    started_at: i64,
    started_by: i64,
    ended_at: Option<i64>,
    ended_by: Option<i64>,
}

impl IncidentRow {
    pub(super) fn into_record(self) -> Result<IncidentRecord> {
        Ok(IncidentRecord {
            id: IncidentId(self.id),
            notice: self.notice,
            intents: decode_json("incident intents", &self.intents)?,
            started_at: uts("incident start", self.started_at)?,
            started_by: MemberId(uid(self.started_by)),
            ended_at: self.ended_at.map(|t| uts("incident end", t)).transpose()?,
            ended_by: self.ended_by.map(|m| MemberId(uid(m))),
        })
    }
}

pub(super) const INCIDENT_COLUMNS: &str =
    "id, notice, intents, started_at, started_by, ended_at, ended_by";

/// The activity log's columns, in [`ActivityRecord`]'s order.
pub(super) const ACTIVITY_COLUMNS: &str =
    "at, guild, kind, intent, step, confidence, text, nearest, score, member";

#[derive(sqlx::FromRow)]
pub(super) struct ActivityRecord {
    at: i64,
    guild: i64,
    kind: String,
    intent: Option<String>,
    step: Option<String>,
    confidence: Option<f32>,
    text: Option<String>,
    nearest: Option<String>,
    score: Option<f32>,
    member: Option<i64>,
}

impl ActivityRecord {
    pub(super) fn into_row(self) -> Result<ActivityRow> {
        Ok(ActivityRow {
            at: uts("activity row", self.at)?,
            guild: GuildId(uid(self.guild)),
            kind: ActivityKind::parse(&self.kind)
                .ok_or_else(|| bad("activity row", "an unknown kind"))?,
            intent: self.intent,
            step: self.step,
            confidence: self.confidence,
            text: self.text,
            nearest: self.nearest,
            score: self.score,
            member: self.member.map(|m| MemberId(uid(m))),
        })
    }
}
