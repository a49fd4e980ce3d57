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
        let report = explain(APP.engine(), &text);
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
        let report = explain(APP.engine(), text);
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

// ---------------------------------------------------------------------------------------------
// Every path, with the real log output: issue 9, part 2.
// ---------------------------------------------------------------------------------------------

mod every_path {
    use crate::common::{block_on, engine};
    use paymedic::app::App;
    use paymedic::config::Config;
    use paymedic::engine::tickets::{StaffAction, TicketEvent};
    use paymedic::engine::{GuildId, Input, MemberId, Timestamp};
    use paymedic::explain::explain;
    use paymedic::store::memory::MemoryStore;
    use paymedic::store::{Store, TicketFilter};
    use proptest::prelude::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    // --- generators: written here, not shared with `sensitive.rs`, so the test does not
    // inherit the detector's blind spots ---------------------------------------------------

    /// Card networks: a prefix and the lengths its numbers come in.
    fn network() -> impl Strategy<Value = (String, usize)> {
        prop_oneof![
            // Visa 13, 16, 19
            prop::sample::select(vec![13usize, 16, 19]).prop_map(|n| ("4".to_string(), n)),
            // Mastercard 5-series and 2-series
            (51u32..=55).prop_map(|p| (p.to_string(), 16)),
            (2221u32..=2720).prop_map(|p| (p.to_string(), 16)),
            // Amex
            prop::sample::select(vec!["34", "37"]).prop_map(|p| (p.to_string(), 15)),
            // Discover
            prop::sample::select(vec!["6011", "65", "644", "649"])
                .prop_map(|p| (p.to_string(), 16)),
            // JCB
            (3528u32..=3589, prop::sample::select(vec![16usize, 19]))
                .prop_map(|(p, n)| (p.to_string(), n)),
            // UnionPay 19 (and 16)
            prop::sample::select(vec![16usize, 19]).prop_map(|n| ("62".to_string(), n)),
            // Maestro
            (
                prop::sample::select(vec!["50", "56", "57", "58", "6304", "6759", "676"]),
                prop::sample::select(vec![16usize, 19])
            )
                .prop_map(|(p, n)| (p.to_string(), n)),
            // Diners 14
            Just(("36".to_string(), 14)),
        ]
    }

    fn luhn(digits: &[u8]) -> bool {
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                let d = u32::from(d) * if i % 2 == 1 { 2 } else { 1 };
                if d > 9 {
                    d - 9
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    fn card_digits() -> impl Strategy<Value = Vec<u8>> {
        (network(), prop::collection::vec(0u8..10, 19)).prop_map(|((prefix, len), fill)| {
            let mut d: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
            d.extend(fill.into_iter().take(len - 1 - d.len()));
            for check in 0..10 {
                d.push(check);
                if luhn(&d) {
                    return d;
                }
                d.pop();
            }
            unreachable!("a check digit always fits")
        })
    }

    /// How a number is printed: groups by length (4-6-5 for Amex, 4-6-4 for Diners, fours
    /// otherwise).
    fn groups(len: usize) -> Vec<usize> {
        match len {
            15 => vec![4, 6, 5],
            14 => vec![4, 6, 4],
            n => {
                let mut v = vec![4; n / 4];
                if n % 4 > 0 {
                    v.push(n % 4);
                }
                v
            }
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Style {
        /// No separator at all.
        Bare,
        /// One separator in every gap.
        Uniform(&'static str),
        /// A different single character in each gap.
        Mixed,
    }

    const UNIFORM: &[&str] = &[
        " ",
        "-",
        ".",
        "/",
        "  ",
        " - ",
        "\u{a0}",
        "\u{202f}",
        "\u{200b}",
        " \u{200b}",
    ];
    const MIXED: &[&str] = &[" ", "-", ".", "/", "\u{a0}", "_"];

    fn style() -> impl Strategy<Value = Style> {
        prop_oneof![
            1 => Just(Style::Bare),
            4 => prop::sample::select(UNIFORM).prop_map(Style::Uniform),
            3 => Just(Style::Mixed),
        ]
    }

    /// A formatted card: the digits, and the text, in ASCII or full-width digits.
    fn card() -> impl Strategy<Value = (Vec<u8>, String)> {
        (
            card_digits(),
            style(),
            prop::collection::vec(prop::sample::select(MIXED), 6),
            any::<bool>(),
        )
            .prop_map(|(digits, style, mixed, wide)| {
                let digit = |d: u8| {
                    if wide {
                        char::from_u32(0xFF10 + u32::from(d)).expect("full-width digit")
                    } else {
                        char::from(b'0' + d)
                    }
                };
                let mut out = String::new();
                let mut at = 0;
                for (i, size) in groups(digits.len()).into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(match style {
                            Style::Bare => "",
                            Style::Uniform(s) => s,
                            Style::Mixed => mixed[i - 1],
                        });
                    }
                    out.extend(digits[at..at + size].iter().map(|&d| digit(d)));
                    at += size;
                }
                (digits, out)
            })
    }

    /// A valid IBAN (compact) and how it is written.
    fn iban() -> impl Strategy<Value = (String, String)> {
        (
            prop::sample::select(vec![
                ("DE", 18),
                ("NL", 14),
                ("FR", 23),
                ("GB", 18),
                ("ES", 20),
                ("SE", 20),
            ]),
            prop::collection::vec(0u8..10, 23),
            any::<bool>(),
        )
            .prop_map(|((cc, n), fill, spaced)| {
                let bban: String = fill[..n].iter().map(|d| char::from(b'0' + d)).collect();
                let rem = format!("{bban}{cc}00").chars().fold(0u32, |r, c| {
                    let v = c.to_digit(36).expect("alphanumeric");
                    if v >= 10 {
                        (r * 100 + v) % 97
                    } else {
                        (r * 10 + v) % 97
                    }
                });
                let compact = format!("{cc}{:02}{bban}", 98 - rem);
                let shown = if spaced {
                    compact
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    compact.clone()
                };
                (compact, shown)
            })
    }

    fn email() -> impl Strategy<Value = String> {
        (
            "[a-z]{3,8}",
            "[a-z]{3,8}",
            prop::sample::select(vec!["com", "de", "se", "co.uk"]),
        )
            .prop_map(|(l, d, t)| format!("{l}.k@{d}.{t}"))
    }

    /// A phone number and its digits.
    fn phone() -> impl Strategy<Value = (String, String)> {
        (prop::collection::vec(1u8..10, 10), 0usize..4).prop_map(|(d, shape)| {
            let s: String = d.iter().map(|d| char::from(b'0' + d)).collect();
            let shown = match shape {
                0 => format!("+49 {} {}", &s[..3], &s[3..]),
                1 => format!("+44 20 {} {}", &s[..4], &s[4..8]),
                2 => format!("0{} {}", &s[..3], &s[3..]),
                _ => format!("({}) {}-{}", &s[..3], &s[3..6], &s[6..]),
            };
            let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
            (shown, digits)
        })
    }

    const TEMPLATES: &[&str] = &[
        "my card {card} keeps getting declined at zalando",
        "{card} exp 08/27 why no work",
        "hi, paid with {card} and klarna said no 😭",
        "card: {card}",
        "is it because of my card ({card})? order 12345",
    ];

    #[derive(Clone, Debug)]
    struct Case {
        /// The message with the card (and maybe personal details).
        with_card: String,
        /// The same details without the card: it passes the secrets guard and is stored.
        personal: String,
        card: Vec<u8>,
        iban: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            card(),
            prop::sample::select(TEMPLATES),
            prop::option::of(iban()),
            prop::option::of(email()),
            prop::option::of(phone()),
        )
            .prop_map(|((digits, card), template, iban, email, phone)| {
                let mut extra = String::new();
                if let Some((_, shown)) = &iban {
                    extra.push_str(&format!(" refund to {shown} pls"));
                }
                if let Some(e) = &email {
                    extra.push_str(&format!(" mail me at {e}"));
                }
                if let Some((shown, _)) = &phone {
                    extra.push_str(&format!(" or call me on {shown}"));
                }
                Case {
                    with_card: format!("{}{extra}", template.replace("{card}", &card)),
                    personal: format!("klarna declined my payment{extra}"),
                    card: digits,
                    iban: iban.map(|(compact, _)| compact),
                    email,
                    phone: phone.map(|(_, digits)| digits),
                }
            })
    }

    // --- the checker: independent of `sensitive.rs` --------------------------------------

    /// The value of a decimal digit in the scripts generated here (ASCII, full-width).
    fn digit(c: char) -> Option<u8> {
        match c {
            '0'..='9' => Some(c as u8 - b'0'),
            '\u{FF10}'..='\u{FF19}' => Some((c as u32 - 0xFF10) as u8),
            _ => None,
        }
    }

    /// Every Luhn-valid run of 13–19 digits in `output`: per line, digits counted across any
    /// characters that are not letters (spaces, dashes, dots, NBSP, zero-width ...).
    fn luhn_runs(output: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in output.lines() {
            for stretch in line.split(|c: char| c.is_alphabetic()) {
                let d: Vec<u8> = stretch.chars().filter_map(digit).collect();
                for i in 0..d.len() {
                    for n in 13..=19 {
                        if i + n <= d.len() && luhn(&d[i..i + n]) {
                            found.push(format!("{:?} in {line:?}", &d[i..i + n]));
                        }
                    }
                }
            }
        }
        found
    }

    fn assert_clean(what: &str, output: &str, case: &Case) -> Result<(), TestCaseError> {
        let runs = luhn_runs(output);
        prop_assert!(
            runs.is_empty(),
            "{what}: Luhn-valid runs {runs:?}\n---\n{output}"
        );
        let digits: String = output
            .chars()
            .filter_map(digit)
            .map(|d| char::from(b'0' + d))
            .collect();
        let card: String = case.card.iter().map(|d| char::from(b'0' + d)).collect();
        prop_assert!(
            !digits.contains(&card),
            "{what} holds the card's digits:\n{output}"
        );
        let alnum: String = output
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_uppercase();
        if let Some(iban) = &case.iban {
            prop_assert!(
                !alnum.contains(iban.as_str()),
                "{what} holds the IBAN {iban}:\n{output}"
            );
        }
        if let Some(email) = &case.email {
            prop_assert!(
                !output.contains(email.as_str()),
                "{what} holds the email {email}:\n{output}"
            );
        }
        if let Some(phone) = &case.phone {
            prop_assert!(
                !digits.contains(phone.as_str()),
                "{what} holds the phone {phone}:\n{output}"
            );
        }
        Ok(())
    }

    // --- the log capture -----------------------------------------------------------------

    /// A `MakeWriter` into a shared buffer: the real fmt output, unredacted.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    // --- the paths -----------------------------------------------------------------------

    /// Everything one member's messages go through, on one store: the guard's reply, stored
    /// sessions (recent messages), a ticket with its packet, thread messages, close reason
    /// and transcript (through the terminal's `/mod` commands and read back from the store),
    /// `/check` errors, and `explain`.
    fn all_paths(app: &App, case: &Case) -> Vec<(&'static str, String)> {
        let mut outputs = Vec::new();
        let user = paymedic::app::UserKey::new(GuildId(0), MemberId(1));

        // The turn boundary, as the Discord adapter calls it.
        let mut rendered = Vec::new();
        for (i, text) in [
            "klarna declined my payment",
            &case.with_card,
            &case.personal,
        ]
        .into_iter()
        .enumerate()
        {
            let turn = block_on(app.turn(
                user,
                Input::Text {
                    text,
                    addressed: true,
                },
                Timestamp(i as u64 * 60_000),
            ))
            .unwrap();
            paymedic::terminal::render(&mut rendered, &app.engine().content, &turn.effects)
                .unwrap();
        }
        outputs.push(("replies", String::from_utf8(rendered).unwrap()));
        outputs.push(("the stored session", stored_text(app, user)));

        // The terminal: the same member, then a moderator's view of the ticket.
        let script = [
            case.with_card.clone(),
            format!("/check card-expiry {}", case.with_card),
            format!("/check limit {} 100 500", case.with_card),
            format!("/check app ios {}", case.personal),
            format!("/mod escalate you {}", case.with_card),
            format!("/reply {}", case.with_card),
            format!("/reply {}", case.personal),
            format!("/mod say 1 {}", case.with_card),
            "/mod show 1".to_string(),
            "/session".to_string(),
            format!("/mod close 1 {}", case.with_card),
            "/mod show 1".to_string(),
        ]
        .join("\n");
        let mut out = Vec::new();
        let mut t = 600_000;
        block_on(paymedic::terminal::run(
            app,
            script.as_bytes(),
            &mut out,
            false,
            || {
                t += 1000;
                Timestamp(t)
            },
        ))
        .unwrap();
        outputs.push(("the terminal", String::from_utf8(out).unwrap()));

        // A moderator escalates with the message as the reason (the "Escalate to support"
        // message command), closes with it, and the store is read back.
        let staff = paymedic::app::Staff::trusted(MemberId(9));
        let second = paymedic::app::UserKey::new(GuildId(0), MemberId(2));
        block_on(app.turn(
            second,
            Input::Text {
                text: &case.personal,
                addressed: true,
            },
            Timestamp(700_000),
        ))
        .unwrap();
        let reason = format!(
            "from their message https://discord.com/channels/1/2/3: {}",
            case.with_card
        );
        let opened =
            block_on(app.escalate(staff, second, Some(&reason), Timestamp(700_001), None)).unwrap();
        let id = opened.ticket().id;
        let thread = paymedic::engine::ChannelId(4242);
        block_on(app.ticket_opened(id, Some(thread), None, Timestamp(700_002))).unwrap();
        for text in [&case.with_card, &case.personal] {
            block_on(app.ticket_message(thread, MemberId(2), text, Timestamp(700_003))).unwrap();
        }
        block_on(app.act(
            staff,
            id,
            StaffAction::Close {
                reason: case.with_card.clone(),
            },
            Timestamp(700_004),
        ))
        .unwrap();
        let store = app.store();
        for t in block_on(store.tickets(&TicketFilter::default())).unwrap() {
            let events: Vec<TicketEvent> = block_on(store.events(t.id)).unwrap();
            outputs.push(("a packet", t.packet_text()));
            outputs.push(("a transcript", t.transcript_text(&events)));
            // What the store keeps of member text, field by field (a Debug of the whole row
            // would include the pack hash, a 20-digit number).
            let texts: Vec<&str> = events.iter().filter_map(|e| e.text.as_deref()).collect();
            outputs.push((
                "a stored ticket",
                format!("{:?} {:?} {texts:?}", t.packet, t.close_reason),
            ));
        }
        for u in [user, second] {
            outputs.push(("a stored session", stored_text(app, u)));
        }

        outputs.push(("explain", explain(app.engine(), &case.with_card)));
        outputs.push(("explain", explain(app.engine(), &case.personal)));
        outputs
    }

    /// The member text a stored session keeps: its recent messages, checks and answers.
    fn stored_text(app: &App, user: paymedic::app::UserKey) -> String {
        match block_on(app.store().session(user)).unwrap() {
            Some(r) => format!("{:?} {:?} {:?}", r.recent, r.checks, r.session.state),
            None => String::new(),
        }
    }

    fn check_every_path(app: &App, case: &Case) -> Result<(), TestCaseError> {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(logs.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let outputs = tracing::subscriber::with_default(subscriber, || all_paths(app, case));
        for (what, output) in &outputs {
            assert_clean(what, output, case)?;
        }
        eprintln!(
            "LOGBYTES {} {:?}",
            logs.text().len(),
            logs.text().lines().take(3).collect::<Vec<_>>()
        );
        assert_clean("the log", &logs.text(), case)?;
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn no_path_keeps_a_card_number_or_personal_details_in_memory(case in case()) {
            let app = App::with_store(engine(), Config::default(), Arc::new(MemoryStore::new()));
            check_every_path(&app, &case)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn no_path_keeps_a_card_number_or_personal_details_in_sqlite(case in case()) {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "paymedic-redaction-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let store: Arc<dyn Store> = block_on(paymedic::store::open_sqlite(
                &dir.join("paymedic.db"),
                Default::default(),
            ))
            .unwrap();
            let app = App::with_store(engine(), Config::default(), store);
            let result = check_every_path(&app, &case);
            drop(app);
            let _ = std::fs::remove_dir_all(&dir);
            result?;
        }
    }

    /// The checker itself: it finds what it must (so a clean result means something).
    #[test]
    fn the_checker_finds_cards_ibans_emails_and_phones() {
        let case = Case {
            with_card: String::new(),
            personal: String::new(),
            card: b"4111111111111111".iter().map(|b| b - b'0').collect(),
            iban: Some("DE89370400440532013000".into()),
            email: Some("anna.k@example.com".into()),
            phone: Some("4915123456789".into()),
        };
        assert!(!luhn_runs("x 4111 1111-1111.1111 y").is_empty());
        assert!(!luhn_runs("４１１１\u{200b}１１１１ 1111\u{a0}1111").is_empty());
        assert!(luhn_runs("ticket 1 member 42 at 12:30").is_empty());
        for leak in [
            "x 4111 1111 1111 1111",
            "de89 3704 0044 0532 0130 00",
            "mail anna.k@example.com",
            "call +49 151 23456789",
        ] {
            assert!(assert_clean("t", leak, &case).is_err(), "{leak}");
        }
        assert!(assert_clean("t", "[card number] [iban] [email] [phone]", &case).is_ok());
    }

    /// The production log writer masks what a dependency logs: serenity's "could not parse
    /// this gateway payload" line carries the member's message.
    #[test]
    fn the_log_writer_redacts_every_line_a_dependency_writes() {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(paymedic::logging::Redacting(logs.clone()))
            .with_ansi(false)
            .finish();
        let payload = r#"{"t":"MESSAGE_CREATE","d":{"content":"my card 4111 1111-1111.1111, iban DE89 3704 0044 0532 0130 00, anna.k@example.com, +49 151 23456789"}}"#;
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "serenity::gateway::ws", "Err deserializing text: oops; text: {payload}");
            let span = tracing::debug_span!("handle_event", event = payload);
            let _in = span.enter();
            tracing::trace!("Received event");
        });
        let out = logs.text();
        assert!(out.contains("Err deserializing text"), "{out}");
        assert!(
            out.contains("[card number]") && out.contains("[iban]"),
            "{out}"
        );
        let case = Case {
            with_card: String::new(),
            personal: String::new(),
            card: b"4111111111111111".iter().map(|b| b - b'0').collect(),
            iban: Some("DE89370400440532013000".into()),
            email: Some("anna.k@example.com".into()),
            phone: Some("4915123456789".into()),
        };
        assert_clean("the redacted log", &out, &case).unwrap();
    }
}

/// `explain` names the personal details it masked, and still classifies the message: they do
/// not trip the secrets guard.
#[test]
fn explain_masks_personal_details_and_still_classifies() {
    let report = explain(
        APP.engine(),
        "klarna declined my payment, refund to DE89 3704 0044 0532 0130 00 or mail anna.k@example.com",
    );
    assert!(report.contains("personal:    [Iban, Email]"), "{report}");
    assert!(!report.contains("sensitive:"), "{report}");
    assert!(
        !report.contains("3704") && !report.contains("anna.k"),
        "{report}"
    );
    assert!(
        report.contains("[iban]") && report.contains("[email]"),
        "{report}"
    );
}
