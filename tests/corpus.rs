//! The held-out labelled corpus (`tests/data/corpus.jsonl`), scored at production thresholds.

use crate::common::engine;
use paymedic::eval::{evaluate, parse_jsonl};
use std::collections::HashMap;

const CORPUS: &str = include_str!("data/corpus.jsonl");

#[test]
fn corpus_macro_f1_and_out_of_scope_false_positives_meet_targets() {
    let engine = engine();
    let lines = parse_jsonl("corpus.jsonl", CORPUS, &engine).unwrap_or_else(|e| panic!("{e:?}"));
    let report = evaluate(&engine, &lines);
    println!("{report}");
    assert!(
        report.macro_f1 >= 0.90,
        "macro-F1 {:.3} < 0.90\n{report}",
        report.macro_f1
    );
    assert!(
        report.out_of_scope_fpr() <= 0.03,
        "out-of-scope FPR {:.3} > 0.03\n{report}",
        report.out_of_scope_fpr()
    );
}

#[test]
fn corpus_has_enough_lines_per_label() {
    let engine = engine();
    let lines = parse_jsonl("corpus.jsonl", CORPUS, &engine).unwrap();
    let mut counts: HashMap<Option<String>, usize> = HashMap::new();
    for l in &lines {
        *counts.entry(l.intent.clone()).or_default() += 1;
    }
    for intent in &engine.content.intents {
        let n = counts.get(&Some(intent.key.clone())).copied().unwrap_or(0);
        assert!(n >= 40, "{} has {n} corpus lines", intent.key);
    }
    assert!(counts.get(&None).copied().unwrap_or(0) >= 200);
}

/// The corpus measures generalization only if the model never trained on it.
#[test]
fn corpus_is_separate_from_the_packs_examples() {
    let engine = engine();
    let trained = crate::common::trained_examples(&engine);
    let lines = parse_jsonl("corpus.jsonl", CORPUS, &engine).unwrap();
    let shared: Vec<&str> = lines
        .iter()
        .filter(|l| trained.contains(&engine.classifier.normalize(&l.text)))
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        shared.is_empty(),
        "corpus lines also in intents.toml: {shared:#?}"
    );
}
