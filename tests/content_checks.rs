//! `intents.toml` validation: every kind of mistake is reported, all at once, with its place.

use crate::common::pack;
use paymedic::engine::content::{compile, ErrorKind, EXAMPLES_PER_INTENT_MIN};

fn errors(src: &str) -> Vec<(usize, ErrorKind)> {
    match compile("test.toml", src) {
        Ok(_) => vec![],
        Err(e) => e.0.into_iter().map(|e| (e.location.line, e.kind)).collect(),
    }
}

/// `EXAMPLES_PER_INTENT_MIN` distinct examples starting with `stem`, as a TOML array.
fn enough_examples(stem: &str) -> String {
    const WORDS: [&str; 10] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    ];
    let examples: Vec<String> = (0..EXAMPLES_PER_INTENT_MIN)
        .map(|i| format!("{stem} {} {}", WORDS[i % 10], WORDS[i / 10 % 10]))
        .collect();
    format!("{examples:?}")
}

fn line_of(src: &str, needle: &str) -> usize {
    let at = src
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in pack"));
    src[..at].matches('\n').count() + 1
}

/// The line of the last occurrence: where a duplicate is reported.
fn last_line_of(src: &str, needle: &str) -> usize {
    let at = src
        .rfind(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in pack"));
    src[..at].matches('\n').count() + 1
}

#[test]
fn the_shipped_pack_is_valid() {
    let e = errors(&pack());
    assert!(e.is_empty(), "{e:#?}");
}

#[test]
fn bad_toml_points_at_the_line() {
    let mut src = pack();
    src.push_str("\n[[intent]\n");
    let last = src.lines().count();
    let e = errors(&src);
    assert!(!e.is_empty());
    assert!(
        e.iter().all(|(_, k)| matches!(k, ErrorKind::Syntax(_))),
        "{e:?}"
    );
    assert_eq!(e[0].0, last, "{e:?}");
}

#[test]
fn every_unknown_field_is_reported_with_its_line() {
    let src = pack()
        .replacen("[[intent]]\n", "[[intent]]\ncolour = \"red\"\n", 1)
        .replacen("[copy]\n", "[copy]\nfalback = \"typo\"\n", 1);
    let e = errors(&src);
    let unknown: Vec<_> = e
        .iter()
        .filter_map(|(l, k)| match k {
            ErrorKind::UnknownField(f) => Some((*l, f.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        unknown,
        {
            let mut v = vec![
                (line_of(&src, "colour ="), "intent.colour".to_string()),
                (line_of(&src, "falback ="), "copy.falback".to_string()),
            ];
            v.sort();
            v
        },
        "{e:?}"
    );
}

/// One pack with many different mistakes: all of them come back together.
#[test]
fn all_semantic_errors_are_reported_together() {
    let first_example = {
        let v: toml::Value = toml::from_str(&pack()).unwrap();
        v["intent"][0]["examples"][0].as_str().unwrap().to_string()
    };
    let long = "x".repeat(2100);
    // Enough examples that the extra intent is wrong only in the ways this test is about.
    let extra_examples = enough_examples("zzqx extra");
    let mut src = pack()
        .replacen("id = \"thanks\"", "id = \"greeting\"", 1)
        .replacen("id = \"prevention\"", "id = \"prevention_tips\"", 1)
        .replacen("patterns = [", "patterns = ['(unclosed', ", 1);
    let oos = src.find("[out_of_scope]").unwrap();
    let at = oos + src[oos..].find("examples = [").unwrap() + "examples = [".len();
    src.insert_str(at, &format!("{first_example:?}, "));
    src.push_str(&format!(
        r#"
[[intent]]
id = "extra_test"
title = "Extra"
examples = {extra_examples}

[intent.reply]
intro = "{long}"

[[intent.flow]]
id = "a"
ask = "A?"
next = "c"

[[intent.flow]]
id = "b"
ask = "B?"

[[intent.flow]]
id = "c"
ask = "C?"
next = "nowhere"
"#
    ));
    let e = errors(&src);
    let has = |pred: &dyn Fn(&ErrorKind) -> bool, line: usize| {
        assert!(
            e.iter().any(|(l, k)| pred(k) && *l == line),
            "missing at line {line}: {e:#?}"
        );
    };
    has(
        &|k| {
            matches!(
                k,
                ErrorKind::Duplicate {
                    what: "intent id",
                    ..
                }
            )
        },
        last_line_of(&src, "id = \"greeting\""),
    );
    has(
        &|k| matches!(k, ErrorKind::BadRegex(_)),
        line_of(&src, "'(unclosed'"),
    );
    // The out-of-scope section comes first, so the intent's copy is the one reported.
    has(
        &|k| matches!(k, ErrorKind::SharedExample(_)),
        last_line_of(&src, &format!("{first_example:?}")),
    );
    has(
        &|k| matches!(k, ErrorKind::TooLong { max: 2000, .. }),
        line_of(&src, &long),
    );
    has(
        &|k| *k == ErrorKind::UnreachableStep("b".into()),
        line_of(&src, "id = \"b\""),
    );
    has(
        &|k| *k == ErrorKind::UnknownStep("nowhere".into()),
        line_of(&src, "\"nowhere\""),
    );
    for missing in ["thanks", "prevention"] {
        assert!(
            e.iter()
                .any(|(_, k)| *k == ErrorKind::MissingIntent(missing.into())),
            "{missing} not reported missing: {e:#?}"
        );
    }
}

#[test]
fn wrong_types_and_missing_fields_are_reported() {
    let e = errors(&pack().replacen("version = 1", "version = \"one\"", 1));
    assert!(matches!(e.as_slice(), [(_, ErrorKind::Shape(_))]), "{e:?}");
    let e = errors("version = 1\n");
    assert!(
        matches!(e.as_slice(), [(_, ErrorKind::Shape(m))] if m.contains("missing field")),
        "{e:?}"
    );
}

/// Cuts the examples of the intent `id` down to its first `keep`.
fn with_examples(src: &str, id: &str, keep: usize) -> String {
    let at = src.find(&format!("id = \"{id}\"")).unwrap();
    let open = at + src[at..].find("examples = [\n").unwrap() + "examples = [\n".len();
    let close = open + src[open..].find("\n]").unwrap();
    let mut kept = 0;
    let lines: Vec<&str> = src[open..close]
        .lines()
        .filter(|l| {
            let example = l.trim_start().starts_with('"');
            kept += usize::from(example);
            !example || kept <= keep
        })
        .collect();
    format!("{}{}{}", &src[..open], lines.join("\n"), &src[close..])
}

#[test]
fn an_intent_with_too_few_examples_is_reported_at_the_intent() {
    assert_eq!(EXAMPLES_PER_INTENT_MIN, 25);
    let src = with_examples(&pack(), "greeting", EXAMPLES_PER_INTENT_MIN - 1);
    let e = errors(&src);
    assert_eq!(
        e,
        vec![(
            line_of(&src, "id = \"greeting\""),
            ErrorKind::Invalid(
                "intent `greeting` has 24 usable examples; it needs at least 25 to learn from"
                    .into()
            )
        )],
    );
    let src = with_examples(&pack(), "greeting", EXAMPLES_PER_INTENT_MIN);
    assert_eq!(errors(&src), vec![]);
}
