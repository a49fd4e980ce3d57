//! The in-memory store: for tests and `chat` without `--db`. Everything lives behind one lock,
//! so each call is one atomic step, like a transaction, and the uniqueness rules hold the same
//! way they do in SQL.

use super::{
    scrub, ActivityRow, Expect, Expired, Forgotten, IncidentRecord, Opened, OutcomeRow, Purged,
    Result, SessionRecord, Started, Store, StoreError, Subscribed, TicketFilter, Updated,
};
use crate::engine::ids::{ChannelId, GuildId, IncidentId, MemberId, TicketId, UserKey};
use crate::engine::tickets::{NewTicket, Ticket, TicketEvent, TicketStatus};
use crate::engine::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
struct Inner {
    sessions: HashMap<UserKey, SessionRecord>,
    tickets: BTreeMap<TicketId, Ticket>,
    events: HashMap<TicketId, Vec<TicketEvent>>,
    feedback: BTreeMap<TicketId, (MemberId, bool, Timestamp)>,
    outcomes: BTreeMap<OutcomeRow, u64>,
    /// In the order recorded.
    activity: Vec<ActivityRow>,
    next_ticket: i64,
    incidents: BTreeMap<IncidentId, IncidentRecord>,
    next_incident: i64,
    /// (incident, member) in the order they subscribed.
    subscriptions: Vec<(IncidentId, UserKey)>,
    /// Claimed events, with when.
    claims: HashMap<String, Timestamp>,
}

impl Inner {
    /// Saves (or, with `None`, deletes) a session one version past the stored one.
    fn save_session(&mut self, key: UserKey, session: Option<&SessionRecord>) {
        match session {
            Some(s) => {
                let version = self.sessions.get(&key).map_or(0, |s| s.version) + 1;
                self.sessions.insert(
                    key,
                    SessionRecord {
                        version,
                        ..s.clone()
                    },
                );
            }
            None => {
                self.sessions.remove(&key);
            }
        }
    }

    fn active(&self, guild: GuildId, member: MemberId) -> Option<&Ticket> {
        self.tickets
            .values()
            .find(|t| t.guild == guild && t.member == member && t.status.is_active())
    }
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change below is made on a copy or is a single insert, so a panic mid-call can't
        // leave the maps half-updated: a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn claim(&self, key: &str, at: Timestamp) -> Result<bool> {
        let mut inner = self.lock();
        if inner.claims.contains_key(key) {
            return Ok(false);
        }
        inner.claims.insert(key.to_string(), at);
        Ok(true)
    }

    async fn expire_claims(&self, before: Timestamp) -> Result<u64> {
        let mut inner = self.lock();
        let n = inner.claims.len();
        inner.claims.retain(|_, at| *at >= before);
        Ok((n - inner.claims.len()) as u64)
    }

    async fn start_incident(
        &self,
        notice: &str,
        intents: &[String],
        at: Timestamp,
        by: MemberId,
    ) -> Result<Started> {
        let mut inner = self.lock();
        if let Some(active) = inner.incidents.values_mut().find(|i| i.ended_at.is_none()) {
            active.notice = notice.to_string();
            active.intents = intents.to_vec();
            return Ok(Started::Replaced(active.clone()));
        }
        inner.next_incident += 1;
        let id = IncidentId(inner.next_incident);
        let record = IncidentRecord {
            id,
            notice: notice.to_string(),
            intents: intents.to_vec(),
            started_at: at,
            started_by: by,
            ended_at: None,
            ended_by: None,
        };
        inner.incidents.insert(id, record.clone());
        Ok(Started::New(record))
    }

    async fn active_incident(&self) -> Result<Option<IncidentRecord>> {
        Ok(self
            .lock()
            .incidents
            .values()
            .find(|i| i.ended_at.is_none())
            .cloned())
    }

    async fn end_incident(&self, at: Timestamp, by: MemberId) -> Result<Option<IncidentRecord>> {
        let mut inner = self.lock();
        Ok(inner
            .incidents
            .values_mut()
            .find(|i| i.ended_at.is_none())
            .map(|i| {
                i.ended_at = Some(at);
                i.ended_by = Some(by);
                i.clone()
            }))
    }

    async fn had_incident(&self) -> Result<bool> {
        Ok(!self.lock().incidents.is_empty())
    }

    async fn subscribe(
        &self,
        incident: IncidentId,
        who: UserKey,
        _at: Timestamp,
    ) -> Result<Subscribed> {
        let mut inner = self.lock();
        if inner
            .incidents
            .get(&incident)
            .is_none_or(|i| i.ended_at.is_some())
        {
            return Ok(Subscribed::Over);
        }
        if inner.subscriptions.contains(&(incident, who)) {
            return Ok(Subscribed::Already);
        }
        inner.subscriptions.push((incident, who));
        Ok(Subscribed::Added)
    }

    async fn subscribers(&self, incident: IncidentId) -> Result<Vec<UserKey>> {
        Ok(self
            .lock()
            .subscriptions
            .iter()
            .filter(|(i, _)| *i == incident)
            .map(|(_, k)| *k)
            .collect())
    }

    async fn unsubscribe(&self, incident: IncidentId, who: UserKey) -> Result<bool> {
        let mut inner = self.lock();
        let before = inner.subscriptions.len();
        inner.subscriptions.retain(|s| *s != (incident, who));
        Ok(inner.subscriptions.len() < before)
    }

    async fn unfinished_fanouts(&self) -> Result<Vec<IncidentRecord>> {
        let inner = self.lock();
        Ok(inner
            .incidents
            .values()
            .filter(|i| i.ended_at.is_some() && inner.subscriptions.iter().any(|(s, _)| *s == i.id))
            .cloned()
            .collect())
    }

    async fn session(&self, key: UserKey) -> Result<Option<SessionRecord>> {
        Ok(self.lock().sessions.get(&key).cloned())
    }

    async fn commit_turn(
        &self,
        key: UserKey,
        expect: Expect,
        session: Option<&SessionRecord>,
        outcomes: &[OutcomeRow],
        open: Option<&NewTicket>,
    ) -> Result<Option<Opened>> {
        let mut inner = self.lock();
        let stored = inner.sessions.get(&key).map(|s| s.version);
        let fresh = match expect {
            Expect::Absent => stored.is_none(),
            Expect::Version(v) => stored == Some(v),
            Expect::Any => true,
        };
        if !fresh {
            return Err(StoreError::Stale);
        }
        let opened = open.map(|new| {
            let existing = new
                .request_key
                .as_ref()
                .and_then(|k| {
                    inner
                        .tickets
                        .values()
                        .find(|t| t.request_key.as_ref() == Some(k))
                })
                .or_else(|| inner.active(new.guild, new.member));
            match existing {
                Some(t) => Opened::Existing(t.clone()),
                None => {
                    inner.next_ticket += 1;
                    let t = Ticket::from_new(TicketId(inner.next_ticket), new);
                    inner.tickets.insert(t.id, t.clone());
                    Opened::Created(t)
                }
            }
        });
        inner.save_session(key, session);
        for o in outcomes {
            *inner.outcomes.entry(o.clone()).or_default() += 1;
        }
        Ok(opened)
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        Ok(self.lock().tickets.get(&id).cloned())
    }

    async fn ticket_by_thread(&self, thread: ChannelId) -> Result<Option<Ticket>> {
        Ok(self
            .lock()
            .tickets
            .values()
            .rev()
            .find(|t| t.thread == Some(thread))
            .cloned())
    }

    async fn active_ticket(&self, guild: GuildId, member: MemberId) -> Result<Option<Ticket>> {
        Ok(self.lock().active(guild, member).cloned())
    }

    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let inner = self.lock();
        let limit = filter.limit.map_or(usize::MAX, |l| l as usize);
        Ok(inner
            .tickets
            .values()
            .rev()
            .filter(|t| filter.guild.is_none_or(|g| t.guild == g))
            .filter(|t| filter.statuses.is_empty() || filter.statuses.contains(&t.status))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_ticket(
        &self,
        ticket: &Ticket,
        event: Option<&TicketEvent>,
        session: Option<(UserKey, Option<&SessionRecord>)>,
    ) -> Result<Updated> {
        let mut inner = self.lock();
        match inner.tickets.get(&ticket.id) {
            Some(t) if t.version == ticket.version => {}
            _ => return Ok(Updated::Stale),
        }
        if ticket.status.is_active() {
            if let Some(other) = inner.active(ticket.guild, ticket.member) {
                if other.id != ticket.id {
                    return Ok(Updated::MemberHasActive);
                }
            }
        }
        let mut t = ticket.clone();
        t.version += 1;
        inner.tickets.insert(t.id, t);
        if let Some(e) = event {
            inner.events.entry(ticket.id).or_default().push(e.clone());
        }
        if let Some((key, s)) = session {
            inner.save_session(key, s);
        }
        Ok(Updated::Done)
    }

    async fn add_event(&self, id: TicketId, event: &TicketEvent, touch: bool) -> Result<()> {
        let mut inner = self.lock();
        if !inner.tickets.contains_key(&id) {
            return Ok(());
        }
        inner.events.entry(id).or_default().push(event.clone());
        if touch {
            if let Some(t) = inner.tickets.get_mut(&id) {
                t.last_activity = t.last_activity.max(event.at);
            }
        }
        Ok(())
    }

    async fn events(&self, id: TicketId) -> Result<Vec<TicketEvent>> {
        Ok(self.lock().events.get(&id).cloned().unwrap_or_default())
    }

    async fn record_feedback(
        &self,
        ticket: TicketId,
        member: MemberId,
        solved: bool,
        at: Timestamp,
    ) -> Result<()> {
        let mut inner = self.lock();
        if let Some(t) = inner.tickets.get_mut(&ticket) {
            t.rating = Some(solved);
            inner.feedback.insert(ticket, (member, solved, at));
        }
        Ok(())
    }

    async fn feedback(&self) -> Result<Vec<(TicketId, bool)>> {
        Ok(self
            .lock()
            .feedback
            .iter()
            .map(|(t, (_, solved, _))| (*t, *solved))
            .collect())
    }

    async fn outcomes(&self) -> Result<Vec<(OutcomeRow, u64)>> {
        Ok(self
            .lock()
            .outcomes
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }

    async fn expire_sessions(&self, before: Timestamp) -> Result<Expired> {
        let mut inner = self.lock();
        let mut out = Expired::default();
        inner.sessions.retain(|k, s| {
            let keep = s.is_handed_off() || s.updated() >= before;
            if !keep {
                out.sessions.push((*k, s.session.clone()));
            }
            keep
        });
        out.count = out.sessions.len() as u64;
        Ok(out)
    }

    async fn session_count(&self) -> Result<u64> {
        Ok(self.lock().sessions.len() as u64)
    }

    async fn forget_member(&self, guild: GuildId, member: MemberId) -> Result<Forgotten> {
        let mut inner = self.lock();
        let mut out = Forgotten::default();
        let key = UserKey::new(guild, member);
        let n = inner.activity.len();
        inner
            .activity
            .retain(|r| !(r.guild == guild && r.member == Some(member)));
        out.activity = (n - inner.activity.len()) as u64;
        out.sessions = u64::from(inner.sessions.remove(&key).is_some());
        inner.subscriptions.retain(|(_, k)| *k != key);
        let Inner {
            tickets,
            events,
            feedback,
            ..
        } = &mut *inner;
        let mut theirs = Vec::new();
        for t in tickets.values_mut() {
            if t.guild == guild && t.member == member {
                t.member = MemberId::FORGOTTEN;
                t.transcript = t.transcript.as_deref().map(|s| scrub(s, member));
                t.packet.recent.clear();
                t.version += 1;
                theirs.push(t.id);
                out.tickets += 1;
            }
        }
        for id in &theirs {
            if feedback.remove(id).is_some() {
                out.feedback += 1;
            }
        }
        for (id, evs) in events.iter_mut() {
            if tickets.get(id).is_none_or(|t| t.guild != guild) {
                continue;
            }
            for e in evs.iter_mut() {
                if e.actor == Some(member) {
                    e.actor = Some(MemberId::FORGOTTEN);
                }
                e.text = e.text.as_deref().map(|s| scrub(s, member));
            }
        }
        Ok(out)
    }

    async fn purge(&self, before: Timestamp) -> Result<Purged> {
        let mut inner = self.lock();
        let mut out = Purged::default();
        let old: Vec<TicketId> = inner
            .tickets
            .values()
            .filter(|t| {
                matches!(t.status, TicketStatus::Closed | TicketStatus::Failed)
                    && t.closed_at.unwrap_or(t.opened_at) < before
            })
            .map(|t| t.id)
            .collect();
        for id in old {
            inner.tickets.remove(&id);
            inner.events.remove(&id);
            inner.feedback.remove(&id);
            out.tickets += 1;
        }
        let n = inner.sessions.len();
        inner.sessions.retain(|_, s| s.updated() >= before);
        out.sessions = (n - inner.sessions.len()) as u64;
        let n = inner.activity.len();
        inner.activity.retain(|r| r.at >= before);
        out.activity = (n - inner.activity.len()) as u64;
        Ok(out)
    }

    async fn record_activity(&self, rows: &[ActivityRow]) -> Result<()> {
        self.lock().activity.extend_from_slice(rows);
        Ok(())
    }

    async fn activity(&self, since: Timestamp) -> Result<Vec<ActivityRow>> {
        let mut out: Vec<ActivityRow> = self
            .lock()
            .activity
            .iter()
            .filter(|r| r.at >= since)
            .cloned()
            .collect();
        // Stable: rows of one time keep their recorded order, as SQL's (at, id) does.
        out.sort_by_key(|r| r.at);
        Ok(out)
    }
}
