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
