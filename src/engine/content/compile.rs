//! Checks a content pack and compiles it into [`Content`].
//!
//! Every problem is collected before anything is returned, each with the `file:line:col` it
//! comes from, so an editor fixes a pack in one pass instead of one error per run. The checks:
//! TOML syntax, unknown fields, missing fields and wrong types, duplicate ids, regexes that do
//! not compile, an example used twice, an intent with fewer than
//! [`EXAMPLES_PER_INTENT_MIN`] examples, a `next` that names no step, unreachable steps,
//! missing required intents, and text longer than Discord accepts.

use super::raw::{RawContent, RawIntent, RawOption, RawScam, RawScamModel, RawStep};
use super::{
    numbered, Content, ContentError, ContentErrors, Controls, Copy, ErrorKind, Intent, IntentId,
    IntentKind, Lines, Location, Reply, Step, StepId, StepOption, Target, YesMeans,
    EXAMPLES_PER_INTENT_MIN, REQUIRED_INTENTS,
};
use crate::engine::limits::{
    BUTTON_LABEL_LENGTH_MAX, EMBED_DESCRIPTION_LENGTH_MAX, EMBED_TITLE_LENGTH_MAX,
    MESSAGE_CONTENT_LENGTH_MAX, STEP_OPTIONS_MAX,
};
use crate::engine::nlu::normalize::Normalizer;
use crate::engine::nlu::{ascii_classes, empty_matcher, matcher, matcher_patterns, Matcher};
use crate::engine::scam::{self, Rule, ScamCopy, ScamKind, Shield};
use std::collections::HashMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

const DEFAULT_THRESHOLD: f32 = 0.5;
const DEFAULT_MARGIN: f32 = 0.15;

/// Parses and validates `src` (named `file` in errors).
pub fn compile(file: &str, src: &str) -> Result<Content, ContentErrors> {
    let mut cx = Cx {
        file,
        src,
        errors: Vec::new(),
        regex_spans: HashMap::new(),
        lines: Lines::new(src),
    };
    let raw = cx.parse();
    let content = raw.and_then(|raw| cx.build(raw));
    let mut errors = cx.errors;
    if errors.is_empty() {
        if let Some(mut content) = content {
            content.pack_hash = pack_hash(src);
            return Ok(content);
        }
    }
    errors.sort_by_key(|e| (e.location.line, e.location.col));
    Err(ContentErrors(errors))
}

/// A fingerprint of a content pack's source (64-bit FNV-1a), stored with each session so a
/// session saved under another pack is known to be one. Stable across builds and platforms.
pub fn pack_hash(src: &str) -> u64 {
    src.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

struct Cx<'a> {
    file: &'a str,
    src: &'a str,
    errors: Vec<ContentError>,
    /// Where each accepted regex was written, for errors found when they are compiled as a set.
    regex_spans: HashMap<String, Range<usize>>,
    lines: Lines,
}

impl<'a> Cx<'a> {
    fn at(&self, offset: usize) -> Location {
        self.lines.locate(self.file, self.src, offset)
    }

    fn err(&mut self, span: Range<usize>, kind: ErrorKind) {
        let location = self.at(span.start);
        self.errors.push(ContentError { location, kind });
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.lines.line(span.start)
    }

    /// TOML syntax (every error the parser can recover from), then unknown fields (all of
    /// them), then shape: the first missing field or wrong type serde meets.
    fn parse(&mut self) -> Option<RawContent> {
        let (table, syntax) = DeTable::parse_recoverable(self.src);
        if !syntax.is_empty() {
            for e in syntax {
                let span = e.span().unwrap_or(0..0);
                self.err(span, ErrorKind::Syntax(first_line(e.message())));
            }
            return None;
        }
        let mut unknown: Vec<Vec<Seg>> = Vec::new();
        let de = toml::de::Deserializer::from(table.clone());
        let result: Result<RawContent, _> = serde_ignored::deserialize(de, |path| {
            unknown.push(segments(&path));
        });
        for path in unknown {
            let (span, name) = locate(&table, &path);
            self.err(span, ErrorKind::UnknownField(name));
        }
        match result {
            Ok(raw) => Some(raw),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.err(span, ErrorKind::Shape(first_line(e.message())));
                None
            }
        }
    }

    fn build(&mut self, raw: RawContent) -> Option<Content> {
        if *raw.version.get_ref() != 1 {
            self.err(
                raw.version.span(),
                ErrorKind::Invalid(format!(
                    "version {} is not supported; this paymedic reads version 1",
                    raw.version.get_ref()
                )),
            );
        }
        let threshold = self.unit(
            raw.classifier.threshold.as_ref(),
            DEFAULT_THRESHOLD,
            "threshold",
        );
        let margin = self.unit(raw.classifier.margin.as_ref(), DEFAULT_MARGIN, "margin");
        let domain = raw
            .classifier
            .domain
            .as_ref()
            .and_then(|d| self.regexes(std::slice::from_ref(d)).pop());

        let mut lexicon = Vec::new();
        for (key, value) in &raw.lexicon {
            let ok_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() && !c.is_uppercase());
            if !ok_key {
                self.err(
                    value.span(),
                    ErrorKind::Invalid(format!(
                        "lexicon key `{key}` must be one lowercase word (letters and digits only)"
                    )),
                );
                continue;
            }
            if value.get_ref().trim().is_empty() {
                self.err(
                    value.span(),
                    ErrorKind::Invalid(format!("lexicon entry `{key}` is empty")),
                );
                continue;
            }
            lexicon.push((key.clone(), value.get_ref().clone()));
        }
        // The lexicon's values are rewritten text too, so they are normalized without it.
        let plain = Normalizer::new([]);
        let lexicon: Vec<(String, String)> = lexicon
            .into_iter()
            .map(|(k, v)| (k, plain.normalize(&v)))
            .collect();
        let normalizer = Normalizer::new(lexicon.clone());

        let copy = self.copy(&raw);
        let controls = Controls {
            fixed: self.phrases(&raw.controls.fixed, &normalizer, "controls.fixed"),
            stuck: self.phrases(&raw.controls.stuck, &normalizer, "controls.stuck"),
            human: self.phrases(&raw.controls.human, &normalizer, "controls.human"),
            no_thanks: self.phrases(&raw.controls.no_thanks, &normalizer, "controls.no_thanks"),
            reset: self.phrases(&raw.controls.reset, &normalizer, "controls.reset"),
            yes: self.phrases(&raw.controls.yes, &normalizer, "controls.yes"),
            no: self.phrases(&raw.controls.no, &normalizer, "controls.no"),
            not_human: self.phrases_opt(&raw.controls.not_human, &normalizer, "controls.not_human"),
        };

        // Examples, keyed by normalized text, to find one used twice.
        let mut seen: HashMap<String, (String, usize)> = HashMap::new();
        let mut out_of_scope = Vec::new();
        for ex in &raw.out_of_scope.examples {
            if self.example(ex, "out_of_scope", &normalizer, &mut seen) {
                out_of_scope.push(ex.get_ref().clone());
            }
        }
        if out_of_scope.is_empty() {
            self.err(
                0..0,
                ErrorKind::Invalid("[out_of_scope] needs examples of chatter to ignore".into()),
            );
        }

        let mut intents = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for ri in &raw.intents {
            let key = ri.id.get_ref().clone();
            if let Some(&first_line) = ids.get(&key) {
                self.err(
                    ri.id.span(),
                    ErrorKind::Duplicate {
                        what: "intent id",
                        id: key,
                        first_line,
                    },
                );
                continue;
            }
            ids.insert(key.clone(), self.line(&ri.id.span()));
            let id = IntentId(intents.len() as u16);
            if let Some(intent) = self.intent(id, ri, threshold, &normalizer, &mut seen) {
                intents.push(intent);
            }
        }
        for required in REQUIRED_INTENTS {
            if !ids.contains_key(*required) {
                let end = self.src.len();
                self.err(end..end, ErrorKind::MissingIntent(required.to_string()));
            }
        }
        let matcher = self.matcher(&intents, domain.as_deref());
        let scam = match &raw.scam {
            Some(scam) => {
                // Every intent example and chatter line is an ordinary message to the model.
                let ordinary: Vec<&str> = raw
                    .intents
                    .iter()
                    .flat_map(|i| i.examples.iter())
                    .chain(&raw.out_of_scope.examples)
                    .map(|e| e.get_ref().as_str())
                    .collect();
                self.scam(scam, &ordinary)
            }
            None => Shield::default(),
        };
        if intents.len() > usize::from(u16::MAX) {
            self.err(0..0, ErrorKind::Invalid("too many intents".into()));
        }

        Some(Content {
            intents,
            copy,
            controls,
            lexicon,
            out_of_scope,
            threshold,
            margin,
            domain,
            matcher,
            scam,
            pack_hash: 0,
        })
    }

    fn unit(&mut self, v: Option<&Spanned<f32>>, default: f32, what: &str) -> f32 {
        match v {
            None => default,
            Some(v) => {
                let x = *v.get_ref();
                if !(x > 0.0 && x < 1.0) {
                    self.err(
                        v.span(),
                        ErrorKind::Invalid(format!(
                            "{what} must be between 0 and 1 (exclusive), not {x}"
                        )),
                    );
                    default
                } else {
                    x
                }
            }
        }
    }

    /// Checks a line sent as message content: not empty, within Discord's limit.
    fn text(&mut self, s: &Spanned<String>, what: &str, max: usize) -> String {
        let t = s.get_ref().trim();
        if t.is_empty() {
            self.err(s.span(), ErrorKind::Invalid(format!("{what} is empty")));
        }
        let len = t.chars().count();
        if len > max {
            self.err(
                s.span(),
                ErrorKind::TooLong {
                    what: what.to_string(),
                    len,
                    max,
                },
            );
        }
        t.to_string()
    }

    fn copy(&mut self, raw: &RawContent) -> Copy {
        let c = &raw.copy;
        let m = MESSAGE_CONTENT_LENGTH_MAX;
        let b = BUTTON_LABEL_LENGTH_MAX;
        Copy {
            fallback: self.text(&c.fallback, "copy.fallback", m),
            confirm: self.text(&c.confirm, "copy.confirm", m),
            fixed: self.text(&c.fixed, "copy.fixed", m),
            offer_human: self.text(&c.offer_human, "copy.offer_human", m),
            human_requested: self.text(&c.human_requested, "copy.human_requested", m),
            human_declined: self.text(&c.human_declined, "copy.human_declined", m),
            already_requested: self.text(&c.already_requested, "copy.already_requested", m),
            unclear: self.text(&c.unclear, "copy.unclear", m),
            unclear_again: self.text(&c.unclear_again, "copy.unclear_again", m),
            reset: self.text(&c.reset, "copy.reset", m),
            stale: self.text(&c.stale, "copy.stale", m),
            sensitive: self.text(&c.sensitive, "copy.sensitive", m),
            sensitive_removed: self.text(&c.sensitive_removed, "copy.sensitive_removed", m),
            handed_back: self.text(&c.handed_back, "copy.handed_back", m),
            ticket_opened: self.text(&c.ticket_opened, "copy.ticket_opened", m),
            ticket_exists: self.text(&c.ticket_exists, "copy.ticket_exists", m),
            ticket_pointer: self.text(&c.ticket_pointer, "copy.ticket_pointer", m),
            ticket_failed: self.text(&c.ticket_failed, "copy.ticket_failed", m),
            ticket_escalated: self.text(&c.ticket_escalated, "copy.ticket_escalated", m),
            ticket_closed: self.text(&c.ticket_closed, "copy.ticket_closed", m),
            rate_question: self.text(&c.rate_question, "copy.rate_question", m),
            rate_thanks: self.text(&c.rate_thanks, "copy.rate_thanks", m),
            slow_down: self.text(&c.slow_down, "copy.slow_down", m),
            not_yours: self.text(&c.not_yours, "copy.not_yours", m),
            moderators_only: self.text(&c.moderators_only, "copy.moderators_only", m),
            label_fixed: self.text(&c.label_fixed, "copy.label_fixed", b),
            label_stuck: self.text(&c.label_stuck, "copy.label_stuck", b),
            label_human: self.text(&c.label_human, "copy.label_human", b),
            label_no_thanks: self.text(&c.label_no_thanks, "copy.label_no_thanks", b),
            incident_notify: self.text(&c.incident_notify, "copy.incident_notify", b),
            incident_more_steps: self.text(&c.incident_more_steps, "copy.incident_more_steps", m),
            incident_subscribed: self.text(&c.incident_subscribed, "copy.incident_subscribed", m),
            incident_already_subscribed: self.text(
                &c.incident_already_subscribed,
                "copy.incident_already_subscribed",
                m,
            ),
            incident_over: self.text(&c.incident_over, "copy.incident_over", m),
            incident_fixed: self.text(&c.incident_fixed, "copy.incident_fixed", m),
            status_clear: self.text(&c.status_clear, "copy.status_clear", m),
            status_incident: self.text(&c.status_incident, "copy.status_incident", m),
        }
    }

    fn phrases(&mut self, list: &[Spanned<String>], n: &Normalizer, what: &str) -> Vec<String> {
        if list.is_empty() {
            self.err(
                0..0,
                ErrorKind::Invalid(format!("{what} needs at least one phrase")),
            );
        }
        let mut out = Vec::new();
        for p in list {
            let norm = n.normalize(p.get_ref());
            if norm.is_empty() {
                self.err(
                    p.span(),
                    ErrorKind::Invalid(format!("{what} has a phrase with no words")),
                );
            } else {
                out.push(norm);
            }
        }
        out
    }

    /// Records an example; false when it is empty or was already used.
    fn example(
        &mut self,
        ex: &Spanned<String>,
        owner: &str,
        n: &Normalizer,
        seen: &mut HashMap<String, (String, usize)>,
    ) -> bool {
        let norm = n.normalize(ex.get_ref());
        if norm.is_empty() {
            self.err(ex.span(), ErrorKind::Invalid("example has no words".into()));
            return false;
        }
        let line = self.line(&ex.span());
        if let Some((first_owner, first_line)) = seen.get(&norm) {
            let kind = if first_owner == owner {
                ErrorKind::Duplicate {
                    what: "example",
                    id: ex.get_ref().clone(),
                    first_line: *first_line,
                }
            } else {
                ErrorKind::SharedExample(format!("`{first_owner}` at line {first_line}"))
            };
            self.err(ex.span(), kind);
            return false;
        }
        seen.insert(norm, (owner.to_string(), line));
        true
    }

    /// Checks each regex's syntax (cheap: nothing is compiled here; [`Cx::matcher`] compiles
    /// them all at once) and keeps the valid ones.
    fn regexes(&mut self, list: &[Spanned<String>]) -> Vec<String> {
        let mut out = Vec::new();
        for p in list {
            match regex_syntax::Parser::new().parse(&ascii_classes(p.get_ref())) {
                Ok(_) => {
                    self.regex_spans
                        .entry(p.get_ref().clone())
                        .or_insert_with(|| p.span());
                    out.push(p.get_ref().clone());
                }
                Err(e) => self.err(p.span(), ErrorKind::BadRegex(regex_reason(&e))),
            }
        }
        out
    }

    /// The classifier runs every regex as one [`Matcher`] (see [`Content::matcher`]). It is
    /// built here, once, so a set too big to compile is a content error rather than a crash.
    /// Only when it fails is each regex compiled on its own, to say which one is at fault.
    fn matcher(&mut self, intents: &[Intent], domain: Option<&str>) -> Matcher {
        let all = matcher_patterns(intents, domain);
        let error = match matcher(&all) {
            Ok(m) => return m,
            Err(e) => e,
        };
        let mut located = false;
        for p in &all {
            let built = regex::RegexBuilder::new(&ascii_classes(p))
                .size_limit(1 << 20)
                .build();
            if let Err(e) = built {
                let span = self.regex_spans.get(*p).cloned().unwrap_or(0..0);
                self.err(span, ErrorKind::BadRegex(regex_reason(&e)));
                located = true;
            }
        }
        if !located {
            self.err(
                0..0,
                ErrorKind::BadRegex(format!("all patterns together: {}", regex_reason(&error))),
            );
        }
        empty_matcher()
    }

    fn intent(
        &mut self,
        id: IntentId,
        ri: &RawIntent,
        default_threshold: f32,
        n: &Normalizer,
        seen: &mut HashMap<String, (String, usize)>,
    ) -> Option<Intent> {
        let key = ri.id.get_ref().clone();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            self.err(
                ri.id.span(),
                ErrorKind::Invalid(format!(
                    "intent id `{key}` must be lowercase letters, digits and underscores"
                )),
            );
        }
        let kind = match ri.kind.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
            None | Some(("support", _)) => IntentKind::Support,
            Some(("social", _)) => IntentKind::Social,
            Some((other, span)) => {
                self.err(
                    span,
                    ErrorKind::Invalid(format!(
                        "kind `{other}` is neither \"support\" nor \"social\""
                    )),
                );
                IntentKind::Support
            }
        };
        let threshold = self.unit(ri.threshold.as_ref(), default_threshold, "threshold");
        let title = self.text(&ri.title, "title", EMBED_TITLE_LENGTH_MAX);
        let patterns = self.regexes(&ri.patterns);
        let negative_patterns = self.regexes(&ri.negative_patterns);
        let mut examples = Vec::new();
        for ex in &ri.examples {
            if self.example(ex, &key, n, seen) {
                examples.push(ex.get_ref().clone());
            }
        }
        if examples.len() < EXAMPLES_PER_INTENT_MIN {
            let n = examples.len();
            self.err(
                ri.id.span(),
                ErrorKind::Invalid(format!(
                    "intent `{key}` has {n} usable example{}; it needs at least \
                     {EXAMPLES_PER_INTENT_MIN} to learn from",
                    if n == 1 { "" } else { "s" }
                )),
            );
        }

        let reply = ri.reply.get_ref();
        let intro = self.text(&reply.intro, "reply.intro", MESSAGE_CONTENT_LENGTH_MAX);
        let steps: Vec<String> = reply
            .steps
            .iter()
            .map(|s| self.text(s, "reply step", MESSAGE_CONTENT_LENGTH_MAX))
            .collect();
        let reply = Reply { intro, steps };
        let description = numbered(&reply.intro, &reply.steps).chars().count();
        if description > EMBED_DESCRIPTION_LENGTH_MAX {
            self.err(
                ri.reply.span(),
                ErrorKind::TooLong {
                    what: "the reply as an embed description".into(),
                    len: description,
                    max: EMBED_DESCRIPTION_LENGTH_MAX,
                },
            );
        }
        if description > MESSAGE_CONTENT_LENGTH_MAX {
            self.err(
                ri.reply.span(),
                ErrorKind::TooLong {
                    what: "the reply as plain message content".into(),
                    len: description,
                    max: MESSAGE_CONTENT_LENGTH_MAX,
                },
            );
        }

        if kind == IntentKind::Social && !ri.flow.is_empty() {
            self.err(
                ri.flow[0].id.span(),
                ErrorKind::Invalid(format!("social intent `{key}` cannot have a flow")),
            );
        }
        let flow = self.flow(&ri.flow, n);
        Some(Intent {
            id,
            key,
            typed_title: n.normalize(&title),
            title,
            kind,
            threshold,
            patterns,
            negative_patterns,
            examples,
            reply,
            flow,
        })
    }

    fn flow(&mut self, raw: &[RawStep], n: &Normalizer) -> Vec<Step> {
        if raw.len() > usize::from(u8::MAX) {
            self.err(
                raw[0].id.span(),
                ErrorKind::Invalid("a flow may have at most 255 steps".into()),
            );
            return Vec::new();
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, s) in raw.iter().enumerate() {
            let key = s.id.get_ref().as_str();
            if let Some(&first) = index.get(key) {
                let first_line = self.line(&raw[first].id.span());
                self.err(
                    s.id.span(),
                    ErrorKind::Duplicate {
                        what: "step id",
                        id: key.to_string(),
                        first_line,
                    },
                );
            } else if key == "end" || key == "human" {
                self.err(
                    s.id.span(),
                    ErrorKind::Invalid(format!("`{key}` is reserved and cannot be a step id")),
                );
            } else {
                index.insert(key, i);
            }
        }
        let mut steps = Vec::new();
        for (i, rs) in raw.iter().enumerate() {
            let in_order = if i + 1 < raw.len() {
                Some(Target::Step(StepId(i as u8 + 1)))
            } else {
                None
            };
            let explicit = self.resolve(&index, &rs.next);
            let on_stuck = explicit.or(in_order).unwrap_or(Target::Human);
            let default_next = explicit.or(in_order).unwrap_or(Target::End);
            if rs.options.len() > STEP_OPTIONS_MAX {
                self.err(
                    rs.id.span(),
                    ErrorKind::Invalid(format!(
                        "step `{}` has {} options; at most {STEP_OPTIONS_MAX} fit beside the universal buttons",
                        rs.id.get_ref(),
                        rs.options.len()
                    )),
                );
            }
            let options = rs
                .options
                .iter()
                .map(|o| self.option(o, default_next, &index, n))
                .collect();
            let yes = match rs.yes.as_ref().map(|y| (y.get_ref().as_str(), y.span())) {
                None | Some(("fixed", _)) => YesMeans::Fixed,
                Some(("human", _)) => YesMeans::Human,
                Some((other, span)) => {
                    self.err(
                        span,
                        ErrorKind::Invalid(format!(
                            "`yes = \"{other}\"` must be \"fixed\" or \"human\""
                        )),
                    );
                    YesMeans::Fixed
                }
            };
            if rs.yes.is_some() && !rs.options.is_empty() {
                self.err(
                    rs.id.span(),
                    ErrorKind::Invalid(format!(
                        "step `{}` has options, so `yes` does not apply: give an option also = [\"yes\"] instead",
                        rs.id.get_ref()
                    )),
                );
            }
            steps.push(Step {
                yes,
                key: rs.id.get_ref().clone(),
                say: rs
                    .say
                    .as_ref()
                    .map(|s| self.text(s, "say", MESSAGE_CONTENT_LENGTH_MAX)),
                ask: self.text(&rs.ask, "ask", MESSAGE_CONTENT_LENGTH_MAX),
                options,
                on_stuck,
            });
        }
        // Reachability from the first step, through options and "still stuck".
        let mut reached = vec![false; steps.len()];
        let mut stack = if steps.is_empty() {
            vec![]
        } else {
            vec![0usize]
        };
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut reached[i], true) {
                continue;
            }
            let s: &Step = &steps[i];
            for t in s.options.iter().map(|o| o.next).chain([s.on_stuck]) {
                if let Target::Step(StepId(j)) = t {
                    stack.push(usize::from(j));
                }
            }
        }
        for (i, r) in reached.iter().enumerate() {
            if !r {
                self.err(
                    raw[i].id.span(),
                    ErrorKind::UnreachableStep(raw[i].id.get_ref().clone()),
                );
            }
        }
        steps
    }

    fn option(
        &mut self,
        o: &RawOption,
        default_next: Target,
        index: &HashMap<&str, usize>,
        n: &Normalizer,
    ) -> StepOption {
        let label = self.text(&o.label, "option label", BUTTON_LABEL_LENGTH_MAX);
        let mut typed = vec![n.normalize(&label)];
        typed.extend(self.phrases_opt(&o.also, n, "also"));
        let when = self
            .regexes(&o.when)
            .iter()
            .filter_map(|p| {
                // Syntax was checked above; only a pattern over the size limit fails here.
                let built = regex::RegexBuilder::new(&ascii_classes(p))
                    .size_limit(1 << 20)
                    .build();
                match built {
                    Ok(r) => Some(r),
                    Err(e) => {
                        let span = self.regex_spans.get(p).cloned().unwrap_or(0..0);
                        self.err(span, ErrorKind::BadRegex(regex_reason(&e)));
                        None
                    }
                }
            })
            .collect();
        StepOption {
            when,
            say: o
                .say
                .as_ref()
                .map(|s| self.text(s, "say", MESSAGE_CONTENT_LENGTH_MAX)),
            next: self.resolve(index, &o.next).unwrap_or(default_next),
            label,
            typed,
        }
    }

    /// A `next` value as a [`Target`]; `None` when absent. An unknown name is reported and
    /// treated as "end" so checking can go on.
    fn resolve(
        &mut self,
        index: &HashMap<&str, usize>,
        next: &Option<Spanned<String>>,
    ) -> Option<Target> {
        let next = next.as_ref()?;
        match next.get_ref().as_str() {
            "end" => Some(Target::End),
            "human" => Some(Target::Human),
            name => match index.get(name) {
                Some(&i) => Some(Target::Step(StepId(i as u8))),
                None => {
                    self.err(next.span(), ErrorKind::UnknownStep(name.to_string()));
                    Some(Target::End)
                }
            },
        }
    }

    /// Like [`Cx::phrases`], for a list that may be empty.
    /// `[scam]`: brands and domains are checked for shape, every regex on its own (with
    /// `{brand}` expanded) so an error points at it, and the texts against Discord's limits.
    fn scam(&mut self, raw: &RawScam, intent_examples: &[&str]) -> Shield {
        let m = MESSAGE_CONTENT_LENGTH_MAX;
        let mut brands = Vec::new();
        for b in &raw.brands {
            let v = b.get_ref().trim();
            if v.len() < 3
                || !v
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                self.err(
                    b.span(),
                    ErrorKind::Invalid(format!(
                        "brand `{v}` must be one lowercase word of 3 or more letters or digits"
                    )),
                );
                continue;
            }
            brands.push(v.to_string());
        }
        let official_domains = self.hosts(&raw.official_domains, "official domain");
        let shorteners = self.hosts(&raw.shorteners, "shortener");
        let staff_words: Vec<String> = raw
            .staff_words
            .iter()
            .map(|w| scam::fold_words(w.get_ref()))
            .filter(|w| !w.is_empty())
            .collect();
        let brand_alt = format!("(?:{})", brands.join("|"));
        let expand = |p: &str| p.replace("{brand}", &brand_alt);
        let checked = |cx: &mut Self, list: &[Spanned<String>]| -> Vec<String> {
            let mut out = Vec::new();
            for p in list {
                // ASCII classes, as the classifier's: the words form is lowercase words, and
                // Unicode `\w` makes a set of gap patterns too big to compile.
                let full = ascii_classes(&expand(p.get_ref()));
                match regex::RegexBuilder::new(&full).size_limit(1 << 20).build() {
                    Ok(_) => out.push(format!("(?:{full})")),
                    Err(e) => cx.err(p.span(), ErrorKind::BadRegex(regex_reason(&e))),
                }
            }
            out
        };
        let mut rules = Vec::new();
        let mut rule_patterns = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for r in &raw.rules {
            let key = r.id.get_ref().clone();
            if let Some(&first_line) = ids.get(&key) {
                self.err(
                    r.id.span(),
                    ErrorKind::Duplicate {
                        what: "scam rule id",
                        id: key,
                        first_line,
                    },
                );
                continue;
            }
            ids.insert(key.clone(), self.line(&r.id.span()));
            let kind = ScamKind::from_key(r.kind.get_ref());
            if kind.is_none() {
                self.err(
                    r.kind.span(),
                    ErrorKind::Invalid(format!(
                        "scam rule kind `{}` must be impersonation, credentials or link",
                        r.kind.get_ref()
                    )),
                );
            }
            let reason = self.text(&r.reason, &format!("scam rule `{key}` reason"), 200);
            if r.patterns.is_empty() {
                self.err(
                    r.id.span(),
                    ErrorKind::Invalid(format!("scam rule `{key}` needs patterns")),
                );
            }
            let patterns = checked(self, &r.patterns);
            let joined = |cx: &mut Self, list: &[Spanned<String>], what: &str| {
                let list = checked(cx, list);
                if list.is_empty() {
                    return None;
                }
                match regex::RegexBuilder::new(&list.join("|"))
                    .size_limit(8 << 20)
                    .build()
                {
                    Ok(re) => Some(re),
                    Err(e) => {
                        cx.err(
                            r.id.span(),
                            ErrorKind::BadRegex(format!(
                                "scam rule `{key}` `{what}` together: {}",
                                regex_reason(&e)
                            )),
                        );
                        None
                    }
                }
            };
            let also = joined(self, &r.also, "also");
            let unless = joined(self, &r.unless, "unless");
            let about = joined(self, &r.about, "about");
            if let (Some(kind), false) = (kind, patterns.is_empty()) {
                rules.push(Rule {
                    key,
                    kind,
                    reason,
                    needs_link: r.needs_link,
                    also,
                    about,
                    unless,
                    trusted: r.trusted,
                });
                rule_patterns.push(patterns.join("|"));
            }
        }
        let reporting = checked(self, &raw.reporting);
        let cautions = checked(self, &raw.cautions);
        let set = |cx: &mut Self, patterns: &[String], what: &str| {
            if patterns.is_empty() {
                return None;
            }
            match regex::RegexSetBuilder::new(patterns)
                .size_limit(8 << 20)
                .build()
            {
                Ok(s) => Some(s),
                Err(e) => {
                    cx.err(
                        0..0,
                        ErrorKind::BadRegex(format!("{what} together: {}", regex_reason(&e))),
                    );
                    None
                }
            }
        };
        let rule_set = set(self, &rule_patterns, "scam rules");
        let reporting = set(self, &reporting, "scam.reporting");
        let cautions = set(self, &cautions, "scam.cautions");
        let copy = ScamCopy {
            warning: self.text(&raw.warning, "scam.warning", m),
            notice: self.text(&raw.notice, "scam.notice", m),
            name_notice: self.text(&raw.name_notice, "scam.name_notice", m),
        };
        let mut shield = Shield {
            rules,
            rule_set,
            reporting,
            cautions,
            brands,
            brand_skeletons: Vec::new(),
            staff_skeletons: Vec::new(),
            official_domains,
            shorteners,
            staff_words,
            learned: None,
            copy,
        };
        shield = shield.with_skeletons();
        if let Some(model) = &raw.model {
            shield.learned = self.scam_model(&shield, model, intent_examples);
        }
        shield
    }

    /// `[scam.model]`: the probabilities in range and in order (veto <= threshold <=
    /// over_report), every line checked (not empty, within a message's length, no secret, not
    /// labelled twice), enough lines of each label; then the model is trained.
    fn scam_model(
        &mut self,
        shield: &Shield,
        raw: &RawScamModel,
        intent_examples: &[&str],
    ) -> Option<scam::Learned> {
        let threshold = self.unit(Some(&raw.threshold), 0.9, "scam.model.threshold");
        let veto = match &raw.veto {
            Some(v) if *v.get_ref() > threshold => {
                self.err(
                    v.span(),
                    ErrorKind::Invalid(format!(
                        "scam.model.veto ({}) must not be above scam.model.threshold ({threshold})",
                        v.get_ref()
                    )),
                );
                0.0
            }
            Some(v) => self.unit(Some(v), 0.0, "scam.model.veto"),
            None => 0.0,
        };
        let over_report = match &raw.over_report {
            Some(v) if *v.get_ref() < threshold => {
                self.err(
                    v.span(),
                    ErrorKind::Invalid(format!(
                        "scam.model.over_report ({}) must not be below scam.model.threshold ({threshold}): a report needs more to be flagged than other talk",
                        v.get_ref()
                    )),
                );
                scam::NEVER
            }
            Some(v) => self.unit(Some(v), scam::NEVER, "scam.model.over_report"),
            None => scam::NEVER,
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut lines = |cx: &mut Self, list: &[Spanned<String>], what: &str, min: usize| {
            let mut out = Vec::new();
            for l in list {
                let text = cx.text(
                    l,
                    &format!("scam.model.{what} line"),
                    MESSAGE_CONTENT_LENGTH_MAX,
                );
                if crate::engine::sensitive::looks_sensitive(&text) {
                    cx.err(
                        l.span(),
                        ErrorKind::Invalid(format!(
                            "scam.model.{what} line holds what looks like a card number, code or password; write it without one"
                        )),
                    );
                    continue;
                }
                let key = scam::fold_words(&text);
                if let Some(&first_line) = seen.get(&key) {
                    cx.err(
                        l.span(),
                        ErrorKind::Duplicate {
                            what: "scam.model line",
                            id: text,
                            first_line,
                        },
                    );
                    continue;
                }
                seen.insert(key, cx.line(&l.span()));
                out.push(text);
            }
            if out.len() < min {
                cx.err(
                    raw.threshold.span(),
                    ErrorKind::Invalid(format!(
                        "scam.model.{what} needs at least {min} lines to learn from, not {}",
                        out.len()
                    )),
                );
            }
            out
        };
        let kinds = [
            (
                ScamKind::Impersonation,
                lines(self, &raw.impersonation, "impersonation", 10),
            ),
            (
                ScamKind::Credentials,
                lines(self, &raw.credentials, "credentials", 10),
            ),
            (ScamKind::Link, lines(self, &raw.link, "link", 10)),
        ];
        let ordinary = lines(self, &raw.ordinary, "ordinary", 30);
        if !self.errors.is_empty() {
            // The pack is refused anyway: no need to train.
            return None;
        }
        let scams: Vec<(&str, ScamKind)> = kinds
            .iter()
            .flat_map(|(k, l)| l.iter().map(move |t| (t.as_str(), *k)))
            .collect();
        // A labelled ordinary line counts fully; an intent example (support talk that is never
        // a scam, but was not chosen to sit near one) counts half.
        let ordinary: Vec<(&str, f32)> = ordinary
            .iter()
            .map(|t| (t.as_str(), 1.0))
            .chain(intent_examples.iter().map(|t| (*t, 0.5)))
            .collect();
        let mut learned =
            scam::Learned::train(shield, &scams, &ordinary, threshold, veto, scam::TRAINING);
        learned.over_report = over_report;
        Some(learned)
    }

    /// Host names (`example.com`), lowercase; each bad one is reported.
    fn hosts(&mut self, list: &[Spanned<String>], what: &str) -> Vec<String> {
        let mut out = Vec::new();
        for d in list {
            let v = d.get_ref().trim();
            let hosts = scam::hosts(v);
            if hosts.len() != 1 || hosts[0] != v {
                self.err(
                    d.span(),
                    ErrorKind::Invalid(format!(
                        "{what} `{v}` must be a lowercase host name like `example.com`"
                    )),
                );
                continue;
            }
            out.push(v.to_string());
        }
        out
    }

    fn phrases_opt(&mut self, list: &[Spanned<String>], n: &Normalizer, what: &str) -> Vec<String> {
        if list.is_empty() {
            return Vec::new();
        }
        self.phrases(list, n, what)
    }
}

/// The regex crate's syntax errors span several lines (pattern, caret, reason); the reason is
/// the last one.
fn regex_reason(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

fn first_line(s: &str) -> String {
    s.trim().lines().next().unwrap_or("").trim().to_string()
}

/// A step on the way to an ignored field.
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_ignored::Path) -> Vec<Seg> {
    use serde_ignored::Path;
    let mut out = Vec::new();
    let mut p = path;
    loop {
        match p {
            Path::Root => break,
            Path::Seq { parent, index } => {
                out.push(Seg::Index(*index));
                p = parent;
            }
            Path::Map { parent, key } => {
                out.push(Seg::Key(key.clone()));
                p = parent;
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => p = parent,
        }
    }
    out.reverse();
    out
}

/// Finds where an ignored field's key is written, and its dotted name.
fn locate(root: &Spanned<DeTable>, path: &[Seg]) -> (Range<usize>, String) {
    let mut name = Vec::new();
    let mut span = root.span();
    let mut table: Option<&DeTable> = Some(root.get_ref());
    let mut array: Option<&[Spanned<DeValue>]> = None;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                name.push(k.clone());
                let Some(t) = table else { break };
                let Some((key, value)) = t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                else {
                    break;
                };
                span = key.span();
                (table, array) = descend(value);
            }
            Seg::Index(i) => {
                let Some(a) = array else { break };
                let Some(value) = a.get(*i) else { break };
                (table, array) = descend(value);
            }
        }
    }
    (span, name.join("."))
}

type Children<'a, 'i> = (Option<&'a DeTable<'i>>, Option<&'a [Spanned<DeValue<'i>>]>);

fn descend<'a, 'i>(value: &'a Spanned<DeValue<'i>>) -> Children<'a, 'i> {
    match value.get_ref() {
        DeValue::Table(t) => (Some(t), None),
        DeValue::Array(a) => (None, Some(&a[..])),
        _ => (None, None),
    }
}
