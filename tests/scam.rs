//! The scam shield: the `[scam]` section's checks, generated classes of scams and of ordinary
//! messages, the app's screening, and the labelled set's figures.

use crate::common::{app, block_on, engine, member, pack};
use paymedic::app::Origin;
use paymedic::engine::content::{compile, ErrorKind};
use paymedic::engine::scam::ScamKind;
use paymedic::engine::{Effect, Input, Timestamp};
use proptest::prelude::*;
use std::sync::LazyLock;

static ENGINE: LazyLock<paymedic::engine::Engine> = LazyLock::new(engine);

fn flag(text: &str) -> Option<paymedic::engine::scam::ScamFlag> {
    ENGINE.content.scam.check(text)
}

// ---------------------------------------------------------------------------------------------
// Content checks
// ---------------------------------------------------------------------------------------------

fn line_of(src: &str, needle: &str) -> usize {
    let at = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in pack"));
    src[..at].matches('\n').count() + 1
}

/// The errors of a pack that must not compile.
fn errors_of(src: &str) -> Vec<paymedic::engine::content::ContentError> {
    match compile("test.toml", src) {
        Ok(_) => panic!("the broken pack compiled"),
        Err(e) => e.0,
    }
}

/// Whether one of `errors` is at `line` and of the kind `pred` wants.
fn has_error(
    errors: &[paymedic::engine::content::ContentError],
    line: usize,
    pred: &dyn Fn(&ErrorKind) -> bool,
) -> bool {
    errors
        .iter()
        .any(|e| e.location.line == line && pred(&e.kind))
}

#[test]
fn every_mistake_in_the_scam_section_is_reported_at_its_line() {
    let src = pack()
        .replace(
            "brands = [\"klarna\",",
            "brands = [\"Klarna Inc\", \"klarna\",",
        )
        .replace(
            "\"klarna.com\", \"klarna.net\",",
            "\"https://klarna.com/\", \"klarna.net\",",
        )
        .replace(
            "id = \"dm_offer\"\nkind = \"impersonation\"",
            "id = \"dm_offer\"\nkind = \"spam\"",
        )
        .replace("id = \"asks_credentials\"", "id = \"claims_support\"")
        .replace(
            "patterns = [\n  '\\b(verify|confirm",
            "patterns = [\n  '(unclosed',\n  '\\b(verify|confirm",
        );
    let errors = errors_of(&src);
    let at = |needle: &str| line_of(&src, needle);
    let has = |line: usize, pred: &dyn Fn(&ErrorKind) -> bool| has_error(&errors, line, pred);
    assert!(
        has(
            at("\"Klarna Inc\""),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("brand"))
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            at("\"https://klarna.com/\""),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("official domain"))
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            at("kind = \"spam\""),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("kind `spam`"))
        ),
        "{errors:#?}"
    );
    let second = src.rfind("id = \"claims_support\"").unwrap();
    let second_line = src[..second].matches('\n').count() + 1;
    assert!(
        has(second_line, &|k| matches!(
            k,
            ErrorKind::Duplicate {
                what: "scam rule id",
                ..
            }
        )),
        "{errors:#?}"
    );
    assert!(
        has(at("'(unclosed'"), &|k| matches!(k, ErrorKind::BadRegex(_))),
        "{errors:#?}"
    );
}

#[test]
fn a_pack_without_a_scam_section_screens_nothing() {
    let src = pack();
    let start = src.find("[scam]").unwrap();
    let end = src.find("[out_of_scope]").unwrap();
    // Keep the comment block that precedes [out_of_scope] out of the cut's way.
    let cut = format!(
        "{}{}",
        &src[..start],
        &src[src[..end].rfind("# ----").unwrap()..]
    );
    let content = compile("test.toml", &cut).unwrap_or_else(|e| panic!("{e}"));
    assert!(!content.scam.is_active());
    assert_eq!(
        content.scam.check("I'm Klarna support, DM me your code"),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Generated classes
// ---------------------------------------------------------------------------------------------

const BRANDS: [&str; 4] = ["klarna", "afterpay", "clearpay", "affirm"];

/// A brand as an impersonator might write it: any case, and maybe one lookalike character.
fn disguised_brand() -> impl Strategy<Value = String> {
    (0..BRANDS.len(), any::<bool>(), 0usize..8, 0usize..6).prop_map(|(b, upper, pos, how)| {
        let brand = BRANDS[b];
        let mut chars: Vec<char> = brand.chars().collect();
        let i = pos % chars.len();
        let swap = match (chars[i], how) {
            ('a', 0) => Some('а'), // Cyrillic a
            ('a', 1) => Some('4'),
            ('l', 0 | 1) => Some('1'),
            ('l', 2) => Some('I'),
            ('e', 0) => Some('е'), // Cyrillic e
            ('o', _) => Some('0'),
            ('i', _) => Some('1'),
            ('r', 0) => Some('г'), // Cyrillic ge
            ('k', 0) => Some('κ'), // Greek kappa
            ('p', 0) => Some('р'), // Cyrillic er
            _ => None,
        };
        if let Some(c) = swap {
            chars[i] = c;
        }
        let s: String = chars.into_iter().collect();
        if upper {
            let mut c = s.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        } else {
            s
        }
    })
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    (0..options.len()).prop_map(move |i| options[i])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// "Hi, I'm from Klarna support, DM me and I can fix your payment", in many wordings and
    /// spellings.
    #[test]
    fn claims_to_be_support_are_flagged(
        greet in pick(&["", "hi all, ", "Hello! ", "hey guys ", "good news: "]),
        claim in pick(&["I'm from {b} support", "this is the official {b} team", "i am a {b} customer service agent", "I work with {b} support", "we are {b} security"]),
        cta in pick(&[", DM me and I can fix your payment", ". dm me for help", " - message me privately and i will sort it", ", add me and I can unlock your account", ". Inbox me so I can resolve it"]),
        brand in disguised_brand(),
    ) {
        let text = format!("{greet}{}{cta}", claim.replace("{b}", &brand));
        let f = flag(&text);
        prop_assert!(f.as_ref().is_some_and(|f| f.kind == ScamKind::Impersonation), "{text}: {f:?}");
    }

    /// Asking others for codes, passwords, card numbers or logins.
    #[test]
    fn asks_for_credentials_are_flagged(
        lead in pick(&["", "to verify, ", "quick fix: ", "no worries, ", "ok "]),
        ask in pick(&["send me your", "dm me your", "give me your", "just tell me your", "share with me your", "pm me the"]),
        what in pick(&["verification code", "otp", "password", "card number", "login details", "cvv", "one time code"]),
        tail in pick(&["", " and I'll sort it", " so i can check", " please", " asap"]),
    ) {
        let text = format!("{lead}{ask} {what}{tail}");
        let f = flag(&text);
        prop_assert!(f.as_ref().is_some_and(|f| f.kind == ScamKind::Credentials), "{text}: {f:?}");
    }

    /// A link to a host that names or imitates a brand but isn't an official domain.
    #[test]
    fn lookalike_links_are_flagged(
        brand in disguised_brand(),
        before in pick(&["", "secure-", "my", "login-", "www."]),
        after in pick(&["", "-support", "-refunds", "help", "-verify"]),
        tld in pick(&["com", "net", "help", "xyz", "support", "co"]),
        scheme in pick(&["", "https://", "http://"]),
        path in pick(&["", "/login", "/claim?id=7"]),
        lead in pick(&["check ", "here: ", "go to ", ""]),
    ) {
        let host = format!("{before}{brand}{after}.{tld}").to_lowercase();
        let shield = &ENGINE.content.scam;
        prop_assume!(!shield.is_official(&host));
        let text = format!("{lead}{scheme}{host}{path}");
        let f = flag(&text);
        prop_assert!(f.is_some(), "{text}");
    }

    /// Official domains and their subdomains, in ordinary sentences, are never flagged.
    #[test]
    fn official_links_are_not_flagged(
        sub in pick(&["", "www.", "app.", "help.", "cdn.eu."]),
        domain in pick(&["klarna.com", "afterpay.com", "clearpay.co.uk", "affirm.com"]),
        path in pick(&["", "/us/customer-service", "/uk/", "/login"]),
        scheme in pick(&["", "https://"]),
        sentence in pick(&["the help page is {l}", "i found it on {l} under payments", "{l} has a chat", "is {l} down for anyone?"]),
    ) {
        let text = sentence.replace("{l}", &format!("{scheme}{sub}{domain}{path}"));
        prop_assert_eq!(flag(&text), None, "{}", text);
    }

    /// A member reporting what a scammer said is never accused, whatever the scammer said.
    #[test]
    fn reports_of_scams_are_not_flagged(
        who in pick(&["someone", "a guy", "some account", "this person"]),
        did in pick(&["dmed me", "messaged me", "sent me a friend request", "texted me"]),
        saying in pick(&["saying they're klarna support", "claiming to be from afterpay", "asking for my verification code", "with a link to k1arna.com"]),
        ask in pick(&[", is this legit?", ". scam right?", " - should i reply?", ". what do i do", ""]),
    ) {
        let text = format!("{who} {did} {saying}{ask}");
        prop_assert_eq!(flag(&text), None, "{}", text);
    }

    /// A member saying who contacted them, named by the title the scammer used, is reporting.
    #[test]
    fn reports_naming_the_scammers_title_are_not_flagged(
        who in pick(&["a so called klarna advisor", "an afterpay agent", "some klarna support account", "the clearpay rep", "a verified helper"]),
        did in pick(&["messaged me", "dmed me", "texted me", "contacted me", "emailed me"]),
        tail in pick(&[" on telegram", " on whatsapp", " last night", ""]),
        ask in pick(&["", ", is that normal?", ". legit?"]),
    ) {
        let text = format!("{who} {did}{tail}{ask}");
        prop_assert_eq!(flag(&text), None, "{}", text);
    }

    /// Ordinary talk about codes, links and support.
    #[test]
    fn ordinary_talk_about_codes_links_and_support_is_not_flagged(
        text in pick(&[
            "where do I enter the {c} {b} sent me",
            "{b} sent me a {c} but it expired",
            "i never got the {c} from {b}, what now",
            "does {b} support reply by email or chat",
            "can a mod help me with my {b} payment",
            "i used a promo code at checkout and {b} declined",
            "the tracking link from the shop doesnt work",
            "how do i contact {b} support?",
            "can someone dm me, i need help with {b}",
            "i'll dm you the store link later",
            "my {b} password reset email never came",
            "{b} asked me to verify my identity in the app",
        ]),
        brand in pick(&["klarna", "Klarna", "afterpay", "affirm"]),
        code in pick(&["verification code", "6 digit code", "otp", "sms code"]),
    ) {
        let text = text.replace("{b}", brand).replace("{c}", code);
        prop_assert_eq!(flag(&text), None, "{}", text);
    }
}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// A screened member's scam gets the shield's effect and nothing else: no answer, nothing
/// stored. The same text unscreened (staff, a DM) goes through the normal turn.
#[test]
fn the_app_screens_only_screened_origins_and_stores_nothing_of_a_flagged_message() {
    let app = app();
    let text = "I'm from Klarna support, DM me and I can fix your declined payment";
    let alice = member(5, 1);
    let screened = Origin {
        user: alice,
        request: None,
        claim: None,
        screen: true,
    };
    let turn = block_on(app.turn(
        screened,
        Input::Text {
            text,
            addressed: true,
        },
        Timestamp(1),
    ))
    .unwrap();
    assert!(
        matches!(turn.effects.as_slice(), [Effect::Scam(f)] if f.rule == "claims_support"),
        "{:?}",
        turn.effects
    );
    assert!(block_on(app.store().session(alice)).unwrap().is_none());
    let bob = member(5, 2);
    let turn = block_on(app.turn(
        bob,
        Input::Text {
            text,
            addressed: true,
        },
        Timestamp(1),
    ))
    .unwrap();
    assert!(
        !turn.effects.iter().any(|e| matches!(e, Effect::Scam(_))),
        "{:?}",
        turn.effects
    );
}

/// The same name is reported once per member; another member with it is reported too.
#[test]
fn an_imitating_name_is_reported_once_per_member() {
    let app = app();
    let protected = ["paymedic", "Support"];
    assert!(app
        .impersonating_name(member(1, 1), "Klarna Support", &protected)
        .is_some());
    assert!(app
        .impersonating_name(member(1, 1), "Klarna Support", &protected)
        .is_none());
    assert!(app
        .impersonating_name(member(1, 2), "Klarna Support", &protected)
        .is_some());
    assert!(app
        .impersonating_name(member(1, 3), "sam", &protected)
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// The labelled sets
// ---------------------------------------------------------------------------------------------

fn scam_set(name: &str) -> paymedic::eval::ScamReport {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    assert!(paymedic::eval::is_scam_set(&src), "{path}");
    let lines = paymedic::eval::parse_scam_jsonl(&path, &src).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    paymedic::eval::evaluate_scam(&ENGINE, &lines)
}

/// The held-out sets as measured on 2026-12-01 with the shipped pack (rules and learned model:
/// threshold 0.7, veto 0.5 and over_report 0.85, chosen by leave-one-writer-out over 19
/// writers' sets, `examples/scam_cv.rs`):
/// - `scam-heldout4.jsonl` (772 lines, two writers who saw neither the rules, the model nor the
///   other sets; near-copies of training lines dropped; scored once, after every setting was
///   chosen): recall 0.904 (309 of 342), false alarms 1 of 430 (0.23%).
/// - `scam-heldout3.jsonl` (739 lines, written the same way, scored five times before as the
///   shield changed): recall 0.908 (306 of 337), false alarms 1 of 402 (0.25%).
/// - `scam.jsonl` (361 lines, the first set): recall 0.845 (120 of 142), false alarms 0 of 219.
///   Most of its misses are scams in other languages than English.
/// - `scam-heldout2.jsonl` (348 lines): recall 0.925 (123 of 133), false alarms 0 of 215.
///
/// The older sets have been looked at while rules were changed, so they are regression floors
/// more than blind figures. The floors are the measured figures, so a rule, line or setting
/// change that loses a caught scam or adds a false alarm fails here.
#[test]
fn the_held_out_scam_sets_do_not_regress() {
    let r = scam_set("scam-heldout4.jsonl");
    assert_eq!((r.lines, r.scams, r.ordinary), (772, 342, 430), "{r}");
    assert!(r.caught >= 309, "{r}");
    assert!(r.false_alarms <= 1, "{r}");
    let r = scam_set("scam-heldout3.jsonl");
    assert_eq!((r.lines, r.scams, r.ordinary), (739, 337, 402), "{r}");
    assert!(r.caught >= 306, "{r}");
    assert!(r.false_alarms <= 1, "{r}");
    let r = scam_set("scam.jsonl");
    assert_eq!((r.lines, r.scams, r.ordinary), (361, 142, 219), "{r}");
    assert!(r.caught >= 120, "{r}");
    assert!(r.false_alarms == 0, "{r}");
    let r = scam_set("scam-heldout2.jsonl");
    assert_eq!((r.lines, r.scams, r.ordinary), (348, 133, 215), "{r}");
    assert!(r.caught >= 123, "{r}");
    assert!(r.false_alarms == 0, "{r}");
}

/// Members explaining how their own codes work, warning others off remote-access apps, or
/// telling others to block someone, in every combination of provider, verb and wording:
/// none of it is a scam.
#[test]
fn members_explaining_codes_and_warning_about_installs_are_not_flagged() {
    let mut flagged = Vec::new();
    for brand in [
        "Klarna", "Afterpay", "PayPal", "my bank", "the app", "Sezzle",
    ] {
        for verb in ["sends", "texts", "emails", "send"] {
            for tail in [
                "me a code every time I log in, can I turn that off?",
                "a code whenever you log in on a new phone, that's normal",
                "me a 6 digit code each time, is there an authenticator option",
            ] {
                let text = format!("{brand} {verb} {tail}");
                if flag(&text).is_some() {
                    flagged.push(text);
                }
            }
        }
    }
    for lead in [
        "don't install",
        "never download",
        "do not install",
        "nobody should install",
    ] {
        for tool in ["anydesk", "teamviewer", "an apk someone sends you"] {
            let text = format!("{lead} {tool} for anyone who offers to fix your account");
            if flag(&text).is_some() {
                flagged.push(text);
            }
        }
    }
    for who in ["her", "him", "them", "that account", "this guy"] {
        for lead in [
            "that 'klarna agent' in general is fake,",
            "there's no afterpay office doing limits over discord,",
        ] {
            let text = format!("{lead} block {who}");
            if flag(&text).is_some() {
                flagged.push(text);
            }
        }
    }
    assert!(flagged.is_empty(), "{flagged:#?}");
}

/// Ordinary support talk the model never learned from (the intent corpus, all of it written
/// by members about payments) raises no alarm.
#[test]
fn the_intent_corpus_raises_no_false_alarms() {
    let corpus = include_str!("data/corpus.jsonl");
    let flagged: Vec<String> = corpus
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .filter(|t| flag(t).is_some())
        .collect();
    assert!(flagged.is_empty(), "{flagged:#?}");
}

// ---------------------------------------------------------------------------------------------
// The learned model
// ---------------------------------------------------------------------------------------------

/// The shipped shield with its model's threshold and veto set (and reports never flagged).
fn with_model(threshold: f32, veto: f32) -> paymedic::engine::scam::Shield {
    let mut shield = ENGINE.content.scam.clone();
    let learned = shield.learned.as_mut().expect("the pack has [scam.model]");
    learned.threshold = threshold;
    learned.veto = veto;
    learned.over_report = paymedic::engine::scam::NEVER;
    shield
}

#[test]
fn the_model_flags_what_no_rule_does_once_it_is_sure_enough_and_never_a_report() {
    let chatter = "limited edition drop tomorrow, who is copping";
    let report = "someone DMed me saying they're Klarna support, is that legit?";
    // At threshold 0, every message no rule catches is "sure enough": the model's flag is
    // reported as the model's, with a kind and a reason that quotes nothing.
    let eager = with_model(0.0, 0.0);
    let f = eager.check(chatter).expect("flagged at threshold 0");
    assert_eq!(f.rule, paymedic::engine::scam::MODEL_RULE);
    assert!(f.reason.contains("learned model"), "{f:?}");
    assert!(!f.reason.contains("limited"), "{f:?}");
    // A report or a warning is not flagged, however low the threshold (unless the model is
    // at least `over_report` sure: see below).
    assert_eq!(eager.check(report), None);
    // At the shipped threshold, neither is.
    assert_eq!(flag(chatter), None);
    assert_eq!(flag(report), None);
    // Above 1, the model flags nothing of its own.
    let never = with_model(1.01, 0.0);
    assert_eq!(never.check(chatter), None);
}

#[test]
fn a_rules_flag_stands_only_when_the_model_reads_the_message_as_scam_like() {
    let claim = "hi all, I'm from the Klarna support team, inbox me";
    let reading = ENGINE.content.scam.reading(claim).expect("a model");
    assert!(reading.scam >= 0.7, "{reading:?}");
    let kept = with_model(1.01, 0.0).check(claim).expect("a rule flags it");
    assert_eq!(kept.rule, "claims_support");
    // A veto above the reading drops the rule's flag.
    let vetoed = with_model(1.01, reading.scam + 0.001);
    assert_eq!(vetoed.check(claim), None);
    // A trusted rule's flag stands whatever the model reads.
    let ask = "no worries, pm me the cvv asap";
    let f = with_model(1.01, 0.999).check(ask).expect("never vetoed");
    assert_eq!(f.rule, "asks_credentials");
}

/// A member's own report ("a verified helper messaged me on telegram") is never flagged, however
/// sure the model is. Warning wording (`cautions`) is flagged when the model is at least
/// `over_report` sure, because scammers borrow it ("it protects your account from the
/// scammers"). Before the two were split, one `over_report` flagged both, so it was off.
#[test]
fn bait_in_warning_wording_is_flagged_and_a_members_own_report_never_is() {
    let shipped = &ENGINE.content.scam;
    let over = shipped.learned.as_ref().unwrap().over_report;
    assert!(over < 1.0, "the shipped pack sets over_report");
    let bait = "Please download the Clearpay Secure app from clearpaysecure.net, it protects your account from the scammers in this server";
    assert!(shipped.is_caution(bait), "{bait}");
    let f = shipped.check(bait).expect("the bait is flagged");
    // The rule that fired is named (a lookalike host run into a staff word).
    assert_eq!(f.rule, "lookalike_link", "{f:?}");
    // Members' own reports, the model as sure as it likes: never flagged.
    let mut eager = shipped.clone();
    let learned = eager.learned.as_mut().unwrap();
    (learned.threshold, learned.veto, learned.over_report) = (0.0, 0.0, 0.0);
    let mut flagged = Vec::new();
    for who in [
        "a verified helper",
        "someone claiming to be klarna support",
        "an 'afterpay agent'",
        "this account",
        "a guy from the mod team",
    ] {
        for did in [
            "messaged me on telegram",
            "dmed me asking for my code",
            "texted me a link to verify my account",
            "asked me to install anydesk",
        ] {
            let text = format!("{who} {did}");
            assert!(eager.is_report(&text), "{text}");
            if eager.check(&text).is_some() {
                flagged.push(text);
            }
        }
    }
    assert!(flagged.is_empty(), "{flagged:#?}");
    // Warnings are cautions: left alone below over_report.
    let warning = "never share your code with anyone, klarna will never dm you";
    assert!(eager.is_caution(warning));
    assert!(shipped.check(warning).is_none());
    let learned = eager.learned.as_mut().unwrap();
    learned.over_report = paymedic::engine::scam::NEVER;
    assert_eq!(eager.check(bait), None, "with over_report off, bait passes");
}

#[test]
fn training_is_deterministic() {
    let again = paymedic::engine::Engine::embedded();
    for text in [
        "check ur dms, i can get the limit raised",
        "my klarna payment got declined again",
        "send me the code you just got",
    ] {
        assert_eq!(
            ENGINE.content.scam.reading(text),
            again.content.scam.reading(text),
            "{text}"
        );
    }
}

#[test]
fn every_mistake_in_the_model_section_is_reported_at_its_line() {
    let src = pack();
    let twice = "my order got declined at the till today, twice now";
    let src = src
        .replace(
            "threshold = 0.7\nveto = 0.5\nover_report = 0.85",
            "threshold = 0.7\nveto = 0.9\nover_report = 0.6",
        )
        .replace(
            "ordinary = [\n",
            &format!("ordinary = [\n  'card 4111 1111 1111 1111 got declined',\n  '{twice}',\n  '{twice}',\n"),
        );
    let errors = errors_of(&src);
    let at = |needle: &str| line_of(&src, needle);
    let has = |line: usize, pred: &dyn Fn(&ErrorKind) -> bool| has_error(&errors, line, pred);
    assert!(
        has(
            at("veto = 0.9"),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("not be above scam.model.threshold"))
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            at("over_report = 0.6"),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("over_report (0.6) must not be below scam.model.threshold"))
        ),
        "{errors:#?}"
    );
    assert!(
        has(
            at("'card 4111"),
            &|k| matches!(k, ErrorKind::Invalid(m) if m.contains("card number"))
        ),
        "{errors:#?}"
    );
    let copy = src.rfind(&format!("'{twice}'")).unwrap();
    assert!(
        has(src[..copy].matches('\n').count() + 1, &|k| matches!(
            k,
            ErrorKind::Duplicate {
                what: "scam.model line",
                ..
            }
        )),
        "{errors:#?}"
    );
    // The error never echoes the secret.
    assert!(
        errors.iter().all(|e| !e.to_string().contains("4111")),
        "{errors:#?}"
    );
}
