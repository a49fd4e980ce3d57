//! What the support team sees about the bot: the figures behind the staff dashboard
//! (`paymedic web`) and `paymedic report`, over a window of time.
//!
//! Pure: [`Report`] is built by [`build`] from stored rows handed in by the caller (the
//! activity log's [`ActivityRow`]s, tickets, their events, feedback); the web pages and the
//! terminal tables only render it, so both always show the same numbers. Every text in a
//! report was masked before it was stored, and is masked again on the way out.

use super::dialogue::stored::{StoredAnswer, StoredAt, StoredSession, StoredState};
use super::dialogue::Timestamp;
use super::ids::{GuildId, MemberId, TicketId};
use super::tickets::{mask, EventKind, Ticket, TicketEvent, TicketStatus};
use super::Engine;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The windows the dashboard and `report` offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Day, Window::Week, Window::Month];

    /// `24h`, `7d`, `30d`: the form in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }

    pub fn parse(s: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == s)
    }

    pub fn ms(self) -> u64 {
        const DAY: u64 = 24 * 60 * 60 * 1000;
        match self {
            Window::Day => DAY,
            Window::Week => 7 * DAY,
            Window::Month => 30 * DAY,
        }
    }
}

/// Everything the dashboard shows for one window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// The window's start and end (ms since the epoch).
    pub from: u64,
    pub to: u64,
    /// Member messages the bot was asked to answer, and what became of them.
    pub messages: Messages,
    /// Per intent, most conversations first.
    pub intents: Vec<IntentFigures>,
    /// Per flow (an intent with follow-up steps), in content order.
    pub funnels: Vec<Funnel>,
    /// Messages the bot stayed silent on, or scored just under the threshold, grouped by
    /// similarity, biggest group first. The content team's to-do list.
    pub unanswered: Vec<UnansweredGroup>,
    pub tickets: TicketFigures,
    /// Member messages by hour of day (UTC), 0–23.
    pub volume_by_hour: [u64; 24],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Messages {
    /// Every typed member message: the four below, plus those removed for card or login
    /// details or flagged as scams (never answered, never kept).
    pub seen: u64,
    pub answered: u64,
    /// Nothing in them was in scope: silent in a channel, the topic menu (or "didn't get
    /// that") when the member spoke to the bot.
    pub out_of_scope: u64,
    /// Silent (or only told to slow down) because the member wrote too fast.
    pub cooldown: u64,
    /// Silent because a human has the member's ticket.
    pub handed_off: u64,
}

/// One intent's conversations in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IntentFigures {
    /// The content key (`payment_declined`) and its title.
    pub intent: String,
    pub title: String,
    /// Conversations that started on this intent.
    pub conversations: u64,
    /// Conversations that ended without a human: fixed, or left without asking for one.
    pub resolved_without_human: u64,
    /// Answers to "Did this fix it?".
    pub fixed: u64,
    pub still_stuck: u64,
    /// Conversations handed to a human.
    pub escalated: u64,
}

impl IntentFigures {
    /// Share of conversations resolved without a human, 0–1; `None` with no conversations.
    pub fn deflection(&self) -> Option<f64> {
        ratio(self.resolved_without_human, self.conversations)
    }

    /// Share of "Did this fix it?" answers that were yes, 0–1; `None` with no answers.
    pub fn fix_rate(&self) -> Option<f64> {
        ratio(self.fixed, self.fixed + self.still_stuck)
    }
}

/// A flow's steps in order, with how many members reached each and how they left it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Funnel {
    pub intent: String,
    pub title: String,
    pub steps: Vec<FunnelStep>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FunnelStep {
    /// The step's content key.
    pub step: String,
    pub reached: u64,
    /// Said it was fixed at this step.
    pub fixed: u64,
    /// Asked for a human at this step.
    pub asked_human: u64,
    /// Went quiet at this step (the conversation expired there).
    pub gave_up: u64,
}

/// Similar messages the bot did not answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UnansweredGroup {
    /// One message of the group, masked, as it could be added as an example.
    pub text: String,
    /// Other messages of the group (masked, a few at most).
    pub similar: Vec<String>,
    pub count: u64,
    /// The intent it came closest to, and that intent's score: the intent to add it to.
    pub nearest: Option<String>,
    pub score: Option<f32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TicketFigures {
    /// Active tickets now, oldest first.
    pub open_now: Vec<OpenTicket>,
    pub opened: u64,
    pub closed: u64,
    /// From opening to the first staff message in the thread, ms.
    pub first_reply_ms: Percentiles,
    /// From opening to closing, ms.
    pub close_ms: Percentiles,
    /// "Did we solve it?" answers.
    pub rated_solved: u64,
    pub rated_unsolved: u64,
    /// Close reasons (masked), most frequent first.
    pub close_reasons: Vec<(String, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpenTicket {
    pub id: u64,
    pub age_ms: u64,
    /// The claimer's member id, if claimed.
    pub claimed_by: Option<u64>,
    /// The intent's title, or the reason given.
    pub topic: String,
}

/// The median and 90th percentile of a set of durations; `None`s with no samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Report {
    /// A report with no activity, for a window ending at `now`.
    pub fn empty(window: Window, now: Timestamp) -> Report {
        Report {
            from: now.0.saturating_sub(window.ms()),
            to: now.0,
            ..Report::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The activity log: what the bot did, one row per event, by content keys.

/// What one activity row records.
///
/// The first five say what became of a typed member message (one row each); the others
/// are conversation events, by the intent's and step's content keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityKind {
    /// Answered (an answer, a flow's next question, a pointer).
    Answered,
    /// The classifier found nothing in scope: silent in a channel, the topic menu or "didn't
    /// get that" when the member spoke to the bot. Its text is kept (masked).
    OutOfScope,
    /// Too fast for the per-member cooldown.
    Cooldown,
    /// Silent because a human has the member's ticket.
    HandedOff,
    /// Held card or login details, or flagged as a scam: removed, never answered or kept.
    Removed,
    /// A conversation started on `intent` (support intents only).
    Started,
    /// The member reached flow step `step` of `intent`.
    Reached,
    /// "It's fixed", after the advice of `step` (`None`: the first answer).
    Fixed,
    /// "Still stuck" at `step`.
    StillStuck,
    /// Handed to a human, from `step` when in a flow.
    Escalated,
    /// Offered a human and said no thanks.
    DeclinedHuman,
    /// The conversation expired while in the flow, at `step` (the advice last shown).
    GaveUp,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 12] = [
        ActivityKind::Answered,
        ActivityKind::OutOfScope,
        ActivityKind::Cooldown,
        ActivityKind::HandedOff,
        ActivityKind::Removed,
        ActivityKind::Started,
        ActivityKind::Reached,
        ActivityKind::Fixed,
        ActivityKind::StillStuck,
        ActivityKind::Escalated,
        ActivityKind::DeclinedHuman,
        ActivityKind::GaveUp,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Answered => "answered",
            ActivityKind::OutOfScope => "out_of_scope",
            ActivityKind::Cooldown => "cooldown",
            ActivityKind::HandedOff => "handed_off",
            ActivityKind::Removed => "removed",
            ActivityKind::Started => "started",
            ActivityKind::Reached => "reached",
            ActivityKind::Fixed => "fixed",
            ActivityKind::StillStuck => "still_stuck",
            ActivityKind::Escalated => "escalated",
            ActivityKind::DeclinedHuman => "declined_human",
            ActivityKind::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the row is a member message's fate (counted in [`Messages`] and the volume).
    pub fn is_message(self) -> bool {
        matches!(
            self,
            ActivityKind::Answered
                | ActivityKind::OutOfScope
                | ActivityKind::Cooldown
                | ActivityKind::HandedOff
                | ActivityKind::Removed
        )
    }
}

/// One row of the activity log. Intents and steps are content keys, so rows stay readable
/// after the pack changes; text is masked before it gets here, and only kept for messages the
/// bot did not understand.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityRow {
    pub at: Timestamp,
    pub guild: GuildId,
    pub kind: ActivityKind,
    pub intent: Option<String>,
    pub step: Option<String>,
    /// The classifier's confidence in `intent`, when a message was classified.
    pub confidence: Option<f32>,
    /// The message, masked ([`mask`]): only on [`ActivityKind::OutOfScope`] rows.
    pub text: Option<String>,
    /// The intent the message came closest to, and its score (out-of-scope rows).
    pub nearest: Option<String>,
    pub score: Option<f32>,
    /// Only on rows that keep text, so that `/forget-me` can delete what the member wrote;
    /// count-only rows name nobody.
    pub member: Option<MemberId>,
}

impl ActivityRow {
    /// A row with only a time, guild and kind.
    pub fn new(at: Timestamp, guild: GuildId, kind: ActivityKind) -> ActivityRow {
        ActivityRow {
            at,
            guild,
            kind,
            intent: None,
            step: None,
            confidence: None,
            text: None,
            nearest: None,
            score: None,
            member: None,
        }
    }

    pub fn with_intent(mut self, intent: Option<String>, step: Option<String>) -> ActivityRow {
        self.intent = intent;
        self.step = step;
        self
    }
}

/// Where a stored conversation stood, if it was in a flow: its intent and the step whose
/// advice was last shown. A session that expires there is a member who gave up.
pub fn flow_position(stored: &StoredSession) -> Option<(String, Option<String>)> {
    let StoredState::InFlow {
        intent, at, path, ..
    } = &stored.state
    else {
        return None;
    };
    let step = match at {
        StoredAt::Step(s) => Some(s.clone()),
        StoredAt::Confirm | StoredAt::OfferHuman => path.iter().rev().find_map(|a| match a {
            StoredAnswer::Step { step, .. } => Some(step.clone()),
            StoredAnswer::NotFixed => None,
        }),
    };
    Some((intent.clone(), step))
}

// ---------------------------------------------------------------------------------------------
// Aggregation

/// At most this many of the newest unanswered messages are grouped (the grouping compares
/// each with every group so far, so the work is bounded by this squared).
pub const UNANSWERED_ROWS_MAX: usize = 2_000;
/// Groups kept while grouping; messages that would start more are left out.
const UNANSWERED_GROUPS_CAP: usize = 500;
/// Groups in a report.
pub const UNANSWERED_GROUPS_MAX: usize = 20;
/// Other messages shown with a group.
const SIMILAR_MAX: usize = 3;
/// Two messages are alike when their word sets overlap this much (Jaccard).
const SIMILARITY_MIN: f64 = 0.5;
/// Close reasons in a report.
const CLOSE_REASONS_MAX: usize = 10;
/// A nearest intent scoring under this is noise ("what's the weather" is not a greeting at
/// 0.00): the group is shown with no intent to add it to.
pub const NEAREST_SCORE_MIN: f32 = 0.1;

/// What a report is built from, as read from the store.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// Activity rows (those outside the window are ignored).
    pub activity: &'a [ActivityRow],
    /// Every stored ticket.
    pub tickets: &'a [Ticket],
    /// Events of the tickets opened in the window (for the first staff reply); a ticket
    /// missing here has no staff reply.
    pub events: &'a HashMap<TicketId, Vec<TicketEvent>>,
    /// "Did we solve it?" answers, as (ticket, solved).
    pub feedback: &'a [(TicketId, bool)],
}

/// The report for `window` ending at `now`. Intents and steps are shown in the pack's order
/// with their titles; keys the pack no longer has are still shown, by key.
///
/// Every figure counts events inside the window: a conversation that started before it and
/// ended inside it counts its end, not its start.
pub fn build(engine: &Engine, window: Window, now: Timestamp, src: Sources<'_>) -> Report {
    let mut report = Report::empty(window, now);
    let (from, to) = (report.from, report.to);
    let rows: Vec<&ActivityRow> = src
        .activity
        .iter()
        .filter(|r| (from..=to).contains(&r.at.0))
        .collect();
    report.messages = messages(&rows);
    for r in rows.iter().filter(|r| r.kind.is_message()) {
        report.volume_by_hour[((r.at.0 / 3_600_000) % 24) as usize] += 1;
    }
    report.intents = intents(engine, &rows);
    report.funnels = funnels(engine, &rows);
    report.unanswered = unanswered(engine, &rows);
    report.tickets = tickets(from, to, src);
    report
}

fn messages(rows: &[&ActivityRow]) -> Messages {
    let mut m = Messages::default();
    for r in rows.iter().filter(|r| r.kind.is_message()) {
        m.seen += 1;
        match r.kind {
            ActivityKind::Answered => m.answered += 1,
            ActivityKind::OutOfScope => m.out_of_scope += 1,
            ActivityKind::Cooldown => m.cooldown += 1,
            ActivityKind::HandedOff => m.handed_off += 1,
            _ => {}
        }
    }
    m
}

fn title_of(engine: &Engine, key: &str) -> String {
    engine.content.intent_by_key(key).map_or_else(
        || key.to_string(),
        |i| engine.content.intent(i).title.clone(),
    )
}

fn intents(engine: &Engine, rows: &[&ActivityRow]) -> Vec<IntentFigures> {
    let mut by: HashMap<&str, IntentFigures> = HashMap::new();
    for r in rows {
        let Some(key) = r.intent.as_deref() else {
            continue;
        };
        if r.kind.is_message() || r.kind == ActivityKind::Reached {
            continue;
        }
        let f = by.entry(key).or_insert_with(|| IntentFigures {
            intent: key.to_string(),
            title: title_of(engine, key),
            ..IntentFigures::default()
        });
        match r.kind {
            ActivityKind::Started => f.conversations += 1,
            ActivityKind::Fixed => {
                f.fixed += 1;
                f.resolved_without_human += 1;
            }
            ActivityKind::DeclinedHuman | ActivityKind::GaveUp => f.resolved_without_human += 1,
            ActivityKind::StillStuck => f.still_stuck += 1,
            ActivityKind::Escalated => f.escalated += 1,
            _ => {}
        }
    }
    let mut out: Vec<IntentFigures> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.conversations
            .cmp(&a.conversations)
            .then_with(|| a.intent.cmp(&b.intent))
    });
    out
}

fn funnels(engine: &Engine, rows: &[&ActivityRow]) -> Vec<Funnel> {
    // (intent, step) -> figures, for the rows that name a step.
    let mut steps: HashMap<(&str, &str), FunnelStep> = HashMap::new();
    for r in rows {
        let (Some(intent), Some(step)) = (r.intent.as_deref(), r.step.as_deref()) else {
            continue;
        };
        let s = steps.entry((intent, step)).or_insert_with(|| FunnelStep {
            step: step.to_string(),
            ..FunnelStep::default()
        });
        match r.kind {
            ActivityKind::Reached => s.reached += 1,
            ActivityKind::Fixed => s.fixed += 1,
            ActivityKind::Escalated => s.asked_human += 1,
            ActivityKind::GaveUp => s.gave_up += 1,
            _ => {}
        }
    }
    let mut flows: Vec<&str> = Vec::new();
    for i in engine.content.intents.iter().filter(|i| !i.flow.is_empty()) {
        flows.push(&i.key);
    }
    let mut unknown: Vec<&str> = steps
        .keys()
        .map(|(i, _)| *i)
        .filter(|i| !flows.contains(i))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    flows.extend(unknown);
    let mut out = Vec::new();
    for intent in flows {
        let mut keys: Vec<&str> = engine
            .content
            .intent_by_key(intent)
            .map(|i| {
                engine
                    .content
                    .intent(i)
                    .flow
                    .iter()
                    .map(|s| s.key.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut gone: Vec<&str> = steps
            .keys()
            .filter(|(i, s)| *i == intent && !keys.contains(s))
            .map(|(_, s)| *s)
            .collect();
        gone.sort_unstable();
        keys.extend(gone);
        if !keys.iter().any(|s| steps.contains_key(&(intent, *s))) {
            // No activity in this flow in the window.
            continue;
        }
        out.push(Funnel {
            intent: intent.to_string(),
            title: title_of(engine, intent),
            steps: keys
                .iter()
                .map(|s| {
                    steps.get(&(intent, *s)).cloned().unwrap_or(FunnelStep {
                        step: s.to_string(),
                        ..FunnelStep::default()
                    })
                })
                .collect(),
        });
    }
    out
}

struct Group<'a> {
    words: HashSet<String>,
    text: &'a str,
    similar: Vec<&'a str>,
    count: u64,
    /// nearest intent -> (messages, best score)
    nearest: HashMap<&'a str, (u64, f32)>,
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

fn unanswered(engine: &Engine, rows: &[&ActivityRow]) -> Vec<UnansweredGroup> {
    let mut texts: Vec<&ActivityRow> = rows.iter().copied().filter(|r| r.text.is_some()).collect();
    // Newest first, so the cap keeps the freshest.
    texts.sort_by_key(|r| std::cmp::Reverse(r.at));
    texts.truncate(UNANSWERED_ROWS_MAX);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for r in texts {
        let Some(text) = r.text.as_deref() else {
            continue;
        };
        let words: HashSet<String> = engine
            .classifier
            .normalize(text)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            continue;
        }
        let i = match groups
            .iter()
            .position(|g| jaccard(&g.words, &words) >= SIMILARITY_MIN)
        {
            Some(i) => i,
            None if groups.len() < UNANSWERED_GROUPS_CAP => {
                groups.push(Group {
                    words,
                    text,
                    similar: Vec::new(),
                    count: 0,
                    nearest: HashMap::new(),
                });
                groups.len() - 1
            }
            None => continue,
        };
        let g = &mut groups[i];
        g.count += 1;
        if text != g.text && g.similar.len() < SIMILAR_MAX && !g.similar.contains(&text) {
            g.similar.push(text);
        }
        if let Some(n) = r
            .nearest
            .as_deref()
            .filter(|_| r.score.is_some_and(|s| s >= NEAREST_SCORE_MIN))
        {
            let e = g.nearest.entry(n).or_insert((0, 0.0));
            e.0 += 1;
            e.1 = e.1.max(r.score.unwrap_or(0.0));
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(b.text)));
    groups.truncate(UNANSWERED_GROUPS_MAX);
    groups
        .into_iter()
        .map(|g| {
            let nearest = g
                .nearest
                .iter()
                .max_by(|a, b| {
                    (a.1 .0)
                        .cmp(&b.1 .0)
                        .then_with(|| a.1 .1.total_cmp(&b.1 .1))
                        .then_with(|| b.0.cmp(a.0))
                })
                .map(|(k, (_, s))| (k.to_string(), *s));
            UnansweredGroup {
                // Masked when stored; masked again so nothing unmasked can reach a report.
                text: mask(g.text),
                similar: g.similar.iter().map(|s| mask(s)).collect(),
                count: g.count,
                score: nearest.as_ref().map(|(_, s)| *s),
                nearest: nearest.map(|(k, _)| k),
            }
        })
        .collect()
}

/// The median and 90th percentile by nearest rank: the smallest sample with at least 50%
/// (90%) of the samples at or below it.
pub fn percentiles(mut samples: Vec<u64>) -> Percentiles {
    samples.sort_unstable();
    let n = samples.len();
    let rank = |p: usize| samples[(n * p).div_ceil(100).max(1) - 1];
    Percentiles {
        count: n as u64,
        p50: (n > 0).then(|| rank(50)),
        p90: (n > 0).then(|| rank(90)),
    }
}

fn tickets(from: u64, to: u64, src: Sources<'_>) -> TicketFigures {
    let within = |t: Timestamp| (from..=to).contains(&t.0);
    let mut f = TicketFigures::default();
    let mut open: Vec<&Ticket> = src
        .tickets
        .iter()
        .filter(|t| t.status.is_active())
        .collect();
    open.sort_by_key(|t| (t.opened_at, t.id));
    f.open_now = open
        .into_iter()
        .map(|t| OpenTicket {
            id: t.id.0 as u64,
            age_ms: to.saturating_sub(t.opened_at.0),
            claimed_by: t.claimed_by.map(|m| m.0),
            topic: t
                .packet
                .intent_title
                .clone()
                .or_else(|| t.packet.reason.as_deref().map(mask))
                .unwrap_or_else(|| "(no topic)".into()),
        })
        .collect();
    let mut first_reply = Vec::new();
    let mut close = Vec::new();
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut closed_ids = HashSet::new();
    for t in src.tickets {
        if t.status != TicketStatus::Failed && within(t.opened_at) {
            f.opened += 1;
            let staff = src.events.get(&t.id).and_then(|evs| {
                evs.iter().find(|e| {
                    e.kind == EventKind::Message && e.actor.is_some_and(|a| a != t.member)
                })
            });
            if let Some(e) = staff {
                first_reply.push(e.at.0.saturating_sub(t.opened_at.0));
            }
        }
        if t.status == TicketStatus::Closed {
            if let Some(at) = t.closed_at.filter(|at| within(*at)) {
                f.closed += 1;
                closed_ids.insert(t.id);
                close.push(at.0.saturating_sub(t.opened_at.0));
                if let Some(r) = &t.close_reason {
                    *reasons.entry(mask(r)).or_default() += 1;
                }
            }
        }
    }
    f.first_reply_ms = percentiles(first_reply);
    f.close_ms = percentiles(close);
    for (id, solved) in src.feedback {
        if closed_ids.contains(id) {
            if *solved {
                f.rated_solved += 1;
            } else {
                f.rated_unsolved += 1;
            }
        }
    }
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    reasons.truncate(CLOSE_REASONS_MAX);
    f.close_reasons = reasons;
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tickets::{NewTicket, Packet};
    use std::sync::OnceLock;

    const DAY: u64 = 86_400_000;
    const HOUR: u64 = 3_600_000;
    const NOW: Timestamp = Timestamp(2 * DAY);

    fn engine() -> &'static Engine {
        static E: OnceLock<Engine> = OnceLock::new();
        E.get_or_init(Engine::embedded)
    }

    fn row(at: u64, kind: ActivityKind) -> ActivityRow {
        ActivityRow::new(Timestamp(at), GuildId(1), kind)
    }

    fn flow(at: u64, kind: ActivityKind, intent: &str, step: Option<&str>) -> ActivityRow {
        row(at, kind).with_intent(Some(intent.into()), step.map(Into::into))
    }

    fn missed(at: u64, text: &str, nearest: &str, score: f32) -> ActivityRow {
        ActivityRow {
            text: Some(text.into()),
            nearest: Some(nearest.into()),
            score: Some(score),
            member: Some(MemberId(5)),
            ..row(at, ActivityKind::OutOfScope)
        }
    }

    fn report(activity: &[ActivityRow]) -> Report {
        let events = HashMap::new();
        build(
            engine(),
            Window::Day,
            NOW,
            Sources {
                activity,
                tickets: &[],
                events: &events,
                feedback: &[],
            },
        )
    }

    #[test]
    fn messages_intents_funnels_and_volume_match_a_hand_count() {
        use ActivityKind::*;
        let pd = "payment_declined";
        let at = |h: u64| DAY + h * HOUR;
        let rows = vec![
            // Before the window: left out of everything.
            row(DAY - 1, Answered),
            flow(DAY - 1, Started, pd, None),
            // Messages: hours 1, 3 and 5.
            flow(at(1), Answered, pd, Some("where")),
            missed(at(1) + 5, "is the shop open on sunday", pd, 0.3),
            missed(at(3), "is the shop open sunday", pd, 0.4),
            missed(at(3) + 1, "what about bitcoin", "credit_limit", 0.2),
            row(at(3), Cooldown),
            row(at(5), HandedOff),
            row(at(5), Removed),
            // Conversation A: stuck at `where`, fixed at `message`.
            flow(at(1), Started, pd, None),
            flow(at(1), Reached, pd, Some("where")),
            flow(at(1), StillStuck, pd, Some("where")),
            flow(at(1), Reached, pd, Some("message")),
            flow(at(1), Fixed, pd, Some("message")),
            // B: asked for a human at `message`.
            flow(at(2), Started, pd, None),
            flow(at(2), Reached, pd, Some("where")),
            flow(at(2), Reached, pd, Some("message")),
            flow(at(2), Escalated, pd, Some("message")),
            // C: went quiet at `where`.
            flow(at(2), Started, pd, None),
            flow(at(2), Reached, pd, Some("where")),
            flow(at(4), GaveUp, pd, Some("where")),
            // A step and an intent the pack no longer has.
            flow(at(4), Reached, pd, Some("old_step")),
            flow(at(4), Started, "old_intent", None),
            flow(at(4), Reached, "old_intent", Some("gone_step")),
        ];
        let r = report(&rows);
        assert_eq!((r.from, r.to), (DAY, 2 * DAY));
        assert_eq!(
            r.messages,
            Messages {
                seen: 7,
                answered: 1,
                out_of_scope: 3,
                cooldown: 1,
                handed_off: 1,
            }
        );
        let mut volume = [0u64; 24];
        volume[1] = 2;
        volume[3] = 3;
        volume[5] = 2;
        assert_eq!(r.volume_by_hour, volume);

        assert_eq!(r.intents.len(), 2, "{:?}", r.intents);
        let i = &r.intents[0];
        assert_eq!(i.intent, pd);
        assert_eq!(i.title, "Your pay-later payment didn't go through");
        assert_eq!(
            (i.conversations, i.fixed, i.still_stuck, i.escalated),
            (3, 1, 1, 1)
        );
        // Fixed (A) and gave up (C): no human.
        assert_eq!(i.resolved_without_human, 2);
        assert_eq!(i.deflection(), Some(2.0 / 3.0));
        assert_eq!(i.fix_rate(), Some(0.5));
        assert_eq!(
            (r.intents[1].intent.as_str(), r.intents[1].title.as_str()),
            ("old_intent", "old_intent")
        );
        assert_eq!(r.intents[1].conversations, 1);
        assert_eq!(r.intents[1].deflection(), Some(0.0));
        assert_eq!(r.intents[1].fix_rate(), None);

        // Flows with activity only, in pack order; then intents the pack no longer has.
        let keys: Vec<&str> = r.funnels.iter().map(|f| f.intent.as_str()).collect();
        assert_eq!(keys, [pd, "old_intent"]);
        let step = |s: &str, reached, fixed, asked_human, gave_up| FunnelStep {
            step: s.into(),
            reached,
            fixed,
            asked_human,
            gave_up,
        };
        assert_eq!(
            r.funnels[0].steps,
            vec![
                step("where", 3, 0, 0, 1),
                step("message", 2, 1, 1, 0),
                step("other_method", 0, 0, 0, 0),
                step("support", 0, 0, 0, 0),
                step("old_step", 1, 0, 0, 0),
            ]
        );
        assert_eq!(r.funnels[1].title, "old_intent");
        assert_eq!(r.funnels[1].steps, vec![step("gone_step", 1, 0, 0, 0)]);

        // Unanswered: the two shop questions together (newest as the example), then the other.
        assert_eq!(r.unanswered.len(), 2, "{:?}", r.unanswered);
        let g = &r.unanswered[0];
        assert_eq!(g.count, 2);
        assert_eq!(g.text, "is the shop open sunday");
        assert_eq!(g.similar, vec!["is the shop open on sunday".to_string()]);
        assert_eq!(g.nearest.as_deref(), Some(pd));
        assert_eq!(g.score, Some(0.4));
        let g = &r.unanswered[1];
        assert_eq!(
            (g.count, g.text.as_str(), g.nearest.as_deref(), g.score),
            (1, "what about bitcoin", Some("credit_limit"), Some(0.2))
        );
    }

    #[test]
    fn an_empty_log_gives_an_empty_report() {
        assert_eq!(report(&[]), Report::empty(Window::Day, NOW));
    }

    #[test]
    fn unanswered_text_is_masked_in_the_report_even_if_stored_unmasked() {
        let rows = [missed(
            DAY + 1,
            "my card 4111 1111 1111 1111 fails",
            "payment_declined",
            0.1,
        )];
        let r = report(&rows);
        let shown = format!("{:?}", r.unanswered);
        assert!(!shown.contains("4111 1111 1111 1111"), "{shown}");
        assert!(!shown.contains("4111111111111111"), "{shown}");
        assert_eq!(r.unanswered[0].count, 1);
    }

    #[test]
    fn a_nearest_intent_scoring_near_zero_is_not_offered() {
        let rows = [
            missed(DAY + 1, "what is the weather like", "greeting", 0.0),
            missed(DAY + 2, "what is the weather like today", "greeting", 0.09),
            missed(DAY + 3, "is my refund on its way", "payment_history", 0.12),
        ];
        let r = report(&rows);
        let weather = r.unanswered.iter().find(|g| g.count == 2).unwrap();
        assert_eq!((weather.nearest.as_deref(), weather.score), (None, None));
        let refund = r.unanswered.iter().find(|g| g.count == 1).unwrap();
        assert_eq!(refund.nearest.as_deref(), Some("payment_history"));
    }

    #[test]
    fn unanswered_grouping_is_bounded() {
        // Many distinct messages: at most UNANSWERED_ROWS_MAX are looked at, and a report
        // shows UNANSWERED_GROUPS_MAX groups.
        let rows: Vec<ActivityRow> = (0..UNANSWERED_ROWS_MAX as u64 + 500)
            .map(|n| missed(DAY + n, &format!("word{n} other{n}"), "credit_limit", 0.1))
            .collect();
        let r = report(&rows);
        assert_eq!(r.unanswered.len(), UNANSWERED_GROUPS_MAX);
        assert!(r.unanswered.iter().all(|g| g.count == 1));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        assert_eq!(
            percentiles(vec![]),
            Percentiles {
                count: 0,
                p50: None,
                p90: None
            }
        );
        assert_eq!(
            percentiles(vec![7]),
            Percentiles {
                count: 1,
                p50: Some(7),
                p90: Some(7)
            }
        );
        assert_eq!(
            percentiles((1..=10).rev().collect()),
            Percentiles {
                count: 10,
                p50: Some(5),
                p90: Some(9)
            }
        );
    }

    fn ticket(id: i64, opened: u64, status: TicketStatus) -> Ticket {
        let new = NewTicket {
            guild: GuildId(1),
            member: MemberId(100 + id as u64),
            opened_by: None,
            packet: Packet::default(),
            at: Timestamp(opened),
            request_key: None,
        };
        let mut t = Ticket::from_new(TicketId(id), &new);
        t.status = status;
        t
    }

    fn closed(mut t: Ticket, at: u64, reason: &str) -> Ticket {
        t.status = TicketStatus::Closed;
        t.closed_at = Some(Timestamp(at));
        t.close_reason = Some(reason.into());
        t
    }

    #[test]
    fn ticket_figures_match_a_hand_count() {
        let at = |h: u64| DAY + h * HOUR;
        let t1 = closed(ticket(1, at(0), TicketStatus::Open), at(2), "fixed it");
        let t2 = closed(ticket(2, at(1), TicketStatus::Open), at(5), "fixed it");
        let mut t3 = ticket(3, at(3), TicketStatus::Open);
        t3.claimed_by = Some(MemberId(7));
        t3.packet.intent_title = Some("Over your spending limit".into());
        // Opened before the window, closed in it: counts as closed, not opened.
        let t4 = closed(ticket(4, DAY - HOUR, TicketStatus::Open), at(1), "inactive");
        // Failed: never opened.
        let t5 = ticket(5, at(2), TicketStatus::Failed);
        let t6 = ticket(6, at(4), TicketStatus::Opening);
        let tickets = vec![t1.clone(), t2.clone(), t3.clone(), t4, t5, t6];
        let staff = MemberId(7);
        let mut events = HashMap::new();
        events.insert(
            TicketId(1),
            vec![
                TicketEvent::new(Timestamp(at(0)), Some(t1.member), EventKind::Opened),
                // The member's own message is no staff reply.
                TicketEvent::message(Timestamp(at(0) + 60_000), t1.member, "hello?"),
                TicketEvent::message(Timestamp(at(0) + 600_000), staff, "on it"),
                TicketEvent::message(Timestamp(at(0) + 900_000), staff, "again"),
            ],
        );
        events.insert(
            TicketId(2),
            vec![TicketEvent::message(
                Timestamp(at(1) + 1_800_000),
                staff,
                "hi",
            )],
        );
        events.insert(
            TicketId(3),
            vec![TicketEvent::message(Timestamp(at(3) + HOUR), staff, "hi")],
        );
        let feedback = [
            (TicketId(1), true),
            (TicketId(2), false),
            // Not closed in the window: not counted.
            (TicketId(3), true),
        ];
        let r = build(
            engine(),
            Window::Day,
            NOW,
            Sources {
                activity: &[],
                tickets: &tickets,
                events: &events,
                feedback: &feedback,
            },
        );
        let t = &r.tickets;
        assert_eq!((t.opened, t.closed), (4, 3));
        assert_eq!(
            t.first_reply_ms,
            Percentiles {
                count: 3,
                p50: Some(1_800_000),
                p90: Some(HOUR)
            }
        );
        assert_eq!(
            t.close_ms,
            Percentiles {
                count: 3,
                p50: Some(2 * HOUR),
                p90: Some(4 * HOUR)
            }
        );
        assert_eq!((t.rated_solved, t.rated_unsolved), (1, 1));
        assert_eq!(
            t.close_reasons,
            vec![("fixed it".to_string(), 2), ("inactive".to_string(), 1)]
        );
        assert_eq!(
            t.open_now,
            vec![
                OpenTicket {
                    id: 3,
                    age_ms: 21 * HOUR,
                    claimed_by: Some(7),
                    topic: "Over your spending limit".into(),
                },
                OpenTicket {
                    id: 6,
                    age_ms: 20 * HOUR,
                    claimed_by: None,
                    topic: "(no topic)".into(),
                },
            ]
        );
    }

    #[test]
    fn a_stored_flow_position_is_its_step_or_the_last_answered() {
        let at_step = StoredSession {
            state: StoredState::InFlow {
                intent: "payment_declined".into(),
                at: StoredAt::Step("message".into()),
                path: vec![],
                unclear: 0,
                known: vec![],
            },
            updated: 0,
        };
        assert_eq!(
            flow_position(&at_step),
            Some(("payment_declined".into(), Some("message".into())))
        );
        let confirming = StoredSession {
            state: StoredState::InFlow {
                intent: "payment_declined".into(),
                at: StoredAt::Confirm,
                path: vec![
                    StoredAnswer::Step {
                        step: "where".into(),
                        option: None,
                        inferred: false,
                    },
                    StoredAnswer::NotFixed,
                ],
                unclear: 0,
                known: vec![],
            },
            updated: 0,
        };
        assert_eq!(
            flow_position(&confirming),
            Some(("payment_declined".into(), Some("where".into())))
        );
        let idle = StoredSession {
            state: StoredState::Idle,
            updated: 0,
        };
        assert_eq!(flow_position(&idle), None);
    }
}
