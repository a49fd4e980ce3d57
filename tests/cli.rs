//! The `paymedic` binary: check, classify, explain and eval, including their failure modes.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_paymedic"))
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_on_the_shipped_pack_and_prints_a_summary() {
    let (code, out, err) = run_with_stdin(&["check"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("14 intents"), "{out}");
    assert!(out.contains("flows"), "{out}");
}

#[test]
fn check_fails_with_every_error_located() {
    let dir = std::env::temp_dir().join(format!("paymedic-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let src = crate::common::pack()
        .replacen("patterns = [", "patterns = ['(', ", 1)
        .replacen("id = \"thanks\"", "id = \"greeting\"", 1);
    std::fs::write(&bad, src).unwrap();
    let (code, _, err) = run_with_stdin(&["check", "--intents", bad.to_str().unwrap()], b"");
    assert_ne!(code, 0);
    let name = bad.display().to_string();
    assert!(err.contains(&format!("{name}:")), "{err}");
    assert!(err.contains("regex does not compile"), "{err}");
    assert!(err.contains("duplicate intent id `greeting`"), "{err}");
    assert!(err.contains("required intent `thanks` is missing"), "{err}");
    let missing = dir.join("missing.toml");
    let (code, _, err) = run_with_stdin(&["check", "--intents", missing.to_str().unwrap()], b"");
    assert_ne!(code, 0);
    assert!(err.contains("cannot read content pack"), "{err}");
}

#[test]
fn classify_prints_one_json_line_per_input_line_in_order() {
    let input = b"klarna declined my payment\n\nlimited edition drop tomorrow\n\xff\xfe broken utf8\nmy klarna app keeps crashing\n";
    let (code, out, err) = run_with_stdin(&["classify"], input);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0]["intent"], "payment_declined", "{out}");
    assert!(lines[1]["intent"].is_null());
    assert!(lines[2]["intent"].is_null(), "{out}");
    assert_eq!(lines[4]["intent"], "app_outdated", "{out}");
    for l in &lines {
        let c = l["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        assert!(l["evidence"].is_array());
        assert!(l.get("runner_up").is_some());
    }
}

#[test]
fn explain_shows_normalized_text_scores_and_decision() {
    let out = bin()
        .args(["explain", "Klarna DECLINEDDD my order sooo annoying"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("normalized:  klarna declined my order so annoying"),
        "{out}"
    );
    assert!(out.contains("threshold"), "{out}");
    assert!(
        out.contains("decision:    answer as payment_declined"),
        "{out}"
    );
}

#[test]
fn eval_reports_metrics_and_rejects_bad_lines() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus.jsonl");
    let out = bin().args(["eval", corpus]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for want in ["macro-F1:", "out-of-scope FPR:", "confusion", "precision"] {
        assert!(text.contains(want), "{text}");
    }
    let dir = std::env::temp_dir().join(format!("paymedic-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"text\": \"hi\", \"intent\": \"greeting\"}\nnot json\n{\"text\": \"x\", \"intent\": \"nope\"}\n").unwrap();
    let out = bin()
        .args(["eval", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(":2:"), "{err}");
    assert!(err.contains(":3: unknown intent `nope`"), "{err}");
}
