//! Intent classification: normalize, score, decide, or stay quiet.
//!
//! A message is scored by a linear model learned at load time from the content pack's examples
//! (with an extra "out of scope" class learned from its chatter examples). Regex patterns add
//! strong evidence to their intent; negative patterns veto theirs. The top intent answers only
//! when its confidence reaches its threshold and leads the runner-up by the margin: otherwise
//! the result is `None` and the bot stays silent.

pub mod features;
pub mod model;
pub mod normalize;
pub mod scorer;

use crate::engine::content::{Content, Intent, IntentId, IntentKind};
use model::{softmax, LinearModel, Sample, TrainSettings};
use normalize::Normalizer;
use scorer::Scorer;

/// How the classifier is built. The defaults were chosen by 5-fold cross-validation on the
/// content pack's own examples (`cargo run --release --example crossval`) with one rule: among
/// the settings whose out-of-scope false-positive rate stays at or under 3%, the cheapest to
/// train within 0.005 of the highest cross-validated macro-F1 (training is most of the time
/// it takes to load a pack). 10 epochs at rate 1.0 gave 0.853 / 2.8%; the best, 40 epochs at
/// 0.6, gave 0.854 / 3.0% in four times the training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSettings {
    pub train: TrainSettings,
    /// Logit added to an intent when one of its patterns matches.
    pub pattern_boost: f32,
    /// Weight of each out-of-scope example relative to an intent example.
    pub out_of_scope_weight: f32,
    /// Whether pattern matches are also features the model learns a weight for.
    pub pattern_features: bool,
    /// Whether the pack's `[classifier] domain` gate applies.
    pub domain_gate: bool,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            train: TrainSettings::default(),
            pattern_boost: 3.0,
            out_of_scope_weight: 1.0,
            pattern_features: false,
            domain_gate: true,
        }
    }
}

/// Why a message was classified as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Pattern number `pattern` of `intent` matched.
    Pattern { intent: IntentId, pattern: usize },
    /// Negative pattern number `pattern` of `intent` matched and vetoed it.
    Veto { intent: IntentId, pattern: usize },
}

/// The classifier's answer for one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// The intent to answer, or `None` for out of scope.
    pub intent: Option<IntentId>,
    /// The best-scoring intent, even when it fell short of its threshold.
    pub best: Option<IntentId>,
    /// Probability of `best` (0 when there is none).
    pub confidence: f32,
    pub runner_up: Option<(IntentId, f32)>,
    pub evidence: Vec<Evidence>,
}

/// The production thresholds, as loaded from content and possibly overridden by config.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    pub per_intent: Vec<f32>,
    pub margin: f32,
}

#[derive(Clone, Debug)]
pub struct Classifier {
    normalizer: Normalizer,
    scorer: Scorer,
    /// The domain regex, every pattern and negative pattern, scanned in one pass.
    matcher: Matcher,
    /// What each regex of `matcher` stands for.
    rules: Vec<Rule>,
    thresholds: Thresholds,
    pattern_boost: f32,
    pattern_features: bool,
    /// Which intents the domain gate applies to (support intents), when it applies at all.
    gated: Option<Vec<bool>>,
}

/// One regex of the classifier's matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Pattern { intent: IntentId, pattern: usize },
    Negative { intent: IntentId, pattern: usize },
    Domain,
}

/// Every regex the classifier runs, with what it stands for, in matcher order: the domain
/// regex if there is one, then each intent's patterns, then each intent's negative patterns.
/// Content compilation builds [`Content::matcher`] from this same list.
fn rules_of<'a>(intents: &'a [Intent], domain: Option<&'a str>) -> Vec<(Rule, &'a str)> {
    let mut rules: Vec<(Rule, &str)> = domain.map(|d| (Rule::Domain, d)).into_iter().collect();
    for i in intents {
        rules.extend(i.patterns.iter().enumerate().map(|(pattern, p)| {
            let rule = Rule::Pattern {
                intent: i.id,
                pattern,
            };
            (rule, p.as_str())
        }));
    }
    for i in intents {
        rules.extend(i.negative_patterns.iter().enumerate().map(|(pattern, p)| {
            let rule = Rule::Negative {
                intent: i.id,
                pattern,
            };
            (rule, p.as_str())
        }));
    }
    rules
}

/// The regexes of [`Content::matcher`], in the order the classifier reads its matches.
pub fn matcher_patterns<'a>(intents: &'a [Intent], domain: Option<&'a str>) -> Vec<&'a str> {
    rules_of(intents, domain)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// Many regexes run as one: a single scan of a message reports every one that matches.
pub type Matcher = regex_automata::meta::Regex;

/// Compiles patterns into one [`Matcher`], the way the classifier runs them (configured as
/// `regex::RegexSet` is, with a larger state cache).
pub fn matcher(patterns: &[&str]) -> Result<Matcher, Box<regex_automata::meta::BuildError>> {
    use regex_automata::{meta, util::syntax, MatchKind};
    let patterns: Vec<String> = patterns.iter().map(|p| ascii_classes(p)).collect();
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::All)
                .utf8_empty(true)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                .nfa_size_limit(Some(32 << 20))
                // Room for the lazy DFA to keep its states across messages: with the
                // default, a set this size keeps clearing its cache and falls back to slower
                // engines.
                .hybrid_cache_capacity(32 << 20),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build_many(&patterns)
        .map_err(Box::new)
}

/// A matcher that matches nothing (for a pack whose regexes failed to compile).
pub fn empty_matcher() -> Matcher {
    matcher(&[]).expect("an empty matcher always builds")
}

/// The rules whose regexes match `norm`, in matcher order.
fn matched<'r>(
    matcher: &Matcher,
    rules: &'r [Rule],
    norm: &str,
) -> impl Iterator<Item = Rule> + 'r {
    use regex_automata::{Input, PatternID, PatternSet};
    let mut hits = PatternSet::new(matcher.pattern_len());
    matcher.which_overlapping_matches(&Input::new(norm), &mut hits);
    let found = hits.len();
    // Stops at the last hit instead of visiting every rule.
    (0..rules.len())
        .filter(move |&i| hits.contains(PatternID::must(i)))
        .take(found)
        .map(move |i| rules[i])
}

/// Whether a pattern of `intent` has matched (and so boosted it).
fn boosted(evidence: &[Evidence], intent: IntentId) -> bool {
    evidence
        .iter()
        .any(|e| matches!(e, Evidence::Pattern { intent: i, .. } if *i == intent))
}

/// `\b`, `\w`, `\d` and `\s` in their ASCII forms. Unicode word boundaries stop the fast
/// lazy DFA on any non-ASCII text, and Unicode classes make every pattern many times larger
/// to compile; the patterns are written for English words in normalized text, where the
/// ASCII forms find the same matches.
pub fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    // Inside `[...]` a group cannot appear, so escapes there are left alone.
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(k @ ('b' | 'w' | 'd' | 's')) if !in_class => {
                    out.push_str("(?-u:\\");
                    out.push(k);
                    out.push(')');
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Adds one feature per intent whose patterns match, so the model learns how much each
/// intent's patterns are worth against the out-of-scope examples.
fn pattern_features(matches: impl Iterator<Item = Rule>, out: &mut Vec<u64>) {
    let mut seen: Vec<IntentId> = Vec::new();
    for rule in matches {
        if let Rule::Pattern { intent, .. } = rule {
            if !seen.contains(&intent) {
                seen.push(intent);
                out.push(features::pattern(intent.index()));
            }
        }
    }
}

impl Classifier {
    /// Builds the classifier from validated content (patterns are known to compile).
    pub fn new(content: &Content) -> Classifier {
        Classifier::with_settings(content, ModelSettings::default())
    }

    pub fn with_settings(content: &Content, settings: ModelSettings) -> Classifier {
        // The matcher was built when the content was compiled, from this same list.
        let rules: Vec<Rule> = rules_of(&content.intents, content.domain.as_deref())
            .into_iter()
            .map(|(rule, _)| rule)
            .collect();
        let matcher = content.matcher.clone();
        debug_assert_eq!(rules.len(), matcher.pattern_len());
        let mut normalizer = Normalizer::new(content.lexicon.iter().cloned());
        let n = content.intents.len();
        let mut samples = Vec::new();
        let mut norms = Vec::new();
        for intent in &content.intents {
            for ex in &intent.examples {
                norms.push((normalizer.normalize(ex), intent.id.index()));
            }
        }
        for ex in &content.out_of_scope {
            norms.push((normalizer.normalize(ex), n));
        }
        normalizer.learn_words(norms.iter().map(|(t, _)| t.as_str()));
        for (text, class) in &norms {
            let mut features = Vec::new();
            features::extract(text, &mut features);
            if settings.pattern_features {
                pattern_features(matched(&matcher, &rules, text), &mut features);
            }
            samples.push(Sample {
                features,
                class: *class,
                weight: if *class == n {
                    settings.out_of_scope_weight
                } else {
                    1.0
                },
            });
        }
        let model = LinearModel::train(&samples, n + 1, settings.train);
        let scorer = Scorer::new(&model, normalizer.vocabulary());

        let thresholds = Thresholds {
            per_intent: content.intents.iter().map(|i| i.threshold).collect(),
            margin: content.margin,
        };
        Classifier {
            normalizer,
            scorer,
            matcher,
            rules,
            thresholds,
            pattern_boost: settings.pattern_boost,
            pattern_features: settings.pattern_features,
            gated: (content.domain.is_some() && settings.domain_gate).then(|| {
                content
                    .intents
                    .iter()
                    .map(|i| i.kind == IntentKind::Support)
                    .collect()
            }),
        }
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Replaces the production thresholds (from config).
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        assert_eq!(
            thresholds.per_intent.len(),
            self.thresholds.per_intent.len()
        );
        self.thresholds = thresholds;
    }

    pub fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    pub fn feature_count(&self) -> usize {
        self.scorer.feature_count()
    }

    /// Classifies one message.
    pub fn classify(&self, text: &str) -> Classification {
        let norm = self.normalizer.normalize(text);
        self.classify_normalized(&norm).0
    }

    /// Classifies already-normalized text; also returns every class probability (the last one
    /// is "out of scope").
    pub fn classify_normalized(&self, norm: &str) -> (Classification, Vec<f32>) {
        let n = self.thresholds.per_intent.len();
        let mut z = vec![0.0f32; n + 1];
        let mut evidence = Vec::new();
        if norm.is_empty() {
            z[n] = 10.0;
        } else {
            let mut extra = Vec::new();
            if self.pattern_features {
                pattern_features(matched(&self.matcher, &self.rules, norm), &mut extra);
            }
            self.scorer.logits(norm, &extra, &mut z);
            let mut in_domain = false;
            for rule in matched(&self.matcher, &self.rules, norm) {
                match rule {
                    Rule::Pattern { intent, pattern } => {
                        let first = !boosted(&evidence, intent);
                        evidence.push(Evidence::Pattern { intent, pattern });
                        if first {
                            z[intent.index()] += self.pattern_boost;
                        }
                    }
                    // A veto is final: whatever else is added, the logit stays -inf.
                    Rule::Negative { intent, pattern } => {
                        evidence.push(Evidence::Veto { intent, pattern });
                        z[intent.index()] = f32::NEG_INFINITY;
                    }
                    Rule::Domain => in_domain = true,
                }
            }
            if let Some(gated) = &self.gated {
                if !in_domain {
                    for (i, g) in gated.iter().enumerate() {
                        if *g && !boosted(&evidence, IntentId(i as u16)) {
                            z[i] = f32::NEG_INFINITY;
                        }
                    }
                }
            }
        }
        softmax(&mut z);
        let mut best: Option<(usize, f32)> = None;
        let mut second: Option<(usize, f32)> = None;
        for (i, &p) in z[..n].iter().enumerate() {
            if best.is_none_or(|(_, b)| p > b) {
                second = best;
                best = Some((i, p));
            } else if second.is_none_or(|(_, s)| p > s) {
                second = Some((i, p));
            }
        }
        if norm.is_empty() {
            // No words (empty or only symbols): there is no evidence for any intent, so none is
            // "best", even though every intent keeps a sliver of probability.
            best = None;
            second = None;
        }
        let id = |i: usize| IntentId(i as u16);
        let (best_i, confidence) = best.unwrap_or((0, 0.0));
        let second_p = second.map_or(0.0, |(_, p)| p);
        let answers = best.is_some()
            && confidence > 0.0
            && confidence >= self.thresholds.per_intent[best_i]
            && confidence - second_p >= self.thresholds.margin;
        let c = Classification {
            intent: answers.then(|| id(best_i)),
            best: best.filter(|(_, p)| *p > 0.0).map(|(i, _)| id(i)),
            confidence,
            runner_up: second.filter(|(_, p)| *p > 0.0).map(|(i, p)| (id(i), p)),
            evidence,
        };
        (c, z)
    }

    /// The features of `norm` that pushed hardest towards `intent`, strongest first.
    pub fn top_features(&self, norm: &str, intent: IntentId, k: usize) -> Vec<(String, f32)> {
        let named = features::named(norm);
        let x = if named.is_empty() {
            0.0
        } else {
            1.0 / (named.len() as f32).sqrt()
        };
        let mut scored: Vec<(String, f32)> = named
            .into_iter()
            .map(|(h, name)| (name, self.scorer.weight(h, intent.index()) * x))
            .filter(|(_, w)| *w > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        scored.dedup_by(|a, b| a.0 == b.0);
        scored.truncate(k);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_classes;

    #[test]
    fn escapes_become_ascii_outside_classes_only() {
        assert_eq!(
            ascii_classes(r"\bpay\w*\b"),
            r"(?-u:\b)pay(?-u:\w)*(?-u:\b)"
        );
        assert_eq!(ascii_classes(r"[\w-]+ \. \\b"), r"[\w-]+ \. \\b");
    }
}
