//! The content pack exactly as written in `intents.toml`, before any checking.
//!
//! These types mirror the TOML one to one (serde). Strings that later checks may complain
//! about are `Spanned`, so an error can point at the line and column that caused it.
//! Nothing here is trusted: `compile.rs` validates it and turns it into typed IDs.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
pub struct RawContent {
    pub version: Spanned<u32>,
    #[serde(default)]
    pub classifier: RawClassifier,
    #[serde(default)]
    pub lexicon: BTreeMap<String, Spanned<String>>,
    pub copy: RawCopy,
    pub controls: RawControls,
    pub out_of_scope: RawOutOfScope,
    /// `[scam]`: the scam and impersonation shield. Without it, nothing is screened.
    pub scam: Option<RawScam>,
    #[serde(default, rename = "intent")]
    pub intents: Vec<RawIntent>,
}

/// `[classifier]`: the production thresholds.
#[derive(Debug, Default, Deserialize)]
pub struct RawClassifier {
    pub threshold: Option<Spanned<f32>>,
    pub margin: Option<Spanned<f32>>,
    pub domain: Option<Spanned<String>>,
}

/// `[copy]`: the bot's generic lines.
#[derive(Debug, Deserialize)]
pub struct RawCopy {
    pub fallback: Spanned<String>,
    pub confirm: Spanned<String>,
    pub fixed: Spanned<String>,
    pub offer_human: Spanned<String>,
    pub human_requested: Spanned<String>,
    pub human_declined: Spanned<String>,
    pub already_requested: Spanned<String>,
    pub unclear: Spanned<String>,
    pub unclear_again: Spanned<String>,
    pub reset: Spanned<String>,
    pub stale: Spanned<String>,
    pub sensitive: Spanned<String>,
    pub sensitive_removed: Spanned<String>,
    pub handed_back: Spanned<String>,
    pub ticket_opened: Spanned<String>,
    pub ticket_exists: Spanned<String>,
    pub ticket_pointer: Spanned<String>,
    pub ticket_failed: Spanned<String>,
    pub ticket_escalated: Spanned<String>,
    pub ticket_closed: Spanned<String>,
    pub rate_question: Spanned<String>,
    pub rate_thanks: Spanned<String>,
    pub slow_down: Spanned<String>,
    pub not_yours: Spanned<String>,
    pub moderators_only: Spanned<String>,
    pub label_fixed: Spanned<String>,
    pub label_stuck: Spanned<String>,
    pub label_human: Spanned<String>,
    pub label_no_thanks: Spanned<String>,
    pub incident_notify: Spanned<String>,
    pub incident_more_steps: Spanned<String>,
    pub incident_subscribed: Spanned<String>,
    pub incident_already_subscribed: Spanned<String>,
    pub incident_over: Spanned<String>,
    pub incident_fixed: Spanned<String>,
    pub status_clear: Spanned<String>,
    pub status_incident: Spanned<String>,
}

/// `[controls]`: what a member may type instead of pressing a universal button.
#[derive(Debug, Deserialize)]
pub struct RawControls {
    pub fixed: Vec<Spanned<String>>,
    pub stuck: Vec<Spanned<String>>,
    pub human: Vec<Spanned<String>>,
    pub no_thanks: Vec<Spanned<String>>,
    pub reset: Vec<Spanned<String>>,
    pub yes: Vec<Spanned<String>>,
    pub no: Vec<Spanned<String>>,
    #[serde(default)]
    pub not_human: Vec<Spanned<String>>,
}

/// `[out_of_scope]`: chatter the bot must not answer.
#[derive(Debug, Deserialize)]
pub struct RawOutOfScope {
    pub examples: Vec<Spanned<String>>,
}

/// One `[[intent]]`.
#[derive(Debug, Deserialize)]
pub struct RawIntent {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    pub threshold: Option<Spanned<f32>>,
    #[serde(default)]
    pub patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub negative_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    pub reply: Spanned<RawReply>,
    #[serde(default)]
    pub flow: Vec<RawStep>,
}

/// `[intent.reply]`.
#[derive(Debug, Deserialize)]
pub struct RawReply {
    pub intro: Spanned<String>,
    #[serde(default)]
    pub steps: Vec<Spanned<String>>,
}

/// One `[[intent.flow]]` step.
#[derive(Debug, Deserialize)]
pub struct RawStep {
    pub id: Spanned<String>,
    pub say: Option<Spanned<String>>,
    pub ask: Spanned<String>,
    pub next: Option<Spanned<String>>,
    /// For a step with no options: what a plain "yes" means, "fixed" (the default) or
    /// "human" (the question offers a moderator).
    pub yes: Option<Spanned<String>>,
    #[serde(default, rename = "option")]
    pub options: Vec<RawOption>,
}

/// One `[[intent.flow.option]]`.
#[derive(Debug, Deserialize)]
pub struct RawOption {
    pub label: Spanned<String>,
    pub say: Option<Spanned<String>>,
    pub next: Option<Spanned<String>>,
    #[serde(default)]
    pub also: Vec<Spanned<String>>,
    /// Regexes over the normalized opening message that answer this step before it is asked.
    #[serde(default)]
    pub when: Vec<Spanned<String>>,
}

/// `[scam]`: what the scam shield looks for, and what it says.
#[derive(Debug, Deserialize)]
pub struct RawScam {
    /// Brand names impersonators imitate (lowercase, e.g. "klarna").
    #[serde(default)]
    pub brands: Vec<Spanned<String>>,
    /// Hosts that are really the brands' own; their subdomains are too.
    #[serde(default)]
    pub official_domains: Vec<Spanned<String>>,
    /// Link-shortener hosts: a short link in a message that names a brand is flagged.
    #[serde(default)]
    pub shorteners: Vec<Spanned<String>>,
    /// Words that, beside a brand in a display name, claim to be its staff.
    #[serde(default)]
    pub staff_words: Vec<Spanned<String>>,
    /// Regexes over the folded words of a message that mark a member's own report (someone
    /// contacted them, they ask whether something is legit), which is never flagged.
    #[serde(default)]
    pub reporting: Vec<Spanned<String>>,
    /// Regexes that mark a warning or talk about scams ("never share your code", "mods pls
    /// remove"), which scammers borrow: flagged only when the model is `over_report` sure.
    #[serde(default)]
    pub cautions: Vec<Spanned<String>>,
    pub warning: Spanned<String>,
    pub notice: Spanned<String>,
    pub name_notice: Spanned<String>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawScamRule>,
    /// `[scam.model]`: the learned second opinion and the lines it learns from.
    #[serde(default)]
    pub model: Option<RawScamModel>,
}

/// `[scam.model]`: labelled lines, one list per kind and one of ordinary messages, and the
/// probabilities that decide what the model's reading does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScamModel {
    /// A message no rule caught is flagged when its scam probability is at least this.
    pub threshold: Spanned<f32>,
    /// A rule's flag stands only when the scam probability is at least this.
    #[serde(default)]
    pub veto: Option<Spanned<f32>>,
    /// A message worded like a report or warning is flagged only when the scam probability is
    /// at least this (absent: never).
    #[serde(default)]
    pub over_report: Option<Spanned<f32>>,
    pub impersonation: Vec<Spanned<String>>,
    pub credentials: Vec<Spanned<String>>,
    pub link: Vec<Spanned<String>>,
    pub ordinary: Vec<Spanned<String>>,
}

/// One `[[scam.rule]]`.
#[derive(Debug, Deserialize)]
pub struct RawScamRule {
    pub id: Spanned<String>,
    /// "impersonation", "credentials" or "link".
    pub kind: Spanned<String>,
    /// Why a match is flagged, as the moderators read it.
    pub reason: Spanned<String>,
    /// Only when the message also links to a host that is not official.
    #[serde(default)]
    pub needs_link: bool,
    /// Regexes over the folded words; `{brand}` stands for any of the brands.
    pub patterns: Vec<Spanned<String>>,
    /// When set, one of these must match somewhere in the message too (an offer beside a
    /// "DM me", a secret beside a "paste it here").
    #[serde(default)]
    pub also: Vec<Spanned<String>>,
    /// When set, one of these must match too: what the message is about (payments, accounts),
    /// beside `also`'s offer.
    #[serde(default)]
    pub about: Vec<Spanned<String>>,
    /// When one of these matches anywhere in the message, the rule does not fire (a request
    /// for help beside a "DM me").
    #[serde(default)]
    pub unless: Vec<Spanned<String>>,
    /// Its flags stand whatever `[scam.model]` reads (never vetoed).
    #[serde(default)]
    pub trusted: bool,
}
