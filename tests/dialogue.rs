//! Conversation defects as classes, with generated cases: yes/no answers, asking for a human,
//! chatter mid-flow, thanks that carry news, "new problem: …", steps the first message already
//! answered, the hand-off summary, and the sensitive-data guard's place in a turn. Failures
//! print what was sent and what came back.

use crate::common::{app, block_on, engine, member};
use paymedic::engine::content::YesMeans;
use paymedic::engine::dialogue::{At, Flow, Outcome};
use paymedic::engine::sensitive::Secret;
use paymedic::engine::{
    Choice, Effect, Engine, Input, IntentId, Position, Session, State, Timestamp,
};
use proptest::prelude::*;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(engine);

fn flow_at(intent: IntentId, at: At) -> Session {
    Session {
        state: State::InFlow(Flow {
            intent,
            at,
            path: Vec::new(),
            unclear: 0,
            known: Vec::new(),
        }),
        updated: Timestamp(0),
    }
}

fn say<'e>(session: Session, text: &str, addressed: bool) -> paymedic::engine::Step<'e>
where
    'static: 'e,
{
    ENGINE.step(session, Input::Text { text, addressed }, Timestamp(1000))
}

fn escalates(effects: &[Effect<'_>]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::RequestHuman { .. }))
}

fn support_intents() -> impl Iterator<Item = IntentId> {
    ENGINE
        .content
        .topics()
        .map(|i| i.id)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Every question that can be put to a member, as (intent, position).
fn every_question() -> Vec<(IntentId, At)> {
    let mut out = Vec::new();
    for i in support_intents() {
        for s in 0..ENGINE.content.intent(i).flow.len() {
            // Positions decode from their button form: the public way to name a step.
            let p = Position::decode(&format!("{}.s{s}", i.index()), &ENGINE.content)
                .expect("a step the pack has");
            out.push((i, p.at));
        }
        out.push((i, At::Confirm));
        out.push((i, At::OfferHuman));
    }
    out
}

const YES: &[&str] = &[
    "yes",
    "Yes!",
    "yes please",
    "YES PLEASE",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "yeah sure",
    "sure thing",
    "ok please",
];
const NO: &[&str] = &[
    "no",
    "No.",
    "nope",
    "nah",
    "not really",
    "nope not yet",
    "nah not really",
];

#[test]
fn yes_and_no_answer_every_yes_no_question() {
    let c = &ENGINE.content;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (intent, at) in every_question() {
        // What yes and no must pick here, if this is a yes/no question.
        let (yes, no): (Option<Choice>, Option<Choice>) = match at {
            At::Confirm => (Some(Choice::Fixed), Some(Choice::Stuck)),
            At::OfferHuman => (Some(Choice::Human), Some(Choice::NoThanks)),
            At::Step(s) => {
                let step = c.step(intent, s);
                if step.options.is_empty() {
                    match step.yes {
                        YesMeans::Fixed => (Some(Choice::Fixed), Some(Choice::Stuck)),
                        YesMeans::Human => (Some(Choice::Human), Some(Choice::NoThanks)),
                    }
                } else {
                    let find = |w: &str| {
                        step.options
                            .iter()
                            .position(|o| o.typed.iter().any(|t| t == w))
                            .map(|k| Choice::Option(k as u8))
                    };
                    (find("yes"), find("no"))
                }
            }
        };
        for (phrases, want) in [(YES, yes), (NO, no)] {
            let Some(want) = want else { continue };
            for p in phrases {
                checked += 1;
                let by_text = say(flow_at(intent, at), p, false);
                let by_button = ENGINE.step(
                    flow_at(intent, at),
                    Input::Choose {
                        choice: want,
                        shown_at: None,
                    },
                    Timestamp(1000),
                );
                if by_text.session != by_button.session
                    || escalates(&by_text.effects) != escalates(&by_button.effects)
                {
                    failures.push(format!(
                        "{} at {at:?}: {p:?} should act like {want:?}\n  got state {:?}",
                        c.intent(intent).key,
                        by_text.session.state
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} cases");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const ASK_FOR_HUMAN: &[&str] = &[
    "human",
    "Human!",
    "talk to a human",
    "i want to talk to a human",
    "can i speak to a real person",
    "get me a moderator",
    "can a mod help",
    "hi can i please talk to a human about this",
    "talk to a human please",
    "i need staff",
    "can someone from the team look at this",
    "not working talk to a human",
];

const ASK_FOR_PROVIDER: &[&str] = &[
    "how do i contact klarna support",
    "can i talk to someone at klarna",
    "how do i reach klarna customer service",
    "is there a klarna agent i can talk to",
    "i want to talk to klarna support",
    "are you a human",
];

/// Every state a member can be in before they ask (a handed-off member is the ticket's, and
/// the bot stays silent there).
fn every_state() -> Vec<Session> {
    let mut out = vec![
        Session::new(Timestamp(0)),
        Session {
            state: State::Menu,
            updated: Timestamp(0),
        },
    ];
    for i in support_intents() {
        out.push(Session {
            state: State::Resolved { intent: i },
            updated: Timestamp(0),
        });
    }
    out.extend(every_question().into_iter().map(|(i, at)| flow_at(i, at)));
    out
}

/// Explicit requests that count even in a channel where the member has no conversation going.
const ASK_FOR_HUMAN_IN_CHANNEL: &[&str] = &[
    "human",
    "Human!",
    "talk to a human",
    "i want to talk to a human",
    "talk to a human please",
    "can i speak to a person",
    "can someone from the team look at this",
];

/// Channel talk about staff and mods that is no request.
const TALK_ABOUT_STAFF: &[&str] = &[
    "staff at the store were rude",
    "i asked a mod yesterday about the drop",
    "is that a real person or a bot",
    "the mods are slow today lol",
    "human error tbh",
    "the agent at the post office was useless",
];

fn is_conversation(s: &State) -> bool {
    matches!(s, State::InFlow(_) | State::Escalated { .. })
}

#[test]
fn asking_for_one_of_our_people_works_in_every_state() {
    let mut failures = Vec::new();
    let states = every_state();
    for s in &states {
        for addressed in [true, false] {
            let phrases = if addressed || is_conversation(&s.state) {
                ASK_FOR_HUMAN
            } else {
                ASK_FOR_HUMAN_IN_CHANNEL
            };
            for p in phrases {
                let step = say(s.clone(), p, addressed);
                let ok = escalates(&step.effects)
                    && matches!(step.session.state, State::Escalated { .. });
                if !ok {
                    failures.push(format!(
                        "{:?} (addressed {addressed}): {p:?} did not escalate",
                        s.state
                    ));
                }
            }
        }
        for p in ASK_FOR_PROVIDER {
            let step = say(s.clone(), p, true);
            if escalates(&step.effects) {
                failures.push(format!("{:?}: {p:?} escalated", s.state));
            }
        }
        if !is_conversation(&s.state) {
            for p in TALK_ABOUT_STAFF {
                let step = say(s.clone(), p, false);
                if escalates(&step.effects) {
                    failures.push(format!("{:?}: channel talk {p:?} escalated", s.state));
                }
            }
        }
    }
    // Already escalated: told so, not escalated twice.
    let escalated = Session {
        state: State::Escalated { intent: None },
        updated: Timestamp(0),
    };
    for p in ASK_FOR_HUMAN {
        let step = say(escalated.clone(), p, true);
        if escalates(&step.effects) {
            failures.push(format!("escalated twice by {p:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Channel chatter, none of it an answer to any question in the pack.
const CHATTER: &[&str] = &[
    "lol",
    "@someone did you get yours",
    "anyone going to the drop tomorrow",
    "hi everyone",
    "brb",
    "what time does the restock start",
    "these shoes are fire",
    "thanks mate",
    "haha",
];

#[test]
fn chatter_mid_flow_in_a_channel_is_silent_and_the_flow_waits() {
    let mut failures = Vec::new();
    for (i, at) in every_question() {
        for p in CHATTER {
            let before = flow_at(i, at);
            let step = say(before.clone(), p, false);
            if !step.effects.is_empty() || step.session.state != before.state {
                failures.push(format!(
                    "{} at {at:?}: {p:?} got {:?}",
                    ENGINE.content.intent(i).key,
                    step.effects
                ));
            }
            // Addressed, the same text is answered (it is a DM or a mention).
            if say(before, p, true).effects.is_empty() {
                failures.push(format!("{at:?}: addressed {p:?} got nothing"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn thanks_that_say_it_worked_end_the_flow_as_fixed() {
    let mut failures = Vec::new();
    for news in [
        "that worked",
        "it worked",
        "that fixed it",
        "working now",
        "all good now",
        "that did it",
    ] {
        for tail in [
            "",
            " thanks",
            " thank you!",
            " ty",
            ", cheers",
            " thanks so much",
        ] {
            let text = format!("{news}{tail}");
            for (i, at) in every_question() {
                let step = say(flow_at(i, at), &text, false);
                let fixed = step.effects.iter().any(|e| {
                    matches!(
                        e,
                        Effect::Record {
                            outcome: Outcome::Fixed,
                            ..
                        }
                    )
                });
                if !fixed || !matches!(step.session.state, State::Resolved { .. }) {
                    failures.push(format!("{at:?}: {text:?} -> {:?}", step.session.state));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn thanks_with_a_complaint_is_not_thanked() {
    let thanks = ENGINE.content.intent_by_key("thanks").unwrap();
    let mut failures = Vec::new();
    for text in [
        "thanks but it still doesnt work",
        "thanks for nothing",
        "thanks but no luck",
        "thanks, still declined though",
        "thank you but it still does not work",
    ] {
        let mut states = vec![Session::new(Timestamp(0))];
        states.extend(support_intents().map(|i| flow_at(i, At::Confirm)));
        for s in states {
            let step = say(s.clone(), text, true);
            let thanked = step
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Answer { intent, .. } if *intent == thanks));
            if thanked {
                failures.push(format!("{:?}: {text:?} was thanked", s.state));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn new_problem_answers_the_new_problem() {
    let c = &ENGINE.content;
    let mut failures = Vec::new();
    for lead in [
        "new problem:",
        "different problem,",
        "new problem -",
        "something else is wrong:",
    ] {
        for (problem, want) in [
            ("my bank blocked it", "bank_block"),
            ("my bank is blocking klarna", "bank_block"),
            ("klarna says im over my spending limit", "credit_limit"),
            ("klarna froze my account", "security_hold"),
        ] {
            let text = format!("{lead} {problem}");
            let want = c.intent_by_key(want).unwrap();
            for from in support_intents().filter(|i| *i != want) {
                let step = say(flow_at(from, At::Confirm), &text, false);
                let answered = step
                    .effects
                    .iter()
                    .any(|e| matches!(e, Effect::Answer { intent, .. } if *intent == want));
                if !answered {
                    failures.push(format!(
                        "from {}: {text:?} -> {:?}",
                        c.intent(from).key,
                        step.effects.first()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Questions asked on the way through a flow started by `text`, pressing "still stuck" at
/// each until the flow offers a human.
fn questions_asked(text: &str) -> (Option<IntentId>, Vec<String>) {
    let mut asked = Vec::new();
    let first = say(Session::new(Timestamp(0)), text, true);
    let intent = first.classification.as_ref().and_then(|c| c.intent);
    let mut effects = first.effects;
    let mut session = first.session;
    for _ in 0..20 {
        for e in &effects {
            if let Effect::Ask { question, .. } = e {
                asked.push(question.to_string());
            }
        }
        match &session.state {
            State::InFlow(f) if f.at != At::OfferHuman => {}
            _ => break,
        }
        let next = ENGINE.step(
            session,
            Input::Choose {
                choice: Choice::Stuck,
                shown_at: None,
            },
            Timestamp(1000),
        );
        effects = next.effects;
        session = next.session;
    }
    (intent, asked)
}

#[test]
fn a_step_the_first_message_answered_is_never_asked() {
    let c = &ENGINE.content;
    let cases: Vec<(String, &str, &str)> = {
        let mut v = Vec::new();
        for verb in [
            "declined",
            "got declined",
            "rejected my order",
            "denied my payment",
            "keeps declining me",
            "was not approved",
        ] {
            for who in ["klarna", "klarna at checkout", "my klarna payment"] {
                v.push((
                    format!("{who} {verb}"),
                    "payment_declined",
                    "What does the message say?",
                ));
            }
        }
        for device in ["new laptop", "new phone", "new iphone", "new computer"] {
            for shape in [
                "klarna froze my account right after i signed in on my {}",
                "my klarna account got locked when i logged in on my {}",
            ] {
                v.push((
                    shape.replace("{}", device),
                    "security_hold",
                    "Have you logged in from somewhere new lately?",
                ));
            }
        }
        for what in [
            "change my address",
            "update my home address",
            "change my email",
            "update my email address",
        ] {
            for shape in ["how do i {} on klarna", "klarna wont let me {}"] {
                v.push((shape.replace("{}", what), "update_details", "What changed?"));
            }
        }
        v
    };
    let mut failures = Vec::new();
    let mut classified = 0;
    for (text, intent, question) in &cases {
        let (got, asked) = questions_asked(text);
        if got != c.intent_by_key(intent) {
            continue;
        }
        classified += 1;
        if asked.iter().any(|q| q == question) {
            failures.push(format!(
                "{text:?}: asked {question:?} again; asked {asked:?}"
            ));
        }
        if asked.is_empty() {
            failures.push(format!("{text:?}: asked nothing at all"));
        }
    }
    assert!(
        classified * 10 >= cases.len() * 8,
        "only {classified} of {} openings reached their intent",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever path a member takes, the hand-off summary lists only questions that were put
    /// to them (or that their first message answered, marked so), each with the answer given.
    #[test]
    fn the_summary_lists_only_questions_that_were_asked(
        intent in 0usize..64,
        example in 0usize..1000,
        picks in proptest::collection::vec((0usize..8, 0u8..3), 1..12),
    ) {
        let c = &ENGINE.content;
        let topics: Vec<_> = c.topics().collect();
        let topic = topics[intent % topics.len()];
        let opening = &topic.examples[example % topic.examples.len()];
        let mut asked: Vec<String> = Vec::new();
        let first = say(Session::new(Timestamp(0)), opening, true);
        let mut session = first.session;
        let mut effects = first.effects;
        for (pick, how) in picks {
            let mut offers = Vec::new();
            for e in &effects {
                if let Effect::Ask { question, offers: o, .. } = e {
                    asked.push(question.to_string());
                    offers = o.iter().map(|o| (o.choice, o.label.to_string())).collect();
                }
                if let Effect::RequestHuman { tried, .. } = e {
                    for line in tried.iter().skip(1) {
                        let (q, _) = line.split_once(" → ").expect("question → answer");
                        prop_assert!(
                            line.ends_with("(from their first message)") || asked.iter().any(|a| a == q),
                            "summary line {line:?} names a question never asked; asked {asked:?}"
                        );
                    }
                }
            }
            if offers.is_empty() {
                break;
            }
            let (choice, label) = offers[pick % offers.len()].clone();
            // Press the button, type its label, or type its number.
            let next = match how {
                0 => ENGINE.step(session, Input::Choose { choice, shown_at: None }, Timestamp(1000)),
                1 => say(session, &label, true),
                _ => say(session, &(pick % offers.len() + 1).to_string(), true),
            };
            session = next.session;
            effects = next.effects;
        }
        let handed_off = matches!(session.state, State::HandedOff { .. });
        prop_assert!(!handed_off, "no member input hands a member off");
    }
}

/// The guard runs before the cooldown and before hand-off silence: a secret is always flagged.
#[test]
fn a_secret_is_flagged_before_the_cooldown_and_the_hand_off() {
    let app = app();
    let card = "my card is 4111 1111 1111 1111 why declined";
    let sensitive = |effects: &[Effect<'_>]| effects == [Effect::Sensitive(Secret::CardNumber)];
    // Just answered: the cooldown would say "slow down".
    let u = member(1, 1);
    let t = block_on(app.turn(
        u,
        Input::Text {
            text: "klarna declined my order",
            addressed: false,
        },
        Timestamp(0),
    ))
    .unwrap();
    assert!(!t.effects.is_empty());
    let t = block_on(app.turn(
        u,
        Input::Text {
            text: card,
            addressed: false,
        },
        Timestamp(100),
    ))
    .unwrap();
    assert!(sensitive(&t.effects), "{:?}", t.effects);
    // Flooding: noticed, then dropped; the card is still flagged.
    let t = block_on(app.turn(
        u,
        Input::Text {
            text: "hello??",
            addressed: false,
        },
        Timestamp(200),
    ))
    .unwrap();
    assert!(!t.effects.is_empty(), "the one notice");
    let t = block_on(app.turn(
        u,
        Input::Text {
            text: "hello??",
            addressed: false,
        },
        Timestamp(300),
    ))
    .unwrap();
    assert!(t.effects.is_empty(), "then quiet");
    let t = block_on(app.turn(
        u,
        Input::Text {
            text: card,
            addressed: false,
        },
        Timestamp(400),
    ))
    .unwrap();
    assert!(sensitive(&t.effects), "{:?}", t.effects);
    // Handed off to a human: silent for everything else, but not for a card number.
    let v = member(1, 2);
    block_on(app.escalate(
        paymedic::app::Staff::trusted(paymedic::engine::MemberId(99)),
        v,
        None,
        Timestamp(0),
        None,
    ))
    .unwrap();
    let t = block_on(app.turn(
        v,
        Input::Text {
            text: "klarna declined my order",
            addressed: true,
        },
        Timestamp(60_000),
    ))
    .unwrap();
    assert!(t.effects.is_empty());
    let t = block_on(app.turn(
        v,
        Input::Text {
            text: card,
            addressed: true,
        },
        Timestamp(120_000),
    ))
    .unwrap();
    assert!(sensitive(&t.effects), "{:?}", t.effects);
    // The session was not touched: still with the human.
    assert!(matches!(
        block_on(app.session(v)).unwrap().map(|s| s.state),
        Some(State::HandedOff { .. })
    ));
}

/// A yes word or a fixed phrase inside a complaint is no "fixed": "ok still declined", "the
/// payment never went through". (Found in review: both used to close the flow as fixed.)
#[test]
fn a_complaint_holding_a_yes_or_a_fixed_phrase_is_not_fixed() {
    let mut failures = Vec::new();
    for text in [
        "ok still declined",
        "yes but it still does not work",
        "please help still not working",
        "sure but no luck",
        "the payment never went through",
        "it still never went through",
        "i have no idea if it worked",
        "nope it never worked",
        "not working talk to a human",
    ] {
        for (i, at) in every_question() {
            let step = say(flow_at(i, at), text, true);
            let fixed = step.effects.iter().any(|e| {
                matches!(
                    e,
                    Effect::Record {
                        outcome: Outcome::Fixed,
                        ..
                    }
                )
            });
            if fixed {
                failures.push(format!("{at:?}: {text:?} closed the flow as fixed"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Saying no to a human never brings one in. (Found in review: "no human" escalated.)
#[test]
fn saying_no_to_a_human_never_escalates() {
    let mut failures = Vec::new();
    for text in [
        "no human",
        "no thanks i dont need a human",
        "i dont want to talk to a human",
        "nah no human needed",
        "no, no human",
        "i do not need a moderator",
    ] {
        for s in every_state() {
            for addressed in [true, false] {
                let step = say(s.clone(), text, addressed);
                if escalates(&step.effects) {
                    failures.push(format!("{:?}: {text:?} escalated", s.state));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
