//! `paymedic chat`: talk to the bot as a member, in the terminal, with no Discord at all.
//!
//! Choices are shown as numbers; typing the number or the option's text picks it (the engine
//! does that matching, exactly as for a member typing in Discord). With piped input the output
//! is a plain transcript, so conversations can be scripted from the shell.
//!
//! During an incident, the "Notify me when it's fixed" button is choice `[0]`: the member
//! types `0` to be told (here, a line addressed to them) when `/mod incident end` runs.

use crate::app::{today, ActionError, App, Staff, TicketNote, UserKey};
use crate::engine::content::pack_hash;
use crate::engine::content::Copy;
use crate::engine::ids::{ChannelId, GuildId, MemberId, TicketId};
use crate::engine::limits::INPUT_LINE_BYTES_MAX;
use crate::engine::sensitive::redact;
use crate::engine::tickets::{StaffAction, Ticket, TicketStatus, Timer, FORGET_REASON};
use crate::engine::{Content, Effect, IncidentId, Input, Timestamp};
use crate::store::Subscribed;
use crate::store::{Opened, StoreError, TicketFilter};
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
  /reply TEXT                      write in your own ticket's thread
  /rate yes|no                     answer \"Did we solve it?\" for your last closed ticket
  /reset                           forget my conversation
  /forget-me                       delete everything stored about me
  /stats                           how conversations ended, per intent and step
  /session                         where my conversation stands, as stored
  /mod escalate NAME [REASON]      open a ticket for a member, as a moderator
  /mod list                        open tickets with age, claimer and topic
  /mod show N                      a ticket's packet and thread
  /mod claim N | /mod unclaim N
  /mod say N TEXT                  answer in ticket N's thread
  /mod close N REASON
  /mod handback N                  give the member back to the bot
  /mod reopen N
  /mod incident start [intents=ID,ID] NOTICE
                                   announce a known outage (again: replace the notice)
  /mod incident end                end it; everyone who asked is told it's fixed
  /mod reload                      re-read the content pack and settings
  /help                            this text
  /quit                            leave";

/// The moderator at the keyboard. The terminal's operator is the admin, so `/mod` commands
/// need no role check; on Discord every staff action is checked against the member's roles.
const MODERATOR: MemberId = MemberId(1_000_000);
/// The names a chat member's name must not imitate: the bot's and the support team's.
const PROTECTED_NAMES: &[&str] = &["paymedic", "support", "moderator"];
/// Terminal tickets have no Discord thread; each gets a stand-in channel id.
const THREADS_FROM: u64 = 1_000_000_000;

/// Who is who in a chat session: names to member ids and back.
struct People {
    ids: HashMap<String, u64>,
    current: String,
    /// The incident whose "notify me" choice (`[0]`) each member was last shown.
    notify: HashMap<String, IncidentId>,
}

impl People {
    fn key(&self) -> UserKey {
        UserKey::new(GuildId(0), MemberId(self.ids[&self.current]))
    }

    /// A name's member id: the same in every session, so `chat --db` finds a member's
    /// conversation and tickets again after a restart. "you" is member 1.
    fn id_of(&mut self, name: &str) -> MemberId {
        MemberId(
            *self
                .ids
                .entry(name.to_string())
                .or_insert_with(|| name_id(name)),
        )
    }

    fn name(&self, m: MemberId) -> String {
        if m == MODERATOR {
            return "mod".into();
        }
        if m == MemberId::FORGOTTEN {
            return "(forgotten member)".into();
        }
        self.ids
            .iter()
            .find(|(_, id)| **id == m.get())
            .map_or_else(|| format!("member {m}"), |(n, _)| n.clone())
    }
}

/// A stable member id for a name (the same FNV-1a hash as `pack_hash`, kept clear of 0, "you"
/// and the moderator).
fn name_id(name: &str) -> u64 {
    if name == "you" {
        return 1;
    }
    (pack_hash(name) >> 24) | (1 << 40)
}

/// Runs a chat session until end of input or `/quit`.
pub async fn run(
    app: &App,
    mut input: impl BufRead,
    mut out: impl Write,
    interactive: bool,
    mut clock: impl FnMut() -> Timestamp,
) -> io::Result<()> {
    let mut people = People {
        ids: HashMap::from([("you".to_string(), 1)]),
        current: "you".to_string(),
        notify: HashMap::new(),
    };
    if interactive {
        writeln!(
            out,
            "paymedic chat: describe a payment problem, or /help. Ctrl-D to leave."
        )?;
    }
    // `[status] notice` starts the first incident (see `App::seed_incident`).
    // (The clock is asked only then: scripted clocks count their ticks.)
    if app.config().status_notice.is_some() {
        if let Err(e) = app.seed_incident(clock()).await {
            writeln!(out, "(error: {e})")?;
        }
    }
    let mut buf = Vec::new();
    loop {
        if interactive {
            write!(out, "{}> ", people.current)?;
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
            writeln!(out, "{}> {}", people.current, visible(&redact(line)))?;
        }
        let now = clock();
        let result = if let Some(cmd) = line.strip_prefix('/') {
            match command(app, &mut people, cmd, now, &mut out).await {
                Ok(Flow::Quit) => break,
                Ok(Flow::Go) => Ok(()),
                Err(e) => Err(e),
            }
        } else if line == "0" && people.notify.contains_key(&people.current) {
            notify_me(app, &mut people, now, &mut out).await
        } else {
            let user = people.key();
            // Members are screened by the scam shield as in a support channel, and so is the
            // name they chat under (`/as NAME`); the moderator is not.
            let screen = user.member != MODERATOR;
            if screen {
                if let Some(flag) = app.impersonating_name(user, &people.current, PROTECTED_NAMES) {
                    writeln!(
                        out,
                        "     (moderators told: {} posts under a name that imitates {})",
                        people.current, flag.imitates
                    )?;
                }
            }
            let origin = crate::app::Origin {
                user,
                request: None,
                claim: None,
                screen,
            };
            match app
                .turn(
                    origin,
                    Input::Text {
                        text: line,
                        addressed: true,
                    },
                    now,
                )
                .await
            {
                Ok(turn) => {
                    if turn.is_silent() {
                        writeln!(out, "(no reply)")?;
                    }
                    render(&mut out, &app.engine().content, &turn.effects)?;
                    remember_notify(&mut people, &turn.effects);
                    note(app, &people, turn.ticket, now, &mut out).await
                }
                Err(e) => Err(Failure::Store(e)),
            }
        };
        match result {
            Ok(()) => {}
            Err(Failure::Io(e)) => return Err(e),
            // The store failed: say so and keep serving (the turn was not committed).
            Err(Failure::Store(e)) => writeln!(out, "(error: {e})")?,
        }
        timers(app, &people, now, &mut out).await?;
    }
    // What the session did goes into the activity log (`paymedic report`).
    if let Err(e) = app.flush_activity(clock()).await {
        writeln!(out, "(error: {e})")?;
    }
    Ok(())
}

enum Flow {
    Go,
    Quit,
}

/// Keeps the incident whose "notify me" choice a turn showed, so `0` picks it.
fn remember_notify(people: &mut People, effects: &[Effect<'_>]) {
    if let Some(id) = effects.iter().find_map(|e| match e {
        Effect::Incident { id, .. } => Some(*id),
        _ => None,
    }) {
        people.notify.insert(people.current.clone(), id);
    }
}

/// The member picked `[0] Notify me when it's fixed`.
async fn notify_me(
    app: &App,
    people: &mut People,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let Some(id) = people.notify.get(&people.current).copied() else {
        return Ok(());
    };
    let copy = &app.engine().content.copy;
    let text = match app.subscribe_incident(id, people.key(), now).await? {
        Subscribed::Added => &copy.incident_subscribed,
        Subscribed::Already => &copy.incident_already_subscribed,
        Subscribed::Over => {
            people.notify.remove(&people.current);
            &copy.incident_over
        }
    };
    writeln!(out, "bot: {text}")?;
    Ok(())
}

/// `/mod incident start|end`.
async fn incident(
    app: &App,
    people: &mut People,
    cmd: &str,
    args: &[&str],
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let staff = Staff::trusted(MODERATOR);
    match args {
        ["start", first, ..] => {
            let (intents, notice) = match first.strip_prefix("intents=") {
                Some(list) => (list, rest_after(cmd, 4)),
                None => ("", rest_after(cmd, 3)),
            };
            match app.start_incident(staff, notice, intents, now).await {
                Ok(started) => {
                    let i = started.incident();
                    let how = match started {
                        crate::store::Started::New(_) => "started",
                        crate::store::Started::Replaced(_) => "updated (same incident, new notice)",
                    };
                    writeln!(
                        out,
                        "(incident #{} {how}; covers {})",
                        i.id,
                        i.intents.join(", ")
                    )?;
                }
                Err(crate::app::IncidentError::Store(e)) => return Err(e.into()),
                Err(e) => writeln!(out, "(refused: {e})")?,
            }
        }
        ["end"] => match app.end_incident(staff, now).await? {
            Some(ended) => {
                let fixed = &app.engine().content.copy.incident_fixed;
                let mut told = 0;
                for who in &ended.subscribers {
                    writeln!(out, "bot → {} (DM): {fixed}", people.name(who.member))?;
                    app.incident_told(ended.incident.id, *who).await?;
                    told += 1;
                }
                people.notify.clear();
                writeln!(
                    out,
                    "(incident #{} ended; told {told}, closed DMs 0, failed 0)",
                    ended.incident.id
                )?;
            }
            None => writeln!(out, "(no incident is active)")?,
        },
        _ => writeln!(
            out,
            "usage: /mod incident start [intents=ID,ID] NOTICE | /mod incident end"
        )?,
    }
    Ok(())
}

/// Why a line could not be handled.
enum Failure {
    Io(io::Error),
    Store(StoreError),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

async fn command(
    app: &App,
    people: &mut People,
    cmd: &str,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<Flow, Failure> {
    let mut words = cmd.split_whitespace();
    let name = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    let user = people.key();
    match (name, args.as_slice()) {
        ("quit" | "exit", _) => return Ok(Flow::Quit),
        ("help", _) => writeln!(out, "{HELP}")?,
        ("as", [n]) => {
            let n = visible(&redact(n)).into_owned();
            people.id_of(&n);
            people.current = n;
            writeln!(out, "(now talking as {})", people.current)?;
        }
        ("as", _) => writeln!(out, "usage: /as NAME")?,
        ("reset", []) => {
            let turn = app.turn(user, Input::Reset, now).await?;
            render(out, &app.engine().content, &turn.effects)?;
            note(app, people, turn.ticket, now, out).await?;
        }
        ("stats", []) => stats(app, out).await?,
        ("session", []) => {
            let state = match app.store().session(user).await? {
                Some(r) => serde_json::to_string(&r.session.state).unwrap_or_default(),
                None => "idle (nothing stored)".into(),
            };
            writeln!(out, "(session: {state})")?;
        }
        ("check", args) => check(app, user, args, now, out).await?,
        ("reply", []) => writeln!(out, "usage: /reply TEXT")?,
        ("reply", _) => {
            let text = rest_after(cmd, 1);
            match app.store().active_ticket(user.guild, user.member).await? {
                Some(t) => {
                    app.ticket_message(thread_of(&t), user.member, text, now)
                        .await?;
                    writeln!(
                        out,
                        "(in ticket #{}) {}: {}",
                        t.id,
                        people.current,
                        visible(&redact(text))
                    )?;
                }
                None => writeln!(out, "(you have no open ticket)")?,
            }
        }
        ("rate", [answer @ ("yes" | "no")]) => {
            let last = app
                .store()
                .tickets(&TicketFilter {
                    guild: Some(user.guild),
                    statuses: vec![TicketStatus::Closed],
                    limit: None,
                })
                .await?
                .into_iter()
                .find(|t| t.member == user.member);
            let taken = match last {
                Some(t) => app.rate(t.id, user.member, *answer == "yes", now).await?,
                None => false,
            };
            if taken {
                writeln!(out, "bot: {}", app.engine().content.copy.rate_thanks)?;
            } else {
                writeln!(out, "(you have no closed ticket to rate)")?;
            }
        }
        ("rate", _) => writeln!(out, "usage: /rate yes|no")?,
        ("forget-me", []) => {
            let report = app.forget(user, now).await?;
            if let Some(c) = &report.closed {
                writeln!(out, "(ticket #{} closed: {})", c.ticket.id, FORGET_REASON)?;
            }
            writeln!(
                out,
                "bot: Done. I deleted your conversations ({}) and feedback ({}), and removed your name from {} ticket(s).",
                report.forgotten.sessions, report.forgotten.feedback, report.forgotten.tickets
            )?;
        }
        ("mod", args) => moderate(app, people, cmd, args, now, out).await?,
        (other, _) => writeln!(
            out,
            "unknown command /{}; try /help",
            visible(&redact(other))
        )?,
    }
    Ok(Flow::Go)
}

/// The text of a command after its first `n` words.
fn rest_after(cmd: &str, n: usize) -> &str {
    let mut rest = cmd.trim_start();
    for _ in 0..n {
        rest = rest.trim_start();
        rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
    }
    rest.trim()
}

fn thread_of(t: &Ticket) -> ChannelId {
    t.thread
        .unwrap_or(ChannelId(THREADS_FROM + t.id.get().unsigned_abs()))
}

/// The terminal's own setting: no per-member cooldown (one person at a keyboard, or a piped
/// script). A [`crate::reload::Source::adjust`], so a reload keeps it.
pub fn no_cooldown(config: &mut crate::config::Config) {
    config.cooldown_ms = 0;
}

/// `/mod …`: the moderator's side of a ticket's life.
async fn moderate(
    app: &App,
    people: &mut People,
    cmd: &str,
    args: &[&str],
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let staff = Staff::trusted(MODERATOR);
    let ticket_no = |s: &str| s.trim_start_matches('#').parse::<i64>().ok().map(TicketId);
    let action = match args {
        ["incident", rest @ ..] => return incident(app, people, cmd, rest, now, out).await,
        ["escalate", name, ..] => {
            let member = people.id_of(&visible(&redact(name)));
            let reason = rest_after(cmd, 3);
            let reason = (!reason.is_empty()).then_some(reason);
            let user = UserKey::new(GuildId(0), member);
            let opened = app.escalate(staff, user, reason, now, None).await?;
            match opened {
                Opened::Created(t) => {
                    let t = open_thread(app, t, now).await?;
                    writeln!(
                        out,
                        "(ticket #{} opened for {})",
                        t.id,
                        people.name(t.member)
                    )?;
                    writeln!(
                        out,
                        "bot → {}: {}",
                        people.name(t.member),
                        Copy::with_ticket(
                            &app.engine().content.copy.ticket_escalated,
                            &format!("ticket #{}", t.id)
                        )
                    )?;
                    packet(out, people, &t)?;
                }
                Opened::Existing(t) => writeln!(
                    out,
                    "({} already has ticket #{})",
                    people.name(t.member),
                    t.id
                )?,
            }
            return Ok(());
        }
        ["escalate"] => {
            writeln!(out, "usage: /mod escalate NAME [REASON]")?;
            return Ok(());
        }
        ["reload"] => {
            // Every error in full here (a terminal has no message limit); the log has them
            // too.
            match crate::reload::reload(app) {
                Err(crate::reload::ReloadError::Invalid(errors)) => {
                    writeln!(
                        out,
                        "(not reloaded: {} error{}; the old content and settings stay in use)",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" }
                    )?;
                    for e in errors {
                        writeln!(out, "  {e}")?;
                    }
                }
                other => writeln!(out, "({})", crate::reload::reply(&other))?,
            }
            return Ok(());
        }
        ["list"] => {
            let open = app.store().tickets(&TicketFilter::active()).await?;
            if open.is_empty() {
                writeln!(out, "(no open tickets)")?;
            }
            for t in open {
                writeln!(out, "{}", list_line(&t, people, now))?;
            }
            return Ok(());
        }
        ["show", n] => {
            match ticket_no(n) {
                Some(id) => match app.store().ticket(id).await? {
                    Some(t) => {
                        let events = app.store().events(id).await?;
                        // Fresh from the events: it includes what came after the close (the rating).
                        let text = t.transcript_text(&events);
                        for l in text.lines() {
                            writeln!(out, "  {}", visible(l))?;
                        }
                    }
                    None => writeln!(out, "(no ticket #{n})")?,
                },
                None => writeln!(out, "usage: /mod show N")?,
            }
            return Ok(());
        }
        ["say", n, _, ..] => {
            let Some(id) = ticket_no(n) else {
                writeln!(out, "usage: /mod say N TEXT")?;
                return Ok(());
            };
            let text = rest_after(cmd, 3);
            match app.store().ticket(id).await? {
                Some(t) if t.status.is_active() => {
                    app.ticket_message(thread_of(&t), MODERATOR, text, now)
                        .await?;
                    writeln!(
                        out,
                        "(in ticket #{id}) mod → {}: {}",
                        people.name(t.member),
                        visible(&redact(text))
                    )?;
                }
                Some(_) => writeln!(out, "(ticket #{id} is not open)")?,
                None => writeln!(out, "(no ticket #{id})")?,
            }
            return Ok(());
        }
        ["claim", n] => ticket_no(n).map(|id| (id, StaffAction::Claim)),
        ["unclaim", n] => ticket_no(n).map(|id| (id, StaffAction::Unclaim)),
        ["close", n, _, ..] => ticket_no(n).map(|id| {
            (
                id,
                StaffAction::Close {
                    reason: rest_after(cmd, 3).to_string(),
                },
            )
        }),
        ["handback", n] => ticket_no(n).map(|id| (id, StaffAction::HandBack)),
        ["reopen", n] => ticket_no(n).map(|id| (id, StaffAction::Reopen)),
        _ => None,
    };
    let Some((id, action)) = action else {
        writeln!(
            out,
            "usage: /mod escalate NAME [REASON] | list | show N | claim N | unclaim N | say N TEXT | close N REASON | handback N | reopen N | reload | incident start|end"
        )?;
        return Ok(());
    };
    let what = action.name();
    match app.act(staff, id, action, now).await {
        Ok(changed) => {
            let t = &changed.ticket;
            writeln!(out, "(ticket #{}: {what} done)", t.id)?;
            if let Some(notice) = &changed.member_notice {
                writeln!(out, "bot → {}: {notice}", people.name(t.member))?;
            }
            if let Some(transcript) = &changed.transcript {
                writeln!(
                    out,
                    "(transcript kept: {} lines)",
                    transcript.lines().count()
                )?;
                if t.member != MemberId::FORGOTTEN {
                    writeln!(
                        out,
                        "bot → {}: {} (answer with /rate yes or /rate no)",
                        people.name(t.member),
                        app.engine().content.copy.rate_question
                    )?;
                }
            }
        }
        Err(ActionError::Refused(r)) => writeln!(out, "(refused: {r})")?,
        Err(ActionError::Store(e)) => return Err(e.into()),
    }
    Ok(())
}

/// Opens a terminal ticket: its stand-in thread exists at once.
async fn open_thread(app: &App, t: Ticket, now: Timestamp) -> Result<Ticket, StoreError> {
    let thread = thread_of(&t);
    Ok(app
        .ticket_opened(t.id, Some(thread), None, now)
        .await?
        .unwrap_or(t))
}

fn list_line(t: &Ticket, people: &People, now: Timestamp) -> String {
    let age_min = now.0.saturating_sub(t.opened_at.0) / 60_000;
    format!(
        "#{:<4} {:<12} {:>5} min  {:<8} claimed by {:<10} {}",
        t.id,
        people.name(t.member),
        age_min,
        t.status.as_str(),
        t.claimed_by.map_or("nobody".into(), |m| people.name(m)),
        t.packet.intent_title.as_deref().unwrap_or("(no topic)")
    )
}

fn packet(out: &mut impl Write, people: &People, t: &Ticket) -> io::Result<()> {
    let text = t.packet_text().replace(
        &format!("member {}", t.member),
        &format!("member {}", people.name(t.member)),
    );
    for l in text.lines() {
        writeln!(out, "  | {}", visible(l))?;
    }
    Ok(())
}

/// What the bot tells the member about their ticket, with its number for a link.
pub fn note_text(copy: &Copy, note: &TicketNote) -> String {
    let (template, t) = match note {
        TicketNote::Opened(t) => (&copy.ticket_opened, t),
        TicketNote::Existing(t) => (&copy.ticket_exists, t),
        TicketNote::Pointer(t) => (&copy.ticket_pointer, t),
    };
    Copy::with_ticket(template, &format!("ticket #{}", t.id))
}

/// Carries out what a turn says about the member's ticket.
async fn note(
    app: &App,
    people: &People,
    note: Option<TicketNote>,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let copy = &app.engine().content.copy;
    match note {
        None => {}
        Some(note) => {
            writeln!(out, "bot: {}", note_text(copy, &note))?;
            if let TicketNote::Opened(t) = note {
                let t = open_thread(app, t, now).await?;
                writeln!(out, "(ticket #{} opened; the moderators see:)", t.id)?;
                packet(out, people, &t)?;
            }
        }
    }
    Ok(())
}

/// Ticket timers due now (SLA reminders, inactivity warnings, auto-close).
async fn timers(
    app: &App,
    people: &People,
    now: Timestamp,
    out: &mut impl Write,
) -> io::Result<()> {
    let fired = match app.run_timers(now).await {
        Ok(f) => f,
        Err(e) => return writeln!(out, "(error: {e})"),
    };
    for f in fired {
        let t = &f.changed.ticket;
        match f.timer {
            Timer::SlaReminder => writeln!(
                out,
                "(ticket #{} is unclaimed past the SLA: reminding the support role)",
                t.id
            )?,
            Timer::InactivityWarning => writeln!(
                out,
                "(ticket #{} has been quiet; it closes soon unless someone writes)",
                t.id
            )?,
            Timer::AutoClose => {
                writeln!(out, "(ticket #{} closed: inactive)", t.id)?;
                if let Some(notice) = &f.changed.member_notice {
                    writeln!(out, "bot → {}: {notice}", people.name(t.member))?;
                }
            }
        }
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

async fn check(
    app: &App,
    user: UserKey,
    args: &[&str],
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), Failure> {
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
        ["status"] => Ok(app.check_status(now).await?),
        _ => Ok("checks: limit, app, card-expiry, status (see /help)".into()),
    };
    match answer {
        Ok(text) => {
            writeln!(out, "bot: {text}")?;
            if !text.starts_with("usage:") && !text.starts_with("checks:") {
                // Kept for the hand-off packet: which check, and its verdict.
                let what = format!("/check {}: {}", args.first().unwrap_or(&""), text);
                app.note_check(user, &what, now).await?;
            }
        }
        Err(e) => writeln!(out, "bot: Hmm, {}.", visible(&e.to_string()))?,
    }
    Ok(())
}

async fn stats(app: &App, out: &mut impl Write) -> Result<(), Failure> {
    let counts = app.outcomes().await?;
    if counts.is_empty() {
        writeln!(out, "(no finished conversations yet)")?;
    }
    for (row, n) in counts {
        let step = row.step.as_deref().unwrap_or("first answer");
        writeln!(
            out,
            "{:<18} {:<16} {}: {n}",
            row.intent,
            step,
            row.outcome.as_str()
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
            // The notify button is choice 0: the flow's own choices keep their numbers.
            Effect::Incident { notice, button, .. } => {
                writeln!(out, "bot: (!) {notice}")?;
                writeln!(out, "     [0] {button}")?;
            }
            // The terminal is like a DM: nothing can be removed, so the member is asked to.
            Effect::Sensitive(secret) => writeln!(
                out,
                "bot: (!) {}",
                content.copy.sensitive_warning(*secret, false)
            )?,
            // The terminal stands for a support channel: the warning is shown, and what the
            // moderators would be told.
            Effect::Scam(flag) => {
                writeln!(out, "bot: (!) {}", content.scam.copy.warning)?;
                writeln!(out, "     (moderators told: {})", flag.reason)?;
            }
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
