//! The dashboard's pages as HTML strings: hand-written templates over a [`Report`].
//!
//! Pure: a page is a function of the report (and the window), so render tests need no server.
//! Every dynamic string goes through [`escape`] (text and attribute values alike); numbers are
//! formatted here. The pages only render the report's figures: the few derived numbers are
//! shares (percentages) and bar lengths.
//!
//! No inline script or style (the Content-Security-Policy forbids both): the CSS and the one
//! script are served from `/static/`, and the SVG charts use presentation attributes and
//! classes only.

use crate::engine::insight::{Funnel, FunnelStep, Report, TicketFigures, Window};
use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A TOML basic string (quoted, with escapes) holding `s`, as it would be written in
/// `intents.toml`.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line "copy as example" puts on the clipboard: the text as a TOML string, and where it
/// goes.
pub fn example_line(text: &str, intent: Option<&str>) -> String {
    match intent {
        Some(id) => format!(
            "{},  # add to `examples` of the [[intent]] with id = {}",
            toml_string(text),
            toml_string(id)
        ),
        None => format!(
            "{},  # no intent came close: add to an [[intent]]'s `examples`, or to `out_of_scope`",
            toml_string(text)
        ),
    }
}

/// The dashboard's pages, in the order of the menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Overview,
    Funnels,
    Unanswered,
    Tickets,
}

impl Page {
    pub const ALL: [Page; 4] = [
        Page::Overview,
        Page::Funnels,
        Page::Unanswered,
        Page::Tickets,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Page::Overview => "/",
            Page::Funnels => "/funnels",
            Page::Unanswered => "/unanswered",
            Page::Tickets => "/tickets",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Funnels => "Funnels",
            Page::Unanswered => "Unanswered",
            Page::Tickets => "Tickets",
        }
    }
}

/// One dashboard page for a report.
pub fn page(page: Page, report: &Report, window: Window) -> String {
    let body = match page {
        Page::Overview => overview(report),
        Page::Funnels => funnels(report),
        Page::Unanswered => unanswered(report),
        Page::Tickets => tickets(&report.tickets),
    };
    layout(page, window, &body)
}

fn window_name(w: Window) -> &'static str {
    match w {
        Window::Day => "last 24 hours",
        Window::Week => "last 7 days",
        Window::Month => "last 30 days",
    }
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{} · paymedic</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>",
        escape(title)
    )
}

fn layout(page: Page, window: Window, body: &str) -> String {
    let mut out = head(page.title());
    out.push_str("<body><header><span class=\"brand\">paymedic</span><nav>");
    for p in Page::ALL {
        let current = if p == page {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}?window={}\"{current}>{}</a>",
            p.path(),
            window.as_str(),
            p.title()
        );
    }
    out.push_str("</nav><form method=\"post\" action=\"/logout\" class=\"logout\"><button type=\"submit\">Log out</button></form></header>");
    let _ = write!(
        out,
        "<main><div class=\"bar\"><h1>{}</h1><div class=\"windows\" role=\"group\" aria-label=\"Window\">",
        page.title()
    );
    for w in Window::ALL {
        let current = if w == window {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}?window={}\"{current}>{}</a>",
            page.path(),
            w.as_str(),
            w.as_str()
        );
    }
    let _ = writeln!(
        out,
        "</div></div><p class=\"muted\">Figures for the {} (times in UTC).</p>{body}</main>\
<script src=\"/static/dashboard.js\"></script></body></html>",
        window_name(window)
    );
    out
}

/// A small page with a message and no figures (401, 400, 404, the login form).
pub fn notice(title: &str, message: &str, login_form: bool) -> String {
    let mut out = head(title);
    let _ = write!(
        out,
        "<body><main class=\"narrow\"><h1>{}</h1><p>{}</p>",
        escape(title),
        escape(message)
    );
    if login_form {
        out.push_str(
            "<form method=\"post\" action=\"/login\" class=\"login\">\
<label for=\"token\">Dashboard token</label>\
<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Log in</button></form>",
        );
    } else {
        out.push_str("<p><a href=\"/login\">Log in</a></p>");
    }
    out.push_str("</main></body></html>\n");
    out
}

/// `part` of `whole` as a percentage, or a dash when there is nothing to divide.
fn percent(share: Option<f64>) -> String {
    match share {
        Some(s) => format!("{:.0}%", s * 100.0),
        None => "–".into(),
    }
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A duration in ms as people read it.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 48 * 3600 {
        format!("{:.1} h", s as f64 / 3600.0)
    } else {
        format!("{:.1} d", s as f64 / 86_400.0)
    }
}

fn opt_duration(ms: Option<u64>) -> String {
    ms.map_or_else(|| "–".into(), duration)
}

fn overview(r: &Report) -> String {
    let m = &r.messages;
    let silent = m.out_of_scope + m.cooldown + m.handed_off;
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"cards\">\
<div class=\"card\"><span class=\"n\">{}</span> messages seen</div>\
<div class=\"card\"><span class=\"n\">{}</span> answered ({})</div>\
<div class=\"card\"><span class=\"n\">{}</span> silent ({})</div></section>",
        m.seen,
        m.answered,
        percent(share(m.answered, m.seen)),
        silent,
        percent(share(silent, m.seen)),
    );
    out.push_str("<section><h2>Why the bot stayed silent</h2><div class=\"scroll\"><table><thead><tr><th>Reason</th><th class=\"num\">Messages</th><th class=\"num\">Share of seen</th></tr></thead><tbody>");
    for (reason, n) in [
        ("Out of scope", m.out_of_scope),
        ("Member wrote too fast (cooldown)", m.cooldown),
        ("A human has the ticket", m.handed_off),
    ] {
        let _ = write!(
            out,
            "<tr><td>{reason}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td></tr>",
            percent(share(n, m.seen))
        );
    }
    out.push_str("</tbody></table></div></section>");

    out.push_str("<section><h2>Per intent</h2>");
    if r.intents.is_empty() {
        out.push_str("<p class=\"empty\">No conversations in this window.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table><thead><tr><th>Intent</th><th class=\"num\">Conversations</th><th class=\"num\">Without a human</th><th class=\"num\">Deflection</th><th class=\"num\">Fixed</th><th class=\"num\">Still stuck</th><th class=\"num\">“Did this fix it?” yes</th><th class=\"num\">Escalated</th></tr></thead><tbody>");
        for i in &r.intents {
            let _ = write!(
                out,
                "<tr><td><span class=\"title\">{}</span> <code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&i.title),
                escape(&i.intent),
                i.conversations,
                i.resolved_without_human,
                percent(i.deflection()),
                i.fixed,
                i.still_stuck,
                percent(i.fix_rate()),
                i.escalated,
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section><section><h2>Volume by hour of day (UTC)</h2>");
    out.push_str(&hour_chart(&r.volume_by_hour));
    out.push_str("</section>");
    out
}

/// Messages per hour of day as an SVG bar chart.
pub fn hour_chart(volume: &[u64; 24]) -> String {
    let max = volume.iter().copied().max().unwrap_or(0);
    let total: u64 = volume.iter().sum();
    const W: u32 = 20;
    const H: u32 = 120;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Messages by hour of day, {total} in all\">",
        24 * W,
        H + 20
    );
    for (hour, &n) in volume.iter().enumerate() {
        let h = if max == 0 {
            0
        } else {
            ((n as f64 / max as f64) * f64::from(H)).round() as u32
        };
        let x = hour as u32 * W;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\"><title>{hour:02}:00–{hour:02}:59 UTC: {n} messages</title></rect>",
            x + 2,
            H - h,
            W - 4
        );
        if hour % 3 == 0 {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" class=\"axis\">{hour:02}</text>",
                x + 2,
                H + 15
            );
        }
    }
    out.push_str("</svg>");
    if total == 0 {
        out.push_str("<p class=\"empty\">No messages in this window.</p>");
    }
    out
}

fn funnels(r: &Report) -> String {
    if r.funnels.is_empty() {
        return "<p class=\"empty\">No flows in this window.</p>".into();
    }
    let mut out = String::from(
        "<p class=\"legend\"><span class=\"item\"><span class=\"key fixed\"></span>fixed</span> <span class=\"item\"><span class=\"key human\"></span>asked for a human</span> <span class=\"item\"><span class=\"key gaveup\"></span>gave up</span> <span class=\"item\"><span class=\"key on\"></span>went on</span></p>",
    );
    for f in &r.funnels {
        out.push_str(&funnel(f));
    }
    out
}

/// The step where the most members left without a fix (asked for a human or gave up), by
/// share of those who reached it; `None` when nobody left that way.
fn worst_step(steps: &[FunnelStep]) -> Option<usize> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.asked_human + s.gave_up > 0)
        .max_by(|(_, a), (_, b)| {
            let lost = |s: &FunnelStep| share(s.asked_human + s.gave_up, s.reached).unwrap_or(0.0);
            lost(a).total_cmp(&lost(b))
        })
        .map(|(i, _)| i)
}

fn funnel(f: &Funnel) -> String {
    let mut out = format!(
        "<section class=\"funnel\"><h2>{} <code>{}</code></h2>",
        escape(&f.title),
        escape(&f.intent)
    );
    if f.steps.is_empty() {
        out.push_str("<p class=\"empty\">Nobody reached this flow.</p></section>");
        return out;
    }
    let worst = worst_step(&f.steps);
    let max = f.steps.iter().map(|s| s.reached).max().unwrap_or(0);
    const W: f64 = 300.0;
    const ROW: usize = 34;
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{} by step\">",
        W as u32 + 4,
        f.steps.len() * ROW,
        escape(&f.title)
    );
    for (i, s) in f.steps.iter().enumerate() {
        let y = i * ROW;
        let scale = |n: u64| {
            if max == 0 {
                0.0
            } else {
                n as f64 / max as f64 * W
            }
        };
        let went_on = s
            .reached
            .saturating_sub(s.fixed + s.asked_human + s.gave_up);
        let mut x = 2.0;
        for (class, n, what) in [
            ("fixed", s.fixed, "fixed"),
            ("human", s.asked_human, "asked for a human"),
            ("gaveup", s.gave_up, "gave up"),
            ("on", went_on, "went on"),
        ] {
            let w = scale(n);
            if w > 0.0 {
                let _ = write!(
                    out,
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"14\"><title>{}: {n} {what}</title></rect>",
                    y + 16,
                    escape(&s.step)
                );
                x += w;
            }
        }
        let hot = if Some(i) == worst { " hot" } else { "" };
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{}\" class=\"label{hot}\">{}. {}: {} reached{}</text>",
            y + 12,
            i + 1,
            escape(&s.step),
            s.reached,
            if Some(i) == worst {
                " · most leave here"
            } else {
                ""
            }
        );
    }
    out.push_str("</svg><div class=\"scroll\"><table><thead><tr><th>Step</th><th class=\"num\">Reached</th><th class=\"num\">Fixed</th><th class=\"num\">Asked for a human</th><th class=\"num\">Gave up</th></tr></thead><tbody>");
    for (i, s) in f.steps.iter().enumerate() {
        let hot = if Some(i) == worst {
            " class=\"hot\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{hot}><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} ({})</td><td class=\"num\">{} ({})</td></tr>",
            escape(&s.step),
            s.reached,
            s.fixed,
            s.asked_human,
            percent(share(s.asked_human, s.reached)),
            s.gave_up,
            percent(share(s.gave_up, s.reached)),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

fn unanswered(r: &Report) -> String {
    if r.unanswered.is_empty() {
        return "<p class=\"empty\">Nothing went unanswered in this window.</p>".into();
    }
    let mut out = String::from(
        "<p class=\"muted\">Messages the bot did not answer, grouped by similarity. “Copy as example” copies a line to paste into <code>intents.toml</code>.</p><ol class=\"groups\">",
    );
    for g in &r.unanswered {
        let line = example_line(&g.text, g.nearest.as_deref());
        let nearest = match (&g.nearest, g.score) {
            (Some(i), Some(s)) => format!("nearest: <code>{}</code> ({s:.2})", escape(i)),
            (Some(i), None) => format!("nearest: <code>{}</code>", escape(i)),
            (None, _) => "no intent came close".into(),
        };
        let _ = write!(
            out,
            "<li class=\"group\"><div class=\"count\">{}×</div><div class=\"body\"><p class=\"text\">{}</p><p class=\"muted\">{nearest}</p>",
            g.count,
            escape(&g.text)
        );
        if !g.similar.is_empty() {
            out.push_str("<details><summary>Similar</summary><ul>");
            for s in &g.similar {
                let _ = write!(out, "<li>{}</li>", escape(s));
            }
            out.push_str("</ul></details>");
        }
        let _ = write!(
            out,
            "<code class=\"example\">{}</code><button type=\"button\" class=\"copy\" data-copy=\"{}\">Copy as example</button></div></li>",
            escape(&line),
            escape(&line)
        );
    }
    out.push_str("</ol>");
    out
}

fn tickets(t: &TicketFigures) -> String {
    let rated = t.rated_solved + t.rated_unsolved;
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"cards\">\
<div class=\"card\"><span class=\"n\">{}</span> open now</div>\
<div class=\"card\"><span class=\"n\">{}</span> opened</div>\
<div class=\"card\"><span class=\"n\">{}</span> closed</div>\
<div class=\"card\"><span class=\"n\">{}</span> rated solved ({} of {rated})</div></section>",
        t.open_now.len(),
        t.opened,
        t.closed,
        percent(share(t.rated_solved, rated)),
        t.rated_solved,
    );
    out.push_str("<section><h2>Response times</h2><div class=\"scroll\"><table><thead><tr><th></th><th class=\"num\">Tickets</th><th class=\"num\">p50</th><th class=\"num\">p90</th></tr></thead><tbody>");
    for (what, p) in [
        ("Time to first human reply", &t.first_reply_ms),
        ("Time to close", &t.close_ms),
    ] {
        let _ = write!(
            out,
            "<tr><td>{what}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            p.count,
            opt_duration(p.p50),
            opt_duration(p.p90)
        );
    }
    let _ = write!(
        out,
        "</tbody></table></div></section><section><h2>Ratings</h2><p>“Did we solve it?”: {} yes, {} no.</p></section>",
        t.rated_solved, t.rated_unsolved
    );
    out.push_str("<section><h2>Open now</h2>");
    if t.open_now.is_empty() {
        out.push_str("<p class=\"empty\">No open tickets.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table><thead><tr><th>Ticket</th><th>Topic</th><th class=\"num\">Age</th><th>Claimed by</th></tr></thead><tbody>");
        for o in &t.open_now {
            let claimer = match o.claimed_by {
                Some(m) => format!("member {m}"),
                None => "<span class=\"warn\">nobody</span>".into(),
            };
            let _ = write!(
                out,
                "<tr><td>#{}</td><td>{}</td><td class=\"num\">{}</td><td>{claimer}</td></tr>",
                o.id,
                escape(&o.topic),
                duration(o.age_ms)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section><section><h2>Top close reasons</h2>");
    if t.close_reasons.is_empty() {
        out.push_str("<p class=\"empty\">No tickets closed in this window.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table><thead><tr><th>Reason</th><th class=\"num\">Tickets</th></tr></thead><tbody>");
        for (reason, n) in &t.close_reasons {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                escape(reason)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain text é"), "plain text é");
    }

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(toml_string(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
        assert_eq!(toml_string("a\nb\u{1}"), "\"a\\nb\\u0001\"");
        let line = example_line("card \"declined\"", Some("payment_declined"));
        let parsed: toml::Value = toml::from_str(&format!(
            "examples = [{}]",
            line.split_once(",  #").unwrap().0
        ))
        .unwrap();
        assert_eq!(parsed["examples"][0].as_str(), Some("card \"declined\""));
        assert!(line.contains("id = \"payment_declined\""), "{line}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(5_000), "5 s");
        assert_eq!(duration(5 * 60_000), "5 min");
        assert_eq!(duration(90 * 60_000), "1.5 h");
        assert_eq!(duration(3 * 86_400_000), "3.0 d");
    }
}
