//! Incident mode, the pure part: what an answer looks like while moderators have announced a
//! known outage.
//!
//! While an [`Incident`] is active, the answer to one of its intents (by default the
//! payment-failure ones) becomes: the moderators' notice, a "Notify me when it's fixed"
//! choice ([`Effect::Incident`]), then the intent's usual steps cut to the first
//! [`SHORT_STEPS`], with a line saying more steps make sense once it's fixed. Every other
//! answer is unchanged. The incident comes in as a value (the app reads it from the store):
//! nothing here knows where it is kept.

use crate::engine::content::{Content, IntentId};
use crate::engine::ids::IncidentId;
use crate::engine::Effect;

/// How many of an intent's steps an incident answer keeps. During an outage most steps
/// (re-linking a card, checking an address) can't help; the first ones (wait and retry, try
/// later) still can.
pub const SHORT_STEPS: usize = 2;

/// The intents an incident covers when the moderator names none and the config sets none:
/// the ones a payment outage looks like to a member.
pub const DEFAULT_INTENTS: [&str; 3] = ["payment_declined", "technical_glitch", "browser_issue"];

/// An active incident, as the engine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    /// The moderators' notice, already masked.
    pub notice: String,
    /// The intents whose answers lead with the notice.
    pub intents: Vec<IntentId>,
}

/// Rewrites a turn's effects for an active incident: each answer to one of its intents is led
/// by the notice and the notify choice, and its steps are shortened. Pure; `None` (no
/// incident) returns the effects unchanged.
pub fn shape<'c>(
    content: &'c Content,
    effects: Vec<Effect<'c>>,
    incident: Option<&Incident>,
) -> Vec<Effect<'c>> {
    let Some(incident) = incident else {
        return effects;
    };
    let copy = &content.copy;
    let mut out = Vec::with_capacity(effects.len() + 2);
    for e in effects {
        match e {
            Effect::Answer {
                intent,
                title,
                intro,
                steps,
            } if incident.intents.contains(&intent) => {
                out.push(Effect::Incident {
                    id: incident.id,
                    notice: incident.notice.clone(),
                    button: &copy.incident_notify,
                });
                let short = &steps[..steps.len().min(SHORT_STEPS)];
                out.push(Effect::Answer {
                    intent,
                    title,
                    intro,
                    steps: short,
                });
                if short.len() < steps.len() {
                    out.push(Effect::Say(&copy.incident_more_steps));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Parses a moderator's intent list ("payment_declined, browser_issue" or space-separated)
/// against the content pack's support intents. Empty text: `None` (use the default). Any
/// unknown id: the error lists the valid ones.
pub fn parse_intents(content: &Content, text: &str) -> Result<Option<Vec<IntentId>>, String> {
    let words: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for w in words {
        match content
            .intent_by_key(w)
            .filter(|i| content.topics().any(|t| t.id == *i))
        {
            Some(i) if !out.contains(&i) => out.push(i),
            Some(_) => {}
            None => unknown.push(w),
        }
    }
    if unknown.is_empty() {
        return Ok(Some(out));
    }
    let valid: Vec<&str> = content.topics().map(|t| t.key.as_str()).collect();
    Err(format!(
        "unknown intent id {}; valid ids: {}",
        unknown
            .iter()
            .map(|w| format!("`{}`", crate::engine::sensitive::redact(w)))
            .collect::<Vec<_>>()
            .join(", "),
        valid.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Input, Session, Timestamp};

    fn incident(e: &Engine, keys: &[&str]) -> Incident {
        Incident {
            id: IncidentId(7),
            notice: "Klarna checkout is down; they're on it.".into(),
            intents: keys
                .iter()
                .map(|k| e.content.intent_by_key(k).unwrap())
                .collect(),
        }
    }

    fn start(e: &Engine, key: &str, inc: Option<&Incident>) -> Vec<String> {
        let i = e.content.intent_by_key(key).unwrap();
        let step = e.step_during(
            Session::new(Timestamp(0)),
            Input::Start(i),
            Timestamp(1),
            inc,
        );
        step.effects.iter().map(kind).collect()
    }

    fn kind(e: &Effect<'_>) -> String {
        match e {
            Effect::Incident { notice, button, .. } => format!("incident:{notice}|{button}"),
            Effect::Answer { steps, .. } => format!("answer:{}", steps.len()),
            Effect::Say(s) => format!("say:{s}"),
            Effect::Ask { .. } => "ask".into(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn an_incident_answer_is_notice_then_button_then_shortened_steps() {
        let e = Engine::embedded();
        let inc = incident(&e, &DEFAULT_INTENTS);
        let full = start(&e, "payment_declined", None);
        let during = start(&e, "payment_declined", Some(&inc));
        let copy = &e.content.copy;
        assert_eq!(
            during[0],
            format!("incident:{}|{}", inc.notice, copy.incident_notify)
        );
        assert_eq!(during[1], format!("answer:{SHORT_STEPS}"));
        assert_eq!(during[2], format!("say:{}", copy.incident_more_steps));
        // The rest (the flow's first question) is as without the incident.
        assert_eq!(&during[3..], &full[1..], "{during:?} vs {full:?}");
        assert!(full[0].starts_with("answer:") && full[0] != during[1]);
    }

    #[test]
    fn other_intents_and_no_incident_are_unchanged() {
        let e = Engine::embedded();
        let inc = incident(&e, &["payment_declined"]);
        assert_eq!(
            start(&e, "credit_limit", Some(&inc)),
            start(&e, "credit_limit", None)
        );
        let effects = vec![Effect::Say("hi")];
        assert_eq!(shape(&e.content, effects.clone(), None), effects);
    }

    #[test]
    fn intent_lists_parse_with_commas_or_spaces_and_name_the_valid_ids() {
        let e = Engine::embedded();
        let c = &e.content;
        let pd = c.intent_by_key("payment_declined").unwrap();
        let bi = c.intent_by_key("browser_issue").unwrap();
        assert_eq!(
            parse_intents(c, "payment_declined, browser_issue payment_declined"),
            Ok(Some(vec![pd, bi]))
        );
        assert_eq!(parse_intents(c, " , "), Ok(None));
        let err = parse_intents(c, "payment_declined nope greeting").unwrap_err();
        assert!(
            err.contains("`nope`") && err.contains("`greeting`"),
            "{err}"
        );
        assert!(err.contains("credit_limit"), "{err}");
    }
}
