//! `Engine::step` over arbitrary sequences of inputs with the shipped pack: messages (raw,
//! picked from the pack's own phrases so flows are reached, or both glued together), button
//! presses (of what was just offered, or made up, with current, stale or no positions),
//! commands, hand-offs and clock moves forward, far forward and backward.
//!
//! After every step:
//! - what the adapters send fits Discord: messages and questions within 2000 characters, an
//!   answer's title and text within the embed limits, at most 25 buttons per question, each
//!   labelled within 80 characters, no two alike, and each button's custom id within 100
//!   characters and decoding to the same owner, position and choice; the rendered reply's
//!   pieces within 2000 characters;
//! - a message that looks sensitive yields only the warning and changes nothing else;
//! - a handed-off session stays silent and handed off until it is handed back;
//! - the session survives the store: `StoredSession` and back (and through JSON) is the same
//!   session, and the hand-off packet's "tried" lines can be built;
//! - `updated` is `now`, except on a tick.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use paymedic::discord::convert::{button_id, parse_button_id, ButtonId};
use paymedic::discord::effects::render;
use paymedic::engine::content::numbered;
use paymedic::engine::dialogue::stored::StoredSession;
use paymedic::engine::limits::{
    ACTION_ROWS_MAX, BUTTONS_PER_ROW_MAX, BUTTON_LABEL_LENGTH_MAX, CUSTOM_ID_LENGTH_MAX,
    EMBED_DESCRIPTION_LENGTH_MAX, EMBED_TITLE_LENGTH_MAX, MESSAGE_CONTENT_LENGTH_MAX,
};
use paymedic::engine::sensitive;
use paymedic::engine::{
    Choice, Content, Effect, Engine, Input, IntentId, Position, Session, State, Timestamp,
};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::embedded);

/// Texts the pack itself knows: every example, control phrase, option label and typed
/// phrase, topic title, plus numbers and a few secrets. Random bytes rarely classify; these
/// walk the fuzzer into flows.
static PHRASES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let c = &ENGINE.content;
    let mut v: Vec<String> = Vec::new();
    for i in &c.intents {
        v.extend(i.examples.iter().cloned());
        v.push(i.title.clone());
        for s in &i.flow {
            for o in &s.options {
                v.push(o.label.clone());
                v.extend(o.typed.iter().cloned());
            }
        }
    }
    let k = &c.controls;
    for list in [
        &k.fixed,
        &k.stuck,
        &k.human,
        &k.no_thanks,
        &k.reset,
        &k.yes,
        &k.no,
        &k.not_human,
    ] {
        v.extend(list.iter().cloned());
    }
    v.extend((0..=30).map(|n| n.to_string()));
    v.extend(
        [
            "4111 1111 1111 1111",
            "my cvv is 123",
            "my password is hunter2",
            "start over",
            "",
        ]
        .map(String::from),
    );
    v
});

#[derive(Arbitrary, Debug)]
enum Op<'a> {
    Text {
        text: &'a str,
        addressed: bool,
    },
    Phrase {
        n: u16,
        addressed: bool,
    },
    PhrasePlus {
        n: u16,
        text: &'a str,
        addressed: bool,
    },
    /// Press one of the buttons of the last question shown.
    Press {
        n: u8,
        shown: Shown,
    },
    /// Press a made-up button.
    Choose {
        choice: (u8, u16),
        shown: Shown,
    },
    Start(u16),
    Menu,
    Reset,
    HandOff,
    HandBack,
    Tick,
    Wait(u16),
    WaitMinutes(u16),
    Back(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Shown {
    Last,
    None,
    At(u16, u8, u8),
}

fn position(c: &Content, (i, at, step): (u16, u8, u8)) -> Option<Position> {
    let i = usize::from(i) % c.intents.len();
    let flow = c.intents[i].flow.len();
    let at = match at % 3 {
        0 => "c".to_string(),
        1 => "h".to_string(),
        _ if flow == 0 => return None,
        _ => format!("s{}", usize::from(step) % flow),
    };
    Position::decode(&format!("{i}.{at}"), c)
}

fn choice(c: &Content, (kind, n): (u8, u16)) -> Choice {
    let code = match kind % 6 {
        0 => format!("o{}", n as u8),
        1 => "f".into(),
        2 => "s".into(),
        3 => "h".into(),
        4 => "n".into(),
        _ => format!("t{}", usize::from(n) % c.intents.len()),
    };
    Choice::decode(&code, c).expect("a valid choice code decodes")
}

fn intent(c: &Content, n: u16) -> IntentId {
    match choice(c, (5, n)) {
        Choice::Topic(i) => i,
        other => unreachable!("{other:?}"),
    }
}

const OWNER: u64 = 1_300_000_000_000_000_010;
const OPS_MAX: usize = 32;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fuzz_target!(|ops: Vec<Op<'_>>| {
    let engine = &*ENGINE;
    let c = &engine.content;
    let phrases = &*PHRASES;
    let mut now = Timestamp(1_000_000_000);
    let mut session = Session::new(now);
    // The last question shown: its position and offers.
    let mut last: Option<(Option<Position>, Vec<Choice>)> = None;
    for op in ops.into_iter().take(OPS_MAX) {
        let glued;
        let shown_at = |s: Shown, last: &Option<(Option<Position>, Vec<Choice>)>| match s {
            Shown::Last => last.as_ref().and_then(|(p, _)| *p),
            Shown::None => None,
            Shown::At(i, a, k) => position(c, (i, a, k)),
        };
        let input = match op {
            Op::Text { text, addressed } => Input::Text { text, addressed },
            Op::Phrase { n, addressed } => Input::Text {
                text: &phrases[usize::from(n) % phrases.len()],
                addressed,
            },
            Op::PhrasePlus { n, text, addressed } => {
                glued = format!("{} {text}", phrases[usize::from(n) % phrases.len()]);
                Input::Text {
                    text: &glued,
                    addressed,
                }
            }
            Op::Press { n, shown } => {
                let Some((_, offers)) = last.as_ref().filter(|(_, o)| !o.is_empty()) else {
                    continue;
                };
                Input::Choose {
                    choice: offers[usize::from(n) % offers.len()],
                    shown_at: shown_at(shown, &last),
                }
            }
            Op::Choose { choice: ch, shown } => Input::Choose {
                choice: choice(c, ch),
                shown_at: shown_at(shown, &last),
            },
            Op::Start(n) => Input::Start(intent(c, n)),
            Op::Menu => Input::Menu,
            Op::Reset => Input::Reset,
            Op::HandOff => Input::HandOff,
            Op::HandBack => Input::HandBack,
            Op::Tick => Input::Tick,
            Op::Wait(ms) => {
                now = Timestamp(now.0.saturating_add(u64::from(ms)));
                continue;
            }
            Op::WaitMinutes(m) => {
                now = Timestamp(now.0.saturating_add(u64::from(m) * 60_000));
                continue;
            }
            Op::Back(ms) => {
                now = Timestamp(now.0.saturating_sub(u64::from(ms)));
                continue;
            }
        };

        let before = session.clone();
        let step = engine.step(session, input, now);
        session = step.session;

        // Time.
        let expected_updated = if matches!(input, Input::Tick) {
            before.updated
        } else {
            now
        };
        assert_eq!(session.updated, expected_updated);

        // Hand-off silence.
        if let State::HandedOff { intent } = before.state {
            if !matches!(input, Input::HandBack) {
                assert!(step.effects.is_empty(), "spoke while handed off: {input:?}");
                assert_eq!(session.state, State::HandedOff { intent });
            }
        } else if let Input::Text { text, .. } = input {
            // The sensitive-data guard: only the warning, nothing classified or changed.
            if let Some(k) = sensitive::kind(text) {
                assert_eq!(step.effects, vec![Effect::Sensitive(k)]);
                assert!(step.classification.is_none());
                let expired =
                    now.0.saturating_sub(before.updated.0) > engine.settings.idle_timeout_ms;
                if !expired {
                    assert_eq!(session.state, before.state);
                }
            }
        }

        // Effects within Discord's limits, and their buttons decodable.
        for e in &step.effects {
            match e {
                Effect::Answer {
                    title,
                    intro,
                    steps,
                    ..
                } => {
                    assert!(!title.is_empty() && chars(title) <= EMBED_TITLE_LENGTH_MAX);
                    assert!(chars(&numbered(intro, steps)) <= EMBED_DESCRIPTION_LENGTH_MAX);
                }
                Effect::Say(s) => {
                    assert!(chars(s) <= MESSAGE_CONTENT_LENGTH_MAX, "{s}");
                }
                Effect::Ask {
                    question,
                    offers,
                    at,
                } => {
                    assert!(chars(question) <= MESSAGE_CONTENT_LENGTH_MAX);
                    assert!(!offers.is_empty(), "a question with no choices");
                    assert!(offers.len() <= ACTION_ROWS_MAX * BUTTONS_PER_ROW_MAX);
                    for (k, o) in offers.iter().enumerate() {
                        assert!(
                            !o.label.trim().is_empty() && chars(o.label) <= BUTTON_LABEL_LENGTH_MAX,
                            "{:?}",
                            o.label
                        );
                        assert!(
                            offers[..k].iter().all(|p| p.choice != o.choice),
                            "two buttons with one custom id: {offers:?}"
                        );
                        let id = button_id(OWNER, *at, o.choice);
                        assert!(chars(&id) <= CUSTOM_ID_LENGTH_MAX, "{id}");
                        assert_eq!(
                            parse_button_id(&id, c),
                            Some(ButtonId {
                                owner: OWNER,
                                at: *at,
                                choice: o.choice
                            })
                        );
                    }
                    last = Some((*at, offers.iter().map(|o| o.choice).collect()));
                }
                Effect::Record { intent, step, .. } => {
                    let flow = &c.intent(*intent).flow;
                    assert!(step.is_none_or(|s| s.index() < flow.len()));
                }
                Effect::Sensitive(_) | Effect::RequestHuman { .. } => {}
                // Only from `step_during` with an active incident, which this target doesn't
                // pass.
                Effect::Incident { .. } => panic!("an incident effect without an incident"),
                // The scam shield runs in App, before the engine: a step never flags one.
                Effect::Scam(_) => panic!("a scam flag from the engine"),
            }
        }
        let reply = render(OWNER, &step.effects);
        assert!(reply
            .content
            .iter()
            .all(|p| chars(p) <= MESSAGE_CONTENT_LENGTH_MAX));
        assert!(reply.rows.len() <= ACTION_ROWS_MAX);

        // The session survives the store.
        let stored = StoredSession::from_session(&session, c);
        assert_eq!(stored.to_session(c), session, "store round trip");
        let json = serde_json::to_string(&stored).expect("serializes");
        let back: StoredSession = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, stored);
        if let State::InFlow(flow) = &session.state {
            let tried = engine.tried(flow);
            assert_eq!(tried.len(), flow.path.len() + 1);
        }
    }
});
