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
    parse_lines(file, src, |l: &Labelled| match &l.intent {
        Some(k) if engine.content.intent_by_key(k).is_none() => {
            Some(format!("unknown intent `{k}`"))
        }
        _ => None,
    })
}

/// One JSON object per line; `invalid` says what is wrong with a line that parsed. Every bad
/// line is reported, not just the first, and an empty file is an error.
fn parse_lines<T: serde::de::DeserializeOwned>(
    file: &str,
    src: &str,
    invalid: impl Fn(&T) -> Option<String>,
) -> Result<Vec<T>, Vec<EvalError>> {
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
        match serde_json::from_str::<T>(line) {
            Ok(l) => match invalid(&l) {
                Some(why) => errors.push(err(why)),
                None => out.push(l),
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

/// One line of a scam set: `{"text": ..., "scam": true|false, "kind": "impersonation" |
/// "credentials" | "link" | null}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScamLabelled {
    pub text: String,
    pub scam: bool,
    #[serde(default)]
    pub kind: Option<String>,
}

/// Whether a JSONL file is a scam set (its first object has a `scam` field) rather than an
/// intent corpus.
pub fn is_scam_set(src: &str) -> bool {
    src.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v.get("scam").is_some())
}

/// Parses a scam set; every bad line is reported, not just the first.
pub fn parse_scam_jsonl(file: &str, src: &str) -> Result<Vec<ScamLabelled>, Vec<EvalError>> {
    parse_lines(file, src, |l: &ScamLabelled| match l.kind.as_deref() {
        Some(k) if crate::engine::scam::ScamKind::from_key(k).is_none() => Some(format!(
            "unknown kind `{k}` (impersonation, credentials or link)"
        )),
        Some(_) if !l.scam => Some("a kind on a line that is not a scam".into()),
        _ => None,
    })
}

/// How the scam shield does on a labelled set: recall on scams, false alarms on ordinary
/// lines, and which rule caught what.
#[derive(Clone, Debug)]
pub struct ScamReport {
    pub lines: usize,
    pub scams: usize,
    pub caught: usize,
    /// Caught with the labelled kind (of those caught that have one).
    pub kind_agrees: usize,
    pub kind_labelled: usize,
    pub ordinary: usize,
    pub false_alarms: usize,
    /// Flags per rule, in rule order of first use.
    pub per_rule: Vec<(String, usize)>,
    /// Missed scams: (text, labelled kind).
    pub missed: Vec<(String, Option<String>)>,
    /// Ordinary lines flagged: (text, rule).
    pub false_flags: Vec<(String, String)>,
}

impl ScamReport {
    pub fn recall(&self) -> f64 {
        ratio(self.caught, self.scams)
    }

    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.false_alarms, self.ordinary)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Runs the shield the bot runs ([`crate::engine::scam::Shield::check`]) over every line.
pub fn evaluate_scam(engine: &Engine, lines: &[ScamLabelled]) -> ScamReport {
    let shield = &engine.content.scam;
    let mut r = ScamReport {
        lines: lines.len(),
        scams: 0,
        caught: 0,
        kind_agrees: 0,
        kind_labelled: 0,
        ordinary: 0,
        false_alarms: 0,
        per_rule: Vec::new(),
        missed: Vec::new(),
        false_flags: Vec::new(),
    };
    for l in lines {
        let flag = shield.check(&l.text);
        if let Some(f) = &flag {
            match r.per_rule.iter_mut().find(|(k, _)| *k == f.rule) {
                Some((_, n)) => *n += 1,
                None => r.per_rule.push((f.rule.clone(), 1)),
            }
        }
        // Mistakes are listed redacted: a labelled line may hold a made-up card number.
        let shown = || crate::engine::sensitive::redact(&l.text).into_owned();
        if l.scam {
            r.scams += 1;
            match &flag {
                Some(f) => {
                    r.caught += 1;
                    if let Some(k) = &l.kind {
                        r.kind_labelled += 1;
                        r.kind_agrees += usize::from(f.kind.key() == k);
                    }
                }
                None => r.missed.push((shown(), l.kind.clone())),
            }
        } else {
            r.ordinary += 1;
            if let Some(f) = &flag {
                r.false_alarms += 1;
                r.false_flags.push((shown(), f.rule.clone()));
            }
        }
    }
    r
}

impl fmt::Display for ScamReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "lines:                 {}", self.lines)?;
        writeln!(
            f,
            "scam recall:           {:.3} ({} of {} scams flagged)",
            self.recall(),
            self.caught,
            self.scams
        )?;
        writeln!(
            f,
            "false alarms:          {:.4} ({} of {} ordinary lines flagged)",
            self.false_alarm_rate(),
            self.false_alarms,
            self.ordinary
        )?;
        writeln!(
            f,
            "kind agrees:           {} of {} flagged scams with a kind",
            self.kind_agrees, self.kind_labelled
        )?;
        writeln!(f, "flags per rule:")?;
        for (rule, n) in &self.per_rule {
            writeln!(f, "  {rule:<20} {n}")?;
        }
        Ok(())
    }
}
