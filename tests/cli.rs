//! The `paymedic` binary: check, classify, explain and eval, including their failure modes.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_paymedic"))
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    run_in(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        args,
        stdin,
    )
}

#[test]
fn check_passes_on_the_shipped_pack_and_prints_a_summary() {
    let (code, out, err) = run_with_stdin(&["check"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("15 intents"), "{out}");
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

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("paymedic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_in(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SHIPPED_TITLE: &str = "title = \"Your pay-later payment didn't go through\"";

#[test]
fn commands_without_a_pack_use_the_local_intents_toml_else_the_built_in_one() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/intents.toml");
    // A local pack with a changed title: check, chat and classify all use it.
    let changed = temp_dir("local-pack");
    let src = crate::common::pack().replacen(SHIPPED_TITLE, "title = \"LOCAL COPY TITLE\"", 1);
    std::fs::write(changed.join("intents.toml"), src).unwrap();
    let (code, out, err) = run_in(&changed, &["check"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("./intents.toml: ok"), "{out}");
    assert_eq!(err.trim(), "using content pack ./intents.toml");
    let (code, out, err) = run_in(&changed, &["chat"], b"klarna declined my payment\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("LOCAL COPY TITLE"), "{out}");
    assert!(err.contains("using content pack ./intents.toml"), "{err}");

    // A broken local pack: every command reports it, located.
    let broken = temp_dir("broken-pack");
    let src = crate::common::pack().replacen("patterns = [", "patterns = ['(', ", 1);
    std::fs::write(broken.join("intents.toml"), src).unwrap();
    for args in [
        &["check"][..],
        &["classify"],
        &["chat"],
        &["explain", "hi"],
        &["eval", "nothing.jsonl"],
    ] {
        let (code, _, err) = run_in(&broken, args, b"hello\n");
        assert_ne!(code, 0, "{args:?}");
        assert!(
            err.contains("using content pack ./intents.toml"),
            "{args:?}: {err}"
        );
        assert!(err.contains("./intents.toml:"), "{args:?}: {err}");
        assert!(err.contains("regex does not compile"), "{args:?}: {err}");
    }
    // --intents and the config's bot.intents still win over the local file.
    let (code, out, err) = run_in(&broken, &["check", "--intents", shipped], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("15 intents"), "{out}");
    assert_eq!(err.trim(), format!("using content pack {shipped}"));
    let config = broken.join("config.toml");
    std::fs::write(&config, format!("[bot]\nintents = {shipped:?}\n")).unwrap();
    let (code, out, err) = run_in(
        &broken,
        &["classify", "--config", config.to_str().unwrap()],
        b"klarna declined my payment\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("payment_declined"), "{out}");

    // No local pack: the built-in one.
    let empty = temp_dir("no-pack");
    let (code, out, err) = run_in(&empty, &["check"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("intents.toml: ok"), "{out}");
    assert_eq!(err.trim(), "using the built-in content pack");
    let (code, out, err) = run_in(&empty, &["classify"], b"klarna declined my payment\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("payment_declined"), "{out}");
    assert_eq!(err.trim(), "using the built-in content pack");
}

#[test]
fn oversized_files_are_refused_before_they_are_read() {
    use paymedic::engine::limits::{CONFIG_BYTES_MAX, CONTENT_PACK_BYTES_MAX, CORPUS_BYTES_MAX};
    let dir = temp_dir("oversized");
    // Sparse files: their size is what counts, and nothing should read them.
    let sized = |name: &str, len: u64| {
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().set_len(len).unwrap();
        path.to_str().unwrap().to_string()
    };
    let pack = sized("pack.toml", CONTENT_PACK_BYTES_MAX + 1);
    let (code, _, err) = run_in(&dir, &["check", "--intents", &pack], b"");
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("cannot read content pack {pack}: it is")),
        "{err}"
    );
    assert!(err.contains("over the limit of 4 MiB"), "{err}");
    let config = sized("config.toml", CONFIG_BYTES_MAX + 1);
    let (code, _, err) = run_in(&dir, &["classify", "--config", &config], b"");
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("cannot read config {config}")),
        "{err}"
    );
    assert!(err.contains("over the limit of 1 MiB"), "{err}");
    let corpus = sized("corpus.jsonl", CORPUS_BYTES_MAX + 1);
    let (code, _, err) = run_in(&dir, &["eval", &corpus], b"");
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("cannot read corpus {corpus}")),
        "{err}"
    );
    assert!(err.contains("over the limit of 32 MiB"), "{err}");
}

/// Peak resident memory of a running process, in KiB (Linux only; `None` elsewhere).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Feeds `line` to `classify`, reads its answer, and returns the process's peak memory then.
fn classify_one_line_peak(line: &[u8]) -> (serde_json::Value, Option<u64>) {
    use std::io::BufRead;
    let mut child = bin()
        .arg("classify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // Enough short lines after it that classify's buffered output reaches us.
    let mut owned = line.to_vec();
    owned.extend_from_slice(&b"hello\n".repeat(200));
    let writer = std::thread::spawn(move || {
        input.write_all(&owned).unwrap();
        input
    });
    let out = child.stdout.take().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut out = std::io::BufReader::new(out);
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        first_tx.send(first).unwrap();
        std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    });
    let answer = first_rx.recv().unwrap();
    // Still running (its stdin is open): its peak so far includes reading that line.
    let peak = peak_rss_kib(child.id());
    drop(writer.join().unwrap());
    reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    (serde_json::from_str(&answer).unwrap(), peak)
}

#[test]
fn a_huge_stdin_line_is_cut_and_memory_stays_bounded() {
    let mut huge = b"klarna declined my payment ".repeat(48 << 20 >> 5);
    huge.push(b'\n');
    let (answer, peak_huge) = classify_one_line_peak(&huge);
    assert_eq!(answer["intent"], "payment_declined", "{answer}");
    let (_, peak_small) = classify_one_line_peak(b"klarna declined my payment\n");
    if let (Some(huge), Some(small)) = (peak_huge, peak_small) {
        // The line is over 40 MB; reading it may cost a few buffers, never the line.
        assert!(huge < small + 8 * 1024, "peak {huge} KiB vs {small} KiB");
    }
    // classify: the line after a huge one is answered too.
    let mut input = b"a".repeat(5 << 20);
    input.extend_from_slice(b"\nmy klarna app keeps crashing\n");
    let (code, out, err) = run_with_stdin(&["classify"], &input);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[1]["intent"], "app_outdated", "{out}");
    // chat: says the line was cut, echoes only its start, and carries on.
    let mut input = b"klarna declined ".repeat(5 << 16);
    input.extend_from_slice(b"\n/as bob\n");
    let (code, out, err) = run_with_stdin(&["chat"], &input);
    assert_eq!(code, 0, "{err}");
    let start: String = out.chars().take(500).collect();
    assert!(out.contains("only its start was read"), "{start}");
    assert!(out.contains("(now talking as bob)"), "{start}");
    assert!(out.len() < 100_000, "{} bytes of output", out.len());
}

#[test]
fn config_errors_say_what_and_where_once() {
    let dir = temp_dir("config-errors");
    let missing = dir.join("missing.toml");
    let (code, _, err) = run_in(
        &dir,
        &["classify", "--config", missing.to_str().unwrap()],
        b"",
    );
    assert_ne!(code, 0);
    assert_eq!(
        err.trim(),
        format!(
            "error: cannot read config {}: no such file",
            missing.display()
        )
    );
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[bot]\ncooldown_seconds = 2\n\n[classifier.intent_thresholds]\nnope = 0.6\n",
    )
    .unwrap();
    let (code, _, err) = run_in(
        &dir,
        &["classify", "--config", config.to_str().unwrap()],
        b"",
    );
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!(
            "{}:5:1: setting classifier.intent_thresholds.nope: no intent has that id",
            config.display()
        )),
        "{err}"
    );
    std::fs::write(&config, "[bot]\nidle_timeout_minutes = 20000\n").unwrap();
    let (code, _, err) = run_in(
        &dir,
        &["classify", "--config", config.to_str().unwrap()],
        b"",
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("bot.idle_timeout_minutes`: 20000 minutes is out of range: allowed is 0 to 10080 minutes"),
        "{err}"
    );
}

#[test]
fn logs_to_a_file_or_pipe_have_no_colours() {
    use std::io::BufRead;
    let dir = temp_dir("run-logs");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[discord]\nescalation_channel = 1\n").unwrap();
    let mut child = bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(&dir)
        .env("DISCORD_TOKEN", "not-a-token")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .env("RUST_LOG", "paymedic=info,warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        log.push_str(&line);
        if line.contains("DISCORD_API_BASE is set") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains("DISCORD_API_BASE is set"), "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::BufRead;
    // classify: the reader takes one line and goes away while input keeps coming.
    let mut child = bin()
        .arg("classify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let line = b"klarna declined my payment\n";
        for _ in 0..50_000 {
            if input.write_all(line).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("payment_declined"), "{first}");
    drop(out);
    let done = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{:?}: {err}", done.status);
    assert!(!err.contains("Broken pipe"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // Every other printing command, with the reader gone before it writes.
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus.jsonl");
    for args in [
        &["check"][..],
        &["explain", "klarna declined my payment"],
        &["eval", corpus, "--mistakes"],
        &["chat"],
    ] {
        let mut child = bin()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello\nklarna declined my payment\n");
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{args:?}: {:?}: {err}", done.status);
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn chat_shows_control_characters_as_placeholders() {
    let input = "klarna declined\x1b[31m my\0 payment\x07\n/as b\x1b]0;x\x07ob\n/zz\x1b[2J\n";
    let (code, out, err) = run_with_stdin(&["chat"], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    for bad in ['\x1b', '\0', '\x07'] {
        assert!(!out.contains(bad), "{bad:?} in {out:?}");
    }
    assert!(
        out.contains("you> klarna declined\u{FFFD}[31m my\u{FFFD} payment\u{FFFD}"),
        "{out}"
    );
    assert!(
        out.contains("(now talking as b\u{FFFD}]0;x\u{FFFD}ob)"),
        "{out}"
    );
    assert!(out.contains("unknown command /zz\u{FFFD}[2J;"), "{out}");
    // The text itself still reaches the bot: it is answered as a declined payment.
    assert!(out.contains("bot: ["), "{out}");
}

#[test]
fn text_with_no_words_has_no_best_intent() {
    let engine = crate::common::engine();
    for text in ["", "   ", "?!...", "👍"] {
        let c = engine.classify(text);
        let norm = engine.classifier.normalize(text);
        if !norm.is_empty() {
            continue;
        }
        assert_eq!(c.intent, None, "{text:?}");
        assert_eq!(c.best, None, "{text:?}");
        assert_eq!(c.runner_up, None, "{text:?}");
        assert_eq!(c.confidence, 0.0, "{text:?}");
    }
    for text in ["", "?!..."] {
        let out = bin().args(["explain", text]).output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("best:        none"), "{text:?}: {out}");
        assert!(!out.contains("at 0.000"), "{text:?}: {out}");
    }
    let (code, out, err) = run_with_stdin(&["classify"], b"\n?!...\n");
    assert_eq!(code, 0, "{err}");
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["intent"].is_null(), "{l}");
        assert!(v["runner_up"].is_null(), "{l}");
    }
}

#[test]
fn help_describes_every_argument_of_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&out.stdout).into_owned();
    let commands: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    for want in ["chat", "run", "check", "classify", "explain", "eval"] {
        assert!(commands.iter().any(|c| c == want), "{want}: {top}");
    }
    for command in &commands {
        let out = bin().args([command, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut section = false;
        let mut seen = 0;
        for line in help.lines() {
            if line == "Arguments:" || line == "Options:" {
                section = true;
                continue;
            }
            if !line.starts_with(' ') {
                section = false;
            }
            if !section {
                continue;
            }
            let spec = line.trim_start();
            if !(spec.starts_with('-') || spec.starts_with('<') || spec.starts_with('[')) {
                continue; // a description's continuation line
            }
            seen += 1;
            // An argument with a description: "<SPEC>  text"; without: the spec alone.
            let described = spec
                .split_once("  ")
                .is_some_and(|(_, text)| !text.trim().is_empty());
            assert!(
                described,
                "`paymedic {command}`: {line:?} has no help\n{help}"
            );
        }
        assert!(seen > 0, "{command}: {help}");
    }
}

#[test]
fn chat_db_keeps_tickets_that_the_tickets_command_reads() {
    let dir = temp_dir("chat-db");
    let db = dir.join("chat.db");
    let db_arg = db.to_str().unwrap();
    let (code, out, err) = run_with_stdin(
        &["chat", "--db", db_arg],
        b"klarna declined my order at asos\ntalk to a human\n/reply my card is 4111 1111 1111 1111\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ticket #1"), "{out}");
    // A second session over the same file finds the member's open ticket.
    let (code, out, err) = run_with_stdin(&["chat", "--db", db_arg], b"hello?\n/mod list\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#1 "), "{out}");
    let (code, out, err) = run_with_stdin(&["tickets", "list", "--db", db_arg], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#1 ") && out.contains("open"), "{out}");
    let (code, out, err) = run_with_stdin(&["tickets", "show", "1", "--db", db_arg], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[removed: card details]"), "{out}");
    assert!(!out.contains("4111"), "{out}");
    let (code, _, err) = run_with_stdin(&["tickets", "show", "7", "--db", db_arg], b"");
    assert_ne!(code, 0);
    assert!(err.contains("no ticket #7"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_store_stops_start_up_naming_the_file_and_is_left_untouched() {
    let dir = temp_dir("bad-store");
    let text = dir.join("notes.db");
    let bytes = b"these are my notes, not a database\n".repeat(100);
    std::fs::write(&text, &bytes).unwrap();
    let name = text.display().to_string();
    for args in [
        vec!["chat", "--db", name.as_str()],
        vec!["tickets", "list", "--db", name.as_str()],
    ] {
        let (code, _, err) = run_with_stdin(&args, b"hello\n");
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(&name), "{args:?}: {err}");
        assert!(err.contains("not a paymedic database"), "{args:?}: {err}");
        assert_eq!(std::fs::read(&text).unwrap(), bytes, "the file was changed");
    }
    // `run` checks the store at start-up, before it talks to Discord (nothing listens here).
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[discord]\nescalation_channel = 1\n\n[store]\npath = \"notes.db\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "test-token")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&name), "{err}");
    assert_eq!(std::fs::read(&text).unwrap(), bytes, "the file was changed");
    // A folder that doesn't exist is named too.
    let missing = dir.join("no-such-folder").join("x.db");
    let (code, _, err) = run_with_stdin(&["chat", "--db", missing.to_str().unwrap()], b"");
    assert_ne!(code, 0);
    assert!(err.contains("does not exist"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_shows_what_a_chat_recorded_and_never_a_card_number() {
    let dir = temp_dir("report");
    let db = dir.join("chat.db");
    let db_arg = db.to_str().unwrap();
    let (code, _, err) = run_with_stdin(
        &["chat", "--db", db_arg],
        b"klarna declined my order at asos\nstill stuck\nthat worked\n\
          is the mall open on sunday\nmy card is 4111 1111 1111 1111\n\
          is the mall open on sundays?\n",
    );
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = run_with_stdin(&["report", "--db", db_arg, "--since", "24h"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paymedic report: last 24h"), "{out}");
    assert!(
        out.contains("seen 6  answered 3  out of scope 2  cooldown 0  handed off 0  removed 1"),
        "{out}"
    );
    assert!(out.contains("payment_declined"), "{out}");
    assert!(out.contains("2 x \"is the mall open on sunday"), "{out}");
    assert!(!out.contains("4111"), "{out}");

    let (code, out, err) = run_with_stdin(&["report", "--db", db_arg, "--json"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("4111"), "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["messages"]["seen"], 6, "{out}");
    assert_eq!(r["messages"]["answered"], 3, "{out}");
    assert_eq!(r["messages"]["out_of_scope"], 2, "{out}");
    let pd = &r["intents"][0];
    assert_eq!(pd["intent"], "payment_declined", "{out}");
    assert_eq!(pd["conversations"], 1, "{out}");
    assert_eq!(pd["fixed"], 1, "{out}");
    assert_eq!(pd["still_stuck"], 1, "{out}");
    assert_eq!(r["unanswered"][0]["count"], 2, "{out}");
    let hours: u64 = r["volume_by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_u64().unwrap())
        .sum();
    assert_eq!(hours, 6, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_refuses_a_bad_window_and_a_missing_database() {
    let dir = temp_dir("report-bad");
    let db = dir.join("nothing-here.db");
    let db_arg = db.to_str().unwrap();
    let (code, _, err) = run_with_stdin(&["report", "--db", db_arg, "--since", "3d"], b"");
    assert_eq!(code, 2, "{err}");
    for allowed in ["24h", "7d", "30d"] {
        assert!(err.contains(allowed), "{err}");
    }
    let (code, _, err) = run_with_stdin(&["report", "--db", db_arg], b"");
    assert_ne!(code, 0);
    assert!(err.contains("no such database"), "{err}");
    assert!(err.contains(db_arg), "{err}");
    assert!(!db.exists(), "report created the database");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chat_tickets_and_report_work_on_a_postgres_url_without_showing_its_password() {
    let Some(url) = crate::store_contract::postgres_url() else {
        return;
    };
    // A schema of this test's own, created (and migrated) first; the URL then selects it.
    let schema = crate::store_contract::fresh_schema();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime
        .block_on(paymedic::store::postgres::PgStore::connect_in(
            &url,
            Some(&schema),
        ))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");

    let (code, out, err) = run_with_stdin(
        &["chat", "--db", &db],
        b"klarna declined my order at asos\nI want to talk to a human\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.is_empty());
    let (code, out, err) = run_with_stdin(&["tickets", "list", "--db", &db], b"");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#1 "), "{out}");
    assert!(out.contains("open"), "{out}");
    let (code, out, err) = run_with_stdin(&["report", "--db", &db, "--json"], b"");
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["tickets"]["opened"], 1, "{out}");
    assert!(r["messages"]["seen"].as_u64().unwrap() >= 2, "{out}");

    // A wrong password is named by host and database, never echoed.
    let bad = "postgres://postgres:hunter2-secret@127.0.0.1:9/test";
    let (code, out, err) = run_with_stdin(&["tickets", "list", "--db", bad], b"");
    assert_ne!(code, 0);
    assert!(err.contains("127.0.0.1:9/test"), "{err}");
    assert!(
        !err.contains("hunter2") && !out.contains("hunter2"),
        "{err}"
    );

    runtime.block_on(store.drop_schema(&schema)).unwrap();
}

/// A second process asked for a shard another process runs on the same database waits a
/// little (a restarted process's old connection may linger) and then refuses to start,
/// naming the holder, before it connects to Discord.
#[test]
fn a_shard_range_another_process_runs_is_refused_naming_it() {
    let Some(url) = crate::store_contract::postgres_url() else {
        return;
    };
    let schema = crate::store_contract::fresh_schema();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let holder = runtime
        .block_on(paymedic::store::postgres::PgStore::connect_in(
            &url,
            Some(&schema),
        ))
        .unwrap();
    let span = paymedic::store::ShardSpan {
        first: 0,
        last: 1,
        total: 2,
    };
    use paymedic::store::Store;
    runtime.block_on(holder.hold_shards(Some(span))).unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", "config.example.toml"])
        .args(["--shards", "1-1", "--total-shards", "2"])
        .env("DISCORD_TOKEN", "not-a-real-token")
        .env(paymedic::config::DATABASE_URL_VAR, &db)
        // Nothing listens there: the refusal must come before any Discord call.
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("shard 1 of 2 is already run by"), "{err}");
    assert!(err.contains("paymedic shards 0-1 of 2"), "{err}");
    assert!(!err.contains("cannot reach Discord"), "{err}");
    runtime.block_on(holder.drop_schema(&schema)).unwrap();
}

#[test]
fn a_shard_range_past_the_total_is_refused_before_anything_starts() {
    let (code, out, err) = run_with_stdin(
        &[
            "run",
            "--config",
            "config.example.toml",
            "--shards",
            "0-9",
            "--total-shards",
            "4",
        ],
        b"",
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("--shards") && err.contains("goes past total_shards = 4"),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    // One without the other is a usage error.
    let (code, _, err) = run_with_stdin(
        &["run", "--config", "config.example.toml", "--shards", "0-1"],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--total-shards"), "{err}");
}

/// `run` with a PostgreSQL URL where nothing listens stops at start-up, before it talks to
/// Discord, with an error naming the host, port and database (never the password).
#[test]
fn run_with_an_unreachable_database_stops_before_discord_naming_host_and_port() {
    let dir = temp_dir("run-pg-down");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[discord]\nescalation_channel = 1\n").unwrap();
    // Discord's stand-in: any connection to it would show as an accepted socket.
    let discord = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    discord.set_nonblocking(true).unwrap();
    let out = bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(&dir)
        .env(
            "PAYMEDIC_DATABASE_URL",
            "postgres://postgres:hunter2-secret@127.0.0.1:1/x",
        )
        .env("DISCORD_TOKEN", "test-token")
        .env(
            "DISCORD_API_BASE",
            format!("http://{}", discord.local_addr().unwrap()),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("127.0.0.1:1/x"), "{err}");
    assert!(
        !err.contains("hunter2") && !stdout.contains("hunter2"),
        "{err}"
    );
    assert!(
        matches!(discord.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "run connected to Discord before its database"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
