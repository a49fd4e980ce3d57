//! Conversations as data: every `tests/transcripts/*.toml` is played through the real [`App`]
//! and engine, turn by turn, and each expectation is checked with expected-vs-actual output.

use crate::common::{block_on, member};
use paymedic::app::App;
use paymedic::app::{Staff, TicketNote};
use paymedic::engine::tickets::StaffAction;
use paymedic::engine::{ChannelId, MemberId};
use paymedic::engine::{Choice, Effect, Input, Position, State, Timestamp};
use paymedic::terminal::{note_text, render};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Transcript {
    /// What the conversation shows.
    about: String,
    #[serde(rename = "turn")]
    turns: Vec<Turn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Turn {
    #[serde(default = "default_user")]
    user: String,
    /// Minutes since the transcript started.
    #[serde(default)]
    at_minutes: u64,
    say: Option<String>,
    /// Whether `say` is addressed to the bot (DM or mention); defaults to true.
    #[serde(default = "yes")]
    addressed: bool,
    /// Press the button with this label, from the latest question shown to this user...
    press: Option<String>,
    /// ...or from the question shown at this earlier turn (1-based), to test stale buttons.
    from_turn: Option<usize>,
    /// "reset", "handoff", "handback", "tick", or "start:<intent>".
    command: Option<String>,

    expect_intent: Option<String>,
    #[serde(default)]
    reply_contains: Vec<String>,
    #[serde(default)]
    reply_lacks: Vec<String>,
    offers: Option<Vec<String>>,
    silent: Option<bool>,
    escalates: Option<bool>,
    state: Option<String>,
}

fn default_user() -> String {
    "member".into()
}

fn yes() -> bool {
    true
}

struct Shown {
    offers: Vec<(String, Choice)>,
    at: Option<Position>,
}

fn state_name(s: Option<&State>) -> &'static str {
    match s {
        None | Some(State::Idle) => "idle",
        Some(State::Menu) => "menu",
        Some(State::InFlow(_)) => "in_flow",
        Some(State::Resolved { .. }) => "resolved",
        Some(State::Escalated { .. }) => "escalated",
        Some(State::HandedOff { .. }) => "handed_off",
    }
}

fn play(path: &Path, app: &App) -> Result<(), String> {
    let src = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let t: Transcript = toml::from_str(&src).map_err(|e| format!("bad transcript: {e}"))?;
    assert!(!t.about.is_empty());
    let c = &app.engine().content;
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut shown_by_turn: Vec<Option<Shown>> = Vec::new();
    let mut latest: HashMap<u64, usize> = HashMap::new();
    for (n, turn) in t.turns.iter().enumerate() {
        let next_id = ids.len() as u64 + 1;
        let uid = *ids.entry(turn.user.clone()).or_insert(next_id);
        let user = member(7, uid);
        // Members type at a human pace (5 s a turn), so the per-member cooldown stays out of
        // the way unless a transcript says otherwise with `at_minutes`.
        let now = Timestamp(turn.at_minutes * 60_000 + n as u64 * 5_000);
        let start_key;
        let mut handed_back = None;
        let input = if let Some(text) = &turn.say {
            Input::Text {
                text,
                addressed: turn.addressed,
            }
        } else if let Some(label) = &turn.press {
            let source = match turn.from_turn {
                Some(k) => k - 1,
                None => *latest
                    .get(&uid)
                    .ok_or(format!("turn {}: nothing was shown to press", n + 1))?,
            };
            let shown = shown_by_turn
                .get(source)
                .and_then(|s| s.as_ref())
                .ok_or(format!(
                    "turn {}: turn {} showed no question",
                    n + 1,
                    source + 1
                ))?;
            let choice = shown
                .offers
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, c)| *c)
                .ok_or(format!(
                    "turn {}: no button {label:?}; offered: {:?}",
                    n + 1,
                    shown.offers.iter().map(|(l, _)| l).collect::<Vec<_>>()
                ))?;
            Input::Choose {
                choice,
                shown_at: shown.at,
            }
        } else if let Some(cmd) = &turn.command {
            match cmd.as_str() {
                "reset" => Input::Reset,
                // A moderator escalates the member, or hands them back to the bot.
                "handoff" => {
                    let staff = Staff::trusted(MemberId(999));
                    block_on(app.escalate(staff, user, None, now, None)).unwrap();
                    let t = block_on(app.store().active_ticket(user.guild, user.member))
                        .unwrap()
                        .expect("the escalation opened a ticket");
                    block_on(app.ticket_opened(
                        t.id,
                        Some(ChannelId(900 + t.id.get() as u64)),
                        None,
                        now,
                    ))
                    .unwrap();
                    Input::Tick
                }
                "handback" => {
                    let staff = Staff::trusted(MemberId(999));
                    let t = block_on(app.store().active_ticket(user.guild, user.member))
                        .unwrap()
                        .ok_or(format!("turn {}: no ticket to hand back", n + 1))?;
                    let changed = block_on(app.act(staff, t.id, StaffAction::HandBack, now))
                        .map_err(|e| format!("turn {}: {e}", n + 1))?;
                    handed_back = changed.member_notice;
                    Input::Tick
                }
                "tick" => Input::Tick,
                other => {
                    start_key = other
                        .strip_prefix("start:")
                        .ok_or(format!("unknown command {other}"))?;
                    Input::Start(
                        c.intent_by_key(start_key)
                            .ok_or(format!("unknown intent {start_key}"))?,
                    )
                }
            }
        } else {
            return Err(format!("turn {}: needs say, press or command", n + 1));
        };
        let result = block_on(app.turn(user, input, now)).unwrap();
        let mut text = Vec::new();
        render(&mut text, c, &result.effects).unwrap();
        let mut text = String::from_utf8(text).unwrap();
        if let Some(note) = &result.ticket {
            text.push_str(&format!("bot: {}\n", note_text(&c.copy, note)));
            if let TicketNote::Opened(t) = note {
                block_on(app.ticket_opened(
                    t.id,
                    Some(ChannelId(900 + t.id.get() as u64)),
                    None,
                    now,
                ))
                .unwrap();
            }
        }
        if let Some(notice) = handed_back.take() {
            text.push_str(&format!("bot: {notice}\n"));
        }
        let fail = |what: String| {
            format!(
                "turn {} ({:?}): {what}\n--- bot said ---\n{text}",
                n + 1,
                turn.say
                    .as_deref()
                    .or(turn.press.as_deref())
                    .or(turn.command.as_deref())
            )
        };

        let ask = result.effects.iter().rev().find_map(|e| match e {
            Effect::Ask { offers, at, .. } => Some(Shown {
                offers: offers
                    .iter()
                    .map(|o| (o.label.to_string(), o.choice))
                    .collect(),
                at: *at,
            }),
            _ => None,
        });
        if let Some(want) = &turn.expect_intent {
            let got = result
                .classification
                .as_ref()
                .and_then(|c| c.intent)
                .map_or("none".to_string(), |i| c.intent(i).key.clone());
            if &got != want {
                return Err(fail(format!("expected intent {want}, got {got}")));
            }
        }
        for s in &turn.reply_contains {
            if !text.to_lowercase().contains(&s.to_lowercase()) {
                return Err(fail(format!("reply should contain {s:?}")));
            }
        }
        for s in &turn.reply_lacks {
            if text.to_lowercase().contains(&s.to_lowercase()) {
                return Err(fail(format!("reply should not contain {s:?}")));
            }
        }
        if let Some(want) = &turn.offers {
            let got: Vec<String> = ask.as_ref().map_or(vec![], |a| {
                a.offers.iter().map(|(l, _)| l.clone()).collect()
            });
            if &got != want {
                return Err(fail(format!(
                    "expected offers {want:?}\n             got {got:?}"
                )));
            }
        }
        if let Some(silent) = turn.silent {
            if silent != (result.is_silent() && text.is_empty()) {
                return Err(fail(format!("expected silent = {silent}")));
            }
        }
        if let Some(esc) = turn.escalates {
            let did = matches!(result.ticket, Some(TicketNote::Opened(_)));
            if did != esc {
                return Err(fail(format!("expected escalates = {esc}, got {did}")));
            }
        }
        if let Some(want) = &turn.state {
            let got = state_name(
                block_on(app.session(user))
                    .unwrap()
                    .as_ref()
                    .map(|s| &s.state),
            );
            if got != want {
                return Err(fail(format!("expected state {want}, got {got}")));
            }
        }
        if ask.is_some() {
            latest.insert(uid, n);
        }
        shown_by_turn.push(ask);
    }
    Ok(())
}

#[test]
fn every_transcript_plays_as_written() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the transcripts in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for f in &files {
        // A fresh app per transcript: no state leaks between conversations.
        let app = crate::common::app();
        if let Err(e) = play(f, &app) {
            failures.push(format!(
                "{}:\n{e}",
                f.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
