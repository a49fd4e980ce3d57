//! The pure core of paymedic: content, classification, dialogue and checks.
//!
//! Nothing under `engine/` performs I/O, reads a clock, or names Discord, an async runtime or
//! a database: adapters hand it plain values and carry out the [`Effect`]s it returns.

pub mod checks;
pub mod content;
pub mod dialogue;
pub mod ids;
pub mod incident;
pub mod insight;
pub mod limits;
pub mod nlu;
pub mod scam;
pub mod sensitive;
pub mod throttle;
pub mod tickets;

pub use content::{Content, ContentErrors, IntentId, StepId};
pub use dialogue::{Choice, Effect, Input, Offer, Position, Session, State, Step, Timestamp};
pub use ids::{ChannelId, GuildId, IncidentId, MemberId, MessageId, RoleId, TicketId, UserKey};
pub use nlu::{Classification, Classifier, Thresholds};

use dialogue::Dialogue;

/// Settings the engine needs that do not come from the content pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineSettings {
    /// A session untouched this long starts fresh.
    pub idle_timeout_ms: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            idle_timeout_ms: 15 * 60 * 1000,
        }
    }
}

/// A compiled content pack with its trained classifier.
#[derive(Clone)]
pub struct Engine {
    pub content: Content,
    pub classifier: Classifier,
    pub settings: EngineSettings,
}

impl Engine {
    /// Validates and compiles a content pack; `name` is used in error locations.
    pub fn load(name: &str, src: &str) -> Result<Engine, ContentErrors> {
        let content = content::compile(name, src)?;
        let classifier = Classifier::new(&content);
        Ok(Engine {
            content,
            classifier,
            settings: EngineSettings::default(),
        })
    }

    /// The content pack built into the binary. It is checked by the test suite, so failing
    /// here is a build defect, not bad input.
    pub fn embedded() -> Engine {
        match Engine::load(content::EMBEDDED_NAME, content::EMBEDDED) {
            Ok(e) => e,
            Err(e) => panic!("the embedded content pack is invalid:\n{e}"),
        }
    }

    pub fn classify(&self, text: &str) -> Classification {
        self.classifier.classify(text)
    }

    /// "question → answer" lines for what a member went through in a flow (the hand-off packet).
    pub fn tried(&self, flow: &dialogue::Flow) -> Vec<String> {
        self.dialogue().tried(flow)
    }

    fn dialogue(&self) -> Dialogue<'_> {
        Dialogue {
            content: &self.content,
            classifier: &self.classifier,
            idle_timeout_ms: self.settings.idle_timeout_ms,
        }
    }

    /// One turn of a conversation.
    pub fn step(&self, session: Session, input: Input<'_>, now: Timestamp) -> Step<'_> {
        self.dialogue().step(session, input, now)
    }

    /// One turn while `incident` (if any) is active: answers to its intents lead with the
    /// notice and the notify choice, with shortened steps (see [`incident::shape`]).
    pub fn step_during(
        &self,
        session: Session,
        input: Input<'_>,
        now: Timestamp,
        incident: Option<&incident::Incident>,
    ) -> Step<'_> {
        let mut step = self.step(session, input, now);
        step.effects = incident::shape(&self.content, step.effects, incident);
        step
    }
}
