//! Loading the dashboard's and `report`'s figures from the store (see
//! [`crate::engine::insight`] for what they are and how they are computed).

use crate::engine::insight::{build, Report, Sources, Window};
use crate::engine::{Engine, Timestamp};
use crate::store::{Store, StoreError, TicketFilter};
use std::collections::HashMap;

/// The figures for `window`, ending at `now`: the activity log of the window, every stored
/// ticket (for those open now, opened and closed in the window), the events of the tickets
/// opened in the window (for the first staff reply), and the feedback.
pub async fn load_report(
    store: &dyn Store,
    engine: &Engine,
    window: Window,
    now: Timestamp,
) -> Result<Report, StoreError> {
    let from = Timestamp(now.0.saturating_sub(window.ms()));
    let activity = store.activity(from).await?;
    let tickets = store.tickets(&TicketFilter::default()).await?;
    let mut events = HashMap::new();
    for t in tickets
        .iter()
        .filter(|t| (from..=now).contains(&t.opened_at))
    {
        events.insert(t.id, store.events(t.id).await?);
    }
    let feedback = store.feedback().await?;
    Ok(build(
        engine,
        window,
        now,
        Sources {
            activity: &activity,
            tickets: &tickets,
            events: &events,
            feedback: &feedback,
        },
    ))
}

/// `YYYY-MM-DD HH:MM` UTC.
fn when(ms: u64) -> String {
    let (y, m, d) = crate::app::civil_from_days((ms / 86_400_000) as i64);
    let mins = (ms % 86_400_000) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", mins / 60, mins % 60)
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.0}%", x * 100.0))
}

/// A duration as `45s`, `12m`, `3.5h` or `2.1d`.
fn duration(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "-".into();
    };
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.0}m", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// The report as plain-text tables (`paymedic report`). Stored text was masked when it was
/// recorded; control characters are shown as placeholders here too.
pub fn render_text(report: &Report, window: Window) -> String {
    use crate::terminal::visible;
    use std::fmt::Write;
    let mut o = String::new();
    let m = &report.messages;
    let _ = writeln!(
        o,
        "paymedic report: last {} ({} to {} UTC)\n",
        window.as_str(),
        when(report.from),
        when(report.to)
    );
    let removed = m
        .seen
        .saturating_sub(m.answered + m.out_of_scope + m.cooldown + m.handed_off);
    let _ = writeln!(o, "Messages");
    let _ = writeln!(
        o,
        "  seen {}  answered {}  out of scope {}  cooldown {}  handed off {}  removed {}\n",
        m.seen, m.answered, m.out_of_scope, m.cooldown, m.handed_off, removed
    );

    let _ = writeln!(o, "Intents");
    if report.intents.is_empty() {
        let _ = writeln!(o, "  (no conversations)");
    } else {
        let _ = writeln!(
            o,
            "  {:<24} {:>13} {:>10} {:>8} {:>6} {:>11} {:>9}",
            "intent",
            "conversations",
            "deflection",
            "fix rate",
            "fixed",
            "still stuck",
            "escalated"
        );
        for i in &report.intents {
            let _ = writeln!(
                o,
                "  {:<24} {:>13} {:>10} {:>8} {:>6} {:>11} {:>9}",
                i.intent,
                i.conversations,
                percent(i.deflection()),
                percent(i.fix_rate()),
                i.fixed,
                i.still_stuck,
                i.escalated
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "Funnels");
    if report.funnels.is_empty() {
        let _ = writeln!(o, "  (no flows walked)");
    }
    for f in &report.funnels {
        let _ = writeln!(o, "  {} ({})", f.title, f.intent);
        let _ = writeln!(
            o,
            "    {:<22} {:>7} {:>6} {:>11} {:>7}",
            "step", "reached", "fixed", "asked human", "gave up"
        );
        for s in &f.steps {
            let _ = writeln!(
                o,
                "    {:<22} {:>7} {:>6} {:>11} {:>7}",
                s.step, s.reached, s.fixed, s.asked_human, s.gave_up
            );
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "Unanswered (similar messages grouped, biggest first)");
    if report.unanswered.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for g in &report.unanswered {
        let nearest = match (&g.nearest, g.score) {
            (Some(n), Some(s)) => format!("  nearest: {n} ({s:.2})"),
            (Some(n), None) => format!("  nearest: {n}"),
            _ => String::new(),
        };
        let _ = writeln!(o, "  {:>4} x \"{}\"{nearest}", g.count, visible(&g.text));
        for s in &g.similar {
            let _ = writeln!(o, "         also \"{}\"", visible(s));
        }
    }
    let _ = writeln!(o);

    let t = &report.tickets;
    let _ = writeln!(o, "Tickets");
    let _ = writeln!(
        o,
        "  opened {}  closed {}  rated solved {}  rated unsolved {}",
        t.opened, t.closed, t.rated_solved, t.rated_unsolved
    );
    let _ = writeln!(
        o,
        "  first staff reply: p50 {}  p90 {}  ({} tickets)",
        duration(t.first_reply_ms.p50),
        duration(t.first_reply_ms.p90),
        t.first_reply_ms.count
    );
    let _ = writeln!(
        o,
        "  time to close:     p50 {}  p90 {}  ({} tickets)",
        duration(t.close_ms.p50),
        duration(t.close_ms.p90),
        t.close_ms.count
    );
    let _ = writeln!(o, "  open now: {}", t.open_now.len());
    for ot in &t.open_now {
        let by = ot
            .claimed_by
            .map_or_else(|| "unclaimed".to_string(), |m| format!("claimed by {m}"));
        let _ = writeln!(
            o,
            "    #{:<5} {:>6}  {:<22} {}",
            ot.id,
            duration(Some(ot.age_ms)),
            by,
            visible(&ot.topic)
        );
    }
    if !t.close_reasons.is_empty() {
        let _ = writeln!(o, "  close reasons:");
        for (r, n) in &t.close_reasons {
            let _ = writeln!(o, "    {n:>4} x {}", visible(r));
        }
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "Messages by hour (UTC)");
    let max = report.volume_by_hour.iter().copied().max().unwrap_or(0);
    for (h, n) in report.volume_by_hour.iter().enumerate() {
        let bar = if max == 0 {
            0
        } else {
            (n * 40).div_ceil(max) as usize
        };
        let _ = writeln!(o, "  {h:02}  {n:>6}  {}", "#".repeat(bar));
    }
    o
}
