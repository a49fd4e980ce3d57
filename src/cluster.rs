//! Several bot processes on one store: who runs the shared jobs, and how news travels.
//!
//! With SQLite there is one process, which leads and hears nothing. With PostgreSQL:
//! - **One leader** runs the jobs that must run once for all processes (ticket timers,
//!   retention purge, session and claim expiry, resuming an incident's DMs at start-up). It is
//!   the process holding an advisory lock ([`Store::lead`](crate::store::Store::lead)); every
//!   process asks every `[store] leader_check_secs` (default 15), so when the leader dies, and
//!   PostgreSQL drops its connection and lock with it, another takes over within that time.
//! - **News** (a reload, an incident started or ended) is sent with `NOTIFY` and heard by every
//!   other process ([`follow`]).
//!
//! Nothing here decides anything about members; it only schedules the app's own jobs.

use crate::app::App;
use crate::store::Note;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether this process leads now; shared by the jobs that check it.
#[derive(Clone, Debug, Default)]
pub struct Leadership(Arc<AtomicBool>);

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Asks the store once and records the answer; logs a change. A store error means "not
    /// the leader" until the next ask succeeds: two leaders are worse than a late timer.
    pub async fn ask(&self, app: &App) -> bool {
        let now = match app.store().lead().await {
            Ok(is) => is,
            Err(e) => {
                if self.is_leader() {
                    tracing::warn!(error = %e, "lost the database while leading; another process may take the scheduled jobs over");
                } else {
                    tracing::debug!(error = %e, "could not ask the database who leads");
                }
                false
            }
        };
        let was = self.0.swap(now, Ordering::Relaxed);
        if now != was {
            if now {
                tracing::info!(
                    "leader: this process runs the scheduled jobs (ticket timers, retention)"
                );
            } else {
                tracing::info!("no longer the leader: another process runs the scheduled jobs");
            }
        }
        crate::metrics::leader(now);
        now
    }

    /// Asks every `every` until the runtime stops; `on_lead` runs each time this process
    /// becomes the leader (the jobs then run at once instead of at their next tick).
    pub async fn keep_asking(
        self,
        app: Arc<App>,
        every: Duration,
        on_lead: Arc<tokio::sync::Notify>,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let was = self.is_leader();
            if self.ask(&app).await && !was {
                on_lead.notify_one();
            }
        }
    }
}

/// Acts on other processes' news until the store stops sending it: a reload reloads this
/// process's pack and settings, an incident note makes the next turn read the incident
/// afresh, and after a lost connection both happen (a note may have been missed).
pub async fn follow(app: Arc<App>) {
    let mut notes = match app.store().listen().await {
        Ok(Some(rx)) => rx,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for other processes' news; reloads and incidents reach this process only by /reload and within 5 s");
            return;
        }
    };
    while let Some(note) = notes.recv().await {
        tracing::info!(note = note.as_str(), "news from another process");
        match note {
            Note::Incident => app.incident_changed(),
            Note::Reload => {
                // Logged by `reload`.
                let _ = crate::reload::reload_off_thread(app.clone()).await;
            }
            Note::Missed => {
                app.incident_changed();
                let _ = crate::reload::reload_off_thread(app.clone()).await;
            }
        }
    }
}
