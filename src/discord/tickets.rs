//! Tickets on Discord: a member's request for a human becomes a private thread in the
//! escalation channel, with the hand-off packet as its first message and the staff buttons on
//! it. This module builds the packet and handles what staff and members do with tickets:
//! the packet's buttons, the close modal, `/ticket`, `/escalate`, the "Escalate to support"
//! message command, the "Did we solve it?" buttons and `/forget-me`. What is sent goes
//! through [`super::outbox`].
//!
//! Every staff action is checked on the server, at the moment it happens, against the roles
//! Discord sent with the interaction ([`App::staff`]): a staff button pressed by anyone else
//! is refused before any modal opens, and the commands' `check` runs on every call (hiding a
//! command in the UI is not a permission check).
//!
//! Modal submits are handled statelessly by their `custom_id` (`pmt:close:<ticket>`), in the
//! event handler, not with an in-process collector: a collector is lost on restart, and a
//! moderator who took a minute to type a reason would lose it.
//!
//! Permissions the bot needs in the escalation channel: Create Private Threads, Send Messages
//! in Threads, Manage Threads (to archive and lock closed tickets, and reopen them), plus
//! Manage Messages wherever it removes card numbers. Without Create Private Threads a request
//! becomes a plain post in the escalation channel.

use super::convert::{self, forget_id, rate_id, staff_id, truncate, StaffButton};
use super::outbox::{ticket_link, Closing, Opening, Outbox, Piece, To};
use super::{Context, Error};
use crate::app::{self, ActionError, Changed, Staff};
use crate::engine::ids::{ChannelId as TChannelId, GuildId, MemberId, RoleId, TicketId};
use crate::engine::limits::{
    EMBED_FIELD_VALUE_LENGTH_MAX, MESSAGE_CONTENT_LENGTH_MAX, THREAD_NAME_LENGTH_MAX,
};
use crate::engine::tickets::{StaffAction, Ticket, TicketStatus};
use crate::store::{Opened, TicketFilter};
use poise::serenity_prelude as serenity;
use serenity::{
    ActionRowComponent, ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton,
    CreateEmbed, CreateEmbedFooter, CreateInputText, CreateModal, InputTextStyle, ModalInteraction,
};

/// The packet's footer.
const PACKET_NOTE: &str = "Card numbers, codes and passwords are masked.";
/// The close modal's text field.
const REASON_FIELD: &str = "reason";
/// Longest close reason a moderator can type.
const REASON_CHARS_MAX: u16 = 500;
/// Embed colour of an open ticket's packet, and of a closed one.
const OPEN_COLOUR: u32 = 0xE6_7E_22;
const CLOSED_COLOUR: u32 = 0x95_A5_A6;

// -------------------------------------------------------------------------------------------
// The packet
// -------------------------------------------------------------------------------------------

/// The thread's name: the ticket's number and topic, never the member's name.
pub fn thread_name(t: &Ticket) -> String {
    let topic = t.packet.intent_title.as_deref().unwrap_or("support");
    truncate(
        &format!("ticket {} · {topic}", t.id),
        THREAD_NAME_LENGTH_MAX,
    )
}

/// The packet message's text: the mentions that add the support role and the member to the
/// private thread (the outbox allows exactly those two).
pub fn packet_content(t: &Ticket, support_role: Option<RoleId>) -> String {
    if t.member == MemberId::FORGOTTEN {
        return format!("Ticket #{} (the member asked to be forgotten).", t.id);
    }
    let role = support_role.map_or(String::new(), |r| format!("<@&{r}> "));
    format!("{role}Ticket #{} for <@{}>.", t.id, t.member)
}

fn bullets(lines: &[String], none: &str) -> String {
    if lines.is_empty() {
        return none.to_string();
    }
    let text = lines
        .iter()
        .map(|l| format!("• {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    truncate(&text, EMBED_FIELD_VALUE_LENGTH_MAX)
}

/// Who has the ticket, as the packet shows it.
fn status_line(t: &Ticket) -> String {
    match (t.status, t.claimed_by) {
        (TicketStatus::Open, Some(m)) => format!("Claimed by <@{m}>"),
        (TicketStatus::Open, None) => "Waiting for someone to claim it".into(),
        (TicketStatus::Opening, _) => "Opening".into(),
        (TicketStatus::Closed, _) => match t.closed_by {
            Some(m) => format!("Closed by <@{m}>"),
            None => "Closed".into(),
        },
        (TicketStatus::Failed, _) => "Failed".into(),
    }
}

/// The hand-off packet as an embed: member, topic and confidence, who has it, the steps shown
/// with the member's answers, checks run, and the member's last messages (masked when they
/// were stored). Built from the same fields as [`Ticket::packet_text`].
pub fn packet_embed(t: &Ticket) -> CreateEmbed {
    let p = &t.packet;
    let topic = match (&p.intent_title, p.confidence) {
        (Some(title), Some(c)) => format!("{title} (confidence {:.0}%)", c * 100.0),
        (Some(title), None) => title.clone(),
        (None, _) => "Not detected".into(),
    };
    let member = if t.member == MemberId::FORGOTTEN {
        "(forgotten member)".to_string()
    } else {
        format!("<@{}>", t.member)
    };
    let mut e = CreateEmbed::new()
        .title(format!("Ticket #{}", t.id))
        .field("Member", member, true)
        .field("Status", status_line(t), true)
        .field(
            "Topic",
            truncate(&topic, EMBED_FIELD_VALUE_LENGTH_MAX),
            true,
        );
    if let Some(by) = t.opened_by {
        e = e.field("Escalated by", format!("<@{by}>"), true);
    }
    if let Some(r) = &p.reason {
        e = e.field("Reason", truncate(r, EMBED_FIELD_VALUE_LENGTH_MAX), false);
    }
    let quoted: Vec<String> = p.recent.iter().map(|m| format!("“{m}”")).collect();
    e.field(
        "Steps shown and answers",
        bullets(
            &p.tried,
            "Nothing yet: the member asked for a human straight away.",
        ),
        false,
    )
    .field("Checks run", bullets(&p.checks, "None"), false)
    .field("Last messages", bullets(&quoted, "None"), false)
    .footer(CreateEmbedFooter::new(PACKET_NOTE))
    .colour(if t.status.is_active() {
        OPEN_COLOUR
    } else {
        CLOSED_COLOUR
    })
}

/// The staff buttons that fit the ticket's state: Claim or Unclaim, Hand back and Close while
/// it is open; Reopen once it is closed.
pub fn staff_rows(t: &Ticket) -> Vec<CreateActionRow> {
    let b = |a: StaffButton, label: &str, style: ButtonStyle| {
        CreateButton::new(staff_id(a, t.id))
            .label(label)
            .style(style)
    };
    let buttons = match t.status {
        TicketStatus::Open | TicketStatus::Opening => vec![
            match t.claimed_by {
                None => b(StaffButton::Claim, "Claim", ButtonStyle::Primary),
                Some(_) => b(StaffButton::Unclaim, "Unclaim", ButtonStyle::Secondary),
            },
            b(StaffButton::HandBack, "Hand back", ButtonStyle::Secondary),
            b(StaffButton::Close, "Close", ButtonStyle::Danger),
        ],
        TicketStatus::Closed => vec![b(StaffButton::Reopen, "Reopen", ButtonStyle::Secondary)],
        TicketStatus::Failed => Vec::new(),
    };
    if buttons.is_empty() {
        Vec::new()
    } else {
        vec![CreateActionRow::Buttons(buttons)]
    }
}

/// "Did we solve it?" Yes / No, for the ticket's member.
pub fn rating_row(id: TicketId) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(rate_id(id, true))
            .label("Yes")
            .style(ButtonStyle::Success),
        CreateButton::new(rate_id(id, false))
            .label("No")
            .style(ButtonStyle::Secondary),
    ])
}

/// The close modal: one required reason, kept in the transcript.
fn close_modal(id: TicketId) -> CreateModal {
    let reason = CreateInputText::new(InputTextStyle::Paragraph, "Reason", REASON_FIELD)
        .placeholder("What was done, for the transcript")
        .max_length(REASON_CHARS_MAX)
        .required(true);
    CreateModal::new(
        staff_id(StaffButton::Close, id),
        format!("Close ticket #{id}"),
    )
    .components(vec![CreateActionRow::InputText(reason)])
}

/// One line of `/ticket list`.
fn list_line(t: &Ticket, now: crate::engine::Timestamp) -> String {
    let minutes = now.0.saturating_sub(t.opened_at.0) / 60_000;
    let age = if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h", minutes / 60)
    };
    let who = t
        .claimed_by
        .map_or("unclaimed".to_string(), |m| format!("claimed by <@{m}>"));
    let topic = t.packet.intent_title.as_deref().unwrap_or("no topic");
    format!("#{} {} · {age} · {who} · {topic}", t.id, ticket_link(t))
}

// -------------------------------------------------------------------------------------------
// Staff
// -------------------------------------------------------------------------------------------

fn role_ids(roles: &[serenity::RoleId]) -> Vec<RoleId> {
    roles.iter().map(|r| RoleId(r.get())).collect()
}

/// Staff, from the roles Discord sent with an interaction; `None` outside a guild.
fn staff_of_member(out: &Outbox<'_>, member: Option<&serenity::Member>) -> Option<Staff> {
    let m = member?;
    out.app.staff(
        MemberId(m.user.id.get()),
        GuildId(m.guild_id.get()),
        &role_ids(&m.roles),
    )
}

/// A poise check: the caller has a moderator role or the support role, from the roles in the
/// interaction itself (no cache, no extra request). Runs on every call.
pub async fn is_staff(ctx: Context<'_>) -> Result<bool, Error> {
    Ok(staff_of(ctx).await.is_some())
}

/// The `check` of moderator-only commands (`/reload`): a moderator role, from the roles the
/// server sent with the command.
pub async fn is_moderator(ctx: Context<'_>) -> Result<bool, Error> {
    let Some(guild) = ctx.guild_id() else {
        return Ok(false);
    };
    let Some(member) = ctx.author_member().await else {
        return Ok(false);
    };
    Ok(ctx
        .data()
        .app
        .moderator(
            MemberId(member.user.id.get()),
            GuildId(guild.get()),
            &role_ids(&member.roles),
        )
        .is_some())
}

/// The moderator behind a moderator-only command (`/incident`): a moderator role, from the
/// roles the server sent with it.
pub(super) async fn moderator_of(ctx: Context<'_>) -> Option<Staff> {
    let guild = ctx.guild_id()?;
    let member = ctx.author_member().await?;
    ctx.data().app.moderator(
        MemberId(member.user.id.get()),
        GuildId(guild.get()),
        &role_ids(&member.roles),
    )
}

pub(super) async fn staff_of(ctx: Context<'_>) -> Option<Staff> {
    let guild = ctx.guild_id()?;
    let member = ctx.author_member().await?;
    ctx.data().app.staff(
        MemberId(member.user.id.get()),
        GuildId(guild.get()),
        &role_ids(&member.roles),
    )
}

fn sentence(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// A staff action, start to finish: checked and committed by the app, then carried out on
/// Discord. Returns what to tell the moderator.
async fn act(
    out: &Outbox<'_>,
    staff: Staff,
    id: TicketId,
    action: StaffAction,
) -> Result<String, Error> {
    let what = action.clone();
    let changed: Changed = match out.app.act(staff, id, action, app::now()).await {
        Ok(c) => c,
        Err(ActionError::Refused(r)) => return Ok(sentence(&r.to_string())),
        Err(ActionError::Store(e)) => return Err(e.into()),
    };
    let t = &changed.ticket;
    let by = staff.member();
    let done = match &what {
        StaffAction::Claim => {
            out.edit_packet(t).await;
            format!("Ticket #{id} is yours.")
        }
        StaffAction::Unclaim => {
            out.edit_packet(t).await;
            format!("Ticket #{id} is unclaimed.")
        }
        StaffAction::Close { reason } => {
            let reason = t.close_reason.clone().unwrap_or_else(|| reason.clone());
            out.closed(&changed, &Closing::Closed { by, reason }).await;
            format!("Ticket #{id} is closed.")
        }
        StaffAction::HandBack => {
            out.closed(&changed, &Closing::HandedBack { by }).await;
            format!("Ticket #{id} is closed, and the member is back with the bot.")
        }
        StaffAction::Reopen => {
            out.reopened(t, by).await;
            format!("Ticket #{id} is open again: {}", ticket_link(t))
        }
    };
    Ok(done)
}

/// A staff button on a packet. A press by anyone but staff is refused at once, before any
/// modal opens; Close opens the reason modal; the rest act at once.
pub async fn staff_button(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    press: &ComponentInteraction,
    button: StaffButton,
    id: TicketId,
) -> Result<(), Error> {
    let Some(staff) = staff_of_member(out, press.member.as_ref()) else {
        let text = out.app.engine().content.copy.moderators_only.clone();
        return out.send(to, Piece::ephemeral(text)).await;
    };
    let action = match button {
        StaffButton::Close => {
            // A modal must be the first answer, so it can't follow a deferral: when the store
            // is slow, the modal opens anyway and the submit checks again (`act` refuses a
            // ticket that isn't open).
            let open = match tokio::time::timeout(to.time_left(), out.app.store().ticket(id)).await
            {
                Ok(t) => t?.is_some_and(|t| t.status == TicketStatus::Open),
                Err(_) => true,
            };
            if !open {
                let text = format!("Ticket #{id} is not open.");
                return out.send(to, Piece::ephemeral(text)).await;
            }
            return out.modal(to, close_modal(id)).await;
        }
        StaffButton::Claim => StaffAction::Claim,
        StaffButton::Unclaim => StaffAction::Unclaim,
        StaffButton::HandBack => StaffAction::HandBack,
        StaffButton::Reopen => StaffAction::Reopen,
    };
    out.defer(to, true).await?;
    let text = act(out, staff, id, action).await?;
    out.send(to, Piece::ephemeral(text)).await
}

/// The close modal's submit (`pmt:close:<ticket>`): staff is checked again (roles can change
/// while a modal is open), then the ticket closes with the typed reason.
pub async fn close_submit(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    modal: &ModalInteraction,
    id: TicketId,
) -> Result<(), Error> {
    let Some(staff) = staff_of_member(out, modal.member.as_ref()) else {
        let text = out.app.engine().content.copy.moderators_only.clone();
        return out.send(to, Piece::ephemeral(text)).await;
    };
    let reason = modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == REASON_FIELD => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    let reason = reason.trim();
    let reason = if reason.is_empty() {
        "no reason given"
    } else {
        reason
    };
    out.defer(to, true).await?;
    let text = act(
        out,
        staff,
        id,
        StaffAction::Close {
            reason: reason.to_string(),
        },
    )
    .await?;
    out.send(to, Piece::ephemeral(text)).await
}

/// "Did we solve it?": only the ticket's member's answer is taken.
pub async fn rate_press(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    press: &ComponentInteraction,
    id: TicketId,
    solved: bool,
) -> Result<(), Error> {
    let member = MemberId(press.user.id.get());
    let taken = out
        .in_time(to, true, out.app.rate(id, member, solved, app::now()))
        .await??;
    let text = if taken {
        out.app.engine().content.copy.rate_thanks.clone()
    } else {
        // Someone else's question, or the ticket was reopened since it was asked.
        "I can't take that answer: the question isn't yours, or the ticket is open again."
            .to_string()
    };
    out.send(to, Piece::ephemeral(text)).await
}

// -------------------------------------------------------------------------------------------
// Opening a ticket for someone
// -------------------------------------------------------------------------------------------

/// A moderator opens a ticket for a member (`/escalate`, the message command): the ticket, its
/// thread and packet, and a DM to the member. Returns what to tell the moderator.
async fn escalate_member(
    out: &Outbox<'_>,
    staff: Staff,
    guild: GuildId,
    member: MemberId,
    reason: Option<&str>,
    request: String,
    source: Option<&str>,
) -> Result<String, Error> {
    let user = app::UserKey::new(guild, member);
    let opened = out
        .app
        .escalate(staff, user, reason, app::now(), Some(request))
        .await?;
    Ok(match opened {
        Opened::Created(t) => match out.open_ticket(t, source).await? {
            Opening::Open(t) => {
                out.tell_escalated(&t).await;
                format!(
                    "Opened ticket #{} for <@{member}>: {}",
                    t.id,
                    ticket_link(&t)
                )
            }
            Opening::Failed(t) => format!(
                "I couldn't open a private thread for ticket #{} (check my permissions in the escalation channel), so I posted a plain request there.",
                t.id
            ),
        },
        Opened::Existing(t) => format!(
            "<@{member}> already has ticket #{}: {}",
            t.id,
            ticket_link(&t)
        ),
    })
}

/// Moderators: open a private support ticket for a member.
#[poise::command(
    slash_command,
    guild_only,
    ephemeral,
    check = "is_staff",
    default_member_permissions = "MANAGE_THREADS"
)]
pub async fn escalate(
    ctx: Context<'_>,
    #[description = "The member who needs help"] member: serenity::User,
    #[description = "Why, for the support team"] reason: Option<String>,
) -> Result<(), Error> {
    let Some(staff) = staff_of(ctx).await else {
        return refuse(ctx).await;
    };
    if member.bot {
        ctx.send(ephemeral("Bots don't get tickets.")).await?;
        return Ok(());
    }
    let data = ctx.data();
    let out = data.outbox(ctx.http());
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    ctx.defer_ephemeral().await?;
    let text = escalate_member(
        &out,
        staff,
        guild,
        MemberId(member.id.get()),
        reason.as_deref(),
        request_key(ctx),
        None,
    )
    .await?;
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

/// Open a private support ticket for this message's author.
#[poise::command(
    context_menu_command = "Escalate to support",
    guild_only,
    ephemeral,
    check = "is_staff",
    default_member_permissions = "MANAGE_THREADS"
)]
pub async fn escalate_message(
    ctx: Context<'_>,
    #[description = "The member's message"] msg: serenity::Message,
) -> Result<(), Error> {
    let Some(staff) = staff_of(ctx).await else {
        return refuse(ctx).await;
    };
    if msg.author.bot {
        ctx.send(ephemeral("Bots don't get tickets.")).await?;
        return Ok(());
    }
    let data = ctx.data();
    let out = data.outbox(ctx.http());
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let link = msg.id.link(msg.channel_id, ctx.guild_id());
    // The message goes into the packet as the reason; the app masks it before it is stored.
    let reason = format!("from their message {link}: {}", msg.content);
    ctx.defer_ephemeral().await?;
    let text = escalate_member(
        &out,
        staff,
        guild,
        MemberId(msg.author.id.get()),
        Some(&reason),
        request_key(ctx),
        Some(&link),
    )
    .await?;
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

// -------------------------------------------------------------------------------------------
// /ticket
// -------------------------------------------------------------------------------------------

/// The interaction a command came in with: opening a ticket from it twice opens one.
pub fn request_key(ctx: Context<'_>) -> String {
    match ctx {
        poise::Context::Application(a) => a.interaction.id.to_string(),
        poise::Context::Prefix(p) => p.msg.id.to_string(),
    }
}

fn ephemeral(text: impl Into<String>) -> poise::CreateReply {
    poise::CreateReply::default()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(super::effects::no_mentions())
}

pub(super) async fn refuse(ctx: Context<'_>) -> Result<(), Error> {
    let text = ctx.data().app.engine().content.copy.moderators_only.clone();
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

/// Staff: claim, close and list support tickets.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "ticket_claim",
        "ticket_unclaim",
        "ticket_close",
        "ticket_handback",
        "ticket_reopen",
        "ticket_list"
    ),
    subcommand_required,
    check = "is_staff",
    default_member_permissions = "MANAGE_THREADS"
)]
pub async fn ticket(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The ticket a `/ticket` subcommand is about: the number given, or the thread it runs in.
async fn which_ticket(ctx: Context<'_>, number: Option<i64>) -> Result<Option<TicketId>, Error> {
    if let Some(n) = number {
        return Ok(Some(TicketId(n)));
    }
    let thread = TChannelId(ctx.channel_id().get());
    Ok(ctx
        .data()
        .app
        .store()
        .ticket_by_thread(thread)
        .await?
        .map(|t| t.id))
}

async fn staff_command(
    ctx: Context<'_>,
    number: Option<i64>,
    action: StaffAction,
) -> Result<(), Error> {
    let Some(staff) = staff_of(ctx).await else {
        return refuse(ctx).await;
    };
    // Deferred before the store is asked anything: a slow store must not miss 3 seconds.
    ctx.defer_ephemeral().await?;
    let Some(id) = which_ticket(ctx, number).await? else {
        ctx.send(ephemeral(
            "Give the ticket's number, or run this inside the ticket's thread.",
        ))
        .await?;
        return Ok(());
    };
    let data = ctx.data();
    let out = data.outbox(ctx.http());
    let text = act(&out, staff, id, action).await?;
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

/// Take a ticket: its packet shows you have it.
#[poise::command(slash_command, ephemeral, rename = "claim")]
pub async fn ticket_claim(
    ctx: Context<'_>,
    #[description = "The ticket's number (inside a ticket's thread: that ticket)"] ticket: Option<
        i64,
    >,
) -> Result<(), Error> {
    staff_command(ctx, ticket, StaffAction::Claim).await
}

/// Give a ticket back to the team.
#[poise::command(slash_command, ephemeral, rename = "unclaim")]
pub async fn ticket_unclaim(
    ctx: Context<'_>,
    #[description = "The ticket's number (inside a ticket's thread: that ticket)"] ticket: Option<
        i64,
    >,
) -> Result<(), Error> {
    staff_command(ctx, ticket, StaffAction::Unclaim).await
}

/// Close a ticket: the thread is archived and locked, the transcript is kept.
#[poise::command(slash_command, ephemeral, rename = "close")]
pub async fn ticket_close(
    ctx: Context<'_>,
    #[description = "What was done, for the transcript"]
    #[max_length = 500]
    reason: String,
    #[description = "The ticket's number (inside a ticket's thread: that ticket)"] ticket: Option<
        i64,
    >,
) -> Result<(), Error> {
    staff_command(ctx, ticket, StaffAction::Close { reason }).await
}

/// Close a ticket and give the member back to the bot.
#[poise::command(slash_command, ephemeral, rename = "handback")]
pub async fn ticket_handback(
    ctx: Context<'_>,
    #[description = "The ticket's number (inside a ticket's thread: that ticket)"] ticket: Option<
        i64,
    >,
) -> Result<(), Error> {
    staff_command(ctx, ticket, StaffAction::HandBack).await
}

/// Reopen a closed ticket: its thread is unarchived and unlocked.
#[poise::command(slash_command, ephemeral, rename = "reopen")]
pub async fn ticket_reopen(
    ctx: Context<'_>,
    #[description = "The ticket's number (inside a ticket's thread: that ticket)"] ticket: Option<
        i64,
    >,
) -> Result<(), Error> {
    staff_command(ctx, ticket, StaffAction::Reopen).await
}

/// Open tickets, oldest first, with their age, who has them, and the topic.
#[poise::command(slash_command, ephemeral, rename = "list")]
pub async fn ticket_list(ctx: Context<'_>) -> Result<(), Error> {
    if staff_of(ctx).await.is_none() {
        return refuse(ctx).await;
    }
    ctx.defer_ephemeral().await?;
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let mut open = ctx
        .data()
        .app
        .store()
        .tickets(&TicketFilter::active())
        .await?;
    // Tickets of members who asked in DMs live in scope 0; staff see them in every guild.
    open.retain(|t| t.guild == guild || t.guild == GuildId(0));
    open.reverse();
    let now = app::now();
    let mut text = String::new();
    let mut shown = 0;
    for t in &open {
        let line = list_line(t, now);
        // Room for the "and N more" line.
        if text.chars().count() + line.chars().count() + 40 > MESSAGE_CONTENT_LENGTH_MAX {
            break;
        }
        text.push_str(&line);
        text.push('\n');
        shown += 1;
    }
    if open.is_empty() {
        text = "No open tickets.".into();
    } else if shown < open.len() {
        text.push_str(&format!("…and {} more", open.len() - shown));
    }
    ctx.send(ephemeral(text)).await?;
    Ok(())
}

// -------------------------------------------------------------------------------------------
// /forget-me
// -------------------------------------------------------------------------------------------

/// Delete what I keep about you: our conversations, your feedback, your name on tickets.
#[poise::command(slash_command, ephemeral, rename = "forget-me")]
pub async fn forget_me(ctx: Context<'_>) -> Result<(), Error> {
    let me = MemberId(ctx.author().id.get());
    let button = CreateButton::new(forget_id(me))
        .label("Delete my data")
        .style(ButtonStyle::Danger);
    ctx.send(
        ephemeral(
            "This deletes our conversations and your feedback, closes your open ticket if you have one, and removes your name from past tickets in this server. It can't be undone.",
        )
        .components(vec![CreateActionRow::Buttons(vec![button])]),
    )
    .await?;
    Ok(())
}

/// The `/forget-me` confirmation: only the member who asked can press it.
pub async fn forget_press(
    out: &Outbox<'_>,
    to: &mut To<'_>,
    press: &ComponentInteraction,
    member: MemberId,
) -> Result<(), Error> {
    if press.user.id.get() != member.get() {
        let text = out.app.engine().content.copy.not_yours.clone();
        return out.send(to, Piece::ephemeral(text)).await;
    }
    out.defer(to, true).await?;
    let user = convert::user_key(press.guild_id.map(|g| g.get()), member.get());
    let report = out.app.forget(user, app::now()).await?;
    if let Some(c) = &report.closed {
        let mut c = c.clone();
        c.ticket.member = MemberId::FORGOTTEN;
        out.closed(&c, &Closing::Forgotten).await;
    }
    let f = report.forgotten;
    let closed = if report.closed.is_some() {
        "I closed your open ticket. "
    } else {
        ""
    };
    let text = format!(
        "Done. {closed}I deleted your conversations ({}) and feedback ({}), and removed your name from {} ticket(s).",
        f.sessions, f.feedback, f.tickets
    );
    out.send(to, Piece::ephemeral(text)).await
}
