//! A [`Session`] as it is stored: intents, steps and options named by their keys and labels
//! in `intents.toml`, never by position.
//!
//! Positions ([`IntentId`], [`StepId`], option numbers) are indexes into one compiled pack and
//! change meaning when the pack is edited. Keys don't: a stored session is read back by key,
//! and one whose intent, step or option no longer exists restarts cleanly instead of being
//! misread. A hand-off is never lost that way: a member whose ticket a human has stays with
//! the human even if the intent they asked about was renamed.

use super::{Answer, At, Flow, Session, State, Timestamp};
use crate::engine::content::{Content, IntentId, StepId};
use serde::{Deserialize, Serialize};

/// [`State`] by content keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StoredState {
    Idle,
    Menu,
    InFlow {
        intent: String,
        at: StoredAt,
        path: Vec<StoredAnswer>,
        #[serde(default)]
        unclear: u8,
        /// (step key, option label) the opening message answered.
        #[serde(default)]
        known: Vec<(String, String)>,
    },
    Resolved {
        intent: String,
    },
    Escalated {
        intent: Option<String>,
    },
    HandedOff {
        intent: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredAt {
    Step(String),
    Confirm,
    OfferHuman,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum StoredAnswer {
    Step {
        step: String,
        /// The option's label; `None` for "still stuck".
        option: Option<String>,
        #[serde(default)]
        inferred: bool,
    },
    NotFixed,
}

/// A session by content keys, with when it was last touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    #[serde(flatten)]
    pub state: StoredState,
    /// Milliseconds, on the adapter's clock.
    pub updated: u64,
}

impl StoredSession {
    pub fn from_session(session: &Session, content: &Content) -> StoredSession {
        let intent = |i: IntentId| content.intent(i).key.clone();
        let step = |i: IntentId, s: StepId| content.step(i, s).key.clone();
        let option = |i: IntentId, s: StepId, k: u8| {
            content.step(i, s).options[usize::from(k)].label.clone()
        };
        let state = match &session.state {
            State::Idle => StoredState::Idle,
            State::Menu => StoredState::Menu,
            State::InFlow(f) => StoredState::InFlow {
                intent: intent(f.intent),
                at: match f.at {
                    At::Step(s) => StoredAt::Step(step(f.intent, s)),
                    At::Confirm => StoredAt::Confirm,
                    At::OfferHuman => StoredAt::OfferHuman,
                },
                path: f
                    .path
                    .iter()
                    .map(|a| match *a {
                        Answer::Step {
                            step: s,
                            option: k,
                            inferred,
                        } => StoredAnswer::Step {
                            step: step(f.intent, s),
                            option: k.map(|k| option(f.intent, s, k)),
                            inferred,
                        },
                        Answer::NotFixed => StoredAnswer::NotFixed,
                    })
                    .collect(),
                unclear: f.unclear,
                known: f
                    .known
                    .iter()
                    .map(|&(s, k)| (step(f.intent, s), option(f.intent, s, k)))
                    .collect(),
            },
            State::Resolved { intent: i } => StoredState::Resolved { intent: intent(*i) },
            State::Escalated { intent: i } => StoredState::Escalated {
                intent: i.map(intent),
            },
            State::HandedOff { intent: i } => StoredState::HandedOff {
                intent: i.map(intent),
            },
        };
        StoredSession {
            state,
            updated: session.updated.0,
        }
    }

    /// The session this names in `content`. Anything that no longer exists restarts the
    /// conversation (idle), except that an escalation or hand-off is kept, with no intent.
    pub fn to_session(&self, content: &Content) -> Session {
        let state = self.state(content).unwrap_or(State::Idle);
        Session {
            state,
            updated: Timestamp(self.updated),
        }
    }

    fn state(&self, content: &Content) -> Option<State> {
        let intent = |key: &str| content.intent_by_key(key);
        let step = |i: IntentId, key: &str| {
            let flow = &content.intent(i).flow;
            flow.iter()
                .position(|s| s.key == key)
                .and_then(|n| u8::try_from(n).ok())
                .map(StepId)
        };
        let option = |i: IntentId, s: StepId, label: &str| {
            content
                .step(i, s)
                .options
                .iter()
                .position(|o| o.label == label)
                .and_then(|n| u8::try_from(n).ok())
        };
        Some(match &self.state {
            StoredState::Idle => State::Idle,
            StoredState::Menu => State::Menu,
            StoredState::InFlow {
                intent: key,
                at,
                path,
                unclear,
                known,
            } => {
                let i = intent(key)?;
                let at = match at {
                    StoredAt::Step(s) => At::Step(step(i, s)?),
                    StoredAt::Confirm => At::Confirm,
                    StoredAt::OfferHuman => At::OfferHuman,
                };
                let path = path
                    .iter()
                    .map(|a| {
                        Some(match a {
                            StoredAnswer::Step {
                                step: s,
                                option: o,
                                inferred,
                            } => {
                                let s = step(i, s)?;
                                let option = match o {
                                    Some(label) => Some(option(i, s, label)?),
                                    None => None,
                                };
                                Answer::Step {
                                    step: s,
                                    option,
                                    inferred: *inferred,
                                }
                            }
                            StoredAnswer::NotFixed => Answer::NotFixed,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                let known = known
                    .iter()
                    .map(|(s, label)| {
                        let s = step(i, s)?;
                        Some((s, option(i, s, label)?))
                    })
                    .collect::<Option<Vec<_>>>()?;
                State::InFlow(Flow {
                    intent: i,
                    at,
                    path,
                    unclear: *unclear,
                    known,
                })
            }
            StoredState::Resolved { intent: key } => State::Resolved {
                intent: intent(key)?,
            },
            StoredState::Escalated { intent: key } => State::Escalated {
                intent: key.as_deref().and_then(intent),
            },
            StoredState::HandedOff { intent: key } => State::HandedOff {
                intent: key.as_deref().and_then(intent),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    fn read(state: StoredState) -> State {
        let engine = Engine::embedded();
        StoredSession { state, updated: 7 }
            .to_session(&engine.content)
            .state
    }

    #[test]
    fn unknown_keys_restart_but_never_drop_a_hand_off() {
        let flow = |intent: &str, step: &str, option: Option<&str>| StoredState::InFlow {
            intent: intent.into(),
            at: StoredAt::Step(step.into()),
            path: vec![StoredAnswer::Step {
                step: "where".into(),
                option: option.map(Into::into),
                inferred: false,
            }],
            unclear: 0,
            known: vec![],
        };
        assert!(matches!(
            read(flow(
                "payment_declined",
                "message",
                Some("In the Klarna app")
            )),
            State::InFlow(_)
        ));
        assert_eq!(read(flow("gone", "message", None)), State::Idle);
        assert_eq!(read(flow("payment_declined", "gone", None)), State::Idle);
        assert_eq!(
            read(flow(
                "payment_declined",
                "message",
                Some("a label that was edited")
            )),
            State::Idle
        );
        assert_eq!(
            read(StoredState::Resolved {
                intent: "gone".into()
            }),
            State::Idle
        );
        assert_eq!(
            read(StoredState::HandedOff {
                intent: Some("gone".into())
            }),
            State::HandedOff { intent: None }
        );
        assert_eq!(
            read(StoredState::Escalated {
                intent: Some("gone".into())
            }),
            State::Escalated { intent: None }
        );
    }
}
