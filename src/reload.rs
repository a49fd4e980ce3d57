//! Hot reload: re-reading the content pack and the reloadable settings while the bot runs
//! (`/reload` in Discord, SIGHUP to `paymedic run`, `/mod reload` in `paymedic chat`).
//!
//! A reload compiles the pack and the settings first, and only when all of it is valid makes
//! them the app's current generation ([`App::swap`]): an invalid pack or config changes
//! nothing, and every error (with its `file:line:col`) goes back to whoever asked and to the
//! log. Turns already running finish on the pack they started with; stored conversations are
//! kept by content keys, so one whose step was removed restarts cleanly (see
//! [`crate::engine::dialogue::stored`]).
//!
//! Reloadable: the content pack's contents, `[bot] cooldown_seconds` and
//! `idle_timeout_minutes`, `[classifier]`, `[app_versions]`, `[status]`, `[tickets]`,
//! `[scam]` and `[store] retention_days`. Not reloadable (they are wired into connections or
//! tasks at start-up; a change is reported as needing a restart): the token, `[discord]`,
//! `[store] path` and `synchronous`, `[limits]`, and which pack file is used (`[bot] intents`,
//! `--intents`). Slash command choices (`/troubleshoot`'s topics) are registered at start-up
//! too, so new topics show there after a restart.

use crate::app::App;
use crate::config::{io_reason, read_text_capped, Config};
use crate::engine::content;
use crate::engine::limits::{CONTENT_PACK_BYTES_MAX, MESSAGE_CONTENT_LENGTH_MAX};
use crate::engine::Engine;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the app's pack and settings come from, fixed at start-up.
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// The content pack file; `None`: the pack built into the binary.
    pub pack: Option<PathBuf>,
    /// The settings file; `None`: the defaults.
    pub config: Option<PathBuf>,
    /// Applied to every freshly read config before use: the adapter's own overrides (the
    /// terminal turns the cooldown off), which a reload must keep.
    pub adjust: Option<fn(&mut Config)>,
}

/// What a successful reload did.
#[derive(Clone, Debug, PartialEq)]
pub struct Reloaded {
    /// `false` with the built-in pack, which cannot change without a new build.
    pub pack_file: bool,
    /// The pack's content changed (by its hash).
    pub pack_changed: bool,
    /// Nothing changed at all: the app kept its current generation.
    pub unchanged: bool,
    pub intents: usize,
    /// Settings that changed in the file but only take effect after a restart.
    pub restart_needed: Vec<&'static str>,
    pub took: Duration,
}

/// Why a reload changed nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum ReloadError {
    /// The pack or the settings are invalid: every error, each with its location.
    Invalid(Vec<String>),
    /// Too many reloads since start-up (see [`crate::app::GENERATIONS_MAX`]).
    Refused(String),
}

/// Re-reads the app's [`Source`] and, if all of it is valid, makes it current. Logs the
/// outcome (every error, in full) and records it in the metrics.
pub fn reload(app: &App) -> Result<Reloaded, ReloadError> {
    let started = Instant::now();
    let source = app.source().cloned().unwrap_or_default();
    let result = load_and_swap(app, &source, started);
    match &result {
        Ok(r) => {
            crate::metrics::reload(if r.unchanged { "unchanged" } else { "ok" }, Some(r.took));
            tracing::info!(
                pack_changed = r.pack_changed,
                unchanged = r.unchanged,
                intents = r.intents,
                took_ms = r.took.as_millis() as u64,
                restart_needed = ?r.restart_needed,
                "reloaded the content pack and settings"
            );
        }
        Err(ReloadError::Invalid(errors)) => {
            crate::metrics::reload("invalid", Some(started.elapsed()));
            tracing::warn!(
                errors = errors.len(),
                took_ms = started.elapsed().as_millis() as u64,
                "reload refused: the old content pack and settings stay in use"
            );
            for e in errors {
                tracing::warn!("reload error: {e}");
            }
        }
        Err(ReloadError::Refused(why)) => {
            crate::metrics::reload("refused", None);
            tracing::warn!("reload refused: {why}");
        }
    }
    result
}

fn load_and_swap(app: &App, source: &Source, started: Instant) -> Result<Reloaded, ReloadError> {
    let old = app.config();
    let mut config = match &source.config {
        Some(path) => Config::load(path).map_err(|e| ReloadError::Invalid(vec![e.to_string()]))?,
        None => old.clone(),
    };
    let restart_needed = keep_fixed(old, &mut config);
    if let Some(adjust) = source.adjust {
        adjust(&mut config);
    }
    let mut engine = match &source.pack {
        Some(path) => {
            let src = read_text_capped(path, CONTENT_PACK_BYTES_MAX).map_err(|e| {
                ReloadError::Invalid(vec![format!(
                    "cannot read content pack {}: {}",
                    path.display(),
                    io_reason(&e)
                )])
            })?;
            Engine::load(&path.display().to_string(), &src).map_err(|errors| {
                ReloadError::Invalid(errors.0.iter().map(|e| e.to_string()).collect())
            })?
        }
        None => Engine::load(content::EMBEDDED_NAME, content::EMBEDDED).map_err(|errors| {
            ReloadError::Invalid(errors.0.iter().map(|e| e.to_string()).collect())
        })?,
    };
    config
        .apply(&mut engine)
        .map_err(|e| ReloadError::Invalid(vec![e.to_string()]))?;
    let pack_changed = engine.content.pack_hash != app.engine().content.pack_hash;
    // Config has no PartialEq (its locations are for messages); its Debug text names every
    // setting, which is what "changed" means here.
    let unchanged = !pack_changed && format!("{config:?}") == format!("{old:?}");
    let intents = engine.content.intents.len();
    if !unchanged && !app.swap(engine, config) {
        return Err(ReloadError::Refused(format!(
            "this bot has been reloaded {} times since it started; restart it to reload again",
            crate::app::GENERATIONS_MAX - 1
        )));
    }
    Ok(Reloaded {
        pack_file: source.pack.is_some(),
        pack_changed,
        unchanged,
        intents,
        restart_needed,
        took: started.elapsed(),
    })
}

/// Puts the start-up values of the settings that cannot change while running back into
/// `new`; returns the names of those the file changed.
fn keep_fixed(old: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if new.discord != old.discord {
        changed.push("discord");
    }
    if new.limits != old.limits {
        changed.push("limits");
    }
    if new.store_path != old.store_path || new.store_durability != old.store_durability {
        changed.push("store.path / store.synchronous");
    }
    if new.intents_path != old.intents_path {
        changed.push("bot.intents");
    }
    new.discord = old.discord.clone();
    new.limits = old.limits;
    new.store_path = old.store_path.clone();
    new.store_durability = old.store_durability;
    new.intents_path = old.intents_path.clone();
    changed
}

/// The reply to the moderator: what changed, or every error, within Discord's message limit
/// (errors past it are counted as "…and N more"; the log has them all).
pub fn reply(result: &Result<Reloaded, ReloadError>) -> String {
    let text = match result {
        Ok(r) => {
            let mut lines = Vec::new();
            if !r.pack_file {
                lines.push(
                    "The content pack is the built-in one, which can't change without a new build: settings re-read."
                        .to_string(),
                );
            } else if r.pack_changed {
                lines.push(format!(
                    "Reloaded: content pack updated ({} intents), settings re-read.",
                    r.intents
                ));
            } else {
                lines.push("Reloaded: the content pack is unchanged, settings re-read.".into());
            }
            if r.unchanged {
                lines.push("Nothing changed.".into());
            }
            if !r.restart_needed.is_empty() {
                lines.push(format!(
                    "Changed but only applied after a restart: {}.",
                    r.restart_needed.join(", ")
                ));
            }
            lines.push(format!("Took {} ms.", r.took.as_millis()));
            lines.join("\n")
        }
        Err(ReloadError::Refused(why)) => format!("Not reloaded: {why}."),
        Err(ReloadError::Invalid(errors)) => {
            let head = format!(
                "Not reloaded: {} error{}; the bot keeps the old content and settings.",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            listed(&head, errors, MESSAGE_CONTENT_LENGTH_MAX)
        }
    };
    crate::discord::convert::truncate(&text, MESSAGE_CONTENT_LENGTH_MAX)
}

/// `head`, then one error a line, as many as fit in `max` characters with room for the
/// "…and N more" line.
fn listed(head: &str, errors: &[String], max: usize) -> String {
    // Room for "\n…and 12345 more (see the log)".
    const TAIL: usize = 40;
    let mut out = head.to_string();
    let mut len = out.chars().count();
    for (i, e) in errors.iter().enumerate() {
        let last = i + 1 == errors.len();
        let budget = if last { max } else { max.saturating_sub(TAIL) };
        let n = e.chars().count() + 1;
        if len + n > budget {
            out.push_str(&format!("\n…and {} more (see the log)", errors.len() - i));
            return out;
        }
        out.push('\n');
        out.push_str(e);
        len += n;
    }
    out
}

/// [`reload`] off the async threads (compiling a pack and training its classifier takes a
/// while), for the Discord command and the signal.
pub async fn reload_off_thread(app: std::sync::Arc<App>) -> Result<Reloaded, ReloadError> {
    match tokio::task::spawn_blocking(move || reload(&app)).await {
        Ok(r) => r,
        Err(e) => Err(ReloadError::Refused(format!("the reload stopped: {e}"))),
    }
}

/// [`reload_off_thread`], then, when something changed, tells the other processes on a
/// shared store to reload too (they re-read their own files: one deployment's processes
/// share them). For `/reload` and SIGHUP; a reload a note asked for is not told again.
pub async fn reload_and_tell(app: std::sync::Arc<App>) -> Result<Reloaded, ReloadError> {
    let result = reload_off_thread(app.clone()).await;
    if matches!(&result, Ok(r) if !r.unchanged) {
        app.tell(crate::store::Note::Reload).await;
    }
    result
}

/// Reloads on every SIGHUP (the Unix convention for "re-read your configuration"). The
/// handler is registered before this returns, so a SIGHUP sent afterwards never takes the
/// default action (ending the process); the returned future serves them, one at a time.
#[cfg(unix)]
pub fn on_hangup(
    app: std::sync::Arc<App>,
) -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the content pack and settings");
            // The outcome is logged by `reload`.
            let _ = reload_and_tell(app.clone()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_error_list_fits_in_one_message_and_counts_the_rest() {
        let errors: Vec<String> = (0..200)
            .map(|i| format!("intents.toml:{i}:3: unknown step `step-{i}` in flow"))
            .collect();
        let text = listed("Not reloaded: 200 errors.", &errors, 2000);
        assert!(text.chars().count() <= 2000, "{}", text.chars().count());
        let shown = text
            .lines()
            .filter(|l| l.starts_with("intents.toml:"))
            .count();
        assert!(shown > 10, "{text}");
        assert!(
            text.ends_with(&format!("…and {} more (see the log)", 200 - shown)),
            "{text}"
        );
    }

    #[test]
    fn a_short_error_list_is_shown_whole() {
        let errors = vec![
            "a.toml:1:1: bad".to_string(),
            "a.toml:2:1: worse".to_string(),
        ];
        assert_eq!(
            listed("H", &errors, 2000),
            "H\na.toml:1:1: bad\na.toml:2:1: worse"
        );
    }
}
