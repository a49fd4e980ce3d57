//! The ticket life through `paymedic chat`, as data: each `tests/chats/*.toml` is a script of
//! lines typed into the terminal (members and the moderator's `/mod` commands), with what the
//! output after each line must and must not contain.

use crate::common::{app, block_on};
use paymedic::engine::sensitive::redact;
use paymedic::engine::Timestamp;
use paymedic::terminal;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    about: String,
    line: Vec<Line>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    /// What is typed.
    say: String,
    /// Minutes since the start (default: 5 s after the line before).
    at_minutes: Option<u64>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    lacks: Vec<String>,
}

fn play(path: &std::path::Path) -> Result<(), String> {
    let src = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let script: Script = toml::from_str(&src).map_err(|e| format!("bad script: {e}"))?;
    assert!(!script.about.is_empty());
    let mut times = Vec::new();
    let mut t = 0;
    for l in &script.line {
        t = match l.at_minutes {
            Some(m) => m * 60_000,
            None => t + 5_000,
        };
        times.push(Timestamp(t));
    }
    let input: String = script.line.iter().map(|l| format!("{}\n", l.say)).collect();
    let app = app();
    let mut out = Vec::new();
    let mut clock = times.clone().into_iter();
    block_on(terminal::run(
        &app,
        input.as_bytes(),
        &mut out,
        false,
        move || clock.next().unwrap_or(Timestamp(t)),
    ))
    .map_err(|e| e.to_string())?;
    let out = String::from_utf8(out).map_err(|e| e.to_string())?;
    // Each line's output runs from its echo ("name> line") to the next line's echo.
    let mut starts = Vec::new();
    let mut from = 0;
    for l in &script.line {
        // The echo is redacted, like everything the terminal prints.
        let echo = format!("> {}\n", terminal::visible(&redact(&l.say)));
        let at = out[from..]
            .find(&echo)
            .map(|i| from + i)
            .ok_or(format!("the echo of {:?} is missing:\n{out}", l.say))?;
        starts.push(at);
        from = at + echo.len();
    }
    starts.push(out.len());
    for (i, l) in script.line.iter().enumerate() {
        let section = &out[starts[i]..starts[i + 1]];
        for want in &l.contains {
            if !section.contains(want.as_str()) {
                return Err(format!(
                    "line {} ({:?}) should print {want:?}; it printed:\n{section}",
                    i + 1,
                    l.say
                ));
            }
        }
        for not in &l.lacks {
            if section.contains(not.as_str()) {
                return Err(format!(
                    "line {} ({:?}) should not print {not:?}; it printed:\n{section}",
                    i + 1,
                    l.say
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_chat_script_plays_as_written() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chats");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "expected chat scripts in {dir}");
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            play(p)
                .err()
                .map(|e| format!("{}:\n{e}", p.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
