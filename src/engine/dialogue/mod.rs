//! The conversation state machine: `step(session, input, now) -> Step { session, effects }`.
//!
//! One [`Session`] per member. The engine never sends, sleeps or reads a clock: time comes in
//! as `now`, and everything the bot should do comes out as [`Effect`]s that an adapter (Discord
//! or the terminal) carries out. That is why every conversation test is a plain `#[test]`.

mod codec;
pub mod stored;

use crate::engine::content::{Content, IntentId, IntentKind, StepId, Target, YesMeans};
use crate::engine::nlu::{Classification, Classifier};
use crate::engine::sensitive::{self, Secret};

/// Milliseconds on the adapter's clock. Only differences matter.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_secs(s: u64) -> Timestamp {
        Timestamp(s.saturating_mul(1000))
    }
}

/// One member's conversation, as stored between messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub state: State,
    /// When the member last did something.
    pub updated: Timestamp,
}

impl Session {
    pub fn new(now: Timestamp) -> Session {
        Session {
            state: State::Idle,
            updated: now,
        }
    }
}

/// Where a member's conversation stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Nothing going on.
    Idle,
    /// Topic buttons were offered (fallback or greeting); a typed number picks one.
    Menu,
    /// Walking through an intent's follow-up questions.
    InFlow(Flow),
    /// The member said it is fixed, or declined a human.
    Resolved { intent: IntentId },
    /// Moderators were asked to help; the bot still answers new questions, but does not ask
    /// them again.
    Escalated { intent: Option<IntentId> },
    /// A human has the member's ticket: the bot stays silent until it is handed back.
    HandedOff { intent: Option<IntentId> },
}

/// Progress through one intent's flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub intent: IntentId,
    pub at: At,
    /// The answers given so far, in order.
    pub path: Vec<Answer>,
    /// Unclear answers in a row at the current question.
    pub unclear: u8,
    /// Steps the opening message already answered (step, option), so they are not asked: "klarna
    /// declined me" has answered "What does the message say?".
    pub known: Vec<(StepId, u8)>,
}

impl Flow {
    /// The step whose advice was last shown: the current one, or the last one answered.
    pub fn last_step(&self) -> Option<StepId> {
        match self.at {
            At::Step(s) => Some(s),
            _ => self.path.iter().rev().find_map(|a| match a {
                Answer::Step { step, .. } => Some(*step),
                Answer::NotFixed => None,
            }),
        }
    }
}

/// The question a flow is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum At {
    Step(StepId),
    /// "Did that fix it?" after the last step.
    Confirm,
    /// "Want a human?" after the last "still stuck".
    OfferHuman,
}

/// A question that was shown, so a late button press can be recognised as stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Position {
    pub intent: IntentId,
    pub at: At,
}

/// One question answered in a flow, in the order they were answered. Only questions that were
/// asked (or answered by the opening message) appear, so the hand-off summary never reports
/// a question the member never saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A step's question: `Some(option)` or `None` for "still stuck". `inferred` when the
    /// opening message answered it and it was not asked.
    Step {
        step: StepId,
        option: Option<u8>,
        inferred: bool,
    },
    /// "Did that sort it out?" answered "still stuck".
    NotFixed,
}

/// What a member can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Option number `n` (0-based) of the current step.
    Option(u8),
    Fixed,
    Stuck,
    Human,
    NoThanks,
    Topic(IntentId),
}

/// Something the member (or a moderator) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A message. `addressed` is true in DMs and when the bot is mentioned.
    Text { text: &'a str, addressed: bool },
    /// A button press or a numbered choice. `shown_at` is the question the button was shown
    /// with, when the adapter knows it.
    Choose {
        choice: Choice,
        shown_at: Option<Position>,
    },
    /// Start an intent's flow directly (`/troubleshoot topic`).
    Start(IntentId),
    /// Show what the bot can help with, as topic choices (`/troubleshoot` with no topic).
    Menu,
    /// Forget the conversation (`/reset`, "start over").
    Reset,
    /// A moderator took the member's ticket.
    HandOff,
    /// A moderator handed the member back to the bot.
    HandBack,
    /// Nothing happened; lets an idle session expire.
    Tick,
}

/// How a flow ended, for the per-intent, per-step outcome counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Fixed,
    Escalated,
    DeclinedHuman,
}

/// Something for an adapter to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<'c> {
    /// An intent's answer: a title, an intro and numbered steps.
    Answer {
        intent: IntentId,
        title: &'c str,
        intro: &'c str,
        steps: &'c [String],
    },
    /// A line of text.
    Say(&'c str),
    /// The message looked like it held a card number, CVV or password. Nothing else happens:
    /// the text is not classified, stored or echoed. Adapters remove the member's message where
    /// they can and warn them with [`crate::engine::content::Copy::sensitive_warning`].
    Sensitive(Secret),
    /// The scam shield flagged the message (impersonating support, asking for credentials, a
    /// lookalike link). Nothing else happens: adapters post
    /// [`crate::engine::scam::ScamCopy::warning`] and tell the moderators why.
    Scam(crate::engine::scam::ScamFlag),
    /// A known outage (incident mode): the moderators' notice, shown before the answer, with a
    /// `button` that subscribes the member to a DM when it's fixed (a numbered choice in the
    /// terminal). See [`crate::engine::incident`].
    Incident {
        id: crate::engine::ids::IncidentId,
        notice: String,
        button: &'c str,
    },
    /// A question with choices (buttons in Discord, numbers in the terminal).
    Ask {
        question: &'c str,
        offers: Vec<Offer<'c>>,
        at: Option<Position>,
    },
    /// Ask the moderators to take over.
    RequestHuman {
        intent: Option<IntentId>,
        /// What was tried, as "question → answer" lines.
        tried: Vec<String>,
    },
    /// Count how a flow ended.
    Record {
        intent: IntentId,
        /// The step whose advice was last given (`None`: the first answer).
        step: Option<StepId>,
        outcome: Outcome,
    },
}

/// One choice on offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer<'c> {
    pub label: &'c str,
    pub choice: Choice,
}

/// The result of one step.
#[derive(Debug)]
pub struct Step<'c> {
    pub session: Session,
    pub effects: Vec<Effect<'c>>,
    /// Set when the input was text that went through the classifier.
    pub classification: Option<Classification>,
}

/// The state machine over one content pack.
pub struct Dialogue<'c> {
    pub content: &'c Content,
    pub classifier: &'c Classifier,
    /// Sessions untouched for longer than this start fresh (handed-off ones excepted).
    pub idle_timeout_ms: u64,
}

impl<'c> Dialogue<'c> {
    pub fn step(&self, session: Session, input: Input<'_>, now: Timestamp) -> Step<'c> {
        let mut state = session.state;
        let expired = now.0.saturating_sub(session.updated.0) > self.idle_timeout_ms;
        if expired && !matches!(state, State::HandedOff { .. }) {
            state = State::Idle;
        }
        let mut out = Out {
            effects: Vec::new(),
            classification: None,
        };
        let state = self.handle(state, input, &mut out);
        Step {
            session: Session {
                state,
                updated: if matches!(input, Input::Tick) {
                    session.updated
                } else {
                    now
                },
            },
            effects: out.effects,
            classification: out.classification,
        }
    }

    fn handle(&self, state: State, input: Input<'_>, out: &mut Out<'c>) -> State {
        if let State::HandedOff { intent } = state {
            return match input {
                Input::HandBack => {
                    out.say(&self.content.copy.handed_back);
                    State::Idle
                }
                _ => State::HandedOff { intent },
            };
        }
        match input {
            Input::Tick | Input::HandBack => state,
            Input::HandOff => State::HandedOff {
                intent: current_intent(&state),
            },
            Input::Reset => {
                out.say(&self.content.copy.reset);
                State::Idle
            }
            Input::Start(intent) => self.start(intent, state, None, out),
            Input::Menu => self.menu(state, out),
            Input::Choose { choice, shown_at } => self.choose(state, choice, shown_at, out),
            Input::Text { text, addressed } => self.text(state, text, addressed, out),
        }
    }

    fn text(&self, state: State, text: &str, addressed: bool, out: &mut Out<'c>) -> State {
        if let Some(secret) = sensitive::kind(text) {
            out.effects.push(Effect::Sensitive(secret));
            return state;
        }
        let c = self.content;
        let norm = self.classifier.normalize(text);
        // Asking for one of our people works in every state, like the button does.
        if self.wants_human(&norm, &state, addressed) {
            return self.choose(state, Choice::Human, None, out);
        }
        if phrase_matches(&norm, &c.controls.reset) {
            // "new problem: my bank blocked it" carries the new problem: answer it.
            let (class, _) = self.classifier.classify_normalized(&norm);
            let intent = class
                .intent
                .filter(|i| c.intent(*i).kind == IntentKind::Support);
            out.classification = Some(class);
            return match intent {
                Some(i) => self.start(i, State::Idle, Some(&norm), out),
                None => {
                    out.say(&c.copy.reset);
                    State::Idle
                }
            };
        }
        // An answer to the question on screen wins over classification.
        if let Some(offers) = self.offers_for(&state) {
            if let Some(choice) = self.match_typed(&norm, &state, &offers) {
                return self.choose(state, choice, None, out);
            }
        }
        // "that worked" ends a flow as fixed at any question, even where no button says so.
        if matches!(state, State::InFlow(_)) && phrase_matches(&norm, &c.controls.fixed) {
            return self.choose(state, Choice::Fixed, None, out);
        }
        let (class, _) = self.classifier.classify_normalized(&norm);
        let intent = class.intent;
        out.classification = Some(class);
        match (state, intent) {
            (State::InFlow(flow), Some(i))
                if c.intent(i).kind == IntentKind::Support && i != flow.intent =>
            {
                self.start(i, State::InFlow(flow), Some(&norm), out)
            }
            // In a channel, chatter that is neither an answer nor on topic is not for the bot:
            // the flow waits in silence. "Didn't get that" is for DMs and mentions.
            (State::InFlow(flow), Some(i)) if c.intent(i).kind == IntentKind::Social => {
                if !addressed {
                    return State::InFlow(flow);
                }
                out.say(&c.intent(i).reply.intro);
                self.ask(flow, out)
            }
            (State::InFlow(flow), None) if !addressed => State::InFlow(flow),
            (State::InFlow(mut flow), other) => {
                if other.is_some() {
                    // Same topic again: show the question again without counting it unclear.
                    return self.ask(flow, out);
                }
                flow.unclear = flow.unclear.saturating_add(1);
                if flow.unclear == 1 {
                    out.say(&c.copy.unclear);
                } else {
                    out.say(&c.copy.unclear_again);
                }
                self.ask(flow, out)
            }
            (state, Some(i)) => {
                let intent = c.intent(i);
                if intent.kind == IntentKind::Social
                    && !addressed
                    && matches!(state, State::Idle | State::Menu)
                {
                    // "hi" or "thanks" between members in a busy channel is not for the bot.
                    return state;
                }
                self.start(i, state, Some(&norm), out)
            }
            (state, None) if addressed => self.menu(state, out),
            (state, None) => state,
        }
    }

    /// The fallback: what the bot helps with, as topic buttons.
    fn menu(&self, state: State, out: &mut Out<'c>) -> State {
        out.say(&self.content.copy.fallback);
        out.effects.push(Effect::Ask {
            question: "",
            offers: self.topic_offers(),
            at: None,
        });
        match state {
            State::Escalated { intent } => State::Escalated { intent },
            _ => State::Menu,
        }
    }

    /// Whether the member asks for one of our people ("talk to a human", "can a mod help"),
    /// as opposed to the provider's support ("how do i reach klarna support"), which is the
    /// `contact_support` intent.
    ///
    /// How much it takes depends on whether the member is talking to the bot. In a DM, a
    /// mention or an open conversation, a one-word phrase ("human", "moderator") counts in a
    /// short message and a longer phrase anywhere in a message of up to [`HUMAN_WORDS_MAX`]
    /// words. In a channel with no conversation going, members talk about staff and mods all
    /// the time ("staff at the store were rude"), so only the whole message being a phrase, or
    /// a request of three words or more ("talk to a human") in a short message, counts.
    fn wants_human(&self, norm: &str, state: &State, addressed: bool) -> bool {
        let controls = &self.content.controls;
        let talking = addressed || matches!(state, State::InFlow(_) | State::Escalated { .. });
        let words = norm.split(' ').count();
        let asked = controls.human.iter().any(|p| {
            let phrase_words = p.split(' ').count();
            let fits = if talking {
                if phrase_words == 1 {
                    words <= SHORT_REQUEST_WORDS
                } else {
                    words <= HUMAN_WORDS_MAX
                }
            } else {
                phrase_words >= 3 && words <= PHRASE_WORDS_MAX
            };
            norm == p || (fits && says(norm, p))
        });
        asked && !self.about_provider(norm)
    }

    /// Whether the message is about the provider's own support or what the bot is, so that a
    /// `human` phrase in it is not a request for our people.
    fn about_provider(&self, norm: &str) -> bool {
        let controls = &self.content.controls;
        controls.not_human.iter().any(|p| contains_words(norm, p))
    }

    /// Starts an intent's answer and flow. `opening` is the member's normalized message, when
    /// the flow starts from one: steps it already answers are not asked.
    fn start(&self, i: IntentId, state: State, opening: Option<&str>, out: &mut Out<'c>) -> State {
        let intent = self.content.intent(i);
        out.effects.push(Effect::Answer {
            intent: i,
            title: &intent.title,
            intro: &intent.reply.intro,
            steps: &intent.reply.steps,
        });
        if intent.kind == IntentKind::Social {
            return match state {
                // "thanks" mid-flow or after a hand-over keeps things as they are.
                State::InFlow(flow) => State::InFlow(flow),
                State::Escalated { intent } => State::Escalated { intent },
                _ if intent.key == "greeting" => {
                    out.effects.push(Effect::Ask {
                        question: "",
                        offers: self.topic_offers(),
                        at: None,
                    });
                    State::Menu
                }
                _ => State::Idle,
            };
        }
        let known = opening.map_or_else(Vec::new, |norm| self.known_answers(i, norm));
        let flow = Flow {
            intent: i,
            at: At::Confirm,
            path: Vec::new(),
            unclear: 0,
            known,
        };
        let first = if intent.flow.is_empty() {
            Target::End
        } else {
            Target::Step(StepId(0))
        };
        self.goto(flow, first, out)
    }

    /// The steps of `intent` that `norm` answers: those where exactly one option's `when`
    /// patterns match (two would be a guess).
    fn known_answers(&self, intent: IntentId, norm: &str) -> Vec<(StepId, u8)> {
        let flow = &self.content.intent(intent).flow;
        flow.iter()
            .enumerate()
            .filter_map(|(s, step)| {
                let mut hits = step
                    .options
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.when.iter().any(|r| r.is_match(norm)));
                let (k, _) = hits.next()?;
                hits.next().is_none().then_some((StepId(s as u8), k as u8))
            })
            .collect()
    }

    fn goto(&self, mut flow: Flow, mut target: Target, out: &mut Out<'c>) -> State {
        flow.unclear = 0;
        // Steps the opening message answered are taken as answered: their advice is shown and
        // the flow moves on, at most once per step.
        while let Target::Step(s) = target {
            let Some(k) = flow.known.iter().find(|(ks, _)| *ks == s).map(|(_, k)| *k) else {
                break;
            };
            flow.known.retain(|(ks, _)| *ks != s);
            let step = self.content.step(flow.intent, s);
            let option = &step.options[usize::from(k)];
            if let Some(say) = &step.say {
                out.say(say);
            }
            if let Some(say) = &option.say {
                out.say(say);
            }
            flow.path.push(Answer::Step {
                step: s,
                option: Some(k),
                inferred: true,
            });
            target = option.next;
        }
        flow.at = match target {
            Target::Step(s) => {
                if let Some(say) = &self.content.step(flow.intent, s).say {
                    out.say(say);
                }
                At::Step(s)
            }
            Target::End => At::Confirm,
            Target::Human => At::OfferHuman,
        };
        self.ask(flow, out)
    }

    /// Shows the flow's current question with its choices.
    fn ask(&self, flow: Flow, out: &mut Out<'c>) -> State {
        let c = self.content;
        let question = match flow.at {
            At::Step(s) => c.step(flow.intent, s).ask.as_str(),
            At::Confirm => c.copy.confirm.as_str(),
            At::OfferHuman => c.copy.offer_human.as_str(),
        };
        out.effects.push(Effect::Ask {
            question,
            offers: self.flow_offers(&flow),
            at: Some(Position {
                intent: flow.intent,
                at: flow.at,
            }),
        });
        State::InFlow(flow)
    }

    fn choose(
        &self,
        state: State,
        choice: Choice,
        shown_at: Option<Position>,
        out: &mut Out<'c>,
    ) -> State {
        let c = self.content;
        if let Choice::Topic(i) = choice {
            return self.start(i, state, None, out);
        }
        let flow = match state {
            State::InFlow(flow) => flow,
            State::Escalated { intent } if choice == Choice::Human => {
                out.say(&c.copy.already_requested);
                return State::Escalated { intent };
            }
            other if choice == Choice::Human => return self.request_human(other, out),
            other => {
                // A button from a conversation that has ended or expired.
                out.say(&c.copy.stale);
                return other;
            }
        };
        let here = Position {
            intent: flow.intent,
            at: flow.at,
        };
        if shown_at.is_some_and(|p| p != here) {
            out.say(&c.copy.stale);
            return self.ask(flow, out);
        }
        // "Fixed" is always an answer, typed where no button offers it.
        if choice != Choice::Fixed && !self.flow_offers(&flow).iter().any(|o| o.choice == choice) {
            out.say(&c.copy.stale);
            return self.ask(flow, out);
        }
        match (flow.at, choice) {
            (At::Step(s), Choice::Option(k)) => {
                let option = &c.step(flow.intent, s).options[usize::from(k)];
                if let Some(say) = &option.say {
                    out.say(say);
                }
                let mut flow = flow;
                flow.path.push(Answer::Step {
                    step: s,
                    option: Some(k),
                    inferred: false,
                });
                self.goto(flow, option.next, out)
            }
            (At::Step(s), Choice::Stuck) => {
                let mut flow = flow;
                flow.path.push(Answer::Step {
                    step: s,
                    option: None,
                    inferred: false,
                });
                let next = c.step(flow.intent, s).on_stuck;
                self.goto(flow, next, out)
            }
            (At::Confirm, Choice::Stuck) => {
                let mut flow = flow;
                flow.path.push(Answer::NotFixed);
                self.goto(flow, Target::Human, out)
            }
            (_, Choice::Fixed) => self.finish(&flow, Outcome::Fixed, &c.copy.fixed, out),
            (_, Choice::Human) => self.request_human(State::InFlow(flow), out),
            (_, Choice::NoThanks) => {
                self.finish(&flow, Outcome::DeclinedHuman, &c.copy.human_declined, out)
            }
            // flow_offers() rules out every other pair.
            _ => self.ask(flow, out),
        }
    }

    /// Ends a flow: counts the outcome at the step whose advice was last given, says `text`.
    fn finish(&self, flow: &Flow, outcome: Outcome, text: &'c str, out: &mut Out<'c>) -> State {
        out.effects.push(Effect::Record {
            intent: flow.intent,
            step: flow.last_step(),
            outcome,
        });
        out.say(text);
        State::Resolved {
            intent: flow.intent,
        }
    }

    fn request_human(&self, state: State, out: &mut Out<'c>) -> State {
        let c = self.content;
        let (intent, tried) = match &state {
            State::InFlow(flow) => (Some(flow.intent), self.tried(flow)),
            other => (current_intent(other), Vec::new()),
        };
        out.effects.push(Effect::RequestHuman { intent, tried });
        if let State::InFlow(flow) = &state {
            out.effects.push(Effect::Record {
                intent: flow.intent,
                step: flow.last_step(),
                outcome: Outcome::Escalated,
            });
        }
        out.say(&c.copy.human_requested);
        State::Escalated { intent }
    }

    /// "question → answer" lines for the moderators.
    pub(crate) fn tried(&self, flow: &Flow) -> Vec<String> {
        let c = self.content;
        let mut lines = vec![format!(
            "Read the steps for: {}",
            c.intent(flow.intent).title
        )];
        for a in &flow.path {
            lines.push(match *a {
                Answer::Step {
                    step,
                    option,
                    inferred,
                } => {
                    let step = c.step(flow.intent, step);
                    let answer = match option {
                        Some(k) => step.options[usize::from(k)].label.as_str(),
                        None => c.copy.label_stuck.as_str(),
                    };
                    let from = if inferred {
                        " (from their first message)"
                    } else {
                        ""
                    };
                    format!("{} → {answer}{from}", step.ask)
                }
                Answer::NotFixed => format!("{} → {}", c.copy.confirm, c.copy.label_stuck),
            });
        }
        lines
    }

    fn topic_offers(&self) -> Vec<Offer<'c>> {
        self.content
            .topics()
            .map(|i| Offer {
                label: &i.title,
                choice: Choice::Topic(i.id),
            })
            .collect()
    }

    fn flow_offers(&self, flow: &Flow) -> Vec<Offer<'c>> {
        let c = self.content;
        let fixed = Offer {
            label: &c.copy.label_fixed,
            choice: Choice::Fixed,
        };
        let stuck = Offer {
            label: &c.copy.label_stuck,
            choice: Choice::Stuck,
        };
        let human = Offer {
            label: &c.copy.label_human,
            choice: Choice::Human,
        };
        match flow.at {
            At::Step(s) => {
                let mut offers: Vec<Offer> = c
                    .step(flow.intent, s)
                    .options
                    .iter()
                    .enumerate()
                    .map(|(k, o)| Offer {
                        label: &o.label,
                        choice: Choice::Option(k as u8),
                    })
                    .collect();
                offers.extend([fixed, stuck, human]);
                if self.bare_yes_no(flow.intent, s) == Some(YesMeans::Human) {
                    // "Want a moderator to look?" can be declined.
                    offers.push(Offer {
                        label: &c.copy.label_no_thanks,
                        choice: Choice::NoThanks,
                    });
                }
                offers
            }
            At::Confirm => vec![fixed, stuck, human],
            At::OfferHuman => vec![
                human,
                Offer {
                    label: &c.copy.label_no_thanks,
                    choice: Choice::NoThanks,
                },
            ],
        }
    }

    /// What a bare yes/no means at a step without options; `None` for a step with options
    /// (there, an option that lists "yes" or "no" takes them).
    fn bare_yes_no(&self, intent: IntentId, s: StepId) -> Option<YesMeans> {
        let step = self.content.step(intent, s);
        step.options.is_empty().then_some(step.yes)
    }

    /// The offers a typed answer may pick from, when a question is on screen.
    fn offers_for(&self, state: &State) -> Option<Vec<Offer<'c>>> {
        match state {
            State::InFlow(flow) => Some(self.flow_offers(flow)),
            State::Menu => Some(self.topic_offers()),
            _ => None,
        }
    }

    /// A typed number, an option's label or extra words, a topic's title, a control phrase, or
    /// a plain yes or no to a yes/no question. Whole-message matches win over matches inside a
    /// longer message, and the step's own options win over the universal controls. `None` when
    /// nothing matches or two different choices tie.
    fn match_typed(&self, norm: &str, state: &State, offers: &[Offer<'c>]) -> Option<Choice> {
        if let Ok(n) = norm.parse::<usize>() {
            return (1..=offers.len())
                .contains(&n)
                .then(|| offers[n - 1].choice);
        }
        let c = self.content;
        let ctl = &c.controls;
        let (at, flow_intent) = match state {
            State::InFlow(flow) => (Some(flow.at), flow.intent),
            _ => (None, IntentId(0)),
        };
        // (choice, tier, phrases that select it). Tiers, first wins: the step's own options,
        // then yes and no where the question is a yes/no one, then the universal controls.
        let mut candidates: Vec<(Choice, u8, Vec<&str>)> = Vec::new();
        for o in offers {
            let strs = |v: &'c [String]| v.iter().map(String::as_str).collect::<Vec<_>>();
            let (tier, phrases) = match (o.choice, state) {
                (
                    Choice::Option(k),
                    State::InFlow(Flow {
                        intent,
                        at: At::Step(s),
                        ..
                    }),
                ) => (0, strs(&c.step(*intent, *s).options[usize::from(k)].typed)),
                (Choice::Topic(i), _) => (0, vec![c.intent(i).typed_title.as_str()]),
                (Choice::Fixed, _) => (2, strs(&ctl.fixed)),
                (Choice::Stuck, _) => (2, strs(&ctl.stuck)),
                // "can i talk to someone at klarna" is about Klarna's support.
                (Choice::Human, _) if self.about_provider(norm) => (2, Vec::new()),
                (Choice::Human, _) => (2, strs(&ctl.human)),
                (Choice::NoThanks, _) => (2, strs(&ctl.no_thanks)),
                (Choice::Option(_), _) => (0, Vec::new()),
            };
            // Yes and no, to the questions that are yes/no questions.
            let yes_no = match (o.choice, at) {
                (Choice::Option(_), _) if phrases.contains(&"yes") => Some(&ctl.yes),
                (Choice::Option(_), _) if phrases.contains(&"no") => Some(&ctl.no),
                (Choice::Fixed, Some(At::Confirm)) | (Choice::Human, Some(At::OfferHuman)) => {
                    Some(&ctl.yes)
                }
                (Choice::Stuck, Some(At::Confirm)) | (Choice::NoThanks, Some(At::OfferHuman)) => {
                    Some(&ctl.no)
                }
                (choice, Some(At::Step(s))) => match (self.bare_yes_no(flow_intent, s), choice) {
                    (Some(YesMeans::Fixed), Choice::Fixed)
                    | (Some(YesMeans::Human), Choice::Human) => Some(&ctl.yes),
                    (Some(YesMeans::Fixed), Choice::Stuck)
                    | (Some(YesMeans::Human), Choice::NoThanks) => Some(&ctl.no),
                    _ => None,
                },
                _ => None,
            };
            if let Some(extra) = yes_no {
                candidates.push((o.choice, 1, strs(extra)));
            }
            candidates.push((o.choice, tier, phrases));
        }
        // Whole-message matches, tier by tier. Then phrases inside a message, where yes/no and
        // the controls count as one tier: "ok still declined" holds both a yes and a "still
        // stuck", and a tie is no answer.
        let passes: [(bool, &[u8]); 5] = [
            (true, &[0]),
            (true, &[1]),
            (true, &[2]),
            (false, &[0]),
            (false, &[1, 2]),
        ];
        for (exact, tiers) in passes {
            let hits = candidates
                .iter()
                .filter(|(_, t, p)| {
                    tiers.contains(t)
                        && if exact {
                            p.contains(&norm)
                        } else {
                            phrase_matches(norm, p)
                        }
                })
                .map(|(ch, _, _)| *ch);
            if let Some(found) = unique(hits) {
                return found;
            }
        }
        None
    }
}

/// `None` when there are no matches; `Some(None)` when they disagree.
fn unique(mut matches: impl Iterator<Item = Choice>) -> Option<Option<Choice>> {
    let first = matches.next()?;
    Some(matches.all(|m| m == first).then_some(first))
}

/// Messages longer than this many words are not read as a typed answer: "my bank says it did
/// not work because of a block" is a new problem, not "still stuck".
const PHRASE_WORDS_MAX: usize = 8;
/// A one-word request for a human ("moderator please") counts in a message this short.
const SHORT_REQUEST_WORDS: usize = 4;
/// A request for a human may sit in a longer message ("hi can i please talk to a real person").
const HUMAN_WORDS_MAX: usize = 14;

/// Whether a normalized text *is* one of the phrases, or (for short texts) contains one as
/// whole words: "yes it did" picks an option whose extra words include "yes".
fn phrase_matches<S: AsRef<str>>(norm: &str, phrases: &[S]) -> bool {
    let words = norm.split(' ').count();
    phrases.iter().any(|p| {
        let p = p.as_ref();
        norm == p || (words <= PHRASE_WORDS_MAX && says(norm, p))
    })
}

/// Words that turn a phrase after them around ("never went through", "no human") or make it
/// a doubt ("if it worked").
const NEGATORS: &[&str] = &[
    "no", "not", "never", "nothing", "without", "cannot", "nah", "if", "whether",
];
/// Words a negator reaches across: "i do not want to talk to a human", "do not need a mod".
const FILLERS: &[&str] = &[
    "to", "want", "wanna", "need", "needs", "really", "a", "an", "any", "do", "does", "did",
    "even", "just", "yet", "the", "talk", "speak", "get", "me", "with", "someone", "i",
];

/// Whether `phrase` occurs in `norm` as whole words, at least once not turned around by a
/// negator before it (across filler words only: in "not working talk to a human" the "not"
/// belongs to "working").
fn says(norm: &str, phrase: &str) -> bool {
    word_matches(norm, phrase).any(|i| {
        for w in norm[..i].split(' ').rev().filter(|w| !w.is_empty()) {
            if NEGATORS.contains(&w) {
                return false;
            }
            if !FILLERS.contains(&w) {
                return true;
            }
        }
        true
    })
}

/// Whether `phrase` occurs in `norm` as whole words.
fn contains_words(norm: &str, phrase: &str) -> bool {
    word_matches(norm, phrase).next().is_some()
}

/// Byte offsets where `phrase` occurs in `norm` as whole words.
fn word_matches<'a>(norm: &'a str, phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (n, p) = (norm.as_bytes(), phrase.as_bytes());
    norm.match_indices(phrase)
        .map(|(i, _)| i)
        .filter(move |&i| {
            (i == 0 || n[i - 1] == b' ') && (i + p.len() == n.len() || n[i + p.len()] == b' ')
        })
}

fn current_intent(state: &State) -> Option<IntentId> {
    match state {
        State::InFlow(f) => Some(f.intent),
        State::Resolved { intent } => Some(*intent),
        State::Escalated { intent } | State::HandedOff { intent } => *intent,
        State::Idle | State::Menu => None,
    }
}

struct Out<'c> {
    effects: Vec<Effect<'c>>,
    classification: Option<Classification>,
}

impl<'c> Out<'c> {
    fn say(&mut self, text: &'c str) {
        self.effects.push(Effect::Say(text));
    }
}
