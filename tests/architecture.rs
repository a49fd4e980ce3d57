//! House rules that the compiler cannot check.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The engine stays pure: no Discord, async runtime, database or clock inside `src/engine/`.
#[test]
fn the_engine_names_no_discord_runtime_database_or_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5);
    let forbidden = [
        "serenity",
        "poise",
        "tokio",
        "rusqlite",
        "sqlx",
        "reqwest",
        "SystemTime",
        "Instant::now",
    ];
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if forbidden.iter().any(|w| line.contains(w)) {
                hits.push(format!("{}:{}: {line}", f.display(), n + 1));
            }
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

/// The token is read in one place, from the environment, and never formatted into output.
#[test]
fn the_token_comes_only_from_the_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut readers = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if text.contains("DISCORD_TOKEN\")") {
            readers.push(f.display().to_string());
        }
        for (n, line) in text.lines().enumerate() {
            let logs = [
                "tracing::",
                "println!",
                "eprintln!",
                "format!",
                "info!",
                "debug!",
            ];
            assert!(
                !(line.contains("token")
                    && logs.iter().any(|l| line.contains(l))
                    && line.contains("{token")),
                "{}:{}: token formatted into output: {line}",
                f.display(),
                n + 1
            );
        }
    }
    assert_eq!(readers.len(), 1, "DISCORD_TOKEN read in: {readers:?}");
}

/// One outbox: every Discord send, edit, upload, thread change and deletion is made in
/// `src/discord/outbox.rs`, so mentions, ordering and error handling have one home. Commands
/// answer their own interaction with poise's `ctx.send`, which is not a Discord route of its own.
#[test]
fn discord_writes_happen_only_in_the_outbox() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let outbox = root.join("discord/outbox.rs");
    assert!(files.contains(&outbox));
    let writes = [
        "send_message(",
        "create_response(",
        "create_followup(",
        "edit_message(",
        "create_thread(",
        "edit_thread(",
        "delete_message(",
        "create_dm_channel(",
    ];
    let mut hits = Vec::new();
    for f in files.iter().filter(|f| **f != outbox) {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if writes.iter().any(|w| line.contains(w)) {
                hits.push(format!("{}:{}: {line}", f.display(), n + 1));
            }
        }
    }
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}
