//! The labelled scam lines: the ones the shield learns from (`[scam.model]` in the content
//! pack: the rules' tuning sets and later writers' sets, each kind in its own list) and the
//! held-out sets in `tests/data/`, one `{"text", "scam", "kind"}` object per line, hand-written
//! Discord messages. `scam.jsonl` was written blind to the rules and never tuned on;
//! `scam-heldout2.jsonl` was written blind to the rules and the model, and neither the rules
//! nor the model's settings were chosen on it. The README's figures come from these two.
//!
//! These checks keep the sets usable as an honest evaluation: every line has the exact shape,
//! a scam names its kind and an ordinary message names none, the mix stays close to a real
//! support channel (about 35–40% scams), and no held-out line is a copy or a light rewording
//! of a line the model learns from, which would let training leak into the test score.

use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// The held-out sets.
const HELD_OUT: [(&str, &str); 2] = [
    ("scam.jsonl", include_str!("data/scam.jsonl")),
    (
        "scam-heldout2.jsonl",
        include_str!("data/scam-heldout2.jsonl"),
    ),
];

/// The lines `[scam.model]` in the shipped pack learns from, labelled by the list they are in.
fn learned_lines() -> Vec<Line> {
    let pack: toml::Value = toml::from_str(paymedic::engine::content::EMBEDDED).unwrap();
    let model = &pack["scam"]["model"];
    let mut out = Vec::new();
    for (list, kind) in [
        ("impersonation", Some(Kind::Impersonation)),
        ("credentials", Some(Kind::Credentials)),
        ("link", Some(Kind::Link)),
        ("ordinary", None),
    ] {
        for t in model[list].as_array().unwrap() {
            out.push(Line {
                text: t.as_str().unwrap().to_string(),
                scam: kind.is_some(),
                kind,
            });
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    text: String,
    scam: bool,
    kind: Option<Kind>,
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Impersonation,
    Credentials,
    Link,
}

fn parse(name: &str, src: &str) -> Vec<Line> {
    src.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}: {l}", i + 1))
        })
        .collect()
}

/// Lowercase words: what "the same message" means for duplicates.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn trigrams(text: &str) -> HashSet<String> {
    let chars: Vec<char> = words(text).join(" ").chars().collect();
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

fn jaccard<T: Eq + std::hash::Hash>(a: &HashSet<T>, b: &HashSet<T>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[test]
fn scam_sets_have_the_shape_size_and_mix_of_a_support_channel() {
    let mut sets: Vec<(&str, Vec<Line>)> =
        HELD_OUT.iter().map(|(n, s)| (*n, parse(n, s))).collect();
    sets.push(("[scam.model]", learned_lines()));
    for (name, lines) in sets {
        let min = if name == "[scam.model]" { 3000 } else { 320 };
        assert!(lines.len() >= min, "{name} has {} lines", lines.len());
        let mut kinds: BTreeMap<Option<Kind>, usize> = BTreeMap::new();
        for (i, l) in lines.iter().enumerate() {
            assert!(!l.text.trim().is_empty(), "{name}:{}: empty text", i + 1);
            assert_eq!(
                l.scam,
                l.kind.is_some(),
                "{name}:{}: a scam needs a kind and an ordinary message none: {:?}",
                i + 1,
                l.text
            );
            *kinds.entry(l.kind).or_default() += 1;
        }
        let scams = lines.iter().filter(|l| l.scam).count();
        let share = scams as f64 / lines.len() as f64;
        println!(
            "{name}: {} lines, {kinds:?}, scam share {share:.3}",
            lines.len()
        );
        assert!(
            (0.30..=0.45).contains(&share),
            "{name}: scam share {share:.3}"
        );
        for kind in [Kind::Impersonation, Kind::Credentials, Kind::Link] {
            let n = kinds.get(&Some(kind)).copied().unwrap_or(0);
            assert!(n * 5 >= scams, "{name}: only {n} {kind:?} of {scams} scams");
        }
    }
}

#[test]
fn scam_sets_have_no_duplicates_within_or_across_files() {
    let mut seen: BTreeMap<Vec<String>, String> = BTreeMap::new();
    let mut dups = Vec::new();
    let mut sets: Vec<(&str, Vec<Line>)> =
        HELD_OUT.iter().map(|(n, s)| (*n, parse(n, s))).collect();
    sets.push(("[scam.model]", learned_lines()));
    for (name, lines) in &sets {
        for (i, l) in lines.iter().enumerate() {
            let at = format!("{name}:{}", i + 1);
            if let Some(first) = seen.insert(words(&l.text), at.clone()) {
                dups.push(format!("{at} repeats {first}: {:?}", l.text));
            }
        }
    }
    assert!(dups.is_empty(), "{dups:#?}");
}

/// A held-out line that is a light rewording of a line the shield learns from ("klarna sent me
/// a code" / "klarna sent me the code") measures memory, not judgement. Half the character
/// trigrams or half the words in common is the line; hand-written pairs on the same topic stay
/// well under it. (Lines over it were dropped from the second held-out set, and from the
/// later writers' training lines against the first, before anything was scored.)
#[test]
fn held_out_scam_sets_have_no_near_duplicates_of_learned_lines() {
    let dev = learned_lines();
    let test: Vec<Line> = HELD_OUT.iter().flat_map(|(n, s)| parse(n, s)).collect();
    let dev_keys: Vec<(HashSet<String>, HashSet<String>, &str)> = dev
        .iter()
        .map(|l| {
            (
                trigrams(&l.text),
                words(&l.text).into_iter().collect(),
                l.text.as_str(),
            )
        })
        .collect();
    let mut close = Vec::new();
    for t in &test {
        let (tg, tw): (HashSet<String>, HashSet<String>) =
            (trigrams(&t.text), words(&t.text).into_iter().collect());
        for (dg, dw, d) in &dev_keys {
            let sim = jaccard(&tg, dg).max(jaccard(&tw, dw));
            if sim > 0.5 {
                close.push(format!("{sim:.2}: {:?} ~ {d:?}", t.text));
            }
        }
    }
    assert!(close.is_empty(), "{close:#?}");
}
