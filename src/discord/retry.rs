//! What the outbox does when Discord's REST API answers with an error: retry, give up, or
//! log once. The outbox (`super::outbox`) runs every request through this policy.
//!
//! - **429 Too Many Requests**: wait, then try again. In production serenity's own
//!   ratelimiter sleeps for the 429's `Retry-After` and repeats the request before an error
//!   reaches paymedic. With the ratelimiter off (behind a ratelimiting proxy, or the test
//!   suite's fake, via `DISCORD_API_BASE`) the 429 does reach us, but serenity's error keeps
//!   only the status, code and message, not `retry_after`; so the wait is
//!   [`RATE_LIMIT_WAIT`], doubling, at most [`RATE_LIMIT_WAIT_MAX`]. A 429 means Discord did
//!   nothing, so every request may be repeated.
//! - **500, 502, 503, 504, and network errors**: jittered exponential backoff from
//!   [`BACKOFF_FIRST`], for requests that are safe to repeat ([`Repeat::Safe`]). A 5xx usually
//!   comes from before Discord acted, but not always: a 502 can follow a message that was
//!   created. So messages go out with an enforced nonce (Discord answers a repeat with the
//!   first message), interaction callbacks can't be answered twice (a repeat gets 40060,
//!   taken as done), edits and deletes are idempotent. Creating a thread is not: it is
//!   retried only when Discord certainly did not act ([`Repeat::IfUnapplied`]). A follow-up
//!   (webhook) has no nonce; it is retried anyway, since a member left without an answer is
//!   worse than a rare duplicate.
//! - **After [`ATTEMPTS`] attempts** the request is given up: one error log line with the
//!   member and channel ids (never the text) and the running counts, and the caller moves
//!   on. Nothing waits longer than a few seconds in all.
//! - **403 with 50013 (Missing Permissions) or 50001 (Missing Access), and 404 with 10003
//!   (Unknown Channel: deleted)**: never retried, and logged once per channel and kind of
//!   request ([`first_in_channel`]), not once per message; the counts still grow.
//!
//! [`STATS`] counts all of it since start, for the log lines and a metrics page.

use super::dedupe::Recent;
use poise::serenity_prelude as serenity;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Tries of one request, the first included.
pub const ATTEMPTS: u32 = 3;
/// The first wait after a 5xx or a network error; it doubles each time, with jitter.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// The first wait after a 429 whose `retry_after` serenity did not pass on; it doubles.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// The longest wait after a 429.
pub const RATE_LIMIT_WAIT_MAX: Duration = Duration::from_secs(5);
/// Channels remembered by [`first_in_channel`].
const UNDELIVERABLE_MAX: usize = 1024;

/// Whether a request may be repeated after a failure that Discord may have acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// A repeat is harmless (see the module docs): retried on 429, 5xx and network errors.
    Safe,
    /// A repeat could do it twice (creating a thread): retried only on 429 or a connection
    /// that was never made.
    IfUnapplied,
}

/// What went wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429.
    RateLimited,
    /// 500, 502, 503 or 504.
    Server(u16),
    /// The connection was never made: Discord did nothing.
    Unreached,
    /// Timed out or dropped: Discord may have acted.
    Network,
    /// 403 with 50013 (Missing Permissions) or 50001 (Missing Access).
    NoPermission(isize),
    /// 404 with 10003: the channel or thread was deleted.
    UnknownChannel,
    /// 400 with 40060: the interaction was answered already.
    AlreadyAnswered,
    /// 404 with 10008: the message is gone.
    UnknownMessage,
    /// Anything else (status, if there was one).
    Other(Option<u16>),
}

impl Failure {
    pub fn of(e: &serenity::Error) -> Failure {
        use serenity::HttpError;
        let serenity::Error::Http(h) = e else {
            return Failure::Other(None);
        };
        match h {
            HttpError::UnsuccessfulRequest(r) => match (r.status_code.as_u16(), r.error.code) {
                (429, _) => Failure::RateLimited,
                (s @ (500 | 502 | 503 | 504), _) => Failure::Server(s),
                (403, c @ (50013 | 50001)) => Failure::NoPermission(c),
                (404, 10003) => Failure::UnknownChannel,
                (404, 10008) => Failure::UnknownMessage,
                (400, 40060) => Failure::AlreadyAnswered,
                (s, _) => Failure::Other(Some(s)),
            },
            HttpError::Request(r) if r.is_connect() => Failure::Unreached,
            HttpError::Request(_) => Failure::Network,
            _ => Failure::Other(None),
        }
    }

    /// The `status` label of [`crate::metrics::DISCORD_REST_ERRORS`]: the HTTP status, or
    /// what happened when there was none.
    pub fn status_label(self) -> String {
        match self {
            Failure::RateLimited => "429".into(),
            Failure::Server(s) | Failure::Other(Some(s)) => s.to_string(),
            Failure::NoPermission(_) => "403".into(),
            Failure::UnknownChannel | Failure::UnknownMessage => "404".into(),
            Failure::AlreadyAnswered => "400".into(),
            Failure::Unreached => "unreached".into(),
            Failure::Network => "network".into(),
            Failure::Other(None) => "other".into(),
        }
    }

    /// Whether this failure is worth another try at all.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Failure::RateLimited | Failure::Server(_) | Failure::Unreached | Failure::Network
        )
    }

    /// Whether Discord may have carried out the request although it failed.
    pub fn maybe_applied(self) -> bool {
        matches!(self, Failure::Server(_) | Failure::Network)
    }
}

/// How long to wait before try number `attempt + 1` after `failure` on try `attempt` (from 1),
/// or `None`: give up (not transient, not safe to repeat, or out of attempts). `jitter` in
/// `[0, 1)` spreads the 5xx waits ("equal jitter": half fixed, half random).
pub fn wait_before_retry(
    failure: Failure,
    repeat: Repeat,
    attempt: u32,
    jitter: f64,
) -> Option<Duration> {
    if attempt >= ATTEMPTS || !failure.is_transient() {
        return None;
    }
    if failure.maybe_applied() && repeat == Repeat::IfUnapplied {
        return None;
    }
    let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
    Some(match failure {
        Failure::RateLimited => RATE_LIMIT_WAIT
            .saturating_mul(doubling)
            .min(RATE_LIMIT_WAIT_MAX),
        _ => {
            let full = BACKOFF_FIRST.saturating_mul(doubling);
            full / 2 + full.div_f64(2.0).mul_f64(jitter.clamp(0.0, 1.0))
        }
    })
}

/// A number in `[0, 1)` for jitter: splitmix64 over a counter seeded from the clock. Not for
/// anything that needs to be unpredictable.
pub fn jitter() -> f64 {
    let x = next_random();
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn next_random() -> u64 {
    static STATE: LazyLock<AtomicU64> = LazyLock::new(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        AtomicU64::new(nanos ^ u64::from(std::process::id()).rotate_left(32))
    });
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A message nonce for `enforce_nonce`: unique within the process, and, from a clock-seeded
/// sequence, across restarts in practice. Discord keeps nonces for a few minutes per author,
/// which covers every retry.
pub fn nonce() -> String {
    // 20 digits at most: within Discord's 25 characters.
    next_random().to_string()
}

/// Whether this is the first `what` failure in `channel` lately (per process, the last
/// [`UNDELIVERABLE_MAX`] channels): a missing permission or a deleted channel is logged then,
/// and not for every message after it.
pub fn first_in_channel(channel: u64, what: &'static str) -> bool {
    static SEEN: LazyLock<Mutex<Recent<(u64, &'static str)>>> =
        LazyLock::new(|| Mutex::new(Recent::new(UNDELIVERABLE_MAX)));
    SEEN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((channel, what))
}

/// Counts of REST failures and replayed events since start.
#[derive(Debug, Default)]
pub struct Stats {
    retried_rate_limited: AtomicU64,
    retried_server_error: AtomicU64,
    retried_network: AtomicU64,
    gave_up: AtomicU64,
    no_permission: AtomicU64,
    unknown_channel: AtomicU64,
    replays_dropped: AtomicU64,
}

/// The process's counts.
pub static STATS: Stats = Stats::new();

/// A copy of [`Stats`] at one moment, to log or export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub retried_rate_limited: u64,
    pub retried_server_error: u64,
    pub retried_network: u64,
    pub gave_up: u64,
    pub no_permission: u64,
    pub unknown_channel: u64,
    pub replays_dropped: u64,
}

impl Stats {
    pub const fn new() -> Stats {
        Stats {
            retried_rate_limited: AtomicU64::new(0),
            retried_server_error: AtomicU64::new(0),
            retried_network: AtomicU64::new(0),
            gave_up: AtomicU64::new(0),
            no_permission: AtomicU64::new(0),
            unknown_channel: AtomicU64::new(0),
            replays_dropped: AtomicU64::new(0),
        }
    }

    pub fn retried(&self, f: Failure) {
        let c = match f {
            Failure::RateLimited => &self.retried_rate_limited,
            Failure::Server(_) => &self.retried_server_error,
            _ => &self.retried_network,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn gave_up(&self) {
        self.gave_up.fetch_add(1, Ordering::Relaxed);
    }

    pub fn undeliverable(&self, f: Failure) {
        match f {
            Failure::NoPermission(_) => &self.no_permission,
            _ => &self.unknown_channel,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    pub fn replay_dropped(&self) {
        self.replays_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Counts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            retried_rate_limited: g(&self.retried_rate_limited),
            retried_server_error: g(&self.retried_server_error),
            retried_network: g(&self.retried_network),
            gave_up: g(&self.gave_up),
            no_permission: g(&self.no_permission),
            unknown_channel: g(&self.unknown_channel),
            replays_dropped: g(&self.replays_dropped),
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retried_429={} retried_5xx={} retried_network={} gave_up={} no_permission={} unknown_channel={} replays_dropped={}",
            self.retried_rate_limited,
            self.retried_server_error,
            self.retried_network,
            self.gave_up,
            self.no_permission,
            self.unknown_channel,
            self.replays_dropped
        )
    }
}

/// A failed request, as the outbox returns it.
#[derive(Debug)]
pub struct SendError {
    pub failure: Failure,
    /// The outbox logged it already (given up after retries, or a missing permission or
    /// deleted channel, logged once per channel): callers don't log it again.
    pub logged: bool,
    source: serenity::Error,
}

impl SendError {
    pub fn new(source: serenity::Error, logged: bool) -> SendError {
        SendError {
            failure: Failure::of(&source),
            logged,
            source,
        }
    }

    /// Whether Discord refused a DM because the member doesn't take DMs from the bot (403 with
    /// 50007, "Cannot send messages to this user"): not a fault, and not worth a retry.
    pub fn dms_closed(&self) -> bool {
        matches!(
            &self.source,
            serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r))
                if r.status_code.as_u16() == 403 && r.error.code == 50007
        )
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Whether `e` is a send failure the outbox already logged.
pub fn already_logged(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<SendError>().is_some_and(|s| s.logged)
}

/// A periodic job's failures (ticket timers, the session sweep, the retention purge, ...),
/// logged once per outage: the first failure of a run at warn, the next ones at debug, and
/// the first success after them at info, with how many ticks failed. While the database is
/// down every job fails at each of its ticks (30 s to a day apart, each bounded by the store's
/// acquire timeout), and it needs saying once, not once a tick per job. The job is simply tried
/// again at its next tick: that is the backoff, and the first tick after the database returns
/// works again.
#[derive(Debug)]
pub struct JobFailures {
    job: &'static str,
    failed: u32,
}

impl JobFailures {
    pub const fn new(job: &'static str) -> JobFailures {
        JobFailures { job, failed: 0 }
    }

    /// Logs `result` as described above; `Some` on success.
    pub fn check<T, E: fmt::Display>(&mut self, result: Result<T, E>) -> Option<T> {
        let job = self.job;
        match result {
            Ok(v) => {
                if let Some(failed) = self.succeeded() {
                    tracing::info!(job, failed, "a periodic job works again");
                }
                Some(v)
            }
            Err(e) => {
                if self.failed_once() {
                    tracing::warn!(job, error = %e, "a periodic job failed; it is tried again at each tick, and said again when it works");
                } else {
                    tracing::debug!(job, failed = self.failed, error = %e, "a periodic job failed again");
                }
                None
            }
        }
    }

    /// Counts a failure; `true` when it is the first of a run (to be logged loudly).
    fn failed_once(&mut self) -> bool {
        self.failed += 1;
        self.failed == 1
    }

    /// Counts a success; how many failures it ends, if any.
    fn succeeded(&mut self) -> Option<u32> {
        let failed = std::mem::take(&mut self.failed);
        (failed > 0).then_some(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_failure() -> impl Strategy<Value = Failure> {
        prop_oneof![
            Just(Failure::RateLimited),
            prop_oneof![Just(500u16), Just(502), Just(503), Just(504)].prop_map(Failure::Server),
            Just(Failure::Unreached),
            Just(Failure::Network),
            Just(Failure::NoPermission(50013)),
            Just(Failure::UnknownChannel),
            Just(Failure::AlreadyAnswered),
            Just(Failure::UnknownMessage),
            Just(Failure::Other(Some(400))),
        ]
    }

    fn any_repeat() -> impl Strategy<Value = Repeat> {
        prop_oneof![Just(Repeat::Safe), Just(Repeat::IfUnapplied)]
    }

    proptest! {
        /// Bounded: never more than ATTEMPTS tries, each wait at most the cap, and the total
        /// of all waits of one request a few seconds at most.
        #[test]
        fn retries_are_bounded(
            failures in proptest::collection::vec(any_failure(), 1..10),
            repeat in any_repeat(),
            jitters in proptest::collection::vec(0.0f64..1.0, 10),
        ) {
            let mut total = Duration::ZERO;
            let mut tries = 0;
            for (i, f) in failures.iter().enumerate() {
                tries += 1;
                match wait_before_retry(*f, repeat, i as u32 + 1, jitters[i]) {
                    Some(w) => {
                        prop_assert!(w <= RATE_LIMIT_WAIT_MAX);
                        total += w;
                    }
                    None => break,
                }
            }
            prop_assert!(tries <= ATTEMPTS as usize);
            prop_assert!(total <= RATE_LIMIT_WAIT_MAX * (ATTEMPTS - 1));
        }

        /// What is retried: transient failures only, and a request that must not happen twice
        /// only when Discord certainly did not act.
        #[test]
        fn only_transient_and_safe_failures_are_retried(
            f in any_failure(),
            repeat in any_repeat(),
            jitter in 0.0f64..1.0,
        ) {
            let retried = wait_before_retry(f, repeat, 1, jitter).is_some();
            let expected = f.is_transient() && (repeat == Repeat::Safe || !f.maybe_applied());
            prop_assert_eq!(retried, expected, "{:?} {:?}", f, repeat);
        }

        /// 5xx waits grow with each try and stay within [half, full] of the doubling step.
        #[test]
        fn server_error_waits_are_jittered_doublings(attempt in 1u32..ATTEMPTS, jitter in 0.0f64..1.0) {
            let w = wait_before_retry(Failure::Server(502), Repeat::Safe, attempt, jitter).unwrap();
            let full = BACKOFF_FIRST * 2u32.pow(attempt - 1);
            prop_assert!(w >= full / 2 && w <= full, "{:?} for try {}", w, attempt);
        }
    }

    #[test]
    fn nonces_are_distinct_and_fit_discord() {
        let n: std::collections::HashSet<String> = (0..10_000).map(|_| nonce()).collect();
        assert_eq!(n.len(), 10_000);
        assert!(n.iter().all(|n| n.len() <= 25));
    }

    #[test]
    fn a_failing_job_is_reported_once_per_outage_and_its_recovery_once() {
        let mut j = JobFailures::new("test job");
        assert_eq!(j.succeeded(), None, "nothing to report while it works");
        assert!(j.failed_once(), "the first failure is reported");
        assert!(!j.failed_once());
        assert!(!j.failed_once());
        assert_eq!(
            j.succeeded(),
            Some(3),
            "the recovery, with the failed ticks"
        );
        assert_eq!(j.succeeded(), None);
        assert!(j.failed_once(), "a new outage is reported again");
        assert_eq!(j.check::<(), _>(Err("down")), None);
        assert_eq!(j.check::<u8, &str>(Ok(7)), Some(7));
        assert_eq!(j.failed, 0);
    }

    #[test]
    fn a_channel_is_reported_once_per_kind() {
        let c = u64::MAX - 7;
        assert!(first_in_channel(c, "post"));
        assert!(!first_in_channel(c, "post"));
        assert!(first_in_channel(c, "remove a message"));
    }
}
