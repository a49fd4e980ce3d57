//! Operations: hot reload of the content pack (valid, invalid, a removed step, `/mod reload`,
//! SIGHUP). The metrics' counts are tested in `src/metrics.rs`, in the library's test binary,
//! where no other test drives turns, so every count is exact.

use crate::common::{block_on, member, pack};
use paymedic::app::App;
use paymedic::config::Config;
use paymedic::engine::{Choice, Effect, Input, State, Timestamp};
use paymedic::reload::{self, ReloadError, Source};
use std::path::PathBuf;
use std::sync::Arc;

const OLD_INTRO: &str = "Sorry your payment didn't go through.";

/// A file of its own for this test (the tests share one process and run in parallel).
fn temp_pack(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paymedic-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn app_reading(path: &std::path::Path) -> App {
    let mut app = App::new(
        crate::common::engine(),
        Config {
            cooldown_ms: 0,
            ..Config::default()
        },
    );
    app.set_source(Source {
        pack: Some(path.to_path_buf()),
        config: None,
        adjust: None,
    });
    app
}

fn said(effects: &[Effect<'_>]) -> String {
    effects
        .iter()
        .map(|e| match e {
            Effect::Answer { intro, steps, .. } => format!("{intro} {}", steps.join(" ")),
            Effect::Say(s) => s.to_string(),
            Effect::Ask { question, .. } => question.to_string(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn declined_intro(app: &App, who: u64) -> String {
    let key = member(1, who);
    let turn = block_on(app.turn(
        key,
        Input::Text {
            text: "klarna declined my payment",
            addressed: true,
        },
        Timestamp(1_000 * who),
    ))
    .unwrap();
    said(&turn.effects)
}

// ---------------------------------------------------------------------------------------------
// Reload
// ---------------------------------------------------------------------------------------------

#[test]
fn a_reload_with_a_changed_pack_changes_the_answers() {
    let path = temp_pack(
        "changed",
        &pack().replace(OLD_INTRO, "Reloaded intro: your payment failed."),
    );
    let app = app_reading(&path);
    assert!(declined_intro(&app, 1).contains(OLD_INTRO));
    let r = reload::reload(&app).unwrap();
    assert!(r.pack_file && r.pack_changed && !r.unchanged, "{r:?}");
    assert_eq!(app.generations(), 2);
    let now = declined_intro(&app, 2);
    assert!(now.contains("Reloaded intro"), "{now}");
    assert!(!now.contains(OLD_INTRO), "{now}");
    assert!(reload::reply(&Ok(r)).contains("content pack updated"));
    // The same file again: nothing new to keep.
    let again = reload::reload(&app).unwrap();
    assert!(again.unchanged, "{again:?}");
    assert_eq!(app.generations(), 2);
}

#[test]
fn an_invalid_pack_keeps_the_old_answers_and_reports_every_error_with_its_location() {
    // Two flows send "No" to a step that does not exist.
    let src = pack().replace("next = \"support\"", "next = \"nowhere\"");
    let expected = pack().matches("next = \"support\"").count();
    assert!(expected >= 2);
    let path = temp_pack("invalid", &src);
    let app = app_reading(&path);
    let err = reload::reload(&app).unwrap_err();
    let ReloadError::Invalid(errors) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(errors.len(), expected, "{errors:#?}");
    let file = path.display().to_string();
    for e in errors {
        // file:line:col: message
        let rest = e.strip_prefix(&format!("{file}:")).expect(e);
        let mut parts = rest.splitn(3, ':');
        let line: u32 = parts.next().unwrap().parse().expect(e);
        let col: u32 = parts.next().unwrap().parse().expect(e);
        assert!(line > 1000 && col >= 1, "{e}");
        assert!(e.contains("nowhere"), "{e}");
    }
    assert_eq!(app.generations(), 1);
    assert!(declined_intro(&app, 3).contains(OLD_INTRO));
    let reply = reload::reply(&Err(err));
    assert!(
        reply.starts_with(&format!("Not reloaded: {expected} errors")),
        "{reply}"
    );
    assert!(reply.chars().count() <= 2000);
}

#[test]
fn a_conversation_whose_step_was_removed_restarts_cleanly_after_a_reload() {
    // The declined flow without its "message" step (the step after "where").
    let src = pack();
    let start = src.find("[[intent.flow]]\nid = \"message\"").unwrap();
    let end = start
        + src[start..]
            .find("[[intent.flow]]\nid = \"other_method\"")
            .unwrap();
    let removed = format!("{}{}", &src[..start], &src[end..]);
    let path = temp_pack("removed-step", &removed);
    let app = app_reading(&path);
    let alice = member(1, 81);
    let intent = app
        .engine()
        .content
        .intent_by_key("payment_declined")
        .unwrap();
    block_on(app.turn(alice, Input::Start(intent), Timestamp(1_000))).unwrap();
    let to_message = block_on(app.turn(
        alice,
        Input::Choose {
            choice: Choice::Option(0),
            shown_at: None,
        },
        Timestamp(2_000),
    ))
    .unwrap();
    assert!(said(&to_message.effects).contains("What does the message say?"));
    reload::reload(&app).unwrap();
    // The stored step is gone: the session reads back as a fresh conversation, and a press
    // on the old question is answered as stale, not as another step's answer.
    let session = block_on(app.session(alice)).unwrap().unwrap();
    assert_eq!(session.state, State::Idle, "{session:?}");
    let press = block_on(app.turn(
        alice,
        Input::Choose {
            choice: Choice::Option(0),
            shown_at: None,
        },
        Timestamp(3_000),
    ))
    .unwrap();
    let text = said(&press.effects);
    assert_eq!(text, app.engine().content.copy.stale, "{text}");
    assert!(!text.contains("another card works"), "{text}");
    assert!(!text.contains("card is the likely problem"), "{text}");
    // And the next message starts the flow again on the new pack.
    let again = declined_intro(&app, 81);
    assert!(again.contains(OLD_INTRO), "{again}");
    assert!(again.contains("Where are you paying?"), "{again}");
}

#[test]
fn mod_reload_in_the_chat_reloads_and_lists_errors() {
    let good = temp_pack(
        "chat-good",
        &pack().replace(OLD_INTRO, "Chat-reloaded intro."),
    );
    let app = app_reading(&good);
    let mut out = Vec::new();
    let mut t = 0;
    block_on(paymedic::terminal::run(
        &app,
        "klarna declined my payment\n/mod reload\n/reset\nklarna declined my payment\n".as_bytes(),
        &mut out,
        false,
        || {
            t += 10_000;
            Timestamp(t)
        },
    ))
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let reloaded = out.find("content pack updated").expect(&out);
    assert!(out[..reloaded].contains(OLD_INTRO), "{out}");
    assert!(out[reloaded..].contains("Chat-reloaded intro."), "{out}");

    let bad = temp_pack(
        "chat-bad",
        &pack().replace("next = \"support\"", "next = \"nowhere\""),
    );
    let app = app_reading(&bad);
    let mut out = Vec::new();
    block_on(paymedic::terminal::run(
        &app,
        "/mod reload\n".as_bytes(),
        &mut out,
        false,
        || Timestamp(1),
    ))
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let n = pack().matches("next = \"support\"").count();
    assert!(out.contains(&format!("not reloaded: {n} errors")), "{out}");
    assert!(out.contains(&format!("{}:", bad.display())), "{out}");
}

#[test]
fn with_the_built_in_pack_a_reload_says_it_cannot_change() {
    let app = crate::common::app();
    let r = reload::reload(&app).unwrap();
    assert!(!r.pack_file && !r.pack_changed && r.unchanged, "{r:?}");
    assert!(reload::reply(&Ok(r)).contains("built-in"));
    assert_eq!(app.generations(), 1);
}

#[cfg(unix)]
#[test]
fn sighup_reloads() {
    let path = temp_pack(
        "sighup",
        &pack().replace(OLD_INTRO, "Hangup-reloaded intro."),
    );
    let app = Arc::new(app_reading(&path));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Registered before the signal is sent, so it never takes the default action.
        let serve = reload::on_hangup(app.clone()).unwrap();
        tokio::spawn(serve);
        // SAFETY: sends SIGHUP to this process, whose handler is installed above.
        assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGHUP) }, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while app.generations() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "no reload after SIGHUP"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert!(declined_intro(&app, 5).contains("Hangup-reloaded intro."));
}
