//! No input makes the classifier or the state machine panic.

use crate::common::{app, block_on, member};
use paymedic::engine::{Choice, Input, Timestamp};
use proptest::prelude::*;
use std::sync::LazyLock;

static APP: LazyLock<paymedic::app::App> = LazyLock::new(app);

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect())
}

#[derive(Debug, Clone)]
enum Act {
    Say(String, bool),
    Press(u8),
    Reset,
    HandOff,
    HandBack,
    Tick,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (text(300), any::<bool>()).prop_map(|(t, a)| Act::Say(t, a)),
        // Option numbers past the end, and every universal button.
        3 => (0u8..12).prop_map(Act::Press),
        1 => Just(Act::Reset),
        1 => Just(Act::HandOff),
        1 => Just(Act::HandBack),
        1 => Just(Act::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics_and_confidence_is_a_probability(s in text(10_000)) {
        let c = APP.engine().classify(&s);
        prop_assert!((0.0..=1.0).contains(&c.confidence));
    }

    #[test]
    fn step_never_panics_on_long_text(s in text(10_000), addressed in any::<bool>()) {
        let user = member(1, 1);
        block_on(APP.turn(user, Input::Text { text: &s, addressed }, Timestamp(0))).unwrap();
    }

    #[test]
    fn any_sequence_of_inputs_is_handled(acts in proptest::collection::vec(act(), 1..25), user in 2u64..1000) {
        let user = member(2, user);
        let engine = &APP.engine();
        for (minute, a) in acts.iter().enumerate() {
            let now = Timestamp(minute as u64 * 60_000);
            let turn = match a {
                Act::Say(t, addressed) => block_on(APP.turn(user, Input::Text { text: t, addressed: *addressed }, now)).unwrap(),
                Act::Press(k) => {
                    let choice = match k {
                        0..=5 => Choice::Option(*k),
                        6 => Choice::Fixed,
                        7 => Choice::Stuck,
                        8 => Choice::Human,
                        9 => Choice::NoThanks,
                        _ => Choice::Topic(engine.content.intents[usize::from(*k) % engine.content.intents.len()].id),
                    };
                    block_on(APP.turn(user, Input::Choose { choice, shown_at: None }, now)).unwrap()
                }
                Act::Reset => block_on(APP.turn(user, Input::Reset, now)).unwrap(),
                Act::HandOff => block_on(APP.turn(user, Input::HandOff, now)).unwrap(),
                Act::HandBack => block_on(APP.turn(user, Input::HandBack, now)).unwrap(),
                Act::Tick => block_on(APP.turn(user, Input::Tick, now)).unwrap(),
            };
            // Whatever happened, every question offers at least one choice.
            for e in &turn.effects {
                if let paymedic::engine::Effect::Ask { offers, .. } = e {
                    prop_assert!(!offers.is_empty());
                }
            }
        }
    }
}
