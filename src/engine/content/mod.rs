//! The content pack: intents, patterns, examples, replies and follow-up flows.
//!
//! `raw.rs` mirrors `intents.toml`; `compile.rs` checks all of it at once and produces a
//! [`Content`] whose references are typed IDs. After a successful load there are no string
//! lookups left: a step's `next` is a [`Target`], not a name.

mod compile;
pub mod raw;

pub use compile::{compile, pack_hash};

use std::fmt;

/// The content pack built into the binary, so `paymedic chat` works with no files around it.
pub const EMBEDDED: &str = include_str!("../../../intents.toml");
/// The name errors in the embedded pack are reported under.
pub const EMBEDDED_NAME: &str = "intents.toml";

/// The intent ids that other parts of paymedic rely on; a pack without one of them is invalid.
pub const REQUIRED_INTENTS: &[&str] = &[
    "payment_declined",
    "credit_limit",
    "app_outdated",
    "security_hold",
    "card_details",
    "browser_issue",
    "technical_glitch",
    "bank_block",
    "payment_history",
    "update_details",
    "contact_support",
    "prevention",
    "scam_report",
    "greeting",
    "thanks",
];

/// Examples each intent needs (after duplicates are dropped): fewer and the classifier cannot
/// learn the intent well enough to tell it from its neighbours. `paymedic check` enforces it.
pub const EXAMPLES_PER_INTENT_MIN: usize = 25;

/// Index of an intent in [`Content::intents`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntentId(pub(crate) u16);

impl IntentId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Index of a step in its intent's flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId(pub(crate) u8);

impl StepId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Where a flow goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Step(StepId),
    /// Past the last step: ask whether it is fixed.
    End,
    /// Offer a human.
    Human,
}

/// Support intents run a flow and a fix check; social ones (greeting, thanks) only reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentKind {
    Support,
    Social,
}

/// A compiled, validated content pack.
#[derive(Clone, Debug)]
pub struct Content {
    pub intents: Vec<Intent>,
    pub copy: Copy,
    pub controls: Controls,
    /// Single normalized word -> replacement words.
    pub lexicon: Vec<(String, String)>,
    pub out_of_scope: Vec<String>,
    pub threshold: f32,
    pub margin: f32,
    /// A regex a message must match (or one of a support intent's patterns) before any support
    /// intent may answer: the pay-later vocabulary. `None`: no such gate.
    pub domain: Option<String>,
    /// Every regex the classifier runs, as one matcher so a message is scanned once: `domain`
    /// if there is one, then each intent's patterns (intent order, then pattern order), then
    /// each intent's negative patterns (same order).
    pub matcher: crate::engine::nlu::Matcher,
    /// The scam shield, from `[scam]` (flags nothing without it).
    pub scam: crate::engine::scam::Shield,
    /// [`compile::pack_hash`] of the source this was compiled from.
    pub pack_hash: u64,
}

/// One intent.
#[derive(Clone, Debug)]
pub struct Intent {
    pub id: IntentId,
    /// The stable name used in files, JSON and custom ids, e.g. `credit_limit`.
    pub key: String,
    pub title: String,
    /// The title normalized, so a member can type a topic's name to pick it.
    pub typed_title: String,
    pub kind: IntentKind,
    pub threshold: f32,
    pub patterns: Vec<String>,
    pub negative_patterns: Vec<String>,
    pub examples: Vec<String>,
    pub reply: Reply,
    pub flow: Vec<Step>,
}

/// The first answer to an intent: an intro and numbered steps.
#[derive(Clone, Debug)]
pub struct Reply {
    pub intro: String,
    pub steps: Vec<String>,
}

/// An answer as one text: the intro, a blank line, then "1. step" lines. Adapters that send
/// it as one block use this, and the content check measures exactly this against Discord's
/// limits, so the two cannot drift apart.
pub fn numbered(intro: &str, steps: &[String]) -> String {
    let mut text = intro.to_string();
    for (i, s) in steps.iter().enumerate() {
        text.push_str(if i == 0 { "\n\n" } else { "\n" });
        text.push_str(&format!("{}. {s}", i + 1));
    }
    text
}

/// A follow-up question.
#[derive(Clone, Debug)]
pub struct Step {
    pub key: String,
    pub say: Option<String>,
    pub ask: String,
    pub options: Vec<StepOption>,
    /// Where "Still stuck" goes.
    pub on_stuck: Target,
    /// What "yes" and "no" mean at a step without options.
    pub yes: YesMeans,
}

/// At a step without options, the question is a yes/no one about the advice or about help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YesMeans {
    /// "Did it work?": yes is fixed, no is still stuck.
    Fixed,
    /// "Want a moderator to look?": yes asks for a human, no declines one.
    Human,
}

/// A button on a step.
#[derive(Clone, Debug)]
pub struct StepOption {
    pub label: String,
    pub say: Option<String>,
    pub next: Target,
    /// Normalized phrases that select this option when typed (the label is one of them).
    pub typed: Vec<String>,
    /// Regexes over the normalized opening message: when one matches, the member has already
    /// answered this step ("declined" answers "What does the message say?"), so it is skipped.
    pub when: Vec<regex::Regex>,
}

/// The bot's generic lines.
#[derive(Clone, Debug)]
pub struct Copy {
    pub fallback: String,
    pub confirm: String,
    pub fixed: String,
    pub offer_human: String,
    pub human_requested: String,
    pub human_declined: String,
    pub already_requested: String,
    pub unclear: String,
    pub unclear_again: String,
    pub reset: String,
    pub stale: String,
    /// The warning when the member's message could not be removed (DMs, the terminal, or no
    /// Manage Messages). `{what}` is replaced with what it looked like ("card details").
    pub sensitive: String,
    /// The warning after the bot removed the member's message. `{what}` as above.
    pub sensitive_removed: String,
    pub handed_back: String,
    /// A ticket was opened for the member; `{ticket}` becomes a link to it.
    pub ticket_opened: String,
    /// The member asked again while a ticket is open.
    pub ticket_exists: String,
    /// The member wrote while their ticket is open (at most once an hour).
    pub ticket_pointer: String,
    /// The ticket's thread could not be made; moderators got a plain request.
    pub ticket_failed: String,
    /// A moderator escalated the member.
    pub ticket_escalated: String,
    /// Staff closed the ticket or handed it back.
    pub ticket_closed: String,
    /// "Did we solve it?", asked when a ticket closes.
    pub rate_question: String,
    /// The answer to a rating.
    pub rate_thanks: String,
    /// Sent once to a member who floods the channel.
    pub slow_down: String,
    /// Ephemeral answer to a button press on someone else's conversation.
    pub not_yours: String,
    /// Answer to a moderator-only command used by someone else.
    pub moderators_only: String,
    pub label_fixed: String,
    pub label_stuck: String,
    pub label_human: String,
    pub label_no_thanks: String,
    /// The "Notify me when it's fixed" button during an incident.
    pub incident_notify: String,
    /// After an incident answer's shortened steps: the rest can wait until it's fixed.
    pub incident_more_steps: String,
    /// The answer to pressing the notify button.
    pub incident_subscribed: String,
    /// The answer to pressing it again.
    pub incident_already_subscribed: String,
    /// The answer to pressing it after the incident ended.
    pub incident_over: String,
    /// The one DM each subscriber gets when the incident ends.
    pub incident_fixed: String,
    /// `/check status` with no active incident.
    pub status_clear: String,
    /// `/check status` during an incident; `{notice}` becomes the notice.
    pub status_incident: String,
}

impl Copy {
    /// The warning for a member who posted a secret: `removed` when the adapter deleted their
    /// message. Says what it looked like, never what it was.
    /// A ticket line with `{ticket}` filled in.
    pub fn with_ticket(template: &str, ticket: &str) -> String {
        template.replace("{ticket}", ticket)
    }

    pub fn sensitive_warning(
        &self,
        secret: crate::engine::sensitive::Secret,
        removed: bool,
    ) -> String {
        use crate::engine::sensitive::Secret;
        let what = match secret {
            Secret::CardNumber => "card details",
            Secret::Code => "a card security code",
            Secret::Password => "login details",
        };
        let text = if removed {
            &self.sensitive_removed
        } else {
            &self.sensitive
        };
        text.replace("{what}", what)
    }
}

/// Normalized phrases a member may type instead of pressing a universal button.
#[derive(Clone, Debug)]
pub struct Controls {
    pub fixed: Vec<String>,
    pub stuck: Vec<String>,
    pub human: Vec<String>,
    pub no_thanks: Vec<String>,
    pub reset: Vec<String>,
    /// Answers that mean yes to a yes/no question ("yes please", "sure", "ok").
    pub yes: Vec<String>,
    /// Answers that mean no ("nope", "not really").
    pub no: Vec<String>,
    /// Phrases that make a `human` phrase mean someone else's staff ("klarna support"): the
    /// member wants the provider's support, which is an intent, not a hand-off to us.
    pub not_human: Vec<String>,
}

impl Content {
    /// Looks an intent up by its key (`credit_limit`). Used at the edges only: CLI arguments,
    /// test data and custom ids; the engine itself passes [`IntentId`]s around.
    pub fn intent_by_key(&self, key: &str) -> Option<IntentId> {
        self.intents.iter().find(|i| i.key == key).map(|i| i.id)
    }

    pub fn intent(&self, id: IntentId) -> &Intent {
        &self.intents[id.index()]
    }

    pub fn step(&self, intent: IntentId, step: StepId) -> &Step {
        &self.intent(intent).flow[step.index()]
    }

    /// Support intents, in file order: the topics the bot offers as buttons.
    pub fn topics(&self) -> impl Iterator<Item = &Intent> {
        self.intents
            .iter()
            .filter(|i| i.kind == IntentKind::Support)
    }
}

/// A position in a content file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Location {
    /// Line and column (1-based, counted in characters) of a byte offset in `src`.
    pub fn of(file: &str, src: &str, offset: usize) -> Location {
        Lines::new(src).locate(file, src, offset)
    }
}

/// Where each line of a source starts, so many offsets can be located without rescanning it.
#[derive(Clone, Debug)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// Line and column (1-based, counted in characters) of a byte offset in `src`.
    pub fn locate(&self, file: &str, src: &str, offset: usize) -> Location {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line(offset);
        let col = src[self.starts[line - 1]..offset].chars().count() + 1;
        Location {
            file: file.to_string(),
            line,
            col,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_locate_to_lines_and_character_columns() {
        let src = "ab\néé x\n\nlast";
        let at = |o| {
            let l = Location::of("f", src, o);
            (l.line, l.col)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(2), (1, 3));
        assert_eq!(at(3), (2, 1));
        assert_eq!(at(8), (2, 4), "columns count characters, not bytes");
        assert_eq!(at(6), (2, 2), "inside a character: its start");
        assert_eq!(at(10), (3, 1));
        assert_eq!(at(11), (4, 1));
        assert_eq!(at(999), (4, 5), "past the end: the end");
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// What is wrong with a content pack, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct ContentError {
    pub location: Location,
    pub kind: ErrorKind,
}

/// The kinds of content errors, so callers and tests can tell them apart without matching on
/// message text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid TOML: {0}")]
    Syntax(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("{0}")]
    Shape(String),
    #[error("duplicate {what} `{id}` (first defined at line {first_line})")]
    Duplicate {
        what: &'static str,
        id: String,
        first_line: usize,
    },
    #[error("regex does not compile: {0}")]
    BadRegex(String),
    #[error("example also appears in {0}")]
    SharedExample(String),
    #[error("`next = \"{0}\"` names no step in this intent (use a step id, \"end\" or \"human\")")]
    UnknownStep(String),
    #[error("step `{0}` can never be reached from the first step")]
    UnreachableStep(String),
    #[error("required intent `{0}` is missing")]
    MissingIntent(String),
    #[error("{what} is {len} characters; Discord allows at most {max}")]
    TooLong {
        what: String,
        len: usize,
        max: usize,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Every error found in one content pack, in file order.
#[derive(Debug, thiserror::Error)]
pub struct ContentErrors(pub Vec<ContentError>);

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
