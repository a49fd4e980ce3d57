//! Slash commands. Each command's `///` comment is the help text Discord shows.
//!
//! Personal answers (amounts, your own conversation) are ephemeral. Staff commands are gated
//! twice: hidden from members by `default_member_permissions`, and checked on the server
//! against the configured moderator roles and support role by `check = "is_staff"`, because a
//! server admin can change who sees a command. Ticket commands live in `super::tickets`.

use super::outbox::To;
use super::tickets::{self, is_moderator, is_staff};
use super::{convert, Context, Data, Error};
use crate::app::{self, today, Origin};
use crate::engine::Input;
use crate::explain::explain as explain_text;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use std::borrow::Cow;

/// Every command, with `/troubleshoot`'s topic choices filled in from the content pack.
pub fn all(content: &crate::engine::Content) -> Vec<poise::Command<Data, Error>> {
    let mut troubleshoot = troubleshoot();
    if let Some(topic) = troubleshoot
        .parameters
        .iter_mut()
        .find(|p| p.name == "topic")
    {
        topic.choices = Cow::Owned(
            content
                .topics()
                .take(crate::engine::limits::COMMAND_CHOICES_MAX)
                .map(|i| poise::CommandParameterChoice {
                    name: Cow::Owned(convert::truncate(&i.title, 100)),
                    localizations: Cow::Borrowed(&[]),
                    __non_exhaustive: (),
                })
                .collect::<Vec<_>>(),
        );
    }
    vec![
        troubleshoot,
        check(),
        reset(),
        help(),
        explain(),
        reload(),
        tickets::ticket(),
        tickets::escalate(),
        tickets::escalate_message(),
        tickets::forget_me(),
        super::incident::incident(),
    ]
}

fn ephemeral(text: impl Into<String>) -> CreateReply {
    CreateReply::default()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(super::effects::no_mentions())
}

/// Start a guided check of a payment that failed.
#[poise::command(slash_command)]
pub async fn troubleshoot(
    ctx: Context<'_>,
    #[description = "What went wrong (leave empty to see the topics)"] topic: Option<u32>,
) -> Result<(), Error> {
    let data = ctx.data();
    let content = &data.app.engine().content;
    let input = match topic {
        None => Input::Menu,
        // The choices were registered from the pack at start-up, and a reload may have
        // changed its topics since: the choice is found again by its title, never by position.
        Some(n) => match ctx
            .command()
            .parameters
            .iter()
            .find(|p| p.name == "topic")
            .and_then(|p| p.choices.get(n as usize))
            .and_then(|choice| {
                content
                    .topics()
                    .find(|i| convert::truncate(&i.title, 100) == choice.name)
            }) {
            Some(intent) => Input::Start(intent.id),
            None => {
                ctx.send(ephemeral(
                    "That topic doesn't exist. Pick one from the list.",
                ))
                .await?;
                return Ok(());
            }
        },
    };
    turn(ctx, input).await
}

/// A member's turn from a command, carried out by the outbox: every text piece, the embed,
/// the buttons and the ticket note.
async fn turn(ctx: Context<'_>, input: Input<'_>) -> Result<(), Error> {
    let data = ctx.data();
    let user = convert::user_key(ctx.guild_id().map(|g| g.get()), ctx.author().id.get());
    let origin = Origin {
        user,
        request: Some(tickets::request_key(ctx)),
        screen: false,
    };
    let out = data.outbox(ctx.http());
    let mut to = To::command(ctx);
    // A slow store must not make the command miss Discord's 3 seconds.
    let turn = out
        .in_time(
            &mut to,
            ctx.command().ephemeral,
            data.app.turn(origin, input, app::now()),
        )
        .await??;
    out.turn(&mut to, user.member, turn).await
}

/// Answers a check, and keeps it for the hand-off packet (which check, and its verdict).
async fn checked(
    ctx: Context<'_>,
    which: &str,
    verdict: Result<String, String>,
) -> Result<(), Error> {
    match verdict {
        Ok(text) => {
            let user = convert::user_key(ctx.guild_id().map(|g| g.get()), ctx.author().id.get());
            let data = ctx.data();
            let note = format!("/check {which}: {text}");
            let noted = data
                .outbox(ctx.http())
                .in_time(
                    &mut To::command(ctx),
                    true,
                    data.app.note_check(user, &note, app::now()),
                )
                .await?;
            if let Err(e) = noted {
                // The answer needs no store: give it anyway; only the packet misses the check.
                tracing::warn!(member = user.member.get(), error = %e, "could not keep a check for the packet");
            }
            ctx.send(ephemeral(text)).await?;
        }
        Err(e) => {
            ctx.send(ephemeral(format!("Hmm, {e}."))).await?;
        }
    }
    Ok(())
}

/// Run a quick check: your limit, the app version, a card's expiry, or known outages.
#[poise::command(
    slash_command,
    subcommands("limit", "app", "card_expiry", "status"),
    subcommand_required
)]
pub async fn check(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Does a purchase fit your available spending?
#[poise::command(slash_command, ephemeral)]
pub async fn limit(
    ctx: Context<'_>,
    #[description = "The order total, e.g. 120 or 89.99"] purchase: String,
    #[description = "What you owe right now"] balance: String,
    #[description = "Your spending limit"] limit: String,
) -> Result<(), Error> {
    let verdict = ctx.data().app.check_limit(&purchase, &balance, &limit);
    checked(
        ctx,
        "limit",
        verdict.map(|v| v.to_string()).map_err(|e| e.to_string()),
    )
    .await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum PlatformChoice {
    #[name = "iOS (iPhone, iPad)"]
    Ios,
    #[name = "Android"]
    Android,
}

/// Is your app version current?
#[poise::command(slash_command, ephemeral)]
pub async fn app(
    ctx: Context<'_>,
    #[description = "The version shown in the app's settings, e.g. 24.10.2"] version: String,
    #[description = "Your phone"] platform: PlatformChoice,
) -> Result<(), Error> {
    let platform = match platform {
        PlatformChoice::Ios => "ios",
        PlatformChoice::Android => "android",
    };
    let verdict = ctx.data().app.check_app(platform, &version);
    checked(
        ctx,
        "app",
        verdict.map(|v| v.to_string()).map_err(|e| e.to_string()),
    )
    .await
}

/// Has a card expired? Only the MM/YY date, never the card number.
#[poise::command(slash_command, ephemeral, rename = "card-expiry")]
pub async fn card_expiry(
    ctx: Context<'_>,
    #[description = "The expiry date as MM/YY, e.g. 08/27"] expiry: String,
) -> Result<(), Error> {
    let verdict = ctx.data().app.check_expiry(&expiry, today());
    checked(
        ctx,
        "card-expiry",
        verdict.map(|v| v.to_string()).map_err(|e| e.to_string()),
    )
    .await
}

/// Is there a known outage right now?
#[poise::command(slash_command, ephemeral)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data();
    // A slow store must not make the command miss Discord's 3 seconds.
    let status = data
        .outbox(ctx.http())
        .in_time(
            &mut To::command(ctx),
            true,
            data.app.check_status(app::now()),
        )
        .await??;
    checked(ctx, "status", Ok(status)).await
}

/// Forget my conversation with the bot and start fresh.
#[poise::command(slash_command, ephemeral)]
pub async fn reset(ctx: Context<'_>) -> Result<(), Error> {
    turn(ctx, Input::Reset).await
}

/// What this bot does and how to use it.
#[poise::command(slash_command, ephemeral)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    let content = &ctx.data().app.engine().content;
    let topics: Vec<String> = content.topics().map(|i| format!("• {}", i.title)).collect();
    let text = format!(
        "I help when a pay-later payment fails. Describe what happened in a support channel, mention me, or DM me. I can help with:\n{}\n\n\
         Commands: `/troubleshoot` starts a guided check, `/check limit|app|card-expiry|status` runs a quick check, \
         `/reset` forgets our conversation, `/forget-me` deletes what I keep about you. I never need your card number, CVV or password.",
        topics.join("\n")
    );
    ctx.send(ephemeral(convert::truncate(&text, 2000))).await?;
    Ok(())
}

/// Staff: show why the bot reads a message the way it does.
#[poise::command(
    slash_command,
    ephemeral,
    check = "is_staff",
    default_member_permissions = "MANAGE_MESSAGES"
)]
pub async fn explain(
    ctx: Context<'_>,
    #[description = "The message to explain"] text: String,
) -> Result<(), Error> {
    let report = explain_text(ctx.data().app.engine(), &text);
    ctx.send(ephemeral(convert::truncate(
        &format!("```\n{report}```"),
        2000,
    )))
    .await?;
    Ok(())
}

/// Moderators: re-read the content pack and settings (an invalid pack changes nothing).
#[poise::command(
    slash_command,
    ephemeral,
    check = "is_moderator",
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data();
    // Compiling a pack can outlast Discord's 3 seconds: the outbox defers if it does.
    let result = data
        .outbox(ctx.http())
        .in_time(
            &mut To::command(ctx),
            true,
            crate::reload::reload_and_tell(data.app.clone()),
        )
        .await?;
    tracing::info!(
        moderator = ctx.author().id.get(),
        ok = result.is_ok(),
        "/reload"
    );
    ctx.send(ephemeral(crate::reload::reply(&result))).await?;
    Ok(())
}

/// Friendly, ephemeral answers for the errors a member can cause; everything else is logged.
pub async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    let result = match &error {
        poise::FrameworkError::CommandCheckFailed { ctx, .. } => ctx
            .send(ephemeral(
                ctx.data().app.engine().content.copy.moderators_only.clone(),
            ))
            .await
            .map(|_| ()),
        poise::FrameworkError::ArgumentParse { ctx, input, .. } => {
            // Never repeat what looks like a card number, code or password.
            let what = match input.as_deref().map(crate::engine::checks::Echo::of) {
                Some(e) => e.to_string(),
                None => "that".to_string(),
            };
            ctx.send(ephemeral(format!(
                "I couldn't read {what} there. Check the command's options and try again."
            )))
            .await
            .map(|_| ())
        }
        poise::FrameworkError::Command { error, ctx, .. } => {
            // A send the outbox gave up on, or a missing permission, is logged there already.
            if !super::retry::already_logged(error.as_ref()) {
                tracing::error!(command = %ctx.command().qualified_name, %error, "command failed");
            }
            ctx.send(ephemeral(super::outbox::SOMETHING_WENT_WRONG))
                .await
                .map(|_| ())
        }
        poise::FrameworkError::EventHandler { error, event, .. } => {
            if !super::retry::already_logged(error.as_ref()) {
                tracing::error!(event = event.snake_case_name(), %error, "event handler failed");
            }
            Ok(())
        }
        _ => {
            let _ = poise::builtins::on_error(error).await;
            Ok(())
        }
    };
    if let Err(e) = result {
        tracing::warn!(%e, "could not send an error reply");
    }
}

#[allow(unused_imports)]
use serenity as _;
