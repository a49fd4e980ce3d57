//! Content pack load from text: `content::compile` (TOML parse, validation, regex and flow
//! compilation), the path `paymedic check` and start-up take.
//!
//! Checks: a rejected pack reports at least one error, each located inside the text (line and
//! column in range), in file order, and every error message renders. A pack that compiles (rare
//! for a fuzzer: a valid pack needs every required intent with 25 examples) is trained into an
//! engine and classifies a message, like start-up does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paymedic::engine::content::{compile, numbered, Target, REQUIRED_INTENTS};
use paymedic::engine::limits::{
    BUTTON_LABEL_LENGTH_MAX, EMBED_DESCRIPTION_LENGTH_MAX, STEP_OPTIONS_MAX,
};
use paymedic::engine::Engine;

const NAME: &str = "fuzz.toml";

fuzz_target!(|src: &str| {
    match compile(NAME, src) {
        Err(errors) => {
            assert!(!errors.0.is_empty(), "rejected with no error");
            let lines: Vec<&str> = src.split('\n').collect();
            for e in &errors.0 {
                let l = &e.location;
                assert_eq!(l.file, NAME);
                assert!(
                    (1..=lines.len()).contains(&l.line),
                    "line {} of {}: {e}",
                    l.line,
                    lines.len()
                );
                let width = lines[l.line - 1].chars().count();
                assert!(
                    (1..=width + 1).contains(&l.col),
                    "col {} of {width}: {e}",
                    l.col
                );
                let _ = e.to_string();
            }
            assert!(
                errors
                    .0
                    .windows(2)
                    .all(|w| (w[0].location.line, w[0].location.col)
                        <= (w[1].location.line, w[1].location.col)),
                "errors out of file order"
            );
        }
        Ok(content) => {
            for key in REQUIRED_INTENTS {
                assert!(content.intent_by_key(key).is_some(), "{key} missing");
            }
            for intent in &content.intents {
                let answer = numbered(&intent.reply.intro, &intent.reply.steps);
                assert!(answer.chars().count() <= EMBED_DESCRIPTION_LENGTH_MAX);
                for step in &intent.flow {
                    assert!(step.options.len() <= STEP_OPTIONS_MAX);
                    for o in &step.options {
                        assert!(o.label.chars().count() <= BUTTON_LABEL_LENGTH_MAX);
                        if let Target::Step(s) = o.next {
                            assert!(s.index() < intent.flow.len());
                        }
                    }
                }
            }
            let engine = Engine::load(NAME, src).expect("compiled once, compiles again");
            let _ = engine.classify("klarna declined my payment");
        }
    }
});
