//! No path repeats a card number, code or password: `explain` (the CLI's and the moderators'
//! `/explain`), check errors, and the terminal transcript. Card numbers are generated in many
//! formats around well-known test numbers.

use crate::common::app;
use paymedic::app::App;
use paymedic::engine::Timestamp;
use paymedic::explain::explain;
use proptest::prelude::*;
use std::sync::LazyLock;

static APP: LazyLock<App> = LazyLock::new(app);

/// Well-known test card numbers (Visa, Mastercard 5 and 2 series, Amex, Discover, JCB).
const CARDS: &[&str] = &[
    "4111111111111111",
    "5555555555554444",
    "2223003122003222",
    "378282246310005",
    "6011111111111117",
    "3530111333300000",
];

const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "-",
    " - ",
    ".",
    "/",
    "_",
    "\u{a0}",
    "\u{202f}",
    "\u{200b}",
    " \u{200b}",
];

/// A card number split into groups of 1–6 digits joined by one separator, in ASCII or
/// full-width digits, with an expiry, a CVV or words around it.
fn formatted_card() -> impl Strategy<Value = (String, String)> {
    (
        0..CARDS.len(),
        proptest::collection::vec(1usize..=6, 19),
        0..SEPARATORS.len(),
        any::<bool>(),
        0usize..5,
    )
        .prop_map(|(card, cuts, sep, wide, around)| {
            let digits = CARDS[card];
            let mut out = String::new();
            let mut rest = digits;
            let mut i = 0;
            while !rest.is_empty() {
                let size = cuts[i % cuts.len()];
                let take = size.min(rest.len());
                if !out.is_empty() {
                    out.push_str(SEPARATORS[sep]);
                }
                out.push_str(&rest[..take]);
                rest = &rest[take..];
                i += 1;
            }
            if wide {
                out = out
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_u32(0xFF10 + d).unwrap(),
                        None => c,
                    })
                    .collect();
            }
            let text = match around {
                0 => format!("my card {out} 123 keeps failing"),
                1 => format!("{out} 08/27 123"),
                2 => format!("exp 08/27 {out}"),
                3 => format!("why declined?? card is {out}"),
                _ => out,
            };
            (text, digits.to_string())
        })
}

/// The ASCII digits of `text` in order, with everything else dropped; full-width digits
/// count as their values.
fn digits_of(text: &str) -> String {
    text.chars()
        .filter_map(paymedic::engine::sensitive::digit_value)
        .map(|d| char::from(b'0' + d))
        .collect()
}

fn assert_clean(what: &str, output: &str, card: &str) -> Result<(), TestCaseError> {
    for line in output.lines() {
        prop_assert!(
            !digits_of(line).contains(card),
            "{what} repeated the card number:\n{output}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn explain_never_repeats_a_card_number((text, card) in formatted_card()) {
        let report = explain(&APP.engine, &text);
        assert_clean("explain", &report, &card)?;
        prop_assert!(report.contains("sensitive:"), "{report}");
        prop_assert!(report.contains("not classified"), "{report}");
    }

    #[test]
    fn check_errors_never_repeat_a_card_number((text, card) in formatted_card(), which in 0usize..5) {
        let bare = text.as_str();
        let err = match which {
            0 => APP.check_limit(bare, "200", "500").map(|v| v.to_string()),
            1 => APP.check_limit("100", bare, "500").map(|v| v.to_string()),
            2 => APP.check_limit("100", "200", bare).map(|v| v.to_string()),
            3 => APP.check_app("ios", bare).map(|v| v.to_string()),
            _ => APP.check_expiry(bare, (2026, 11)).map(|v| v.to_string()),
        };
        let shown = match err {
            Ok(text) => text,
            Err(e) => e.to_string(),
        };
        assert_clean("a check", &shown, &card)?;
    }

    #[test]
    fn the_chat_transcript_never_repeats_a_card_number((text, card) in formatted_card()) {
        let input = format!("klarna declined my order\n{text}\n/check card-expiry {text}\n/check limit {text} 1 2\n");
        let mut out = Vec::new();
        crate::common::block_on(paymedic::terminal::run(&APP, input.as_bytes(), &mut out, false, || Timestamp(0))).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_clean("chat", &out, &card)?;
        prop_assert!(out.contains("card details"), "{out}");
    }
}

#[test]
fn codes_and_passwords_are_redacted_in_explain() {
    for (text, secret) in [
        ("123 is my cvv", "123"),
        ("pw is hunter2", "hunter2"),
        ("my pass is hunter2", "hunter2"),
        ("password hunter2", "hunter2"),
        ("login is bob@example.com / hunter2", "hunter2"),
        ("passwort ist hunter2", "hunter2"),
        ("the 3 digits on the back are 123", "123"),
    ] {
        let report = explain(&APP.engine, text);
        let body: String = report
            .lines()
            .filter(|l| l.starts_with("text:") || l.starts_with("normalized:"))
            .collect();
        assert!(!body.contains(secret), "{text:?}:\n{report}");
        assert!(report.contains("not classified"), "{text:?}:\n{report}");
    }
}

/// `paymedic classify` marks a line holding a secret and never prints its digits (the evidence
/// lists feature names, which would otherwise carry them).
#[test]
fn classify_marks_secrets_and_never_prints_them() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .arg("classify")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "my card 4111 1111 1111 1111 123 keeps failing\npw is hunter2\nklarna declined me\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["sensitive"], "card_number", "{out}");
    assert_eq!(lines[1]["sensitive"], "password", "{out}");
    assert_eq!(lines[2]["sensitive"], serde_json::Value::Null, "{out}");
    assert!(!digits_of(&out).contains("4111111111111111"), "{out}");
    assert!(!out.contains("4111"), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
}

/// The chat's own echoes of a name or a command never repeat a card number. (Found in review:
/// `/as 4111…` became the prompt on every transcript line.)
#[test]
fn chat_names_and_commands_never_repeat_a_card_number() {
    let input = "/as 4111111111111111\nklarna declined me\n/5555-5555-5555-4444\n";
    let mut out = Vec::new();
    crate::common::block_on(paymedic::terminal::run(
        &APP,
        input.as_bytes(),
        &mut out,
        false,
        || Timestamp(0),
    ))
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    for card in ["4111111111111111", "5555555555554444"] {
        for line in out.lines() {
            assert!(!digits_of(line).contains(card), "{out}");
        }
    }
    assert!(out.contains("[card number]"), "{out}");
}
