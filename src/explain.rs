//! Why a message was classified the way it was: the text behind `paymedic explain` and the
//! moderators' `/explain` command.

use crate::engine::nlu::Evidence;
use crate::engine::sensitive;
use crate::engine::Engine;
use std::fmt::Write as _;

pub fn evidence_line(engine: &Engine, e: &Evidence) -> String {
    let c = &engine.content;
    match *e {
        Evidence::Pattern { intent, pattern } => {
            let i = c.intent(intent);
            format!("{} pattern /{}/", i.key, i.patterns[pattern])
        }
        Evidence::Veto { intent, pattern } => {
            let i = c.intent(intent);
            format!("{} vetoed by /{}/", i.key, i.negative_patterns[pattern])
        }
    }
}

/// The explanation of `text`. A card number, code or password in it is redacted before
/// anything else, so no line (text, normalized form, feature names) can repeat it; the bot
/// itself would not classify such a message at all, and the report says so. IBANs, email
/// addresses and phone numbers are masked the same way, but the message is classified as the
/// bot would: they don't trip the guard.
pub fn explain(engine: &Engine, text: &str) -> String {
    let mut o = String::new();
    let c = &engine.content;
    let secret = sensitive::kind(text);
    let personal = sensitive::personal(text);
    let text = sensitive::redact(text);
    let norm = engine.classifier.normalize(&text);
    let (class, probs) = engine.classifier.classify_normalized(&norm);
    let t = engine.classifier.thresholds();
    let _ = writeln!(o, "text:        {text}");
    let _ = writeln!(o, "normalized:  {norm}");
    if let Some(secret) = secret {
        let _ = writeln!(
            o,
            "sensitive:   {secret:?}: the bot removes the message where it can, warns the member and does not classify it (shown redacted)"
        );
    }
    if !personal.is_empty() {
        let _ = writeln!(
            o,
            "personal:    {personal:?}: masked wherever the message is kept or shown; the message is answered as usual"
        );
    }
    if class.evidence.is_empty() {
        let _ = writeln!(o, "patterns:    none fired");
    }
    for e in &class.evidence {
        let _ = writeln!(o, "patterns:    {}", evidence_line(engine, e));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "  {:<18} {:>8} {:>10}", "intent", "score", "threshold");
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|a, b| probs[*b].total_cmp(&probs[*a]));
    for i in order.into_iter().take(6) {
        if i == c.intents.len() {
            let _ = writeln!(
                o,
                "  {:<18} {:>8.3} {:>10}",
                "(out of scope)", probs[i], "-"
            );
        } else {
            let _ = writeln!(
                o,
                "  {:<18} {:>8.3} {:>10.2}",
                c.intents[i].key, probs[i], t.per_intent[i]
            );
        }
    }
    let _ = writeln!(o);
    match class.best {
        Some(best) => {
            let runner = class.runner_up.map_or(0.0, |(_, p)| p);
            let _ = writeln!(
                o,
                "best:        {} at {:.3} (threshold {:.2}); runner-up {} at {:.3}; lead {:.3} (margin {:.2})",
                c.intent(best).key,
                class.confidence,
                t.per_intent[best.index()],
                class.runner_up.map_or("none".to_string(), |(i, _)| c.intent(i).key.clone()),
                runner,
                class.confidence - runner,
                t.margin
            );
            for (name, w) in engine.classifier.top_features(&norm, best, 6) {
                let _ = writeln!(o, "             {name} +{w:.3}");
            }
        }
        None => {
            let _ = writeln!(o, "best:        none");
        }
    }
    match class.intent {
        _ if secret.is_some() => {
            let _ = writeln!(
                o,
                "decision:    warn about sensitive details (not classified)"
            );
        }
        Some(i) => {
            let _ = writeln!(o, "decision:    answer as {}", c.intent(i).key);
        }
        None => {
            let _ = writeln!(o, "decision:    stay silent (out of scope)");
        }
    }
    o
}
