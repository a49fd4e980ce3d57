//! Incident mode on Discord: `/incident start` and `/incident end` (moderators only, checked
//! on the server at each use, like `/reload`), the "Notify me when it's fixed" button, and the "it's
//! fixed" DMs when an incident ends.
//!
//! The DMs go out through the outbox, one member at a time at [`super::outbox::FANOUT_PACE`]
//! (on top of serenity's own rate-limit handling and the retry policy), in a background task,
//! so `/incident end` is answered at once and the moderator gets a summary when it is done.
//! Each member's subscription is deleted as soon as they were told (or skipped: DMs closed),
//! so a fan-out cut short by a restart resumes at start-up without a second DM.

use super::outbox::{Outbox, Piece, To};
use super::tickets::{moderator_of, refuse};
use super::{convert, Context, Data, Error};
use crate::app::{self, App, Ended, IncidentError};
use crate::config::DiscordConfig;
use crate::engine::IncidentId;
use crate::store::{Started, Subscribed};
use poise::serenity_prelude as serenity;
use serenity::{CommandInteraction, ComponentInteraction, Http};
use std::sync::Arc;
use tokio::sync::Semaphore;

fn ephemeral(text: impl Into<String>) -> poise::CreateReply {
    poise::CreateReply::default()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(super::effects::no_mentions())
}

/// Moderators: announce a known outage, or end it.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("incident_start", "incident_end"),
    subcommand_required,
    check = "super::tickets::is_moderator",
    default_member_permissions = "MANAGE_THREADS"
)]
pub async fn incident(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Announce a known outage: payment-failure answers lead with your notice. Again: new notice.
#[poise::command(slash_command, ephemeral, rename = "start")]
pub async fn incident_start(
    ctx: Context<'_>,
    #[description = "What's broken, in a sentence members will read first"]
    #[max_length = 500]
    notice: String,
    #[description = "Intent ids it covers, comma-separated (default: payment failures)"]
    intents: Option<String>,
) -> Result<(), Error> {
    // Checked here too: the parent's check guards the group, and this is the one that acts.
    let Some(staff) = moderator_of(ctx).await else {
        return refuse(ctx).await;
    };
    ctx.defer_ephemeral().await?;
    let app = &ctx.data().app;
    let started = app
        .start_incident(staff, &notice, intents.as_deref().unwrap_or(""), app::now())
        .await;
    let text = match started {
        Ok(Started::New(i)) => format!(
            "Incident #{} started. Answers about {} now lead with your notice, and `/check status` shows it. End it with `/incident end`.",
            i.id,
            i.intents.join(", ")
        ),
        Ok(Started::Replaced(i)) => format!(
            "Incident #{} updated with your notice (it covers {}). Members already on the list stay on it.",
            i.id,
            i.intents.join(", ")
        ),
        Err(IncidentError::Store(e)) => return Err(e.into()),
        Err(e) => format!("Not started: {e}."),
    };
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

/// End the outage: everyone who asked gets one DM saying it's fixed.
#[poise::command(slash_command, ephemeral, rename = "end")]
pub async fn incident_end(ctx: Context<'_>) -> Result<(), Error> {
    let Some(staff) = moderator_of(ctx).await else {
        return refuse(ctx).await;
    };
    ctx.defer_ephemeral().await?;
    let data = ctx.data();
    let Some(ended) = data.app.end_incident(staff, app::now()).await? else {
        ctx.send(ephemeral("No incident is active.")).await?;
        return Ok(());
    };
    let members = members(&ended);
    ctx.send(ephemeral(format!(
        "Incident #{} ended. Telling {members} member(s) it's fixed; I'll post a summary here when that's done.",
        ended.incident.id
    )))
    .await?;
    let report = match ctx {
        poise::Context::Application(a) => Some(a.interaction.clone()),
        poise::Context::Prefix(_) => None,
    };
    spawn_fanout(data, ctx.serenity_context().http.clone(), ended, report);
    Ok(())
}

/// How many distinct members an ended incident tells.
fn members(ended: &Ended) -> usize {
    let mut m: Vec<_> = ended.subscribers.iter().map(|k| k.member).collect();
    m.sort_unstable();
    m.dedup();
    m.len()
}

/// Runs the "it's fixed" DMs in the background; with `report`, the moderator who ended the
/// incident gets the summary as an ephemeral follow-up.
pub(super) fn spawn_fanout(
    data: &Data,
    http: Arc<Http>,
    ended: Ended,
    report: Option<CommandInteraction>,
) {
    let app: Arc<App> = data.app.clone();
    let discord: DiscordConfig = data.discord.clone();
    let sends: Arc<Semaphore> = data.sends.clone();
    tokio::spawn(async move {
        let out = Outbox::new(&http, &app, &discord, &sends);
        let f = out.incident_fixed(&ended).await;
        let summary = format!(
            "Incident #{} is over: told {} member(s); closed DMs {} (skipped); failed {}.",
            ended.incident.id, f.sent, f.closed, f.failed
        );
        tracing::info!(
            incident = ended.incident.id.get(),
            sent = f.sent,
            closed = f.closed,
            failed = f.failed,
            "told an incident's subscribers it's fixed"
        );
        if let Some(interaction) = report {
            out.command_followup(&interaction, summary).await;
        }
    });
}

/// "Notify me when it's fixed": subscribes whoever pressed it (idempotent), ephemerally.
pub(super) async fn notify_press(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    press: &ComponentInteraction,
    incident: IncidentId,
) -> Result<(), Error> {
    let who = convert::user_key(press.guild_id.map(|g| g.get()), press.user.id.get());
    let done = out
        .in_time(
            to,
            true,
            out.app.subscribe_incident(incident, who, app::now()),
        )
        .await??;
    let copy = &out.app.engine().content.copy;
    let text = match done {
        Subscribed::Added => &copy.incident_subscribed,
        Subscribed::Already => &copy.incident_already_subscribed,
        Subscribed::Over => &copy.incident_over,
    };
    out.send(to, Piece::ephemeral(text.clone())).await
}
