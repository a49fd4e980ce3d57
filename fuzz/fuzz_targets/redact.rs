//! The sensitive-data redactor on arbitrary text.
//!
//! Uses only `redact`, `kind`, `has_card_number` and `looks_sensitive`, so the target holds
//! whatever detectors are added behind them. Checks:
//! - `redact` is idempotent: `redact(redact(x)) == redact(x)`;
//! - no card number survives it: `has_card_number(redact(x))` is false;
//! - anything flagged is changed by it: `looks_sensitive(x)` implies `redact(x) != x`;
//! - `looks_sensitive` agrees with `kind`, and a card number is reported as one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paymedic::engine::sensitive::{has_card_number, kind, looks_sensitive, redact, Secret};

fuzz_target!(|text: &str| {
    let once = redact(text);
    let twice = redact(&once);
    assert_eq!(twice, once, "redact is not idempotent on {text:?}");
    assert!(
        !has_card_number(&once),
        "a card number survived redact: {text:?} -> {once:?}"
    );
    let k = kind(text);
    assert_eq!(looks_sensitive(text), k.is_some());
    if k.is_some() {
        assert_ne!(once, text, "flagged as {k:?} but redact left it: {text:?}");
    }
    if has_card_number(text) {
        assert_eq!(k, Some(Secret::CardNumber), "{text:?}");
    }
});
