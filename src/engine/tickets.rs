//! Tickets: what a member's request for a human becomes, and the rules staff actions follow.
//!
//! Pure like the rest of the engine: [`Ticket::apply`] checks a staff action against the
//! ticket's state and returns the changed ticket and the event to store; [`Ticket::due`] says
//! which timer (SLA reminder, inactivity warning, auto-close) is due at `now`, from stored
//! times only, so a restart or another process picks timers up where they were. The store
//! keeps tickets; adapters open threads and post messages.

use crate::engine::dialogue::Timestamp;
use crate::engine::ids::{ChannelId, GuildId, MemberId, MessageId, TicketId};
use crate::engine::sensitive::redact;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Where a ticket is in its life.
///
/// `Opening` is written before the thread is created and becomes `Open` once it exists (or
/// `Failed` if it can't be made), so a crash between the two leaves a row that the start-up
/// pass finishes or fails, never a ticket "open" with no thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Opening,
    Open,
    Closed,
    Failed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Opening => "opening",
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
            TicketStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        Some(match s {
            "opening" => TicketStatus::Opening,
            "open" => TicketStatus::Open,
            "closed" => TicketStatus::Closed,
            "failed" => TicketStatus::Failed,
            _ => return None,
        })
    }

    /// Opening or open: the member has a ticket and the bot stays quiet toward them.
    pub fn is_active(self) -> bool {
        matches!(self, TicketStatus::Opening | TicketStatus::Open)
    }
}

/// What the human needs so they never re-ask: written once, when the ticket opens. Every
/// string in it has card numbers, codes and passwords masked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Packet {
    /// The matched intent's key and title.
    pub intent: Option<String>,
    pub intent_title: Option<String>,
    /// The classifier's confidence in that intent, 0..=1.
    pub confidence: Option<f32>,
    /// Every step the bot showed and the answer chosen, as "question → answer".
    pub tried: Vec<String>,
    /// Checks the member ran ("/check limit: …").
    pub checks: Vec<String>,
    /// The member's last messages, oldest first.
    pub recent: Vec<String>,
    /// Why a moderator escalated them, when one did.
    pub reason: Option<String>,
}

/// A ticket to open: the store assigns its id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTicket {
    pub guild: GuildId,
    pub member: MemberId,
    /// The moderator who escalated the member; `None` when the member asked.
    pub opened_by: Option<MemberId>,
    pub packet: Packet,
    pub at: Timestamp,
    /// An interaction or message id: the same request twice opens one ticket.
    pub request_key: Option<String>,
}

/// One ticket, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub guild: GuildId,
    pub member: MemberId,
    pub status: TicketStatus,
    pub opened_by: Option<MemberId>,
    pub packet: Packet,
    /// The private thread, once it exists.
    pub thread: Option<ChannelId>,
    /// The packet message in the thread, edited in place when someone claims the ticket.
    pub packet_message: Option<MessageId>,
    pub claimed_by: Option<MemberId>,
    pub opened_at: Timestamp,
    /// The last message in the thread (or the opening), for auto-close.
    pub last_activity: Timestamp,
    pub sla_reminded: bool,
    pub inactivity_warned: bool,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<MemberId>,
    pub close_reason: Option<String>,
    /// "Did we solve it?": the member's answer.
    pub rating: Option<bool>,
    pub request_key: Option<String>,
    /// The rendered transcript, kept once the ticket closes.
    pub transcript: Option<String>,
    /// Bumped by every change; a change written against an older version is refused, so two
    /// moderators (or two processes) acting at once can't overwrite each other.
    pub version: i64,
}

/// Settings for ticket timers and reopening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketSettings {
    pub sla_ms: u64,
    pub auto_close_ms: u64,
    /// How long before auto-close the inactivity warning goes out.
    pub warn_before_ms: u64,
    pub reopen_ms: u64,
}

impl Default for TicketSettings {
    fn default() -> Self {
        TicketSettings {
            sla_ms: 15 * 60_000,
            auto_close_ms: 48 * 3_600_000,
            warn_before_ms: 3_600_000,
            reopen_ms: 7 * 86_400_000,
        }
    }
}

/// What staff can do to a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffAction {
    Claim,
    Unclaim,
    Close { reason: String },
    HandBack,
    Reopen,
}

impl StaffAction {
    pub fn name(&self) -> &'static str {
        match self {
            StaffAction::Claim => "claim",
            StaffAction::Unclaim => "unclaim",
            StaffAction::Close { .. } => "close",
            StaffAction::HandBack => "hand back",
            StaffAction::Reopen => "reopen",
        }
    }
}

/// Why a staff action was refused; each reads as a sentence for the moderator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("ticket #{0} does not exist")]
    NoSuchTicket(TicketId),
    #[error("only moderators and the support role can do that")]
    NotStaff,
    #[error("ticket #{0} is already claimed by <@{1}>")]
    ClaimedByOther(TicketId, MemberId),
    #[error("ticket #{0} is already yours")]
    AlreadyYours(TicketId),
    #[error("ticket #{0} is not claimed")]
    NotClaimed(TicketId),
    #[error("ticket #{0} is not open")]
    NotOpen(TicketId),
    #[error("ticket #{0} is still open")]
    StillOpen(TicketId),
    #[error("ticket #{0} closed too long ago to reopen; open a new one")]
    TooOldToReopen(TicketId),
    #[error("the member already has an open ticket (#{0})")]
    MemberHasOpenTicket(TicketId),
    #[error("ticket #{0} has no thread to reopen")]
    NoThread(TicketId),
    #[error("ticket #{0} was changed by someone else just now; try again")]
    Conflict(TicketId),
}

/// A timer that is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Unclaimed past the SLA: ping the support role once.
    SlaReminder,
    /// Quiet for nearly `auto_close`: warn in the thread once.
    InactivityWarning,
    /// Quiet for `auto_close`: close it as inactive.
    AutoClose,
}

/// The reason stored when a ticket closes for inactivity.
pub const INACTIVE_REASON: &str = "inactive";
/// The reason stored when `/forget-me` closes a member's open ticket.
pub const FORGET_REASON: &str = "closed at the member's request";

/// What happened to a ticket, stored in order; the transcript is built from these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: Timestamp,
    pub actor: Option<MemberId>,
    pub kind: EventKind,
    /// A message's text (masked) or a reason.
    pub text: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Failed,
    Claimed,
    Unclaimed,
    Message,
    /// A message removed because it looked like card or login details.
    Removed,
    HandedBack,
    Closed,
    Reopened,
    SlaReminder,
    InactivityWarning,
    Rated,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Failed => "failed",
            EventKind::Claimed => "claimed",
            EventKind::Unclaimed => "unclaimed",
            EventKind::Message => "message",
            EventKind::Removed => "removed",
            EventKind::HandedBack => "handed_back",
            EventKind::Closed => "closed",
            EventKind::Reopened => "reopened",
            EventKind::SlaReminder => "sla_reminder",
            EventKind::InactivityWarning => "inactivity_warning",
            EventKind::Rated => "rated",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind, for parsing (the store reads kinds back by name); keep it in step with the
    /// enum.
    const ALL: [EventKind; 12] = [
        EventKind::Opened,
        EventKind::Failed,
        EventKind::Claimed,
        EventKind::Unclaimed,
        EventKind::Message,
        EventKind::Removed,
        EventKind::HandedBack,
        EventKind::Closed,
        EventKind::Reopened,
        EventKind::SlaReminder,
        EventKind::InactivityWarning,
        EventKind::Rated,
    ];
}

impl TicketEvent {
    pub fn new(at: Timestamp, actor: Option<MemberId>, kind: EventKind) -> TicketEvent {
        TicketEvent {
            at,
            actor,
            kind,
            text: None,
        }
    }

    /// A message in the ticket's thread, masked before it is kept.
    pub fn message(at: Timestamp, author: MemberId, text: &str) -> TicketEvent {
        TicketEvent {
            at,
            actor: Some(author),
            kind: EventKind::Message,
            text: Some(mask(text)),
        }
    }

    pub fn with_text(mut self, text: impl Into<String>) -> TicketEvent {
        self.text = Some(mask(&text.into()));
        self
    }
}

/// Masks card numbers, codes and passwords, drops bidirectional controls (see
/// [`without_bidi_controls`]), and caps the length.
pub fn mask(text: &str) -> String {
    let redacted = redact(text);
    let masked = without_bidi_controls(&redacted);
    match masked.char_indices().nth(TEXT_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &masked[..cut]),
        None => masked.into_owned(),
    }
}

/// Whether `c` changes the direction of the text around it: the embeddings and overrides
/// (U+202A–U+202E), the isolates (U+2066–U+2069) and the direction marks (U+200E, U+200F,
/// U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` without bidirectional controls. Member text quoted to moderators (the packet, the
/// transcript) must not reverse what follows it: an unclosed right-to-left override in a
/// quoted message would flip the packet's own words after it, and could make a line read
/// as something it isn't. Right-to-left scripts themselves are kept; only the invisible
/// controls go.
pub fn without_bidi_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_bidi_control) {
        std::borrow::Cow::Owned(text.chars().filter(|c| !is_bidi_control(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The longest text kept from one message.
pub const TEXT_CHARS_MAX: usize = 1500;
/// How many of a member's last messages go into the packet.
pub const RECENT_MAX: usize = 5;

impl Ticket {
    /// A new ticket as the store writes it: `Opening`, version 1.
    pub fn from_new(id: TicketId, new: &NewTicket) -> Ticket {
        Ticket {
            id,
            guild: new.guild,
            member: new.member,
            status: TicketStatus::Opening,
            opened_by: new.opened_by,
            packet: new.packet.clone(),
            thread: None,
            packet_message: None,
            claimed_by: None,
            opened_at: new.at,
            last_activity: new.at,
            sla_reminded: false,
            inactivity_warned: false,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            rating: None,
            request_key: new.request_key.clone(),
            transcript: None,
            version: 1,
        }
    }

    /// Checks a staff action against the ticket's state; returns the changed ticket and the
    /// event to store with it. Whether the actor is staff is the caller's check.
    pub fn apply(
        &self,
        actor: MemberId,
        action: &StaffAction,
        now: Timestamp,
        settings: &TicketSettings,
    ) -> Result<(Ticket, TicketEvent), Refusal> {
        let mut t = self.clone();
        let id = self.id;
        let open = self.status == TicketStatus::Open;
        let event = match action {
            StaffAction::Claim => {
                if !open {
                    return Err(Refusal::NotOpen(id));
                }
                match self.claimed_by {
                    Some(by) if by == actor => return Err(Refusal::AlreadyYours(id)),
                    Some(by) => return Err(Refusal::ClaimedByOther(id, by)),
                    None => {}
                }
                t.claimed_by = Some(actor);
                TicketEvent::new(now, Some(actor), EventKind::Claimed)
            }
            StaffAction::Unclaim => {
                if !open {
                    return Err(Refusal::NotOpen(id));
                }
                if self.claimed_by.is_none() {
                    return Err(Refusal::NotClaimed(id));
                }
                t.claimed_by = None;
                TicketEvent::new(now, Some(actor), EventKind::Unclaimed)
            }
            StaffAction::Close { .. } | StaffAction::HandBack if !open => {
                return Err(Refusal::NotOpen(id));
            }
            StaffAction::Close { reason } => {
                t.close(actor, reason, now);
                TicketEvent::new(now, Some(actor), EventKind::Closed).with_text(reason.clone())
            }
            StaffAction::HandBack => {
                t.close(actor, "handed back to the bot", now);
                TicketEvent::new(now, Some(actor), EventKind::HandedBack)
            }
            StaffAction::Reopen => {
                if self.status.is_active() {
                    return Err(Refusal::StillOpen(id));
                }
                if self.status != TicketStatus::Closed {
                    return Err(Refusal::NotOpen(id));
                }
                if self.thread.is_none() {
                    return Err(Refusal::NoThread(id));
                }
                let closed = self.closed_at.unwrap_or(self.opened_at);
                if now.0.saturating_sub(closed.0) > settings.reopen_ms {
                    return Err(Refusal::TooOldToReopen(id));
                }
                t.status = TicketStatus::Open;
                t.closed_at = None;
                t.closed_by = None;
                t.close_reason = None;
                t.transcript = None;
                t.last_activity = now;
                t.sla_reminded = true;
                t.inactivity_warned = false;
                t.rating = None;
                TicketEvent::new(now, Some(actor), EventKind::Reopened)
            }
        };
        Ok((t, event))
    }

    fn close(&mut self, actor: MemberId, reason: &str, now: Timestamp) {
        self.status = TicketStatus::Closed;
        self.closed_at = Some(now);
        self.closed_by = Some(actor);
        self.close_reason = Some(mask(reason));
    }

    /// Closes the ticket on the bot's behalf (inactivity, `/forget-me`).
    pub fn close_by_bot(&self, reason: &str, now: Timestamp) -> (Ticket, TicketEvent) {
        let mut t = self.clone();
        t.status = TicketStatus::Closed;
        t.closed_at = Some(now);
        t.closed_by = None;
        t.close_reason = Some(reason.to_string());
        (
            t,
            TicketEvent::new(now, None, EventKind::Closed).with_text(reason),
        )
    }

    /// The timer due at `now`, if any. At most one at a time, earliest first, and each fires
    /// once: its flag is stored with the ticket.
    pub fn due(&self, now: Timestamp, settings: &TicketSettings) -> Option<Timer> {
        if self.status != TicketStatus::Open {
            return None;
        }
        let quiet = now.0.saturating_sub(self.last_activity.0);
        if quiet >= settings.auto_close_ms {
            return Some(Timer::AutoClose);
        }
        if !self.inactivity_warned
            && quiet
                >= settings
                    .auto_close_ms
                    .saturating_sub(settings.warn_before_ms)
        {
            return Some(Timer::InactivityWarning);
        }
        if self.claimed_by.is_none()
            && !self.sla_reminded
            && now.0.saturating_sub(self.opened_at.0) >= settings.sla_ms
        {
            return Some(Timer::SlaReminder);
        }
        None
    }

    /// The hand-off packet as plain text (the terminal, transcripts); Discord shows it as an
    /// embed built from the same fields.
    pub fn packet_text(&self) -> String {
        let p = &self.packet;
        let mut s = String::new();
        let _ = writeln!(s, "Ticket #{} for member {}", self.id, self.member);
        if let Some(by) = self.opened_by {
            let _ = writeln!(s, "Escalated by moderator {by}");
        }
        if let Some(r) = &p.reason {
            let _ = writeln!(s, "Reason: {r}");
        }
        match (&p.intent_title, p.confidence) {
            (Some(t), Some(c)) => {
                let _ = writeln!(s, "Topic: {t} (confidence {:.0}%)", c * 100.0);
            }
            (Some(t), None) => {
                let _ = writeln!(s, "Topic: {t}");
            }
            _ => {
                let _ = writeln!(s, "Topic: not detected");
            }
        }
        let _ = writeln!(
            s,
            "Claimed by: {}",
            self.claimed_by
                .map_or("nobody yet".to_string(), |m| m.to_string())
        );
        section(&mut s, "Steps shown and answers", &p.tried);
        section(&mut s, "Checks run", &p.checks);
        section(&mut s, "Last messages", &p.recent);
        s
    }

    /// The transcript kept on close: the packet, then every event in order. Messages removed
    /// for card details read "[removed: card details]".
    pub fn transcript_text(&self, events: &[TicketEvent]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# paymedic ticket #{}\n", self.id);
        s.push_str(&self.packet_text());
        let _ = writeln!(s, "\n## Thread\n");
        for e in events {
            let who = match e.actor {
                Some(MemberId::FORGOTTEN) => "(forgotten member)".to_string(),
                Some(m) => format!("<@{m}>"),
                None => "paymedic".to_string(),
            };
            let at = e.at.0 / 1000;
            let line = match e.kind {
                EventKind::Message => format!("{who}: {}", e.text.as_deref().unwrap_or("")),
                EventKind::Removed => format!("{who}: [removed: card details]"),
                kind => match &e.text {
                    Some(t) => format!("* {} by {who}: {t}", kind.as_str()),
                    None => format!("* {} by {who}", kind.as_str()),
                },
            };
            let _ = writeln!(s, "[{at}] {line}");
        }
        if let Some(r) = self.rating {
            let _ = writeln!(
                s,
                "\nMember's answer to \"Did we solve it?\": {}",
                if r { "yes" } else { "no" }
            );
        }
        s
    }
}

fn section(s: &mut String, title: &str, lines: &[String]) {
    let _ = writeln!(s, "{title}:");
    if lines.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for l in lines {
        let _ = writeln!(s, "  - {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // `redact` over up to 2200 characters is slow in debug builds: fewer, long cases.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever a member writes, what is kept of it has no direction controls, is at most
        /// TEXT_CHARS_MAX characters (plus the ellipsis), and keeps every other character of
        /// the part it keeps when there was nothing to redact.
        #[test]
        fn masked_text_has_no_bidi_controls_and_is_capped(
            text in proptest::collection::vec(
                prop_oneof![
                    Just('\u{202E}'), Just('\u{202D}'), Just('\u{2066}'), Just('\u{2069}'),
                    Just('\u{200F}'), Just('\u{061C}'), Just('a'), Just('ا'), Just('@'),
                    Just('<'), Just('>'), Just(' '), Just('\u{200B}'), Just('е'), Just('Ａ'),
                ],
                0..2200,
            ).prop_map(|v| v.into_iter().collect::<String>())
        ) {
            let m = mask(&text);
            prop_assert!(!m.chars().any(is_bidi_control), "{m:?}");
            prop_assert!(m.chars().count() <= TEXT_CHARS_MAX + 1);
            let kept: String = text.chars().filter(|c| !is_bidi_control(*c)).collect();
            let body = m.strip_suffix('…').unwrap_or(&m);
            prop_assert!(kept.starts_with(body));
        }
    }

    fn ticket() -> Ticket {
        let mut t = Ticket::from_new(
            TicketId(1),
            &NewTicket {
                guild: GuildId(1),
                member: MemberId(10),
                opened_by: None,
                packet: Packet::default(),
                at: Timestamp(0),
                request_key: None,
            },
        );
        t.status = TicketStatus::Open;
        t.thread = Some(ChannelId(99));
        t
    }

    #[test]
    fn claim_unclaim_and_close_follow_the_ticket_state() {
        let s = TicketSettings::default();
        let t = ticket();
        let (t, e) = t
            .apply(MemberId(2), &StaffAction::Claim, Timestamp(1), &s)
            .unwrap();
        assert_eq!(e.kind, EventKind::Claimed);
        assert_eq!(t.claimed_by, Some(MemberId(2)));
        assert_eq!(
            t.apply(MemberId(3), &StaffAction::Claim, Timestamp(2), &s),
            Err(Refusal::ClaimedByOther(TicketId(1), MemberId(2)))
        );
        let (t, _) = t
            .apply(MemberId(3), &StaffAction::Unclaim, Timestamp(2), &s)
            .unwrap();
        assert_eq!(t.claimed_by, None);
        let close = StaffAction::Close {
            reason: "paid with card 4111 1111 1111 1111".into(),
        };
        let (t, e) = t.apply(MemberId(3), &close, Timestamp(3), &s).unwrap();
        assert_eq!(t.status, TicketStatus::Closed);
        assert!(!e.text.unwrap().contains("4111 1111"), "reasons are masked");
        assert_eq!(
            t.apply(MemberId(3), &StaffAction::Claim, Timestamp(4), &s),
            Err(Refusal::NotOpen(TicketId(1)))
        );
        let (t, _) = t
            .apply(MemberId(3), &StaffAction::Reopen, Timestamp(5), &s)
            .unwrap();
        assert_eq!(t.status, TicketStatus::Open);
        let (t, _) = t.apply(MemberId(3), &close, Timestamp(6), &s).unwrap();
        assert_eq!(
            t.apply(
                MemberId(3),
                &StaffAction::Reopen,
                Timestamp(7 + s.reopen_ms),
                &s
            ),
            Err(Refusal::TooOldToReopen(TicketId(1)))
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        for status in [
            TicketStatus::Opening,
            TicketStatus::Open,
            TicketStatus::Closed,
            TicketStatus::Failed,
        ] {
            assert_eq!(TicketStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(EventKind::parse("nonsense"), None);
    }

    #[test]
    fn timers_fire_in_order_from_stored_times() {
        let s = TicketSettings::default();
        let mut t = ticket();
        assert_eq!(t.due(Timestamp(s.sla_ms - 1), &s), None);
        assert_eq!(t.due(Timestamp(s.sla_ms), &s), Some(Timer::SlaReminder));
        t.sla_reminded = true;
        assert_eq!(t.due(Timestamp(s.sla_ms), &s), None);
        let warn_at = s.auto_close_ms - s.warn_before_ms;
        assert_eq!(
            t.due(Timestamp(warn_at), &s),
            Some(Timer::InactivityWarning)
        );
        t.inactivity_warned = true;
        assert_eq!(t.due(Timestamp(warn_at), &s), None);
        assert_eq!(
            t.due(Timestamp(s.auto_close_ms), &s),
            Some(Timer::AutoClose)
        );
        // A claimed ticket gets no SLA reminder.
        let mut c = ticket();
        c.claimed_by = Some(MemberId(2));
        assert_eq!(c.due(Timestamp(s.sla_ms), &s), None);
    }

    #[test]
    fn transcripts_mask_secrets_and_mark_removed_messages() {
        let t = ticket();
        let events = vec![
            TicketEvent::message(Timestamp(1000), MemberId(10), "my card 4111-1111-1111-1111"),
            TicketEvent::new(Timestamp(2000), Some(MemberId(10)), EventKind::Removed),
        ];
        let text = t.transcript_text(&events);
        assert!(!text.contains("4111-1111-1111-1111"), "{text}");
        assert!(text.contains("[removed: card details]"), "{text}");
    }
}
