//! The labelled scam lines: the ones the shield learns from (`[scam.model]` in the content
//! pack: the rules' tuning sets and later writers' sets, each kind in its own list) and the
//! held-out sets in `tests/data/`, one `{"text", "scam", "kind"}` object per line, hand-written
//! Discord messages. `scam.jsonl` and `scam-heldout2.jsonl` were written blind to the rules
//! (the second to the model too); both have since been looked at while rules changed.
//! `scam-heldout3.jsonl` is the work of two later writers, blind to the rules, the model and the
//! other sets; it was scored five times while the shield changed. `scam-heldout4.jsonl` is the
//! work of two more such writers, scored once, after every setting was chosen. The README's
//! figures come from these four.
//!
//! These checks keep the sets usable as an honest evaluation: every line has the exact shape,
//! a scam names its kind and an ordinary message names none, the mix stays close to a real
//! support channel (about 35–40% scams), and no held-out line is a copy or a light rewording
//! of a line the model learns from, which would let training leak into the test score.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The held-out sets.
const HELD_OUT: [(&str, &str); 4] = [
    ("scam.jsonl", include_str!("data/scam.jsonl")),
    (
        "scam-heldout2.jsonl",
        include_str!("data/scam-heldout2.jsonl"),
    ),
    (
        "scam-heldout3.jsonl",
        include_str!("data/scam-heldout3.jsonl"),
    ),
    (
        "scam-heldout4.jsonl",
        include_str!("data/scam-heldout4.jsonl"),
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

/// A set as its members' hashes, sorted and deduplicated (so two sets meet by merging).
fn hashed<T: std::hash::Hash>(items: impl Iterator<Item = T>) -> Vec<u64> {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let mut v: Vec<u64> = items
        .map(|i| BuildHasherDefault::<DefaultHasher>::default().hash_one(i))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn trigrams(text: &str) -> Vec<u64> {
    let chars: Vec<char> = words(text).join(" ").chars().collect();
    hashed(chars.windows(3))
}

fn word_set(text: &str) -> Vec<u64> {
    hashed(words(text).into_iter())
}

/// Jaccard similarity of two sorted, deduplicated sets.
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        return 0.0;
    }
    common as f64 / union as f64
}

/// Whether two sets' sizes allow a Jaccard similarity above `min` (the smaller over the
/// larger bounds it), so most pairs are ruled out without comparing them.
fn could_exceed(a: usize, b: usize, min: f64) -> bool {
    let (lo, hi) = (a.min(b), a.max(b));
    hi == 0 || lo as f64 / hi as f64 > min
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
        // The writers were asked for 45% scams; dropping near-copies of training lines
        // (more of them ordinary lines than scams) leaves the third set at 45.6%.
        assert!(
            (0.30..=0.47).contains(&share),
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
    let dev_keys: Vec<(Vec<u64>, Vec<u64>, &str)> = dev
        .iter()
        .map(|l| (trigrams(&l.text), word_set(&l.text), l.text.as_str()))
        .collect();
    let mut close = Vec::new();
    for t in &test {
        let (tg, tw) = (trigrams(&t.text), word_set(&t.text));
        for (dg, dw, d) in &dev_keys {
            let grams = could_exceed(tg.len(), dg.len(), 0.5) && jaccard(&tg, dg) > 0.5;
            let words = could_exceed(tw.len(), dw.len(), 0.5) && jaccard(&tw, dw) > 0.5;
            if grams || words {
                let sim = jaccard(&tg, dg).max(jaccard(&tw, dw));
                close.push(format!("{sim:.2}: {:?} ~ {d:?}", t.text));
            }
        }
    }
    assert!(close.is_empty(), "{close:#?}");
}
