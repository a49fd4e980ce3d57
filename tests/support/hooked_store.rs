//! A test store that runs a hook before every call and then delegates to an in-memory store:
//! one wrapper for the tests that need a store that fails, stalls or is slow.

use async_trait::async_trait;
use paymedic::engine::tickets::{NewTicket, Ticket, TicketEvent};
use paymedic::engine::{ChannelId, GuildId, IncidentId, MemberId, TicketId, Timestamp, UserKey};
use paymedic::store::memory::MemoryStore;
use paymedic::store::{
    ActivityRow, Expect, Expired, Forgotten, IncidentRecord, Opened, OutcomeRow, Purged, Result,
    SessionRecord, Started, Store, Subscribed, TicketFilter, Updated,
};

/// What runs before each store call; `op` is the call's name (`"session"`, `"commit_turn"`,
/// ...). An error is returned instead of the call's result.
#[async_trait]
pub trait Hook: Send + Sync {
    async fn before(&self, op: &'static str) -> Result<()>;
}

/// An in-memory store behind a [`Hook`].
pub struct Hooked<H> {
    pub inner: MemoryStore,
    pub hook: H,
}

impl<H> Hooked<H> {
    pub fn new(hook: H) -> Hooked<H> {
        Hooked {
            inner: MemoryStore::new(),
            hook,
        }
    }
}

#[async_trait]
impl<H: Hook + 'static> Store for Hooked<H> {
    fn name(&self) -> &'static str {
        "hooked"
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    async fn claim(&self, key: &str, at: Timestamp) -> Result<bool> {
        self.inner.claim(key, at).await
    }

    async fn expire_claims(&self, before: Timestamp) -> Result<u64> {
        self.inner.expire_claims(before).await
    }
    async fn session(&self, key: UserKey) -> Result<Option<SessionRecord>> {
        self.hook.before("session").await?;
        self.inner.session(key).await
    }
    async fn commit_turn(
        &self,
        key: UserKey,
        expect: Expect,
        session: Option<&SessionRecord>,
        outcomes: &[OutcomeRow],
        open: Option<&NewTicket>,
    ) -> Result<Option<Opened>> {
        self.hook.before("commit_turn").await?;
        self.inner
            .commit_turn(key, expect, session, outcomes, open)
            .await
    }
    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        self.hook.before("ticket").await?;
        self.inner.ticket(id).await
    }
    async fn ticket_by_thread(&self, thread: ChannelId) -> Result<Option<Ticket>> {
        self.hook.before("ticket_by_thread").await?;
        self.inner.ticket_by_thread(thread).await
    }
    async fn active_ticket(&self, guild: GuildId, member: MemberId) -> Result<Option<Ticket>> {
        self.hook.before("active_ticket").await?;
        self.inner.active_ticket(guild, member).await
    }
    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        self.hook.before("tickets").await?;
        self.inner.tickets(filter).await
    }
    async fn update_ticket(
        &self,
        ticket: &Ticket,
        event: Option<&TicketEvent>,
        session: Option<(UserKey, Option<&SessionRecord>)>,
    ) -> Result<Updated> {
        self.hook.before("update_ticket").await?;
        self.inner.update_ticket(ticket, event, session).await
    }
    async fn add_event(&self, id: TicketId, event: &TicketEvent, touch: bool) -> Result<()> {
        self.hook.before("add_event").await?;
        self.inner.add_event(id, event, touch).await
    }
    async fn events(&self, id: TicketId) -> Result<Vec<TicketEvent>> {
        self.hook.before("events").await?;
        self.inner.events(id).await
    }
    async fn record_feedback(
        &self,
        ticket: TicketId,
        member: MemberId,
        solved: bool,
        at: Timestamp,
    ) -> Result<()> {
        self.hook.before("record_feedback").await?;
        self.inner.record_feedback(ticket, member, solved, at).await
    }
    async fn feedback(&self) -> Result<Vec<(TicketId, bool)>> {
        self.hook.before("feedback").await?;
        self.inner.feedback().await
    }
    async fn outcomes(&self) -> Result<Vec<(OutcomeRow, u64)>> {
        self.hook.before("outcomes").await?;
        self.inner.outcomes().await
    }
    async fn expire_sessions(&self, before: Timestamp) -> Result<Expired> {
        self.hook.before("expire_sessions").await?;
        self.inner.expire_sessions(before).await
    }
    async fn session_count(&self) -> Result<u64> {
        self.hook.before("session_count").await?;
        self.inner.session_count().await
    }
    async fn forget_member(&self, guild: GuildId, member: MemberId) -> Result<Forgotten> {
        self.hook.before("forget_member").await?;
        self.inner.forget_member(guild, member).await
    }
    async fn purge(&self, before: Timestamp) -> Result<Purged> {
        self.hook.before("purge").await?;
        self.inner.purge(before).await
    }
    async fn start_incident(
        &self,
        notice: &str,
        intents: &[String],
        at: Timestamp,
        by: MemberId,
    ) -> Result<Started> {
        self.hook.before("start_incident").await?;
        self.inner.start_incident(notice, intents, at, by).await
    }
    async fn active_incident(&self) -> Result<Option<IncidentRecord>> {
        self.hook.before("active_incident").await?;
        self.inner.active_incident().await
    }
    async fn end_incident(&self, at: Timestamp, by: MemberId) -> Result<Option<IncidentRecord>> {
        self.hook.before("end_incident").await?;
        self.inner.end_incident(at, by).await
    }
    async fn had_incident(&self) -> Result<bool> {
        self.hook.before("had_incident").await?;
        self.inner.had_incident().await
    }
    async fn subscribe(
        &self,
        incident: IncidentId,
        who: UserKey,
        at: Timestamp,
    ) -> Result<Subscribed> {
        self.hook.before("subscribe").await?;
        self.inner.subscribe(incident, who, at).await
    }
    async fn subscribers(&self, incident: IncidentId) -> Result<Vec<UserKey>> {
        self.hook.before("subscribers").await?;
        self.inner.subscribers(incident).await
    }
    async fn unsubscribe(&self, incident: IncidentId, who: UserKey) -> Result<bool> {
        self.hook.before("unsubscribe").await?;
        self.inner.unsubscribe(incident, who).await
    }
    async fn unfinished_fanouts(&self) -> Result<Vec<IncidentRecord>> {
        self.hook.before("unfinished_fanouts").await?;
        self.inner.unfinished_fanouts().await
    }

    async fn record_activity(&self, rows: &[ActivityRow]) -> Result<()> {
        self.hook.before("record_activity").await?;
        self.inner.record_activity(rows).await
    }

    async fn activity(&self, since: Timestamp) -> Result<Vec<ActivityRow>> {
        self.hook.before("activity").await?;
        self.inner.activity(since).await
    }
}
