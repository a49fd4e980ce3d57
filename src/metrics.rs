//! Prometheus metrics: the names, their help text, the histogram buckets, and the one
//! recorder for the process.
//!
//! What is counted lives here as named functions ([`message`], [`answer`], ...), called from
//! the app and the Discord adapter, never from `engine/` (pure). [`install`] sets up the
//! recorder once per process; `/metrics` is served by the web dashboard through
//! [`PrometheusHandle::render`] (no HTTP listener of the exporter's own):
//!
//! ```no_run
//! let h = paymedic::metrics::install();
//! let render: std::sync::Arc<dyn Fn() -> String + Send + Sync> = std::sync::Arc::new(move || h.render());
//! ```
//!
//! Until [`install`] runs, the functions here do nothing (the `metrics` facade drops what no
//! recorder takes), so tests and the terminal pay nothing for them.

use ::metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Member messages that reached a turn.
pub const MESSAGES_SEEN: &str = "paymedic_messages_seen_total";
/// Member messages the bot answered (a reply, or a pointer to the member's ticket).
pub const MESSAGES_ANSWERED: &str = "paymedic_messages_answered_total";
/// Member messages left without an answer, by `reason`.
pub const MESSAGES_SILENT: &str = "paymedic_messages_silent_total";
/// Intent answers given, by `intent` (the intent's key in `intents.toml`).
pub const ANSWERS: &str = "paymedic_answers_total";
/// How guided flows went, by `intent` and `outcome`.
pub const FLOW_OUTCOMES: &str = "paymedic_flow_outcomes_total";
pub const TICKETS_OPENED: &str = "paymedic_tickets_opened_total";
pub const TICKETS_CLOSED: &str = "paymedic_tickets_closed_total";
/// Tickets opening or open right now (from the store).
pub const TICKETS_OPEN: &str = "paymedic_tickets_open";
/// Discord REST errors, by `status` (the HTTP status, or `network` / `unreached` / `other`).
pub const DISCORD_REST_ERRORS: &str = "paymedic_discord_rest_errors_total";
/// Gateway sessions started (`kind="ready"`, the first one is start-up) or resumed
/// (`kind="resume"`).
pub const GATEWAY_CONNECTS: &str = "paymedic_gateway_connects_total";
pub const CLASSIFIER_CONFIDENCE: &str = "paymedic_classifier_confidence";
pub const TURN_SECONDS: &str = "paymedic_turn_duration_seconds";
pub const FIRST_HUMAN_REPLY_SECONDS: &str = "paymedic_ticket_first_human_reply_seconds";
pub const RELOAD_SECONDS: &str = "paymedic_reload_duration_seconds";
/// Reloads, by `result` (`ok`, `invalid`, `unchanged`, `refused`).
pub const RELOADS: &str = "paymedic_reloads_total";

/// Why a member message went unanswered (the `reason` label of [`MESSAGES_SILENT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// Nothing to say: chatter, or a topic the bot doesn't cover.
    OutOfScope,
    /// The per-member cooldown (the one notice included: it is no answer).
    Cooldown,
    /// The member's ticket has them; no pointer was due.
    HandedOff,
    /// Card or login details: warned, not answered.
    Sensitive,
    /// Flagged by the scam shield.
    Scam,
    /// Over the channel's reply cap (the Discord adapter, before any turn).
    ChannelCapped,
    /// Shed under overload (the Discord adapter, before any turn).
    Shed,
    /// A store or send failure.
    Failed,
}

impl Silence {
    pub fn label(self) -> &'static str {
        match self {
            Silence::OutOfScope => "out_of_scope",
            Silence::Cooldown => "cooldown",
            Silence::HandedOff => "handed_off",
            Silence::Sensitive => "sensitive",
            Silence::Scam => "scam",
            Silence::ChannelCapped => "channel_capped",
            Silence::Shed => "shed",
            Silence::Failed => "failed",
        }
    }
}

/// How a flow ended, or a "still stuck" on the way (the `outcome` label of
/// [`FLOW_OUTCOMES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowOutcome {
    Fixed,
    StillStuck,
    Escalated,
    DeclinedHuman,
}

impl FlowOutcome {
    pub fn label(self) -> &'static str {
        match self {
            FlowOutcome::Fixed => "fixed",
            FlowOutcome::StillStuck => "still_stuck",
            FlowOutcome::Escalated => "escalated",
            FlowOutcome::DeclinedHuman => "declined_human",
        }
    }
}

/// Classifier confidence is in [0, 1]; the thresholds sit around 0.5-0.8, so that range is
/// finer.
const CONFIDENCE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 1.0];
/// A turn is microseconds of CPU plus a store commit (an fsync with SQLite FULL): 100 µs to
/// a few seconds when the disk stalls.
const TURN_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Around the ticket SLA (15 minutes by default): a minute up to a day.
const FIRST_REPLY_BUCKETS: &[f64] = &[
    60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
];
/// A reload compiles the pack and trains the classifier: tens of milliseconds to seconds.
const RELOAD_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (the first call) and returns its handle; later
/// calls return the same handle, so tests may call it as often as they like.
///
/// If some other recorder was installed first (not by paymedic), the handle renders only
/// descriptions; that is logged.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if ::metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first; /metrics will be empty"
                );
            }
            describe();
            handle
        })
        .clone()
}

/// The recorder's settings: explicit buckets for every histogram.
fn builder() -> PrometheusBuilder {
    let mut b = PrometheusBuilder::new();
    for (name, buckets) in [
        (CLASSIFIER_CONFIDENCE, CONFIDENCE_BUCKETS),
        (TURN_SECONDS, TURN_BUCKETS),
        (FIRST_HUMAN_REPLY_SECONDS, FIRST_REPLY_BUCKETS),
        (RELOAD_SECONDS, RELOAD_BUCKETS),
    ] {
        // Only an empty list is refused, and none of these is empty.
        b = match b.set_buckets_for_metric(Matcher::Full(name.to_string()), buckets) {
            Ok(next) => next,
            Err(_) => unreachable!("bucket lists are not empty"),
        };
    }
    b
}

fn describe() {
    describe_counter!(
        MESSAGES_SEEN,
        Unit::Count,
        "Member messages the bot was asked to answer."
    );
    describe_counter!(
        MESSAGES_ANSWERED,
        Unit::Count,
        "Member messages answered (a reply or a pointer to the member's ticket)."
    );
    describe_counter!(
        MESSAGES_SILENT,
        Unit::Count,
        "Member messages left unanswered, by reason."
    );
    describe_counter!(ANSWERS, Unit::Count, "Intent answers given, by intent key.");
    describe_counter!(
        FLOW_OUTCOMES,
        Unit::Count,
        "Guided flows fixed, escalated or declined, and 'still stuck' presses, by intent key."
    );
    describe_counter!(TICKETS_OPENED, Unit::Count, "Tickets opened (thread made).");
    describe_counter!(
        TICKETS_CLOSED,
        Unit::Count,
        "Tickets closed (by staff, by the member's request, or by the bot)."
    );
    describe_gauge!(
        TICKETS_OPEN,
        Unit::Count,
        "Tickets opening or open now, as the store has them."
    );
    describe_counter!(
        DISCORD_REST_ERRORS,
        Unit::Count,
        "Errors from Discord's REST API, by HTTP status (or network, unreached, other)."
    );
    describe_counter!(
        GATEWAY_CONNECTS,
        Unit::Count,
        "Gateway sessions started (ready) or resumed (resume)."
    );
    describe_histogram!(
        CLASSIFIER_CONFIDENCE,
        "Classifier confidence of answered messages."
    );
    describe_histogram!(
        TURN_SECONDS,
        Unit::Seconds,
        "Wall time of one turn (store commit included)."
    );
    describe_histogram!(FIRST_HUMAN_REPLY_SECONDS, Unit::Seconds, "From a ticket's opening to the first message in its thread by someone other than the member.");
    describe_histogram!(
        RELOAD_SECONDS,
        Unit::Seconds,
        "Time to re-read and compile the content pack and settings."
    );
    describe_counter!(
        RELOADS,
        Unit::Count,
        "Reloads, by result (ok, invalid, unchanged, refused)."
    );
}

/// Histograms keep their samples until rendered or upkept: this runs the upkeep every few
/// seconds, so memory stays flat when nothing scrapes `/metrics`. Runs until the runtime
/// stops.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

pub fn message_answered() {
    counter!(MESSAGES_SEEN).increment(1);
    counter!(MESSAGES_ANSWERED).increment(1);
}

pub fn message_silent(why: Silence) {
    counter!(MESSAGES_SEEN).increment(1);
    counter!(MESSAGES_SILENT, "reason" => why.label()).increment(1);
}

pub fn answer(intent: &str, confidence: Option<f32>) {
    counter!(ANSWERS, "intent" => intent.to_string()).increment(1);
    if let Some(c) = confidence {
        histogram!(CLASSIFIER_CONFIDENCE).record(f64::from(c));
    }
}

pub fn flow_outcome(intent: &str, outcome: FlowOutcome) {
    counter!(FLOW_OUTCOMES, "intent" => intent.to_string(), "outcome" => outcome.label())
        .increment(1);
}

pub fn ticket_opened() {
    counter!(TICKETS_OPENED).increment(1);
}

pub fn ticket_closed() {
    counter!(TICKETS_CLOSED).increment(1);
}

pub fn tickets_open(n: usize) {
    gauge!(TICKETS_OPEN).set(n as f64);
}

pub fn first_human_reply(after_ms: u64) {
    histogram!(FIRST_HUMAN_REPLY_SECONDS).record(after_ms as f64 / 1000.0);
}

pub fn turn_took(d: Duration) {
    histogram!(TURN_SECONDS).record(d.as_secs_f64());
}

pub fn discord_rest_error(status: &str) {
    counter!(DISCORD_REST_ERRORS, "status" => status.to_string()).increment(1);
}

pub fn gateway_connect(kind: &'static str) {
    counter!(GATEWAY_CONNECTS, "kind" => kind).increment(1);
}

pub fn reload(result: &'static str, took: Option<Duration>) {
    counter!(RELOADS, "result" => result).increment(1);
    if let Some(d) = took {
        histogram!(RELOAD_SECONDS).record(d.as_secs_f64());
    }
}
