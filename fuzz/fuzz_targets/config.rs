//! Config load from text: `Config::parse` (TOML, unknown settings, ranges, versions, ticket
//! timers), then `Config::apply` onto the shipped engine as start-up does.
//!
//! Checks: a located error points inside the text and every error renders; an accepted config
//! holds its documented ranges (durations up to a week, idle timeout above zero, thresholds and
//! margin strictly between 0 and 1, minimum app version not above the latest, ticket timers
//! positive with the warning before the auto-close); `apply` either sets every threshold it
//! names or reports an unknown intent, and the engine's thresholds stay in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paymedic::config::{Config, ConfigError};
use paymedic::engine::Engine;
use std::cell::RefCell;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::embedded);

thread_local! {
    /// The engine a config is applied to, put back after each input: cloning a whole engine
    /// per input would cost more than the parse being fuzzed.
    static SCRATCH: RefCell<Engine> = RefCell::new(ENGINE.clone());
}
const WEEK_MS: u64 = 7 * 24 * 3600 * 1000;
const NAME: &str = "fuzz.toml";

fuzz_target!(|src: &str| {
    let config = match Config::parse(NAME, src) {
        Err(e) => {
            if let ConfigError::Invalid { location, .. } = &e {
                let lines: Vec<&str> = src.split('\n').collect();
                assert_eq!(location.file, NAME);
                assert!((1..=lines.len()).contains(&location.line), "{e}");
                let width = lines[location.line - 1].chars().count();
                assert!((1..=width + 1).contains(&location.col), "{e}");
            }
            let _ = e.to_string();
            return;
        }
        Ok(c) => c,
    };
    assert!(config.cooldown_ms <= WEEK_MS);
    assert!((1..=WEEK_MS).contains(&config.idle_timeout_ms));
    for x in config
        .threshold
        .iter()
        .chain(&config.margin)
        .chain(config.intent_thresholds.values())
    {
        assert!(*x > 0.0 && *x < 1.0, "{x}");
    }
    assert!(config.ios.minimum <= config.ios.latest);
    assert!(config.android.minimum <= config.android.latest);
    let t = &config.tickets;
    assert!(t.sla_ms > 0 && t.auto_close_ms > 0 && t.reopen_ms > 0);
    assert!(t.warn_before_ms < t.auto_close_ms);
    assert!((1..=3650).contains(&config.retention_days));
    assert_eq!(
        config.intent_thresholds.len(),
        config.intent_threshold_locations.len()
    );

    SCRATCH.with_borrow_mut(|engine| {
        check_apply(&config, engine);
        // `apply` touches only the settings and thresholds.
        engine.settings = ENGINE.settings;
        engine
            .classifier
            .set_thresholds(ENGINE.classifier.thresholds().clone());
    });
});

fn check_apply(config: &Config, engine: &mut Engine) {
    let unknown = config
        .intent_thresholds
        .keys()
        .any(|k| engine.content.intent_by_key(k).is_none());
    match config.apply(engine) {
        Ok(()) => {
            assert!(!unknown, "an unknown intent threshold was accepted");
            assert_eq!(engine.settings.idle_timeout_ms, config.idle_timeout_ms);
            let th = engine.classifier.thresholds();
            for (k, v) in &config.intent_thresholds {
                let id = engine.content.intent_by_key(k).unwrap();
                assert_eq!(th.per_intent[id.index()], *v);
            }
            if let Some(m) = config.margin {
                assert_eq!(th.margin, m);
            }
            assert!(th.per_intent.iter().all(|x| *x > 0.0 && *x < 1.0), "{th:?}");
            let _ = engine.classify("klarna declined my payment");
        }
        Err(e) => {
            assert!(unknown, "apply failed with only known intents: {e}");
            let _ = e.to_string();
        }
    }
}
