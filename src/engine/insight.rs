//! What the support team sees about the bot: the figures behind the staff dashboard
//! (`paymedic web`) and `paymedic report`, over a window of time.
//!
//! Pure: [`Report`] is built from stored rows handed in by the caller; the web pages and the
//! terminal tables only render it, so both always show the same numbers. Every text in a
//! report was masked before it was stored.

use super::dialogue::Timestamp;
use serde::Serialize;

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
    pub seen: u64,
    pub answered: u64,
    /// Silent because nothing in them was in scope.
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
