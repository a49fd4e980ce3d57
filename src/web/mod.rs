//! The staff dashboard and `/metrics`, served over HTTP by `run` (with `[web] listen`) and by
//! `paymedic web` (alone, read-only over a database).
//!
//! Owns the routes, the login (token and session cookie) and the security headers; the pages
//! themselves are [`html`]. It reads the store through [`crate::insight::load_report`] and
//! never talks to Discord.
//!
//! # Access
//!
//! The dashboard token comes only from `PAYMEDIC_DASHBOARD_TOKEN` (read by the CLI, never
//! logged). A request gets figures with `Authorization: Bearer TOKEN`, or with the session
//! cookie that `POST /login` sets: a random session id, never the token, HttpOnly and
//! SameSite=Strict. Tokens are compared as SHA-256 digests in constant time. Without a token
//! configured the dashboard is off and every page answers 401. `/metrics` is open: it holds
//! counts only, no member text or ids, like any Prometheus exporter (see the README).

pub mod html;

use crate::app::App;
use crate::engine::insight::Window;
use crate::engine::{Engine, Timestamp};
use crate::store::Store;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use html::Page;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

/// The engine as the dashboard sees it: whatever holds one (an [`App`], or an engine alone).
pub type EngineHandle = Arc<dyn AsRef<Engine> + Send + Sync>;
/// Gets the current engine for each request, so a hot-swapped engine is picked up.
pub type EngineGetter = Arc<dyn Fn() -> EngineHandle + Send + Sync>;
/// Renders the Prometheus text for `/metrics`.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

impl AsRef<Engine> for App {
    fn as_ref(&self) -> &Engine {
        self.engine()
    }
}

/// An engine that never changes (`paymedic web`, tests).
pub fn fixed_engine(engine: Arc<Engine>) -> EngineGetter {
    struct Fixed(Arc<Engine>);
    impl AsRef<Engine> for Fixed {
        fn as_ref(&self) -> &Engine {
            &self.0
        }
    }
    let handle: EngineHandle = Arc::new(Fixed(engine));
    Arc::new(move || handle.clone())
}

/// The running bot's engine, through its [`App`].
pub fn app_engine(app: Arc<App>) -> EngineGetter {
    Arc::new(move || app.clone() as EngineHandle)
}

/// The environment variable holding the dashboard token.
pub const TOKEN_VAR: &str = "PAYMEDIC_DASHBOARD_TOKEN";
/// The session cookie's name.
pub const COOKIE: &str = "paymedic_session";
/// How long a login lasts.
const SESSION_MS: u64 = 12 * 60 * 60 * 1000;
/// Logins kept at most; the oldest goes first (a flood of logins can't grow memory).
const SESSIONS_MAX: usize = 256;
/// The largest request body read (the login form).
const BODY_MAX: usize = 4096;
/// Wrong tokens allowed per minute (bearer, form and link together); past that every token
/// try answers 429 until the minute is over, so the token can't be guessed at network speed.
/// Logged-in sessions are not affected.
pub const TOKEN_FAILURES_PER_MINUTE: u32 = 20;

/// What the server needs.
#[derive(Clone)]
pub struct WebState {
    store: Arc<dyn Store>,
    engine: EngineGetter,
    metrics: Option<MetricsRenderer>,
    /// SHA-256 of the dashboard token; `None`: dashboard off.
    token: Option<[u8; 32]>,
    /// `GET /login?token=…` logs in and redirects (for scripts driving a browser that can't
    /// send a header). Off unless asked for.
    token_link: bool,
    clock: fn() -> Timestamp,
    /// Session ids' digests and when each ends.
    sessions: Arc<Mutex<HashMap<[u8; 32], u64>>>,
    /// Wrong tokens in the current minute: (minute start, count).
    failures: Arc<Mutex<(u64, u32)>>,
}

/// What a token try came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Granted,
    Denied,
    /// Too many wrong tokens this minute: not even compared.
    Throttled,
}

impl WebState {
    /// `token`: the dashboard token; `None` or blank turns the dashboard off.
    pub fn new(store: Arc<dyn Store>, engine: EngineGetter, token: Option<&str>) -> WebState {
        WebState {
            store,
            engine,
            metrics: None,
            token: token
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| digest(t.as_bytes())),
            token_link: false,
            clock: crate::app::now,
            sessions: Arc::default(),
            failures: Arc::default(),
        }
    }

    /// Serves `/metrics` with this renderer (otherwise `/metrics` is 404).
    pub fn with_metrics(mut self, render: MetricsRenderer) -> WebState {
        self.metrics = Some(render);
        self
    }

    /// Accepts `GET /login?token=…` (see [`WebState`]); for scripts only.
    pub fn with_token_link(mut self, on: bool) -> WebState {
        self.token_link = on;
        self
    }

    pub fn with_clock(mut self, clock: fn() -> Timestamp) -> WebState {
        self.clock = clock;
        self
    }

    /// Whether a dashboard token is configured.
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    fn check_token(&self, given: &str) -> Access {
        let Some(want) = &self.token else {
            return Access::Denied;
        };
        let now = (self.clock)().0;
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if now.saturating_sub(failures.0) >= 60_000 {
            *failures = (now, 0);
        }
        if failures.1 >= TOKEN_FAILURES_PER_MINUTE {
            return Access::Throttled;
        }
        // Digests of equal length, compared without an early exit: neither the length nor a
        // matching prefix of the token shows in the timing.
        if constant_time_eq(&digest(given.trim().as_bytes()), want) {
            Access::Granted
        } else {
            failures.1 += 1;
            if failures.1 == TOKEN_FAILURES_PER_MINUTE {
                tracing::warn!("dashboard: {TOKEN_FAILURES_PER_MINUTE} wrong tokens in a minute; token logins pause until the minute is over");
            }
            Access::Denied
        }
    }

    fn new_session(&self) -> String {
        let mut id = [0u8; 32];
        // No OS randomness, no login: a predictable session id would be worse.
        if getrandom::getrandom(&mut id).is_err() {
            return String::new();
        }
        let id = hex(&id);
        let now = (self.clock)().0;
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, ends| *ends > now);
        while sessions.len() >= SESSIONS_MAX {
            let Some(oldest) = sessions.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k) else {
                break;
            };
            sessions.remove(&oldest);
        }
        sessions.insert(digest(id.as_bytes()), now + SESSION_MS);
        id
    }

    fn session_valid(&self, id: &str) -> bool {
        let now = (self.clock)().0;
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        // Looked up by the id's digest: the lookup's timing says nothing about stored ids.
        sessions
            .get(&digest(id.as_bytes()))
            .is_some_and(|ends| *ends > now)
    }

    fn end_session(&self, id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(&digest(id.as_bytes()));
    }

    /// Whether the request carries the token (bearer) or a live session cookie.
    fn authorized(&self, headers: &HeaderMap) -> Access {
        if self.token.is_none() {
            return Access::Denied;
        }
        if let Some(bearer) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self.check_token(bearer);
        }
        if session_cookie(headers).is_some_and(|id| self.session_valid(id)) {
            Access::Granted
        } else {
            Access::Denied
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The dashboard's routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/funnels", get(funnels))
        .route("/unanswered", get(unanswered))
        .route("/tickets", get(tickets))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/metrics", get(metrics))
        .route("/static/style.css", get(style))
        .route("/static/dashboard.js", get(script))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves the dashboard on `listener` until `shutdown` resolves, then finishes the requests
/// in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    if state.enabled() {
        tracing::info!(%addr, "dashboard listening");
    } else {
        tracing::warn!(%addr, "dashboard is off: {TOKEN_VAR} is not set, so every page answers 401 (/metrics still serves)");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The headers every answer carries: no external sources, no sniffing, no caching, no
/// referrer, no framing.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn throttled() -> Response {
    html_response(
        StatusCode::TOO_MANY_REQUESTS,
        html::notice(
            "Too many tries",
            "Too many wrong tokens in the last minute. Wait a minute and try again.",
            false,
        ),
    )
}

fn unauthorized(state: &WebState) -> Response {
    let message = if state.enabled() {
        "Log in with the dashboard token to see the figures."
    } else {
        "The dashboard is off: start paymedic with PAYMEDIC_DASHBOARD_TOKEN set to turn it on."
    };
    let mut r = html_response(
        StatusCode::UNAUTHORIZED,
        html::notice("Log in", message, false),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"paymedic\""),
    );
    r
}

/// The value of `name` in a query string or form body, percent-decoded.
pub fn form_value(encoded: &str, name: &str) -> Option<String> {
    encoded
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| percent_decode(k).as_deref() == Some(name))
        .and_then(|(_, v)| percent_decode(v))
}

/// `application/x-www-form-urlencoded` decoding; `None` on a bad escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hexpair = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hexpair, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The `window` query parameter: 24h (default), 7d or 30d.
pub fn parse_window(query: Option<&str>) -> Result<Window, String> {
    match query.and_then(|q| form_value(q, "window")) {
        None => Ok(Window::Day),
        Some(w) => Window::parse(&w)
            .ok_or_else(|| format!("window {w:?} is not one of 24h, 7d or 30d (as in ?window=7d)")),
    }
}

async fn dashboard(
    state: WebState,
    page: Page,
    headers: HeaderMap,
    query: Option<&str>,
) -> Response {
    match state.authorized(&headers) {
        Access::Granted => {}
        Access::Denied => return unauthorized(&state),
        Access::Throttled => return throttled(),
    }
    let window = match parse_window(query) {
        Ok(w) => w,
        Err(message) => {
            return html_response(
                StatusCode::BAD_REQUEST,
                html::notice("Bad window", &message, false),
            )
        }
    };
    let engine = (state.engine)();
    let now = (state.clock)();
    match crate::insight::load_report(&*state.store, (*engine).as_ref(), window, now).await {
        Ok(report) => html_response(StatusCode::OK, html::page(page, &report, window)),
        Err(e) => {
            // The store's errors name files and causes, never member text.
            tracing::warn!(error = %e, "dashboard: could not load the figures");
            html_response(
                StatusCode::SERVICE_UNAVAILABLE,
                html::notice(
                    "Figures unavailable",
                    "The store could not be read just now; the log says why. Try again.",
                    false,
                ),
            )
        }
    }
}

async fn overview(State(s): State<WebState>, headers: HeaderMap, request: Request) -> Response {
    dashboard(s, Page::Overview, headers, request.uri().query()).await
}

async fn funnels(State(s): State<WebState>, headers: HeaderMap, request: Request) -> Response {
    dashboard(s, Page::Funnels, headers, request.uri().query()).await
}

async fn unanswered(State(s): State<WebState>, headers: HeaderMap, request: Request) -> Response {
    dashboard(s, Page::Unanswered, headers, request.uri().query()).await
}

async fn tickets(State(s): State<WebState>, headers: HeaderMap, request: Request) -> Response {
    dashboard(s, Page::Tickets, headers, request.uri().query()).await
}

fn session_set_cookie(id: &str) -> HeaderValue {
    let max_age = SESSION_MS / 1000;
    // The id is hex: always a valid header value.
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// Where a token link may send the browser after logging in: a path on this server only
/// (`/tickets?window=7d`), never another site (`//evil.example`, `/\\evil`).
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                // Printable ASCII only: anything else is no valid header value.
                && p.chars().all(|c| c.is_ascii_graphic()) =>
        {
            p
        }
        _ => "/",
    }
}

/// Logs in: a new session and a redirect to `to` (a local path).
fn logged_in(state: &WebState, to: &str) -> Response {
    let id = state.new_session();
    if id.is_empty() {
        return html_response(
            StatusCode::SERVICE_UNAVAILABLE,
            html::notice("Log in", "No randomness for a session id: try again.", true),
        );
    }
    let mut r = Redirect::to(to).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_set_cookie(&id));
    r
}

async fn login_page(State(state): State<WebState>, request: Request) -> Response {
    if !state.enabled() {
        return unauthorized(&state);
    }
    let query = request.uri().query().unwrap_or("");
    if let Some(token) = form_value(query, "token") {
        // Only for scripts (see `WebState::with_token_link`); otherwise a token in a URL is
        // refused, so it never becomes a habit (URLs end up in histories and logs).
        if state.token_link {
            match state.check_token(&token) {
                Access::Granted => {
                    let next = form_value(query, "next");
                    return logged_in(&state, local_path(next.as_deref()));
                }
                Access::Throttled => return throttled(),
                Access::Denied => {}
            }
        }
        return html_response(
            StatusCode::UNAUTHORIZED,
            html::notice(
                "Log in",
                "That link does not log in. Enter the dashboard token below.",
                true,
            ),
        );
    }
    html_response(
        StatusCode::OK,
        html::notice("Log in", "Enter the dashboard token.", true),
    )
}

async fn login(State(state): State<WebState>, body: Bytes) -> Response {
    if !state.enabled() {
        return unauthorized(&state);
    }
    let token = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| form_value(b, "token"));
    let access = token.map_or(Access::Denied, |t| state.check_token(&t));
    match access {
        Access::Granted => logged_in(&state, "/"),
        Access::Throttled => throttled(),
        Access::Denied => html_response(
            StatusCode::UNAUTHORIZED,
            html::notice("Log in", "That token is not right. Try again.", true),
        ),
    }
}

async fn logout(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        state.end_session(id);
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("paymedic_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

async fn metrics(State(state): State<WebState>) -> Response {
    match &state.metrics {
        Some(render) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no metrics in this process\n").into_response(),
    }
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/style.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/dashboard.js"),
    )
        .into_response()
}

async fn not_found() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        html::notice("Not found", "There is no such page.", false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_decoded() {
        assert_eq!(
            form_value("a=1&token=x%2By+z", "token").as_deref(),
            Some("x+y z")
        );
        assert_eq!(form_value("token=%zz", "token"), None);
        assert_eq!(form_value("window=7d", "token"), None);
    }

    #[test]
    fn windows_parse_and_a_bad_one_says_what_is_allowed() {
        assert_eq!(parse_window(None), Ok(Window::Day));
        assert_eq!(parse_window(Some("window=7d")), Ok(Window::Week));
        assert_eq!(parse_window(Some("x=1&window=30d")), Ok(Window::Month));
        let err = parse_window(Some("window=1y")).unwrap_err();
        assert!(
            err.contains("\"1y\"") && err.contains("24h, 7d or 30d"),
            "{err}"
        );
    }

    #[test]
    fn a_login_redirect_stays_on_this_server() {
        assert_eq!(local_path(Some("/tickets?window=7d")), "/tickets?window=7d");
        for off in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "tickets",
            "/a\nb",
            "/é",
            "/a b",
        ] {
            assert_eq!(local_path(Some(off)), "/", "{off:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
