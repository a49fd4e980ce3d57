//! The staff dashboard: pages rendered from a hand-built report (figures, escaping, the
//! copy-as-example line), and a real server on 127.0.0.1:0 (login, 401s, headers, windows,
//! /metrics, no secret in any page), plus `paymedic web`'s read-only store.

use crate::common::{app, engine};
use paymedic::engine::insight::{
    Funnel, FunnelStep, IntentFigures, Messages, OpenTicket, Percentiles, Report, TicketFigures,
    UnansweredGroup, Window,
};
use paymedic::store::memory::MemoryStore;
use paymedic::store::{Expect, Store};
use paymedic::web::html::{self, Page};
use paymedic::web::{self, WebState};
use std::sync::Arc;

const TOKEN: &str = "s3cret-dashboard-token-0123456789";

fn report() -> Report {
    let mut volume = [0u64; 24];
    volume[9] = 40;
    volume[14] = 80;
    Report {
        from: 0,
        to: 86_400_000,
        messages: Messages {
            seen: 120,
            answered: 90,
            out_of_scope: 17,
            cooldown: 8,
            handed_off: 5,
        },
        intents: vec![IntentFigures {
            intent: "payment_declined".into(),
            title: "Payment declined".into(),
            conversations: 40,
            resolved_without_human: 30,
            fixed: 18,
            still_stuck: 6,
            escalated: 10,
        }],
        funnels: vec![Funnel {
            intent: "payment_declined".into(),
            title: "Payment declined".into(),
            steps: vec![
                FunnelStep {
                    step: "check_limit".into(),
                    reached: 40,
                    fixed: 10,
                    asked_human: 2,
                    gave_up: 3,
                },
                FunnelStep {
                    step: "update_app".into(),
                    reached: 25,
                    fixed: 8,
                    asked_human: 9,
                    gave_up: 6,
                },
            ],
        }],
        unanswered: vec![UnansweredGroup {
            text: "why is my \"pay in 3\" greyed out".into(),
            similar: vec!["pay in 3 option missing".into()],
            count: 7,
            nearest: Some("payment_declined".into()),
            score: Some(0.41),
        }],
        tickets: TicketFigures {
            open_now: vec![
                OpenTicket {
                    id: 12,
                    age_ms: 3 * 3_600_000,
                    claimed_by: Some(4242),
                    topic: "Refund missing".into(),
                },
                OpenTicket {
                    id: 13,
                    age_ms: 20 * 60_000,
                    claimed_by: None,
                    topic: "Payment declined".into(),
                },
            ],
            opened: 9,
            closed: 7,
            first_reply_ms: Percentiles {
                count: 7,
                p50: Some(4 * 60_000),
                p90: Some(25 * 60_000),
            },
            close_ms: Percentiles {
                count: 7,
                p50: Some(90 * 60_000),
                p90: Some(5 * 86_400_000),
            },
            rated_solved: 5,
            rated_unsolved: 1,
            close_reasons: vec![("limit explained".into(), 4), ("duplicate".into(), 2)],
        },
        volume_by_hour: volume,
    }
}

fn render(page: Page) -> String {
    html::page(page, &report(), Window::Week)
}

#[test]
fn overview_shows_messages_silences_deflection_fix_rate_and_hours() {
    let out = render(Page::Overview);
    for want in [
        "120</span> messages seen",
        "90</span> answered (75%)",
        "30</span> silent (25%)",
        "Out of scope</td><td class=\"num\">17",
        "cooldown)</td><td class=\"num\">8",
        "A human has the ticket</td><td class=\"num\">5",
        "Payment declined",
        "<code>payment_declined</code>",
        // Deflection 30/40, fix rate 18/24.
        ">75%<",
        "Figures for the last 7 days",
        "14:00–14:59 UTC: 80 messages",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert_eq!(out.matches("<rect class=\"bar\"").count(), 24, "{out}");
    // The busiest hour is the tallest bar.
    assert!(
        out.contains("width=\"16\" height=\"120\"><title>14:00"),
        "{out}"
    );
    assert!(out.contains("aria-current=\"true\">7d<"), "{out}");
}

#[test]
fn funnels_show_each_step_and_highlight_where_members_leave() {
    let out = render(Page::Funnels);
    assert!(out.contains("1. check_limit: 40 reached"), "{out}");
    // update_app loses 15 of 25 (60%), check_limit 5 of 40: update_app is highlighted.
    assert!(
        out.contains("class=\"label hot\">2. update_app: 25 reached · most leave here"),
        "{out}"
    );
    assert_eq!(out.matches("most leave here").count(), 1, "{out}");
    assert!(
        out.contains("<tr class=\"hot\"><td><code>update_app</code>"),
        "{out}"
    );
    assert!(out.contains("9 (36%)"), "{out}");
    assert!(out.contains("update_app: 9 asked for a human"), "{out}");
}

#[test]
fn unanswered_groups_carry_a_toml_ready_copy_line() {
    let out = render(Page::Unanswered);
    assert!(out.contains("7×"), "{out}");
    assert!(
        out.contains("nearest: <code>payment_declined</code> (0.41)"),
        "{out}"
    );
    assert!(out.contains("pay in 3 option missing"), "{out}");
    let line = html::example_line(
        "why is my \"pay in 3\" greyed out",
        Some("payment_declined"),
    );
    assert!(
        line.starts_with(r#""why is my \"pay in 3\" greyed out","#),
        "{line}"
    );
    assert!(
        out.contains(&format!("data-copy=\"{}\"", html::escape(&line))),
        "{out}"
    );
    assert!(
        out.contains("<script src=\"/static/dashboard.js\">"),
        "{out}"
    );
}

#[test]
fn tickets_show_open_tickets_times_ratings_and_reasons() {
    let out = render(Page::Tickets);
    for want in [
        "2</span> open now",
        "9</span> opened",
        "7</span> closed",
        "rated solved (5 of 6)",
        "<td>#12</td><td>Refund missing</td><td class=\"num\">3.0 h</td><td>member 4242</td>",
        "<td>#13</td><td>Payment declined</td><td class=\"num\">20 min</td><td><span class=\"warn\">nobody",
        "Time to first human reply</td><td class=\"num\">7</td><td class=\"num\">4 min</td><td class=\"num\">25 min",
        "Time to close</td><td class=\"num\">7</td><td class=\"num\">1.5 h</td><td class=\"num\">5.0 d",
        "5 yes, 1 no",
        "limit explained</td><td class=\"num\">4",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn an_empty_report_renders_every_page_with_empty_states() {
    let r = Report::empty(Window::Day, paymedic::engine::Timestamp(1));
    for page in Page::ALL {
        let out = html::page(page, &r, Window::Day);
        assert!(out.starts_with("<!doctype html>"), "{out}");
        assert!(out.contains("name=\"viewport\""), "{out}");
        assert!(!out.contains("NaN") && !out.contains("inf"), "{out}");
    }
    assert!(html::page(Page::Tickets, &r, Window::Day).contains("No open tickets."));
}

#[test]
fn every_dynamic_string_is_escaped_on_every_page() {
    let evil = "<script>alert(1)</script>\"'&";
    let mut r = report();
    r.intents[0].intent = evil.into();
    r.intents[0].title = evil.into();
    r.funnels[0].title = evil.into();
    r.funnels[0].intent = evil.into();
    r.funnels[0].steps[0].step = evil.into();
    r.unanswered[0].text = evil.into();
    r.unanswered[0].similar = vec![evil.into()];
    r.unanswered[0].nearest = Some(evil.into());
    r.tickets.open_now[0].topic = evil.into();
    r.tickets.close_reasons = vec![(evil.into(), 3)];
    for page in Page::ALL {
        let out = html::page(page, &r, Window::Day);
        assert!(!out.contains("<script>alert"), "{page:?}: {out}");
        assert!(!out.contains("\"'&"), "{page:?}: {out}");
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page:?}: {out}"
        );
        // Our own script tag is the only one.
        assert_eq!(out.matches("<script").count(), 1, "{page:?}: {out}");
    }
    let notice = html::notice(evil, evil, true);
    assert!(!notice.contains("<script>alert"), "{notice}");
}

// --- A real server -------------------------------------------------------------------------

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(state: WebState) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(web::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the server stops on the shutdown signal")
            .unwrap()
            .unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn state(store: Arc<dyn Store>, token: Option<&str>) -> WebState {
    WebState::new(store, web::fixed_engine(Arc::new(engine())), token)
}

fn memory_state(token: Option<&str>) -> WebState {
    state(Arc::new(MemoryStore::new()), token)
}

const PAGES: [&str; 4] = ["/", "/funnels", "/unanswered", "/tickets"];

#[tokio::test]
async fn pages_need_the_token_and_a_near_miss_is_refused() {
    let server = Server::start(memory_state(Some(TOKEN))).await;
    let c = client();
    let mut near = TOKEN.to_string();
    near.pop();
    near.push('8');
    for path in PAGES {
        let none = c.get(server.url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let body = none.text().await.unwrap();
        assert!(body.contains("/login"), "{body}");
        assert!(
            !body.contains("messages seen") && !body.contains("open now"),
            "{body}"
        );
        for wrong in ["nope", near.as_str(), ""] {
            let r = c
                .get(server.url(path))
                .header("Authorization", format!("Bearer {wrong}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{path} with {wrong:?}");
        }
        let ok = c
            .get(server.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{path}");
        let body = ok.text().await.unwrap();
        assert!(body.contains("Figures for the last 24 hours"), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let server = Server::start(memory_state(Some(TOKEN))).await;
    let c = client();
    for (path, auth) in [
        ("/", true),
        ("/", false),
        ("/login", false),
        ("/static/style.css", false),
        ("/nowhere", false),
    ] {
        let mut r = c.get(server.url(path));
        if auth {
            r = r.bearer_auth(TOKEN);
        }
        let r = r.send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let css = c.get(server.url("/static/style.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = c
        .get(server.url("/static/dashboard.js"))
        .send()
        .await
        .unwrap();
    assert!(js.text().await.unwrap().contains("clipboard"));
    server.stop().await;
}

/// The `paymedic_session=…` pair of a response's Set-Cookie, with the whole header.
fn set_cookie(r: &reqwest::Response) -> Option<(String, String)> {
    let header = r.headers().get("set-cookie")?.to_str().ok()?.to_string();
    let pair = header.split(';').next()?.trim().to_string();
    Some((pair, header))
}

#[tokio::test]
async fn logging_in_sets_a_session_cookie_that_works_and_holds_no_token() {
    let server = Server::start(memory_state(Some(TOKEN))).await;
    let c = client();
    let page = c.get(server.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<form method=\"post\" action=\"/login\""));

    let wrong = c
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong).is_none());

    let r = c
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let (pair, header) = set_cookie(&r).expect("a session cookie");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    assert!(!header.contains(TOKEN), "{header}");
    assert!(
        pair.starts_with("paymedic_session=") && pair.len() > 40,
        "{pair}"
    );

    let ok = c
        .get(server.url("/tickets?window=30d"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("last 30 days"));
    // A made-up session is refused.
    let forged = c
        .get(server.url("/"))
        .header("cookie", "paymedic_session=00ff")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Logging out ends the session on the server, not just in the browser.
    let out = c
        .post(server.url("/logout"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = c
        .get(server.url("/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn a_token_link_logs_in_only_when_turned_on() {
    let off = Server::start(memory_state(Some(TOKEN))).await;
    let r = client()
        .get(off.url(&format!("/login?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r).is_none());
    off.stop().await;

    let on = Server::start(memory_state(Some(TOKEN)).with_token_link(true)).await;
    let r = client()
        .get(on.url("/login?token=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(on.url(&format!("/login?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (pair, header) = set_cookie(&r).unwrap();
    assert!(!header.contains(TOKEN));
    let ok = client()
        .get(on.url("/funnels"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // `next` picks the page, on this server only.
    for (next, to) in [
        ("%2Ftickets%3Fwindow%3D7d", "/tickets?window=7d"),
        ("%2F%2Fevil.example%2F", "/"),
        ("%2F%C3%A9", "/"),
    ] {
        let r = client()
            .get(on.url(&format!("/login?token={TOKEN}&next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], to, "{next}");
    }
    on.stop().await;
}

#[tokio::test]
async fn wrong_tokens_are_throttled_but_sessions_keep_working() {
    let server = Server::start(memory_state(Some(TOKEN))).await;
    let c = client();
    let login = c
        .post(server.url("/login"))
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    let (cookie, _) = set_cookie(&login).unwrap();
    for i in 0..web::TOKEN_FAILURES_PER_MINUTE {
        let r = c
            .get(server.url("/"))
            .bearer_auth(format!("guess-{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "try {i}");
    }
    // Now even the right token waits out the minute, by header or by form.
    let r = c
        .get(server.url("/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = c
        .post(server.url("/login"))
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(set_cookie(&r).is_none());
    let r = c
        .get(server.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a session from before still works");
    server.stop().await;
}

#[tokio::test]
async fn without_a_token_the_dashboard_is_off() {
    for token in [None, Some(""), Some("   ")] {
        let server = Server::start(memory_state(token)).await;
        let c = client();
        for path in PAGES.iter().chain(&["/login"]) {
            let r = c
                .get(server.url(path))
                .bearer_auth("")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{path}");
            let body = r.text().await.unwrap();
            assert!(body.contains("The dashboard is off"), "{body}");
        }
        let login = c
            .post(server.url("/login"))
            .body("token=")
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 401);
        assert!(set_cookie(&login).is_none());
        server.stop().await;
    }
}

#[tokio::test]
async fn the_window_parameter_is_checked() {
    let server = Server::start(memory_state(Some(TOKEN))).await;
    let c = client();
    for (w, want) in [
        ("24h", "last 24 hours"),
        ("7d", "last 7 days"),
        ("30d", "last 30 days"),
    ] {
        let r = c
            .get(server.url(&format!("/?window={w}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains(want));
    }
    let bad = c
        .get(server.url("/tickets?window=<b>1y</b>"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body = bad.text().await.unwrap();
    assert!(body.contains("is not one of 24h, 7d or 30d"), "{body}");
    assert!(!body.contains("<b>1y"), "{body}");
    // Without the token, a bad window is still just 401.
    let anon = c.get(server.url("/?window=nope")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn metrics_serve_the_renderer_text() {
    let render: web::MetricsRenderer = Arc::new(|| "paymedic_messages_total 42\n".to_string());
    let server = Server::start(memory_state(Some(TOKEN)).with_metrics(render)).await;
    let r = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "paymedic_messages_total 42\n");
    server.stop().await;

    let without = Server::start(memory_state(Some(TOKEN))).await;
    let r = client().get(without.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    without.stop().await;
}

/// A conversation and two tickets with card numbers and markup in member text, moderator
/// replies and close reasons, through the terminal adapter (the normal masking paths).
const SEED: &str = "\
klarna declined my card 4111 1111 1111 1111 at asos
/as bob
my password is hunter2 and card 4111111111111111 <script>alert(1)</script>
/mod escalate bob card 4111 1111 1111 1111 <script>alert(2)</script>
/mod claim 1
/mod say 1 we never need your card 4111 1111 1111 1111
/mod close 1 <script>alert(3)</script> card 4111 1111 1111 1111
/mod escalate carol refund <img src=x onerror=alert(4)>
/quit
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_number_or_markup_from_member_text_reaches_any_page() {
    let dir = std::env::temp_dir().join(format!("paymedic-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seeded.db");
    let _ = std::fs::remove_file(&path);
    {
        let store: Arc<dyn Store> = Arc::new(
            paymedic::store::sqlite::SqliteStore::open(&path)
                .await
                .unwrap(),
        );
        let mut app = app().into_store(store);
        app.config_mut().cooldown_ms = 0;
        let mut out = Vec::new();
        paymedic::terminal::run(&app, SEED.as_bytes(), &mut out, false, paymedic::app::now)
            .await
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("#1"), "the seed opened a ticket: {out}");
    }
    let store = paymedic::store::open_sqlite_read_only(&path).await.unwrap();
    assert_eq!(
        store
            .tickets(&paymedic::store::TicketFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let server = Server::start(state(store, Some(TOKEN))).await;
    let c = client();
    for path in PAGES {
        for w in ["24h", "7d", "30d"] {
            let r = c
                .get(server.url(&format!("{path}?window={w}")))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path} {w}");
            let body = r.text().await.unwrap();
            for secret in [
                "4111 1111 1111 1111",
                "4111111111111111",
                "hunter2",
                "<script>alert",
                "<img",
                TOKEN,
            ] {
                assert!(
                    !body.contains(secret),
                    "{path} {w} shows {secret:?}:\n{body}"
                );
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_store_never_creates_migrates_or_writes() {
    let dir = std::env::temp_dir().join(format!("paymedic-web-ro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.db");
    let _ = std::fs::remove_file(&missing);
    let err = paymedic::store::open_sqlite_read_only(&missing)
        .await
        .err()
        .expect("a missing file is refused")
        .to_string();
    assert!(
        err.contains("missing.db") && err.contains("no such file"),
        "{err}"
    );
    assert!(!missing.exists(), "the missing database was created");

    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = paymedic::store::open_sqlite_read_only(&empty)
        .await
        .err()
        .expect("an empty file is refused")
        .to_string();
    assert!(err.contains("empty"), "{err}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    let path = dir.join("real.db");
    let _ = std::fs::remove_file(&path);
    {
        let store = paymedic::store::sqlite::SqliteStore::open(&path)
            .await
            .unwrap();
        store.close().await;
    }
    let before = std::fs::read(&path).unwrap();
    let store = paymedic::store::open_sqlite_read_only(&path).await.unwrap();
    assert_eq!(store.session_count().await.unwrap(), 0);
    let write = store
        .commit_turn(crate::common::member(7, 1), Expect::Any, None, &[], None)
        .await;
    assert!(write.is_err(), "a write went through the read-only store");
    assert!(store
        .expire_sessions(paymedic::engine::Timestamp(u64::MAX))
        .await
        .is_err());
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
}

#[test]
fn paymedic_web_refuses_a_missing_database_without_creating_it() {
    let dir = std::env::temp_dir().join(format!("paymedic-web-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nope.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args([
            "web",
            "--db",
            missing.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env(web::TOKEN_VAR, TOKEN)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("nope.db") && err.contains("no such file"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    assert!(!missing.exists());
}

/// A free port on 127.0.0.1 (bound and released: another process could take it in between,
/// which only makes the test fail loudly).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_config(test: &str, extra: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("paymedic-web-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\nguild_ids = [{}]\nsupport_channels = [1300000000000000001]\nescalation_channel = 1300000000000000003\n{extra}",
            crate::support::fake_discord::FakeOptions::default().guild_ids[0]
        ),
    )
    .unwrap();
    config
}

/// `paymedic run` with `[web] listen` serves the dashboard beside the bot, and SIGTERM stops
/// both cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_the_dashboard_beside_the_bot_and_stops_both_on_sigterm() {
    use crate::support::fake_discord::{FakeDiscord, FakeOptions};
    let t = std::time::Duration::from_secs(20);
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let port = free_port();
    let config = run_config("run", &format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "not-a-real-token")
        .env("DISCORD_API_BASE", fake.api_base())
        .env(web::TOKEN_VAR, TOKEN)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    fake.wait_for_ready(t).await;
    let base = format!("http://127.0.0.1:{port}");
    let ok = client()
        .get(format!("{base}/tickets"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let anon = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(anon.status(), 401);

    let pid = child.id().unwrap() as i32;
    // SAFETY: kill(2) with a pid this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = tokio::time::timeout(t, child.wait_with_output())
        .await
        .expect("the bot and the dashboard stop on SIGTERM")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("dashboard listening"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the dashboard still listens after shutdown"
    );
}

/// A `[web] listen` address that is taken stops `run` before it connects, naming the address.
#[test]
fn run_with_a_taken_dashboard_port_stops_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = run_config("taken", &format!("[web]\nlisten = \"{addr}\"\n"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "not-a-real-token")
        // Nothing listens there: reaching Discord would fail differently.
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("cannot listen on {addr} for the dashboard")),
        "{err}"
    );
}

/// A bad `[web] listen` is a config error with the file, line and column.
#[test]
fn run_with_a_bad_dashboard_address_names_file_line_and_column() {
    let config = run_config("bad", "[web]\nlisten = \"localhost\"\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "not-a-real-token")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("{}:6:10: setting web.listen", config.display())),
        "{err}"
    );
}

/// `paymedic web` serves an existing database without changing it, and stops on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paymedic_web_serves_a_database_read_only_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("paymedic-web-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("served.db");
    let _ = std::fs::remove_file(&db);
    {
        let store = paymedic::store::sqlite::SqliteStore::open(&db)
            .await
            .unwrap();
        store.close().await;
    }
    let before = std::fs::read(&db).unwrap();
    let port = free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["web", "--db", db.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env(web::TOKEN_VAR, TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/unanswered?window=30d");
    let mut status = None;
    // Up to 30 s: the binary starts slowly while other test binaries build on the 2 cores.
    for _ in 0..300 {
        if let Ok(r) = client().get(&url).bearer_auth(TOKEN).send().await {
            status = Some(r.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(reqwest::StatusCode::OK));
    // SAFETY: kill(2) with a pid this test spawned and still owns.
    assert_eq!(
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) },
        0
    );
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
}
