//! Compact text forms of [`Position`] and [`Choice`], for Discord button `custom_id`s.
//!
//! Parsing never trusts its input: a custom id comes back from Discord and could have been
//! crafted, so anything malformed is `None`, and ids are checked against the content pack.

use super::{At, Choice, Position};
use crate::engine::content::{Content, IntentId, StepId};

impl Position {
    pub fn encode(&self) -> String {
        let at = match self.at {
            At::Step(s) => format!("s{}", s.0),
            At::Confirm => "c".to_string(),
            At::OfferHuman => "h".to_string(),
        };
        format!("{}.{at}", self.intent.0)
    }

    pub fn decode(s: &str, content: &Content) -> Option<Position> {
        let (i, at) = s.split_once('.')?;
        let intent = intent(i, content)?;
        let at = match at {
            "c" => At::Confirm,
            "h" => At::OfferHuman,
            s => {
                let n: u8 = s.strip_prefix('s')?.parse().ok()?;
                (usize::from(n) < content.intent(intent).flow.len())
                    .then_some(At::Step(StepId(n)))?
            }
        };
        Some(Position { intent, at })
    }
}

impl Choice {
    pub fn encode(&self) -> String {
        match self {
            Choice::Option(k) => format!("o{k}"),
            Choice::Fixed => "f".into(),
            Choice::Stuck => "s".into(),
            Choice::Human => "h".into(),
            Choice::NoThanks => "n".into(),
            Choice::Topic(i) => format!("t{}", i.0),
        }
    }

    pub fn decode(s: &str, content: &Content) -> Option<Choice> {
        Some(match s {
            "f" => Choice::Fixed,
            "s" => Choice::Stuck,
            "h" => Choice::Human,
            "n" => Choice::NoThanks,
            _ => {
                if let Some(k) = s.strip_prefix('o') {
                    Choice::Option(k.parse().ok()?)
                } else {
                    Choice::Topic(intent(s.strip_prefix('t')?, content)?)
                }
            }
        })
    }
}

fn intent(s: &str, content: &Content) -> Option<IntentId> {
    let n: u16 = s.parse().ok()?;
    (usize::from(n) < content.intents.len()).then_some(IntentId(n))
}
