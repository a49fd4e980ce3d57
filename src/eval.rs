//! Scoring the classifier on a labelled corpus, at the production thresholds.
//!
//! The same [`Engine::classify`] the bot uses decides every line, so the figures describe what
//! members get, not a tuned offline variant.

use crate::engine::Engine;
use serde::Deserialize;
use std::fmt::{self, Write as _};

/// One labelled line: `{"text": ..., "intent": "credit_limit" | null}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub text: String,
    pub intent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{file}:{line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: no labelled lines")]
    Empty { file: String },
}

/// Parses a JSONL corpus; every bad line is reported, not just the first.
pub fn parse_jsonl(
    file: &str,
    src: &str,
    engine: &Engine,
) -> Result<Vec<Labelled>, Vec<EvalError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in src.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| EvalError::Line {
            file: file.to_string(),
            line: i + 1,
            message,
        };
        match serde_json::from_str::<Labelled>(line) {
            Ok(l) => match &l.intent {
                Some(k) if engine.content.intent_by_key(k).is_none() => {
                    errors.push(err(format!("unknown intent `{k}`")))
                }
                _ => out.push(l),
            },
            Err(e) => errors.push(err(e.to_string())),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(EvalError::Empty {
            file: file.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Precision, recall and F1 for one intent.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentScore {
    pub key: String,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub lines: usize,
    pub per_intent: Vec<IntentScore>,
    pub macro_f1: f64,
    pub accuracy: f64,
    /// Out-of-scope lines, and how many of them got an intent.
    pub out_of_scope: usize,
    pub out_of_scope_answered: usize,
    /// `confusion[true][predicted]`; the last row and column are "none".
    pub confusion: Vec<Vec<usize>>,
    pub labels: Vec<String>,
    /// Lines the classifier got wrong: (text, expected, got).
    pub mistakes: Vec<(String, Option<String>, Option<String>)>,
}

impl Report {
    pub fn out_of_scope_fpr(&self) -> f64 {
        if self.out_of_scope == 0 {
            0.0
        } else {
            self.out_of_scope_answered as f64 / self.out_of_scope as f64
        }
    }
}

pub fn evaluate(engine: &Engine, lines: &[Labelled]) -> Report {
    let n = engine.content.intents.len();
    let none = n;
    let mut confusion = vec![vec![0usize; n + 1]; n + 1];
    let mut mistakes = Vec::new();
    for l in lines {
        let truth = l
            .intent
            .as_deref()
            .and_then(|k| engine.content.intent_by_key(k))
            .map_or(none, |i| i.index());
        let got = engine.classify(&l.text).intent.map_or(none, |i| i.index());
        confusion[truth][got] += 1;
        if truth != got {
            let key = |i: usize| (i != none).then(|| engine.content.intents[i].key.clone());
            mistakes.push((l.text.clone(), key(truth), key(got)));
        }
    }
    let mut per_intent = Vec::new();
    for i in 0..n {
        let tp = confusion[i][i];
        let support: usize = confusion[i].iter().sum();
        let predicted: usize = confusion.iter().map(|row| row[i]).sum();
        let precision = if predicted == 0 {
            0.0
        } else {
            tp as f64 / predicted as f64
        };
        let recall = if support == 0 {
            0.0
        } else {
            tp as f64 / support as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        per_intent.push(IntentScore {
            key: engine.content.intents[i].key.clone(),
            support,
            precision,
            recall,
            f1,
        });
    }
    let scored: Vec<&IntentScore> = per_intent.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = if scored.is_empty() {
        0.0
    } else {
        scored.iter().map(|s| s.f1).sum::<f64>() / scored.len() as f64
    };
    let correct: usize = (0..=n).map(|i| confusion[i][i]).sum();
    let out_of_scope: usize = confusion[none].iter().sum();
    let out_of_scope_answered = out_of_scope - confusion[none][none];
    let mut labels: Vec<String> = engine
        .content
        .intents
        .iter()
        .map(|i| i.key.clone())
        .collect();
    labels.push("none".into());
    Report {
        lines: lines.len(),
        per_intent,
        macro_f1,
        accuracy: if lines.is_empty() {
            0.0
        } else {
            correct as f64 / lines.len() as f64
        },
        out_of_scope,
        out_of_scope_answered,
        confusion,
        labels,
        mistakes,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>7} {:>9} {:>7} {:>7}",
            "intent", "support", "precision", "recall", "f1"
        )?;
        for s in &self.per_intent {
            writeln!(
                f,
                "{:<18} {:>7} {:>9.3} {:>7.3} {:>7.3}",
                s.key, s.support, s.precision, s.recall, s.f1
            )?;
        }
        writeln!(f)?;
        writeln!(f, "lines:                 {}", self.lines)?;
        writeln!(f, "macro-F1:              {:.3}", self.macro_f1)?;
        writeln!(f, "accuracy:              {:.3}", self.accuracy)?;
        writeln!(
            f,
            "out-of-scope FPR:      {:.3} ({} of {} out-of-scope lines answered)",
            self.out_of_scope_fpr(),
            self.out_of_scope_answered,
            self.out_of_scope
        )?;
        writeln!(f)?;
        writeln!(f, "confusion (rows: expected, columns: predicted)")?;
        let mut header = format!("{:>4} {:<18}", "", "");
        for i in 0..self.labels.len() {
            let _ = write!(header, "{:>4}", i);
        }
        writeln!(f, "{header}")?;
        for (i, row) in self.confusion.iter().enumerate() {
            let mut line = format!("{:>4} {:<18}", i, self.labels[i]);
            for v in row {
                let _ = write!(
                    line,
                    "{:>4}",
                    if *v == 0 {
                        ".".to_string()
                    } else {
                        v.to_string()
                    }
                );
            }
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
