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
pub const TURN_RETRIES: &str = "paymedic_turn_retries_total";
pub const LEADER: &str = "paymedic_leader";

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
    describe_counter!(
        TURN_RETRIES,
        Unit::Count,
        "Turns run again because another process changed the member's conversation first."
    );
    describe_gauge!(
        LEADER,
        "1 while this process runs the scheduled jobs (ticket timers, retention), else 0."
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

pub fn turn_retried() {
    counter!(TURN_RETRIES).increment(1);
}

pub fn leader(is: bool) {
    gauge!(LEADER).set(if is { 1.0 } else { 0.0 });
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

#[cfg(test)]
mod tests {
    //! One test fn drives everything: the recorder is global to the process. The library's
    //! test binary runs no other turns, so every count here is exact.

    use super::*;
    use crate::app::{App, Staff};
    use crate::config::Config;
    use crate::engine::ids::{ChannelId, GuildId, MemberId, UserKey};
    use crate::engine::tickets::StaffAction;
    use crate::engine::{Choice, Effect, Engine, Input, Timestamp};

    /// The value of the series `name` whose labels include every one of `labels`, in the
    /// Prometheus text `rendered`; 0 when the series is absent.
    fn value(rendered: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        for line in rendered.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, v)) = line.rsplit_once(' ') else {
                continue;
            };
            let (n, l) = match series.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                continue;
            }
            let have: Vec<&str> = l.split(',').collect();
            if labels
                .iter()
                .all(|(k, want)| have.contains(&format!("{k}=\"{want}\"").as_str()))
            {
                return v.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
            }
        }
        0.0
    }

    #[test]
    fn turns_and_a_tickets_life_show_in_the_rendered_metrics_with_their_counts() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let handle = install();
        let app = App::new(
            Engine::embedded(),
            Config {
                cooldown_ms: 0,
                ..Config::default()
            },
        );
        let intent = app
            .engine()
            .content
            .intent_by_key("payment_declined")
            .unwrap();
        let alice = UserKey::new(GuildId(1), MemberId(71));
        let press = |choice: Choice| Input::Choose {
            choice,
            shown_at: None,
        };
        let mut turns = 0.0;
        let mut turn = |input: Input<'static>, at: u64| {
            turns += 1.0;
            rt.block_on(app.turn(alice, input, Timestamp(at))).unwrap()
        };
        // A typed question answered (with its confidence), a step answered, "still stuck",
        // fixed; a restart by command (an answer, no confidence), "still stuck" until a human
        // is offered, and a human asked for (escalated: a ticket opens).
        let typed = Input::Text {
            text: "klarna declined my payment at the checkout",
            addressed: true,
        };
        let first = turn(typed, 1_000);
        assert!(first
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Answer { intent: i, .. } if *i == intent)));
        turn(press(Choice::Option(0)), 2_000);
        turn(press(Choice::Stuck), 3_000);
        let mut stuck = 1.0;
        turn(press(Choice::Fixed), 4_000);
        let mut last = turn(Input::Start(intent), 5_000);
        let mut at = 5_000;
        let offers_human = |effects: &[Effect<'_>]| {
            effects.iter().any(|e| {
                matches!(e, Effect::Ask { offers, .. }
                    if offers.iter().any(|o| o.choice == Choice::Human))
            })
        };
        while !offers_human(&last.effects) {
            assert!(stuck < 10.0, "no human offered: {:?}", last.effects);
            at += 1_000;
            last = turn(press(Choice::Stuck), at);
            stuck += 1.0;
        }
        let asked = turn(press(Choice::Human), at + 1_000);
        let ticket = asked
            .ticket
            .expect("asking for a human opens a ticket")
            .ticket()
            .clone();
        // Chatter nobody addressed: seen, not answered.
        let chatter = Input::Text {
            text: "lol anyone watching the match tonight",
            addressed: false,
        };
        let bob = UserKey::new(GuildId(1), MemberId(72));
        assert!(rt
            .block_on(app.turn(bob, chatter, Timestamp(7_000)))
            .unwrap()
            .is_silent());
        turns += 1.0;
        // The ticket's life: opened, the first human reply 90 s after, closed.
        let open_after = value(&handle.render(), TICKETS_OPEN, &[]);
        assert_eq!(open_after, 1.0, "the opening ticket counts as open");
        let thread = ChannelId(9_071);
        let opened_at = ticket.opened_at.0;
        rt.block_on(app.ticket_opened(ticket.id, Some(thread), None, Timestamp(opened_at)))
            .unwrap();
        let staff = MemberId(9_000);
        for (who, text, after) in [
            (ticket.member, "still nothing", 20_000),
            (staff, "on it", 90_000),
            (staff, "done?", 95_000),
        ] {
            rt.block_on(app.ticket_message(thread, who, text, Timestamp(opened_at + after)))
                .unwrap();
        }
        rt.block_on(app.act(
            Staff::trusted(staff),
            ticket.id,
            StaffAction::Close {
                reason: "sorted".into(),
            },
            Timestamp(opened_at + 120_000),
        ))
        .unwrap();

        let r = handle.render();
        let v = |name: &str, labels: &[(&str, &str)]| value(&r, name, labels);
        let declined = ("intent", "payment_declined");
        assert_eq!(v(ANSWERS, &[declined]), 2.0, "{r}");
        assert_eq!(
            v(FLOW_OUTCOMES, &[declined, ("outcome", "still_stuck")]),
            stuck,
            "{r}"
        );
        assert_eq!(
            v(FLOW_OUTCOMES, &[declined, ("outcome", "fixed")]),
            1.0,
            "{r}"
        );
        assert_eq!(
            v(FLOW_OUTCOMES, &[declined, ("outcome", "escalated")]),
            1.0,
            "{r}"
        );
        assert_eq!(v(MESSAGES_SEEN, &[]), 2.0, "{r}");
        assert_eq!(v(MESSAGES_ANSWERED, &[]), 1.0, "{r}");
        assert_eq!(
            v(MESSAGES_SILENT, &[("reason", "out_of_scope")]),
            1.0,
            "{r}"
        );
        // Confidence for the one typed answer; every turn timed.
        assert_eq!(v("paymedic_classifier_confidence_count", &[]), 1.0, "{r}");
        assert_eq!(v("paymedic_turn_duration_seconds_count", &[]), turns, "{r}");
        assert_eq!(v(TICKETS_OPENED, &[]), 1.0, "{r}");
        assert_eq!(v(TICKETS_CLOSED, &[]), 1.0, "{r}");
        assert_eq!(v(TICKETS_OPEN, &[]), 0.0, "{r}");
        // One first reply (not the member's own message, not the second staff one), 90 s in.
        assert_eq!(
            v("paymedic_ticket_first_human_reply_seconds_count", &[]),
            1.0,
            "{r}"
        );
        assert_eq!(
            v("paymedic_ticket_first_human_reply_seconds_sum", &[]),
            90.0,
            "{r}"
        );
        // The buckets are ours, not the exporter's defaults.
        assert_eq!(
            v(
                "paymedic_ticket_first_human_reply_seconds_bucket",
                &[("le", "60")]
            ),
            0.0,
            "{r}"
        );
        assert_eq!(
            v(
                "paymedic_ticket_first_human_reply_seconds_bucket",
                &[("le", "120")]
            ),
            1.0,
            "{r}"
        );
        assert!(r.contains("# HELP paymedic_answers_total"), "{r}");
        // Installing again is harmless: the same registry.
        assert_eq!(value(&install().render(), ANSWERS, &[declined]), 2.0);
    }

    #[test]
    fn rest_failures_are_labelled_by_status() {
        use crate::discord::retry::Failure;
        assert_eq!(Failure::RateLimited.status_label(), "429");
        assert_eq!(Failure::Server(503).status_label(), "503");
        assert_eq!(Failure::NoPermission(50013).status_label(), "403");
        assert_eq!(Failure::UnknownChannel.status_label(), "404");
        assert_eq!(Failure::Network.status_label(), "network");
        assert_eq!(Failure::Other(None).status_label(), "other");
    }
}
