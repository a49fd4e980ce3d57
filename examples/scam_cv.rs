//! Leave-one-set-out evaluation of the scam shield's learned model, for choosing its
//! threshold and veto without looking at a held-out set.
//!
//! `cargo run --release --example scam_cv -- SET.jsonl... [--hold NAME,NAME] [--show T,V]
//! [--over-report P] [--epochs N] [--rate R] [--l2 X] [--average 0|1]`
//!
//! Each labelled set (`{"text", "scam", "kind"}` lines) is one writer's work. For each set named
//! in `--hold` (default: all), the model is trained on every other set (plus the pack's intent
//! examples, as the pack trains it) and the whole shield, rules and model, is scored on the
//! held-out set for a grid of thresholds and vetoes. Sets the rules were tuned on make the rules
//! look better than they are on new writing, so hold out only sets the rules never saw when the
//! figures must be honest. The pack's own `[scam.model]` lines are not used. `--show T,V` lists
//! each held-out set's misses and false alarms (with the rule that fired) at threshold `T` and
//! veto `V`. `--over-report` sets `[scam.model] over_report` (default: off); the training
//! flags override `scam::TRAINING`.

use paymedic::engine::scam::{Learned, ScamKind, Shield};
use paymedic::engine::Engine;

#[derive(serde::Deserialize)]
struct Line {
    text: String,
    scam: bool,
    kind: Option<String>,
}

fn load(path: &str) -> Vec<Line> {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    src.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .collect()
}

const THRESHOLDS: [f32; 6] = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9];
const VETOES: [f32; 6] = [0.1, 0.3, 0.4, 0.5, 0.6, 0.7];

/// Removes `name VALUE` from `args`, answering the value.
fn take(args: &mut Vec<String>, name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    let v = args.get(i + 1).cloned().unwrap_or_default();
    args.drain(i..(i + 2).min(args.len()));
    Some(v)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let hold: Option<Vec<String>> =
        take(&mut args, "--hold").map(|v| v.split(',').map(str::to_string).collect());
    let show: Option<(f32, f32)> = take(&mut args, "--show").map(|v| {
        let (t, v) = v.split_once(',').expect("--show T,V");
        (
            t.parse().expect("--show: a threshold"),
            v.parse().expect("--show: a veto"),
        )
    });
    let mut number = |name: &str| -> Option<f32> {
        take(&mut args, name).map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: a number")))
    };
    let over_report = number("--over-report").unwrap_or(paymedic::engine::scam::NEVER);
    let mut settings = paymedic::engine::scam::TRAINING;
    if let Some(v) = number("--epochs") {
        settings.epochs = v as usize;
    }
    if let Some(v) = number("--rate") {
        settings.learning_rate = v;
    }
    if let Some(v) = number("--l2") {
        settings.l2 = v;
    }
    if let Some(v) = number("--average") {
        settings.average = v != 0.0;
    }
    let sets: Vec<(String, Vec<Line>)> = args
        .iter()
        .map(|p| {
            let name = std::path::Path::new(p)
                .file_stem()
                .map_or(p.clone(), |s| s.to_string_lossy().into_owned());
            (name, load(p))
        })
        .collect();
    let engine = Engine::embedded();
    let mut base: Shield = engine.content.scam.clone();
    base.learned = None;
    let intent_examples: Vec<&str> = engine
        .content
        .intents
        .iter()
        .flat_map(|i| i.examples.iter())
        .chain(&engine.content.out_of_scope)
        .map(String::as_str)
        .collect();
    // (threshold, veto) -> (caught, scams, false alarms, ordinary), pooled over the folds.
    let mut pooled = vec![[0usize; 4]; THRESHOLDS.len() * VETOES.len()];
    let mut rules_only = [0usize; 4];
    for (i, (name, held)) in sets.iter().enumerate() {
        if hold.as_ref().is_some_and(|h| !h.contains(name)) {
            continue;
        }
        let mut scams: Vec<(&str, ScamKind)> = Vec::new();
        let mut ordinary: Vec<(&str, f32)> = Vec::new();
        for (j, (_, set)) in sets.iter().enumerate() {
            if j == i {
                continue;
            }
            for l in set {
                match l.kind.as_deref().and_then(ScamKind::from_key) {
                    Some(k) if l.scam => scams.push((&l.text, k)),
                    _ => ordinary.push((&l.text, 1.0)),
                }
            }
        }
        ordinary.extend(intent_examples.iter().map(|t| (*t, 0.5)));
        let learned = Learned::train(&base, &scams, &ordinary, 0.9, 0.0, settings);
        let configured = |threshold, veto| {
            let mut l = learned.clone();
            (l.threshold, l.veto, l.over_report) = (threshold, veto, over_report);
            l
        };
        let rules: Vec<bool> = held.iter().map(|l| base.check(&l.text).is_some()).collect();
        let mut shield = base.clone();
        let mut row = Vec::new();
        for (k, (t, v)) in THRESHOLDS
            .iter()
            .flat_map(|t| VETOES.iter().map(move |v| (*t, *v)))
            .enumerate()
        {
            shield.learned = Some(configured(t, v));
            let c = &mut pooled[k];
            let mut fold = [0usize; 4];
            for l in held {
                let hit = shield.check(&l.text).is_some();
                let j = if l.scam { 0 } else { 2 };
                fold[j] += usize::from(hit);
                fold[j + 1] += 1;
            }
            for j in 0..4 {
                c[j] += fold[j];
            }
            if v == 0.1 {
                row.push(format!(
                    "{t}:{:.2}/{}",
                    fold[0] as f64 / fold[1] as f64,
                    fold[2]
                ));
            }
        }
        if let Some((t, v)) = show {
            shield.learned = Some(configured(t, v));
            for l in held {
                match (shield.check(&l.text), l.scam) {
                    (None, true) => println!(
                        "  {name} missed ({}, p {:.2}{}): {}",
                        l.kind.as_deref().unwrap_or("?"),
                        shield.reading(&l.text).map_or(0.0, |r| r.scam),
                        if shield.is_report(&l.text) {
                            ", report"
                        } else if shield.is_caution(&l.text) {
                            ", caution"
                        } else {
                            ""
                        },
                        l.text
                    ),
                    (Some(f), false) => println!(
                        "  {name} false alarm ({}, p {:.2}): {}",
                        f.rule,
                        shield.reading(&l.text).map_or(0.0, |r| r.scam),
                        l.text
                    ),
                    _ => {}
                }
            }
        }
        let (rt, rf) = held.iter().zip(&rules).fold((0, 0), |(t, f), (l, r)| {
            (
                t + usize::from(l.scam && *r),
                f + usize::from(!l.scam && *r),
            )
        });
        let p = held.iter().filter(|l| l.scam).count();
        rules_only[0] += rt;
        rules_only[1] += p;
        rules_only[2] += rf;
        rules_only[3] += held.len() - p;
        println!(
            "{name:<16} rules {:.2}/{rf}   veto 0.1: {}",
            rt as f64 / p as f64,
            row.join(" ")
        );
    }
    let show = |c: &[usize; 4]| {
        format!(
            "recall {:.3} ({}/{}), false alarms {:.2}% ({}/{})",
            c[0] as f64 / c[1] as f64,
            c[0],
            c[1],
            100.0 * c[2] as f64 / c[3] as f64,
            c[2],
            c[3]
        )
    };
    println!("pooled, rules only: {}", show(&rules_only));
    for (k, (t, v)) in THRESHOLDS
        .iter()
        .flat_map(|t| VETOES.iter().map(move |v| (*t, *v)))
        .enumerate()
    {
        println!("pooled, threshold {t:.2} veto {v:.2}: {}", show(&pooled[k]));
    }
}
