//! K-fold cross-validation on the content pack's own examples, for choosing model settings
//! without ever looking at the held-out corpus in `tests/data/`.
//!
//! `cargo run --release --example crossval [-- PACK]` prints macro-F1 and the out-of-scope
//! false-positive rate for a small grid of settings, at the pack's thresholds.

use paymedic::engine::content::{compile, Content, EMBEDDED, EMBEDDED_NAME};
use paymedic::engine::nlu::model::TrainSettings;
use paymedic::engine::nlu::{Classifier, ModelSettings, Thresholds};

const FOLDS: usize = 5;

fn main() {
    let src = match std::env::args().nth(1).filter(|a| !a.starts_with("--")) {
        Some(p) => std::fs::read_to_string(p).expect("read pack"),
        None => EMBEDDED.to_string(),
    };
    let content = compile(EMBEDDED_NAME, &src).unwrap_or_else(|e| panic!("{e}"));
    let base = ModelSettings::default();
    let mut grid = vec![
        ("default".to_string(), base),
        (
            "no domain gate".to_string(),
            ModelSettings {
                domain_gate: false,
                ..base
            },
        ),
        (
            "no gate, boost=2.5".to_string(),
            ModelSettings {
                domain_gate: false,
                pattern_boost: 2.5,
                ..base
            },
        ),
        (
            "no gate, boost=3".to_string(),
            ModelSettings {
                domain_gate: false,
                pattern_boost: 3.0,
                ..base
            },
        ),
    ];
    for epochs in [10, 15, 20, 40] {
        for lr in [0.3, 0.6, 1.0] {
            grid.push((
                format!("epochs={epochs} lr={lr}"),
                ModelSettings {
                    train: TrainSettings {
                        epochs,
                        learning_rate: lr,
                        ..base.train
                    },
                    ..base
                },
            ));
        }
    }
    for boost in [1.5, 2.0, 2.5, 3.0, 3.5] {
        grid.push((
            format!("boost={boost}"),
            ModelSettings {
                pattern_boost: boost,
                ..base
            },
        ));
    }
    for w in [0.5, 2.0] {
        grid.push((
            format!("oos_weight={w}"),
            ModelSettings {
                out_of_scope_weight: w,
                ..base
            },
        ));
    }
    for l2 in [0.0, 1e-3] {
        grid.push((
            format!("l2={l2}"),
            ModelSettings {
                train: TrainSettings { l2, ..base.train },
                ..base
            },
        ));
    }
    for boost in [0.0, 2.0, 4.5] {
        grid.push((
            format!("pattern_features boost={boost}"),
            ModelSettings {
                pattern_features: true,
                pattern_boost: boost,
                ..base
            },
        ));
    }
    {
        let boost = 6.0;
        grid.push((
            format!("boost={boost}"),
            ModelSettings {
                pattern_boost: boost,
                ..base
            },
        ));
    }
    let only_default = std::env::args().any(|a| a == "--thresholds");
    for (name, settings) in grid {
        let (f1, fpr) = crossval(&content, settings, None);
        println!("{name:<28} macro-F1 {f1:.3}  OOS FPR {fpr:.3}");
        if only_default {
            for t in [0.35f32, 0.4, 0.45, 0.5, 0.6] {
                for m in [0.0f32, 0.1, 0.2] {
                    let (f1, fpr) = crossval(&content, settings, Some((t, m)));
                    println!("    threshold={t} margin={m:<4} macro-F1 {f1:.3}  OOS FPR {fpr:.3}");
                }
            }
            break;
        }
    }
}

/// Returns (macro-F1 over intents, out-of-scope false-positive rate).
fn crossval(
    content: &Content,
    settings: ModelSettings,
    thresholds: Option<(f32, f32)>,
) -> (f64, f64) {
    let n = content.intents.len();
    let mut confusion = vec![vec![0usize; n + 1]; n + 1];
    for fold in 0..FOLDS {
        let mut train = content.clone();
        let mut held: Vec<(String, usize)> = Vec::new();
        for (i, intent) in train.intents.iter_mut().enumerate() {
            let (keep, out) = split(std::mem::take(&mut intent.examples), fold);
            intent.examples = keep;
            held.extend(out.into_iter().map(|e| (e, i)));
        }
        let (keep, out) = split(std::mem::take(&mut train.out_of_scope), fold);
        train.out_of_scope = keep;
        held.extend(out.into_iter().map(|e| (e, n)));
        let mut classifier = Classifier::with_settings(&train, settings);
        if let Some((t, m)) = thresholds {
            classifier.set_thresholds(Thresholds {
                per_intent: vec![t; n],
                margin: m,
            });
        }
        for (text, truth) in held {
            let got = classifier.classify(&text).intent.map_or(n, |i| i.index());
            confusion[truth][got] += 1;
        }
    }
    let mut f1s = Vec::new();
    for i in 0..n {
        let tp = confusion[i][i] as f64;
        let support: usize = confusion[i].iter().sum();
        let predicted: usize = confusion.iter().map(|r| r[i]).sum();
        let p = if predicted == 0 {
            0.0
        } else {
            tp / predicted as f64
        };
        let r = if support == 0 {
            0.0
        } else {
            tp / support as f64
        };
        f1s.push(if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        });
    }
    let oos: usize = confusion[n].iter().sum();
    let fp = oos - confusion[n][n];
    (
        f1s.iter().sum::<f64>() / n as f64,
        fp as f64 / oos.max(1) as f64,
    )
}

fn split(v: Vec<String>, fold: usize) -> (Vec<String>, Vec<String>) {
    let (mut keep, mut out) = (Vec::new(), Vec::new());
    for (i, e) in v.into_iter().enumerate() {
        if i % FOLDS == fold {
            out.push(e)
        } else {
            keep.push(e)
        }
    }
    (keep, out)
}
