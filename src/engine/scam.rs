//! The scam and impersonation shield: spotting messages that impersonate support, fish for
//! credentials or link to lookalike sites, and display names that imitate the bot, the
//! support team or a payment brand.
//!
//! Everything it knows comes from the content pack's `[scam]` section (compiled in
//! `content/compile.rs`): rules of regexes over the folded text, the brands impersonators
//! imitate, the official domains, and the phrases that mark a member's report or warning
//! ("someone DMed me saying they're support, is that legit?") rather than a scam. Links are
//! checked here in code, against the brands: a host that is not an official domain (or a
//! subdomain of one) but names a brand, or comes within an edit or a confusable character of
//! one (`k1arna.com`, `klarna-support.help`, `klárna.com`), is a lookalike. A learned model
//! ([`Learned`], `[scam.model]`), trained at load on the pack's labelled lines, flags what the
//! rules miss and vetoes rule hits it reads as ordinary talk.
//!
//! A false accusation is worse than a miss, so a message that reads as a report or a warning
//! is never flagged, and staff are never screened (the app decides who is screened).
//!
//! Text is compared in two folded forms:
//! - [`Shield::words`]: NFKC, lowercase, confusable letters mapped to Latin (Cyrillic `а`,
//!   Greek `ο`), marks stripped, zero-width characters dropped, apostrophes dropped, every other non-alphanumeric run a
//!   single space, and each word that imitates a brand replaced by the brand (`k1arna` →
//!   `klarna`). Rules and report phrases match this.
//! - [`skeleton`]: the words form with digits and letters that look alike mapped to one
//!   prototype (`0`→`o`, `1`/`i`→`l`, `rn`→`m`, `vv`→`w`) and marks stripped, no spaces.
//!   Brands, hosts and names are compared in this form.

use regex::RegexSet;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

use crate::engine::nlu::features;
use crate::engine::nlu::model::{softmax, LinearModel, Sample, TrainSettings};

/// What a flagged message does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScamKind {
    /// Claims to be support, staff or the provider, or offers help by direct message.
    Impersonation,
    /// Asks others for codes, passwords, card numbers or logins.
    Credentials,
    /// Links to a site that imitates a brand.
    Link,
}

impl ScamKind {
    /// The key used in the content pack and in JSON output.
    pub fn key(self) -> &'static str {
        match self {
            ScamKind::Impersonation => "impersonation",
            ScamKind::Credentials => "credentials",
            ScamKind::Link => "link",
        }
    }

    pub fn from_key(key: &str) -> Option<ScamKind> {
        match key {
            "impersonation" => Some(ScamKind::Impersonation),
            "credentials" => Some(ScamKind::Credentials),
            "link" => Some(ScamKind::Link),
            _ => None,
        }
    }
}

/// The rule id the built-in lookalike-link check reports under.
pub const LOOKALIKE_RULE: &str = "lookalike_link";
/// The rule id for an account handle named like a brand's staff (`@Kl4rnaHelp_7781`).
pub const HANDLE_RULE: &str = "brand_handle";
/// Words that make a hidden link (a shortener, a form, a chat invite) a lure even without a
/// brand: "join our help group: chat.whatsapp.com/…".
const HIDDEN_LINK_LURES: &[&str] = &[
    "support",
    "help",
    "helpdesk",
    "refund",
    "refunds",
    "verify",
    "verification",
    "login",
    "unban",
    "appeal",
    "compensation",
    "claim",
];
/// The rule id for a shortened link in a message that names a brand.
pub const SHORT_LINK_RULE: &str = "short_link";
/// The rule id the learned model reports under.
pub const MODEL_RULE: &str = "model";

/// One `[[scam.rule]]`, compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    pub key: String,
    pub kind: ScamKind,
    /// Why it was flagged, for the moderators ("offers support by direct message").
    pub reason: String,
    /// Only when the message also holds a link to a host that is not official.
    pub needs_link: bool,
    /// Only when this matches somewhere in the message too.
    pub also: Option<regex::Regex>,
    /// Only when this matches somewhere in the message too (what it is about).
    pub about: Option<regex::Regex>,
    /// Never when this matches anywhere in the message.
    pub unless: Option<regex::Regex>,
    /// Its flags stand whatever the learned model reads (a rule precise enough that the
    /// model's doubt is more often wrong than the rule).
    pub trusted: bool,
}

/// Why a message was flagged. `reason` is for the moderators; it may quote the host of a
/// lookalike link, never the member's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScamFlag {
    pub rule: String,
    pub kind: ScamKind,
    pub reason: String,
}

/// Why a display name was flagged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFlag {
    /// What the name imitates: the bot's or the role's name, or "`brand` staff".
    pub imitates: String,
}

/// The bot's own lines for the shield.
#[derive(Clone, Debug, Default)]
pub struct ScamCopy {
    /// The public reply to a flagged message.
    pub warning: String,
    /// To the moderators: `{member}`, `{reason}` and `{link}` are filled in.
    pub notice: String,
    /// To the moderators about a display name: `{member}`, `{name}`, `{imitates}`, `{link}`.
    pub name_notice: String,
}

/// The compiled `[scam]` section. [`Shield::default`] flags nothing (a pack without the
/// section).
#[derive(Clone, Debug, Default)]
pub struct Shield {
    pub rules: Vec<Rule>,
    /// One pattern per rule, in rule order, over [`words`] (with `{brand}` expanded).
    pub(crate) rule_set: Option<RegexSet>,
    /// Phrases that make a message a member's own report, over [`words`]: never flagged.
    pub(crate) reporting: Option<RegexSet>,
    /// Phrases of warnings and scam talk, over [`words`]: flagged only at `over_report`.
    pub(crate) cautions: Option<RegexSet>,
    /// Brand names, lowercase ASCII (`klarna`), with their skeletons.
    pub brands: Vec<String>,
    pub(crate) brand_skeletons: Vec<String>,
    /// Official hosts, lowercase (`klarna.com`); their subdomains are official too.
    pub official_domains: Vec<String>,
    /// Link shorteners (`bit.ly`): a short link in a message naming a brand is flagged.
    pub shorteners: Vec<String>,
    /// Words that, beside a brand in a display name, claim to be its staff (`support`).
    pub staff_words: Vec<String>,
    /// Their skeletons, non-empty ones only (see [`Shield::with_skeletons`]).
    pub(crate) staff_skeletons: Vec<String>,
    /// `[scam.model]`: the second opinion learned from labelled lines, if the pack has one.
    pub learned: Option<Learned>,
    pub copy: ScamCopy,
}

/// The learned second opinion (`[scam.model]`): a linear model over the words, word pairs and
/// character grams of a message's folded words, trained at load on the pack's labelled scams
/// (by kind) and ordinary lines (the pack's own intent examples count as ordinary too).
///
/// Rules are precise but each writer of scams finds wordings they don't cover; the model
/// generalizes from examples. It is used twice: a message no rule caught is flagged when the
/// model is sure enough (`threshold`), and a rule's flag stands only when the model finds the
/// message at least a little scam-like (`veto`), which drops rule hits on reports and warnings
/// in words the `reporting` phrases don't know.
#[derive(Clone, Debug)]
pub struct Learned {
    model: LinearModel,
    /// Flag a message no rule caught when its scam probability is at least this.
    pub threshold: f32,
    /// A rule's flag stands only when the scam probability is at least this (0: never vetoed).
    pub veto: f32,
    /// A message worded like a report or warning is flagged only when the scam probability is
    /// at least this (above 1: never).
    pub over_report: f32,
}

/// A probability no reading reaches: `over_report` when reports are never flagged.
pub const NEVER: f32 = 2.0;

/// How the scam model trains: weights averaged over the second half of the epochs, and an L2
/// penalty three times the intent classifier's. Chosen by leave-one-writer-out
/// cross-validation over 15 writers' sets (`examples/scam_cv.rs`): without averaging, adding
/// or removing a handful of lines moved recall by about 2 points (the last examples seen
/// pulled the weights), and at 1e-4 the model held on to one writer's phrasings.
pub const TRAINING: TrainSettings = TrainSettings {
    epochs: 10,
    learning_rate: 1.0,
    l2: 3e-4,
    average: true,
};

/// The learned model's classes: ordinary, then each kind.
const LEARNED_CLASSES: [Option<ScamKind>; 4] = [
    None,
    Some(ScamKind::Impersonation),
    Some(ScamKind::Credentials),
    Some(ScamKind::Link),
];

/// How the learned model reads a message: its scam probability and most likely kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub scam: f32,
    pub kind: ScamKind,
}

impl Learned {
    /// Trains on `scams` (with their kinds) and `ordinary` lines, each weighted (an intent
    /// example counts less than a hand-labelled ordinary line), with `settings` (the pack's
    /// are [`TRAINING`]). Deterministic.
    pub fn train(
        shield: &Shield,
        scams: &[(&str, ScamKind)],
        ordinary: &[(&str, f32)],
        threshold: f32,
        veto: f32,
        settings: TrainSettings,
    ) -> Learned {
        let mut samples = Vec::with_capacity(scams.len() + ordinary.len());
        let mut brandish = HashMap::new();
        for (text, kind) in scams {
            let class = LEARNED_CLASSES
                .iter()
                .position(|k| *k == Some(*kind))
                .unwrap_or(0);
            samples.push(Sample {
                features: shield.learned_features_with(text, &mut brandish),
                class,
                weight: 1.0,
            });
        }
        for (text, weight) in ordinary {
            samples.push(Sample {
                features: shield.learned_features_with(text, &mut brandish),
                class: 0,
                weight: *weight,
            });
        }
        let model = LinearModel::train(&samples, LEARNED_CLASSES.len(), settings);
        Learned {
            model,
            threshold,
            veto,
            over_report: NEVER,
        }
    }

    /// How the model reads already extracted features.
    fn read(&self, features: &[u64]) -> Reading {
        let mut z = [0.0f32; LEARNED_CLASSES.len()];
        self.model.logits(features, &mut z);
        softmax(&mut z);
        let (best, _) = z
            .iter()
            .enumerate()
            .skip(1)
            .fold((1, f32::MIN), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
        Reading {
            scam: (1.0 - z[0]).clamp(0.0, 1.0),
            kind: LEARNED_CLASSES[best].unwrap_or(ScamKind::Impersonation),
        }
    }
}

/// Whether `set` (a pack's phrase list, if it has one) matches `words`.
fn matches(set: &Option<RegexSet>, words: &str) -> bool {
    set.as_ref().is_some_and(|r| r.is_match(words))
}

/// What the moderators are told about a message only the model flagged.
fn learned_reason(r: Reading) -> String {
    let what = match r.kind {
        ScamKind::Impersonation => "someone posing as support or offering a private fix",
        ScamKind::Credentials => "a request for codes, logins or card details",
        ScamKind::Link => "a push to an unofficial site",
    };
    format!(
        "reads like {what} (learned model, {:.0}% sure)",
        f64::from(r.scam) * 100.0
    )
}

/// The flag the learned model raises on its own.
fn model_flag(r: Reading) -> ScamFlag {
    ScamFlag {
        rule: MODEL_RULE.to_string(),
        kind: r.kind,
        reason: learned_reason(r),
    }
}

impl Shield {
    /// Fills in the brands' and staff words' skeletons (once, at load: lookalike checks
    /// compare against them for every part of every link).
    pub fn with_skeletons(mut self) -> Shield {
        self.brand_skeletons = self.brands.iter().map(|b| skeleton(b)).collect();
        self.staff_skeletons = self
            .staff_words
            .iter()
            .map(|w| skeleton(w))
            .filter(|w| !w.is_empty())
            .collect();
        self
    }

    /// Whether the pack has a `[scam]` section with anything to check.
    pub fn is_active(&self) -> bool {
        !self.brands.is_empty() || !self.rules.is_empty() || self.learned.is_some()
    }

    /// The first reason to flag `text`, or `None`. Order: a member's own report is never
    /// flagged, and a warning or talk about scams only when the model reads it at
    /// `over_report` or more; then the rules in file order, then lookalike links, handles and
    /// hidden links, any of which the learned model may veto (unless the rule is trusted);
    /// then the learned model on its own.
    pub fn check(&self, text: &str) -> Option<ScamFlag> {
        if !self.is_active() {
            return None;
        }
        let text = cap(text);
        let words = self.words(text);
        if matches(&self.reporting, &words) {
            return None;
        }
        let reading = self.reading(text);
        if matches(&self.cautions, &words) {
            // Warning wording is left alone, unless the model is very sure that it is bait
            // ("it protects you from the scammers"). The rules run only then.
            return match (&self.learned, reading) {
                (Some(l), Some(r)) if r.scam >= l.over_report => {
                    Some(self.check_rules(text).unwrap_or_else(|| model_flag(r)))
                }
                _ => None,
            };
        }
        match self.check_rules(text) {
            // A rule's flag stands unless the model finds the message plainly ordinary (or the
            // rule is trusted whatever the model reads).
            Some(flag) => match (&self.learned, reading) {
                (Some(l), Some(r)) if r.scam < l.veto && !self.is_trusted(&flag.rule) => None,
                _ => Some(flag),
            },
            None => match (&self.learned, reading) {
                (Some(l), Some(r)) if r.scam >= l.threshold => Some(model_flag(r)),
                _ => None,
            },
        }
    }

    /// Whether `rule` is a `[[scam.rule]]` marked `trusted`: its flags are never vetoed.
    fn is_trusted(&self, rule: &str) -> bool {
        self.rules.iter().any(|r| r.trusted && r.key == rule)
    }

    /// How the learned model reads `text` (`None` without a model).
    pub fn reading(&self, text: &str) -> Option<Reading> {
        let learned = self.learned.as_ref()?;
        Some(learned.read(&self.learned_features(cap(text))))
    }

    /// Whether `text` reads as a member's own report of a scam (never flagged).
    pub fn is_report(&self, text: &str) -> bool {
        matches(&self.reporting, &self.words(text))
    }

    /// Whether `text` is worded as a warning or talk about scams, and is not a member's own
    /// report (flagged only when the model is `over_report` sure).
    pub fn is_caution(&self, text: &str) -> bool {
        let words = self.words(text);
        !matches(&self.reporting, &words) && matches(&self.cautions, &words)
    }

    /// The learned model's features: the words form of the member's own words (quotes left
    /// out), with each brand as one token, each number as another, and each link as what it
    /// is (official, hidden behind a shortener, a lookalike, or another site).
    pub fn learned_features(&self, text: &str) -> Vec<u64> {
        self.learned_features_with(text, &mut HashMap::new())
    }

    /// [`Shield::learned_features`], remembering in `brandish` which words are brands or
    /// imitate one (the costly part, when training reads thousands of lines).
    fn learned_features_with(&self, text: &str, brandish: &mut HashMap<String, bool>) -> Vec<u64> {
        let own = unquoted(text);
        let words = fold_words(&own);
        let mut tokens = String::with_capacity(words.len() + 32);
        for w in words.split(' ').filter(|w| !w.is_empty()) {
            if !tokens.is_empty() {
                tokens.push(' ');
            }
            let brand = match brandish.get(w) {
                Some(&b) => b,
                None => {
                    let b = self.brands.iter().any(|b| b == w) || self.lookalike_of(w).is_some();
                    brandish.insert(w.to_string(), b);
                    b
                }
            };
            if brand {
                tokens.push_str("zbrand");
            } else if w.bytes().all(|b| b.is_ascii_digit()) {
                tokens.push_str("znum");
            } else {
                tokens.push_str(w);
            }
        }
        for h in hosts(text) {
            let token = if self.is_official(&h) {
                "zofficiallink"
            } else if self.shorteners.contains(&h) {
                "zshortlink"
            } else if self.imitated_brand(&h).is_some() {
                "zlookalike"
            } else {
                "zlink"
            };
            tokens.push(' ');
            tokens.push_str(token);
        }
        let mut out = Vec::new();
        features::extract(&tokens, &mut out);
        // Each feature once: a message that repeats itself (500 mentions, a pasted wall of
        // numbers) must not read as more of anything than it says once.
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The rules, lookalike links, handles and hidden links, without the model.
    fn check_rules(&self, text: &str) -> Option<ScamFlag> {
        // What a member quotes is someone else's words ("someone DMed me 'share your OTP'"):
        // the rules read the member's own.
        let own = unquoted(text);
        let words = self.words(&own);
        let hosts = hosts(text);
        let unofficial: Vec<&str> = hosts
            .iter()
            .map(String::as_str)
            .filter(|h| !self.is_official(h))
            .collect();
        if let Some(set) = &self.rule_set {
            let hit = set.matches(&words).iter().find(|&i| {
                let r = &self.rules[i];
                (!r.needs_link || !unofficial.is_empty())
                    && r.also.as_ref().is_none_or(|a| a.is_match(&words))
                    && r.about.as_ref().is_none_or(|a| a.is_match(&words))
                    && !r.unless.as_ref().is_some_and(|u| u.is_match(&words))
            });
            if let Some(i) = hit {
                let r = &self.rules[i];
                return Some(ScamFlag {
                    rule: r.key.clone(),
                    kind: r.kind,
                    reason: r.reason.clone(),
                });
            }
        }
        for host in &unofficial {
            if let Some(brand) = self.imitated_brand(host) {
                return Some(ScamFlag {
                    rule: LOOKALIKE_RULE.to_string(),
                    kind: ScamKind::Link,
                    reason: format!("links to {host}, which imitates {brand} but is not theirs"),
                });
            }
        }
        if let Some(brand) = self.brand_handle(text) {
            return Some(ScamFlag {
                rule: HANDLE_RULE.to_string(),
                kind: ScamKind::Impersonation,
                reason: format!("points members to an account named like {brand} staff"),
            });
        }
        let short = unofficial
            .iter()
            .find(|h| self.shorteners.iter().any(|s| s == *h));
        // A short link beside the official site it leads to ("the bit.ly in the pinned post
        // goes to klarna.com") is someone explaining it.
        let explained = hosts.iter().any(|h| self.is_official(h));
        if let (Some(host), false) = (short, explained) {
            // The brand may be in the words or run into the link itself (`c1earpayrefund`).
            let whole = skeleton(&own);
            let brand = self
                .brands
                .iter()
                .zip(&self.brand_skeletons)
                .find(|(b, bs)| {
                    words
                        .split(' ')
                        .any(|w| w == b.as_str() || (b.len() >= 5 && w.contains(b.as_str())))
                        || (bs.len() >= 5 && whole.contains(bs.as_str()))
                });
            let reason = match brand {
                Some((brand, _)) => Some(format!(
                    "names {brand} and hides where its {host} link goes"
                )),
                // Without a brand: a hidden link offering help, refunds or verification.
                None => words
                    .split(' ')
                    .any(|x| HIDDEN_LINK_LURES.contains(&x))
                    .then(|| format!("offers help or money behind a {host} link")),
            };
            if let Some(reason) = reason {
                return Some(ScamFlag {
                    rule: SHORT_LINK_RULE.to_string(),
                    kind: ScamKind::Link,
                    reason,
                });
            }
        }
        None
    }

    /// Whether a display name imitates one of `protected` (the bot's name, the support role's
    /// name) or claims to be a brand's staff ("Klarna Support", "kIarna_help"). Names that
    /// merely mention a brand ("klarnafan") are fine.
    pub fn check_name(&self, name: &str, protected: &[&str]) -> Option<NameFlag> {
        let skel = skeleton(name);
        if skel.is_empty() {
            return None;
        }
        for p in protected {
            let ps = skeleton(p);
            if ps.chars().count() >= 3 && (skel == ps || (ps.len() >= 5 && near(&skel, &ps))) {
                return Some(NameFlag {
                    imitates: p.to_string(),
                });
            }
        }
        let words: Vec<String> = fold_words(name).split(' ').map(skeleton).collect();
        let staff_word = |w: &String| self.staff_skeletons.iter().any(|s| s == w);
        for (brand, bs) in self.brands.iter().zip(&self.brand_skeletons) {
            // "Klarna", "KlarnaSupport", "k l a r n a help", "Support-K1arna"; or the brand
            // beside a staff word: "Klarna Customer Support".
            let fused = skel == *bs || self.fused_near(&skel, bs);
            let beside = words.iter().any(|w| contains_near(w, bs)) && words.iter().any(staff_word);
            if fused || beside {
                return Some(NameFlag {
                    imitates: format!("{brand} staff"),
                });
            }
        }
        None
    }

    /// Whether `host` is an official domain or a subdomain of one.
    pub fn is_official(&self, host: &str) -> bool {
        self.official_domains.iter().any(|d| {
            host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// The brand a (non-official) host imitates, if any: a label or hyphen-separated part
    /// that is a brand or within one edit of it after folding confusables, or a brand's name
    /// run into other words (`klarnasupport`).
    pub fn imitated_brand(&self, host: &str) -> Option<&str> {
        // The last label is the top-level domain; a brand there (`shop.klarna`) is unusual
        // but still counts.
        // Each part between dots and hyphens, and each label with its hyphens dropped
        // (`clear-pay.co`, `after-pay-help.net`).
        let parts = host.split(['.', '-', '_']).filter(|p| !p.is_empty());
        let joined = host
            .split('.')
            .filter(|l| l.contains(['-', '_']))
            .map(|l| l.replace(['-', '_'], ""));
        for part in parts.map(str::to_string).chain(joined) {
            let s = skeleton(&part);
            for (brand, bs) in self.brands.iter().zip(&self.brand_skeletons) {
                if contains_near(&s, bs) || self.fused_near(&s, bs) {
                    return Some(brand);
                }
            }
        }
        None
    }

    /// Whether `skel` is staff words run into something near the brand (`afteгpayhelp`,
    /// `myk1arnasupport`): once staff words are cut off either end (up to four), what is left
    /// is within one edit of the brand. A near brand fused with any other word (`afterparty`)
    /// is not enough.
    fn fused_near(&self, skel: &str, brand: &str) -> bool {
        let words = &self.staff_skeletons;
        let mut stage = vec![skel.to_string()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &stage {
                for w in words {
                    for rest in [s.strip_prefix(w.as_str()), s.strip_suffix(w.as_str())]
                        .into_iter()
                        .flatten()
                    {
                        if near(rest, brand) {
                            return true;
                        }
                        if rest.len() > brand.len() && !next.iter().any(|n| n == rest) {
                            next.push(rest.to_string());
                        }
                    }
                }
            }
            if next.is_empty() {
                return false;
            }
            stage = next;
        }
        false
    }

    /// A handle-like token (with `@`, `_` or digits, as account names have) that is a brand
    /// run into staff words (`@klarna_helpdesk_x00x`, `KlarnaCare_0000`, `Kl4rnaHelp_7781`):
    /// the brand it imitates. Plain words (`klarna`, `klarnahelp`) are not handles.
    pub fn brand_handle(&self, text: &str) -> Option<&str> {
        for token in text.split(|c: char| c.is_whitespace() || ",;:()[]<>\"'!?".contains(c)) {
            let handle_like = token.starts_with('@')
                || token.contains('_')
                || token.chars().any(|c| c.is_ascii_digit());
            if !handle_like || token.contains('/') || token.contains('.') {
                continue;
            }
            let skel = skeleton(token);
            let cut: String = skel
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            for (brand, bs) in self.brands.iter().zip(&self.brand_skeletons) {
                let has_brand = cut.contains(bs.as_str()) || self.fused_near(&cut, bs);
                let staffy = self
                    .staff_skeletons
                    .iter()
                    .any(|w| w.len() >= 4 && cut.contains(w.as_str()));
                if has_brand && staffy && cut != *bs {
                    return Some(brand);
                }
            }
        }
        None
    }

    /// The brand a folded word imitates (`k1arna` → `klarna`), not the brand itself.
    fn lookalike_of(&self, w: &str) -> Option<&str> {
        let s = skeleton(w);
        self.brands
            .iter()
            .zip(&self.brand_skeletons)
            .find(|(b, bs)| w != b.as_str() && s.len() >= 4 && near(&s, bs))
            .map(|(b, _)| b.as_str())
    }

    /// `text` in the words form, with brand lookalikes replaced by the brand.
    pub fn words(&self, text: &str) -> String {
        let plain = fold_words(text);
        if self.brands.is_empty() {
            return plain;
        }
        let mut out = String::with_capacity(plain.len());
        for (i, w) in plain.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match self.lookalike_of(w) {
                Some(b) => out.push_str(b),
                None => out.push_str(w),
            }
        }
        out
    }
}

/// `text` without what it quotes: spans between matching quote marks (`'…'`, `"…"`, `‘…’`,
/// `“…”`, `«…»`) of at most 200 characters. An apostrophe inside a word (`don't`) is not a
/// quote mark.
fn unquoted(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['"', '“', '«', '‘', '\'']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let close = match c {
            '"' => Some('"'),
            '“' => Some('”'),
            '«' => Some('»'),
            '‘' => Some('’'),
            // An opening single quote starts a word: not after a letter ("don't").
            '\'' if i == 0 || !chars[i - 1].is_alphanumeric() => Some('\''),
            _ => None,
        };
        if let Some(close) = close {
            let end = chars[i + 1..]
                .iter()
                .take(200)
                .enumerate()
                .find(|&(k, &d)| {
                    d == close
                        && (close != '\''
                            || chars.get(i + 2 + k).is_none_or(|n| !n.is_alphanumeric()))
                })
                .map(|(k, _)| i + 1 + k);
            if let Some(end) = end {
                out.push(' ');
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// At most this many characters of a message are screened (like the classifier's cap).
const SCREEN_CHARS_MAX: usize = 2000;

fn cap(text: &str) -> &str {
    match text.char_indices().nth(SCREEN_CHARS_MAX) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// Maps a confusable letter (Cyrillic, Greek, Latin variants) to the Latin one it imitates.
fn latin(c: char) -> char {
    match c {
        'а' | 'α' | 'ɑ' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' | 'ё' => 'e',
        'һ' | 'н' => 'h',
        'і' | 'ι' | 'ı' | 'ї' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'ӏ' | 'ⅼ' => 'l',
        'м' => 'm',
        'п' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'μ' => 'u',
        'ν' | 'ѵ' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'ᴢ' => 'z',
        other => other,
    }
}

/// Zero-width and direction-control characters, which hide inside words (and turn a name's
/// text around when shown).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{ad}'
    )
}

/// NFKC, lowercase, confusables to Latin, invisible characters dropped: the common first pass.
fn fold_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .map(latin)
}

/// The words form (see the module doc), without the brand pass.
pub fn fold_words(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii_words(text);
    }
    fold_any_words(text)
}

/// [`fold_words`] for any text.
fn fold_any_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    // Marks stripped too ("café" is "cafe"), so rules' ASCII `\w` spans every Latin word.
    let folded: String = fold_chars(text).collect();
    for c in folded
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        if c == '\'' || c == '’' {
            continue;
        }
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else {
            space = true;
        }
    }
    out
}

/// [`fold_words`] for ASCII text, where normalizing, confusables and marks change nothing.
fn fold_ascii_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for b in text.bytes() {
        if b == b'\'' {
            continue;
        }
        if b.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            space = true;
        }
    }
    out
}

/// The skeleton (see the module doc): what a string looks like, for comparing names.
pub fn skeleton(text: &str) -> String {
    skeleton_of(text, text.is_ascii())
}

/// [`skeleton`]; `ascii` skips normalizing (which changes no ASCII text).
fn skeleton_of(text: &str, ascii: bool) -> String {
    let mut s = String::with_capacity(text.len());
    let folded: String = if ascii {
        text.to_ascii_lowercase()
    } else {
        fold_chars(text).collect::<String>().nfkd().collect()
    };
    for c in folded.chars() {
        if unicode_normalization::char::is_combining_mark(c) || !c.is_alphanumeric() {
            continue;
        }
        s.push(match c {
            '0' => 'o',
            '1' | 'i' | '!' | '|' => 'l',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '8' => 'b',
            other => other,
        });
    }
    s.replace("rn", "m").replace("vv", "w").replace("cl", "d")
}

/// Within one edit (insert, delete, substitute, or swap of neighbours) for names of 5 or
/// more characters; exact for shorter ones. Two edits would make `afterparty` a lookalike of
/// `afterpay`.
fn near(a: &str, b: &str) -> bool {
    let max = usize::from(b.chars().count() >= 5);
    a == b || (max > 0 && distance(a, b, max) <= max)
}

/// Whether `hay` holds `brand` itself (run into other words, for names of 5 or more) or is,
/// as a whole, near it.
fn contains_near(hay: &str, brand: &str) -> bool {
    if near(hay, brand) {
        return true;
    }
    brand.len() >= 5 && hay.contains(brand)
}

/// Optimal-string-alignment distance, giving up (returning `max + 1`) once it must exceed
/// `max`.
fn distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
    }
    d[a.len() * w + b.len()]
}

/// The hosts of the links and bare domains in `text` (`https://k1arna.com/x`, `klarna.com`,
/// `support@klarna-help.net`), folded (NFKC, lowercase, invisible characters dropped) but with
/// their letters kept as written, so `klárna.com` is not mistaken for `klarna.com`.
pub fn hosts(text: &str) -> Vec<String> {
    // A host needs a dot (or a written-out one); in ASCII text nothing else becomes one.
    let written_dot = || {
        text.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"dot"))
    };
    if text.is_ascii() && !text.contains('.') && !written_dot() {
        return Vec::new();
    }
    let folded: String = if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.nfkc()
            .filter(|c| !is_invisible(*c))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = defang(&folded);
    let mut out = Vec::new();
    for token in folded.split(|c: char| c.is_whitespace() || "<>()[]\"'`,;!?*|".contains(c)) {
        let token = token.trim_matches(|c: char| !c.is_alphanumeric());
        let rest = token.split_once("://").map(|(_, r)| r).unwrap_or(token);
        let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
        let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
        let host = host.trim_end_matches('.');
        if is_host(host) && !out.iter().any(|h| h == host) {
            out.push(host.to_string());
        }
    }
    out
}

/// Top-level domains a written-out link may end in ("klarna-help dot com").
const SPOKEN_TLDS: &[&str] = &[
    "com", "net", "org", "co", "uk", "io", "info", "xyz", "help", "app", "online", "site", "shop",
    "store", "top", "live", "me", "us", "eu", "de", "fr", "it", "es", "pl", "nl", "se", "in", "ng",
    "br", "au", "ca", "club", "fun", "support", "link", "click", "pro", "biz", "cc", "ru",
];

/// Links written so they don't look like links: `klarna-help[.]com`, `klarna(.)com`,
/// `sezzle dot help`, `klarna-verify .com`. Each becomes a plain dot (lowercase text in,
/// unchanged when there is nothing to undo).
fn defang(text: &str) -> std::borrow::Cow<'_, str> {
    let spoken = |t: &str| t.contains(" dot ") || t.contains(" .");
    let bracketed = ["[.]", "(.)", "[dot]", "(dot)"];
    if !bracketed.iter().any(|b| text.contains(b)) && !spoken(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut t = text
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("(dot)", ".");
    if spoken(&t) {
        // " dot com" and " .com" join only before a top-level domain, so "a dot on the map"
        // stays words.
        let tld = |x: &str| {
            let x = x.trim_end_matches(|c: char| !c.is_alphanumeric());
            SPOKEN_TLDS.contains(&x.split('/').next().unwrap_or(""))
        };
        let words: Vec<&str> = t.split(' ').collect();
        let mut out = String::with_capacity(t.len());
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            let next = words.get(i + 1).copied().unwrap_or("");
            // "the dot com bubble": a label is not a word like "the".
            let label = i > 0
                && !matches!(
                    words[i - 1],
                    "the" | "a" | "an" | "this" | "that" | "its" | "my" | "your" | "our" | "dot"
                );
            if label && w == "dot" && tld(next) {
                out.push('.');
                out.push_str(next);
                i += 2;
                continue;
            }
            if label && w.len() > 1 && w.starts_with('.') && tld(&w[1..]) {
                out.push_str(w);
                i += 1;
                continue;
            }
            if i > 0 {
                out.push(' ');
            }
            out.push_str(w);
            i += 1;
        }
        t = out;
    }
    std::borrow::Cow::Owned(t)
}

/// Whether `s` looks like a domain name: two or more labels of letters, digits and hyphens,
/// ending in a top-level domain of two or more letters.
fn is_host(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 || s.len() > 253 {
        return false;
    }
    let tld = labels[labels.len() - 1];
    let tld_ok = tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic);
    tld_ok
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().count() <= 63
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shield() -> Shield {
        Shield {
            brands: vec!["klarna".to_string(), "afterpay".to_string()],
            official_domains: vec!["klarna.com".into(), "afterpay.com".into()],
            staff_words: vec!["support".into(), "help".into(), "team".into()],
            ..Shield::default()
        }
        .with_skeletons()
    }

    /// Links written so filters miss them are still links: every host, in every written-out
    /// style; words that merely contain "dot" or a stray dot are not.
    #[test]
    fn written_out_links_are_links() {
        for host in [
            "klarna-help.com",
            "sezzle.help",
            "paypal-resolution.co.uk",
            "afterpay-refunds.net",
            "k1arna-verify.xyz",
        ] {
            let styles = [
                host.replace('.', "[.]"),
                host.replace('.', "(.)"),
                host.replace('.', " dot "),
                host.replace('.', " DOT "),
                host.replace('.', "[dot]"),
                host.replace('.', "(dot)"),
                {
                    // a space before the last dot: "klarna-verify .com"
                    let (a, b) = host.rsplit_once('.').unwrap();
                    format!("{a} .{b}")
                },
            ];
            for written in styles {
                for text in [
                    format!("go to {written} and log in"),
                    format!("{written}/refund"),
                    format!("the site is {written}, trust"),
                ] {
                    assert_eq!(hosts(&text), vec![host.to_string()], "{text:?}");
                }
            }
        }
        for text in [
            "put a dot on the map",
            "the dot com bubble was before my time",
            "i am at home .ok",
            "polka dot dress from the sale",
            "dot dot dot",
        ] {
            assert!(hosts(text).is_empty(), "{text:?}: {:?}", hosts(text));
        }
    }

    /// A brand split by hyphens inside one label (`clear-pay.co`) is the brand; words that
    /// only share letters with it are not.
    #[test]
    fn a_hyphenated_brand_is_the_brand() {
        let s = shield();
        for host in [
            "kla-rna.com",
            "after-pay.net",
            "my-after-pay-help.co",
            "k-l-a-r-n-a.io",
        ] {
            assert!(s.imitated_brand(host).is_some(), "{host}");
        }
        for host in ["after-party.com", "after-school.org", "the-shop.com"] {
            assert_eq!(s.imitated_brand(host), None, "{host}");
        }
    }

    #[test]
    fn lookalike_hosts_are_flagged_and_official_ones_are_not() {
        let s = shield();
        for bad in [
            "go to k1arna.com now",
            "https://klarna-support.help/login",
            "kIarna.com/refund",
            "visit klárna.com",
            "secure-klarna-login.xyz",
            "afteгpayhelp.com",
            "supportk1arna.net",
            "http://klarna.com.verify-account.io/x",
            "mail support@klarna-help.net",
            "klarnasupport.net",
            "afterpay-refunds.net",
            "aftrepay.com",
            "klаrna.com (cyrillic a)",
            "klarna.co",
        ] {
            let f = s.check(bad);
            assert!(
                f.as_ref().is_some_and(|f| f.kind == ScamKind::Link),
                "{bad}: {f:?}"
            );
        }
        for ok in [
            "klarna.com",
            "https://www.klarna.com/uk/customer-service/",
            "app.klarna.com",
            "asos.com and nike.com",
            "my order from zalando.de",
            "version 10.12.3",
            "i paid 12.50 at the shop",
            "e.g. the app",
            "afterparty.com tonight",
        ] {
            assert_eq!(s.check(ok), None, "{ok}");
        }
    }

    #[test]
    fn names_imitating_the_bot_the_role_or_brand_staff_are_flagged() {
        let s = shield();
        let protected = ["paymedic", "Support"];
        for bad in [
            "paymedic",
            "PayMedic",
            "paymed1c",
            "Klarna Support",
            "kIarna_help",
            "KLARNA",
            "Klarna Team ✓",
            "support",
            "ѕupport",
            "k l a r n a support",
            "Klarma Support",
        ] {
            assert!(s.check_name(bad, &protected).is_some(), "{bad}");
        }
        for ok in [
            "klarnafan99",
            "sam",
            "helpful hannah",
            "afterparty",
            "Mo",
            "Jimmy Klarna",
            "happy klarna user",
        ] {
            assert_eq!(s.check_name(ok, &protected), None, "{ok}");
        }
    }

    #[test]
    fn words_fold_confusables_and_brand_lookalikes() {
        let s = shield();
        assert_eq!(
            s.words("I'm from K1arna SUPPORT!!"),
            "im from klarna support"
        );
        assert_eq!(s.words("klаrna\u{200b} help"), "klarna help");
        assert_eq!(s.words("karma is real"), "karma is real");
    }

    #[test]
    fn quoted_words_are_left_out_and_apostrophes_stay() {
        assert_eq!(
            unquoted("someone sent 'share your OTP' lol"),
            "someone sent   lol"
        );
        assert_eq!(unquoted("he said \"i'm support\" ok"), "he said   ok");
        assert_eq!(unquoted("don't share it"), "don't share it");
        assert_eq!(unquoted("it's 'odd"), "it's 'odd");
        assert_eq!(unquoted("“dm me” they said"), "  they said");
    }

    proptest::proptest! {
        /// The ASCII fast paths give what the general ones give.
        #[test]
        fn ascii_fast_paths_agree_with_the_general_ones(text in "[ -~]{0,60}") {
            proptest::prop_assert_eq!(fold_ascii_words(&text), fold_any_words(&text));
            proptest::prop_assert_eq!(skeleton_of(&text, true), skeleton_of(&text, false));
        }
    }

    #[test]
    fn distance_counts_edits_and_swaps() {
        assert_eq!(distance("klarna", "klarna", 2), 0);
        assert_eq!(distance("klarna", "klarma", 2), 1);
        assert_eq!(distance("klarna", "kalrna", 2), 1);
        assert_eq!(distance("klarna", "klarnaa", 2), 1);
        assert_eq!(distance("abc", "xyz", 1), 2);
    }

    #[test]
    fn an_empty_shield_flags_nothing() {
        let s = Shield::default();
        assert_eq!(
            s.check("I'm klarna support, dm me your code at k1arna.com"),
            None
        );
        assert_eq!(s.check_name("Klarna Support", &[]), None);
    }
}
