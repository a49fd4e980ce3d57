//! `paymedic chat`: talk to the bot as a member, in the terminal, with no Discord at all.
//!
//! Choices are shown as numbers; typing the number or the option's text picks it (the engine
//! does that matching, exactly as for a member typing in Discord). With piped input the output
//! is a plain transcript, so conversations can be scripted from the shell.

use crate::app::{today, App, UserKey};
use crate::engine::limits::INPUT_LINE_BYTES_MAX;
use crate::engine::sensitive::redact;
use crate::engine::{Content, Effect, Input, Timestamp};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};

const HELP: &str = "\
Type a message as a member would. Numbers pick a choice.
  /as NAME                         talk as another member (each has their own conversation)
  /check limit PURCHASE BALANCE LIMIT
  /check app ios|android VERSION
  /check card-expiry MM/YY
  /check status
  /reset                           forget my conversation
  /stats                           how conversations ended, per intent and step
  /help                            this text
  /quit                            leave";

/// Runs a chat session until end of input or `/quit`.
pub fn run(
    app: &App,
    mut input: impl BufRead,
    mut out: impl Write,
    interactive: bool,
    mut clock: impl FnMut() -> Timestamp,
) -> io::Result<()> {
    let mut users: HashMap<String, u64> = HashMap::new();
    let mut name = String::from("you");
    users.insert(name.clone(), 1);
    if interactive {
        writeln!(
            out,
            "paymedic chat: describe a payment problem, or /help. Ctrl-D to leave."
        )?;
    }
    let mut buf = Vec::new();
    loop {
        if interactive {
            write!(out, "{name}> ")?;
            out.flush()?;
        }
        let Some(cut) = read_line_capped(&mut input, &mut buf, INPUT_LINE_BYTES_MAX)? else {
            break;
        };
        let line = match std::str::from_utf8(&buf) {
            Ok(l) => l,
            // Cut inside a character: keep what came before it.
            Err(e) if cut && e.error_len().is_none() => {
                std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default()
            }
            // Not UTF-8: say so and carry on, rather than ending the session.
            Err(_) => {
                writeln!(out, "(that line was not valid UTF-8; skipped)")?;
                continue;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if cut {
            writeln!(
                out,
                "(that line is over {INPUT_LINE_BYTES_MAX} bytes; only its start was read)"
            )?;
        }
        if !interactive {
            // The transcript shows the line as the member typed it, with any card number, code
            // or password replaced, and control characters made visible.
            writeln!(out, "{name}> {}", visible(&redact(line)))?;
        }
        let user = UserKey {
            scope: 0,
            user: users[&name],
        };
        if let Some(cmd) = line.strip_prefix('/') {
            let mut words = cmd.split_whitespace();
            match (
                words.next().unwrap_or(""),
                words.collect::<Vec<_>>().as_slice(),
            ) {
                ("quit" | "exit", _) => break,
                ("help", _) => writeln!(out, "{HELP}")?,
                ("as", [n]) => {
                    let n = visible(&redact(n)).into_owned();
                    let next = users.len() as u64 + 1;
                    users.entry(n.clone()).or_insert(next);
                    name = n;
                    writeln!(out, "(now talking as {name})")?;
                }
                ("as", _) => writeln!(out, "usage: /as NAME")?,
                ("reset", []) => {
                    let turn = app.turn(user, Input::Reset, clock());
                    render(&mut out, &app.engine.content, &turn.effects)?;
                }
                ("stats", []) => stats(app, &mut out)?,
                ("check", args) => check(app, args, &mut out)?,
                (other, _) => writeln!(
                    out,
                    "unknown command /{}; try /help",
                    visible(&redact(other))
                )?,
            }
            continue;
        }
        let turn = app.turn(
            user,
            Input::Text {
                text: line,
                addressed: true,
            },
            clock(),
        );
        if turn.effects.is_empty() {
            writeln!(out, "(no reply)")?;
        }
        render(&mut out, &app.engine.content, &turn.effects)?;
    }
    Ok(())
}

/// Text a member typed, safe to show in a terminal: control characters (C0 but tab, DEL, C1,
/// and so the ESC that starts every escape sequence) become U+FFFD, so input cannot recolour,
/// move or clear the screen, ring the bell or hide text.
pub fn visible(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| c.is_control() && c != '\t';
    if text.contains(hidden) {
        Cow::Owned(text.replace(hidden, "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Reads one line into `buf` (without its `\n`), keeping at most `max` bytes of it: the rest
/// of a longer line is read and dropped without being stored, so memory stays bounded whatever
/// the input. `None` at end of input; otherwise whether the line was cut.
pub fn read_line_capped(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut any = false;
    let mut cut = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(cut));
        }
        any = true;
        let (len, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        cut |= len > room;
        buf.extend_from_slice(&chunk[..len.min(room)]);
        input.consume(if end { len + 1 } else { len });
        if end {
            return Ok(Some(cut));
        }
    }
}

fn check(app: &App, args: &[&str], out: &mut impl Write) -> io::Result<()> {
    let answer = match args {
        ["limit", p, b, l] => app.check_limit(p, b, l).map(|v| v.to_string()),
        ["limit", ..] => {
            Ok("usage: /check limit PURCHASE BALANCE LIMIT, e.g. /check limit 120 300 500".into())
        }
        ["app", platform, version] => app.check_app(platform, version).map(|v| v.to_string()),
        ["app", ..] => {
            Ok("usage: /check app ios|android VERSION, e.g. /check app ios 24.9.1".into())
        }
        ["card-expiry" | "card" | "expiry", e] => {
            app.check_expiry(e, today()).map(|v| v.to_string())
        }
        ["card-expiry" | "card" | "expiry", ..] => {
            Ok("usage: /check card-expiry MM/YY, e.g. /check card-expiry 08/27".into())
        }
        ["status"] => Ok(app.check_status()),
        _ => Ok("checks: limit, app, card-expiry, status (see /help)".into()),
    };
    match answer {
        Ok(text) => writeln!(out, "bot: {text}"),
        Err(e) => writeln!(out, "bot: Hmm, {}.", visible(&e.to_string())),
    }
}

fn stats(app: &App, out: &mut impl Write) -> io::Result<()> {
    let counts = app.outcomes();
    if counts.is_empty() {
        return writeln!(out, "(no finished conversations yet)");
    }
    let c = &app.engine.content;
    for ((intent, step, outcome), n) in counts {
        let step = step.map_or("first answer".to_string(), |s| {
            c.step(intent, s).key.clone()
        });
        writeln!(
            out,
            "{:<18} {:<16} {:?}: {n}",
            c.intent(intent).key,
            step,
            outcome
        )?;
    }
    Ok(())
}

/// Prints effects as plain text.
pub fn render(out: &mut impl Write, content: &Content, effects: &[Effect<'_>]) -> io::Result<()> {
    for e in effects {
        match e {
            Effect::Answer {
                title,
                intro,
                steps,
                ..
            } => {
                writeln!(out, "bot: [{title}]")?;
                writeln!(out, "     {intro}")?;
                for (i, s) in steps.iter().enumerate() {
                    writeln!(out, "     {}. {s}", i + 1)?;
                }
            }
            Effect::Say(text) => writeln!(out, "bot: {text}")?,
            // The terminal is like a DM: nothing can be removed, so the member is asked to.
            Effect::Sensitive(secret) => writeln!(
                out,
                "bot: (!) {}",
                content.copy.sensitive_warning(*secret, false)
            )?,
            Effect::Ask {
                question, offers, ..
            } => {
                if !question.is_empty() {
                    writeln!(out, "bot: {question}")?;
                }
                for (i, o) in offers.iter().enumerate() {
                    writeln!(out, "     [{}] {}", i + 1, o.label)?;
                }
            }
            Effect::RequestHuman { tried, .. } => {
                writeln!(out, "     (sent to the moderators, with what was tried:)")?;
                for t in tried {
                    writeln!(out, "       - {t}")?;
                }
            }
            Effect::Record { .. } => {}
        }
    }
    Ok(())
}
