//! Engine effects rendered for Discord: a reply's embed, text pieces and buttons, the plain
//! request for a human, and the allowed-mentions values every message uses.
//!
//! Nothing here sends: [`super::outbox`] does. Every message paymedic sends sets one of
//! [`no_mentions`], [`only_user`], [`only_role`] or [`role_and_user`], so a member typing
//! `@everyone` can never make the bot ping anyone.

use super::convert::{button_id, split_text, truncate};
use crate::engine::content::numbered;
use crate::engine::limits::{
    BUTTONS_PER_ROW_MAX, EMBED_DESCRIPTION_LENGTH_MAX, EMBED_FIELD_VALUE_LENGTH_MAX,
    MESSAGE_CONTENT_LENGTH_MAX,
};
use crate::engine::tickets::Ticket;
use crate::engine::{Choice, Effect, RoleId};
use poise::serenity_prelude as serenity;
use serenity::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateEmbedFooter,
};

/// Embed colour for answers (a calm green).
const ANSWER_COLOUR: u32 = 0x2E_A0_6B;

/// Allowed mentions that mention nobody, not even the member replied to.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

/// Allowed mentions that ping exactly one member (the sensitive-data warning, whose message
/// may be gone, so a reply would not reach them).
pub fn only_user(user: u64) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .users([serenity::UserId::new(user)])
        .replied_user(false)
}

/// Allowed mentions that ping exactly the support role (the SLA reminder, the plain request).
pub fn only_role(role: RoleId) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .roles([serenity::RoleId::new(role.get())])
        .replied_user(false)
}

/// Allowed mentions for a ticket's packet: exactly the support role (when there is one) and
/// the member. In a private thread, a mention is what adds them to it.
pub fn role_and_user(role: Option<RoleId>, user: u64) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .roles(role.map(|r| serenity::RoleId::new(r.get())))
        .users([serenity::UserId::new(user)])
        .replied_user(false)
}

/// Effects turned into what one Discord reply needs.
#[derive(Debug, Default)]
pub struct Reply {
    pub embed: Option<CreateEmbed>,
    /// Message content, already split to Discord's limit; the first piece goes with the embed
    /// and the buttons go with the last.
    pub content: Vec<String>,
    pub rows: Vec<CreateActionRow>,
}

impl Reply {
    pub fn is_empty(&self) -> bool {
        self.embed.is_none() && self.content.is_empty() && self.rows.is_empty()
    }
}

/// Renders effects for the conversation of `owner` (the member whose buttons these are).
pub fn render(owner: u64, effects: &[Effect<'_>]) -> Reply {
    let mut reply = Reply::default();
    let mut text: Vec<String> = Vec::new();
    let mut buttons: Vec<CreateButton> = Vec::new();
    for e in effects {
        match e {
            Effect::Answer {
                title,
                intro,
                steps,
                ..
            } => {
                let description = numbered(intro, steps);
                reply.embed = Some(
                    CreateEmbed::new()
                        .title(truncate(title, 256))
                        .description(truncate(&description, EMBED_DESCRIPTION_LENGTH_MAX))
                        .colour(ANSWER_COLOUR)
                        .footer(CreateEmbedFooter::new(
                            "Never share card numbers, CVV codes or passwords here.",
                        )),
                );
            }
            Effect::Say(s) => text.push(s.to_string()),
            // Sent before the rest, as a message of its own (see [`incident_piece`]).
            Effect::Incident { .. } => {}
            // Carried out by the message handler itself (remove, then warn): it never reaches
            // a rendered reply, and has no text of its own here.
            Effect::Sensitive(_) => {}
            // Likewise: the scam warning and the moderators' notice are sent by the outbox.
            Effect::Scam(_) => {}
            Effect::Ask {
                question,
                offers,
                at,
            } => {
                if !question.is_empty() {
                    text.push(format!("**{question}**"));
                }
                buttons = offers
                    .iter()
                    .map(|o| {
                        let style = match o.choice {
                            Choice::Fixed => ButtonStyle::Success,
                            Choice::Human => ButtonStyle::Danger,
                            Choice::Stuck | Choice::NoThanks => ButtonStyle::Secondary,
                            Choice::Option(_) | Choice::Topic(_) => ButtonStyle::Primary,
                        };
                        CreateButton::new(button_id(owner, *at, o.choice))
                            .label(truncate(o.label, 80))
                            .style(style)
                    })
                    .collect();
            }
            // A request for a human comes back from the turn as its ticket note, which the
            // outbox carries out (thread, packet, the member's link).
            Effect::RequestHuman { .. } | Effect::Record { .. } => {}
        }
    }
    reply.content = split_text(&text.join("\n\n"), MESSAGE_CONTENT_LENGTH_MAX);
    // Discord allows 5 rows of 5 buttons; content validation keeps a step within that.
    reply.rows = buttons
        .chunks(BUTTONS_PER_ROW_MAX)
        .take(5)
        .map(|c| CreateActionRow::Buttons(c.to_vec()))
        .collect();
    reply
}

/// The incident notice and its "Notify me when it's fixed" button, when the effects lead with
/// one: the outbox sends it as its own message before the answer, so the member reads the
/// notice first.
pub fn incident_piece(effects: &[Effect<'_>]) -> Option<(String, Vec<CreateActionRow>)> {
    effects.iter().find_map(|e| match e {
        Effect::Incident { id, notice, button } => Some((
            truncate(notice, MESSAGE_CONTENT_LENGTH_MAX),
            vec![CreateActionRow::Buttons(vec![CreateButton::new(
                super::convert::notify_id(*id),
            )
            .label(truncate(button, 80))
            .style(ButtonStyle::Primary)])],
        )),
        _ => None,
    })
}

/// The plain request posted in the escalation channel when a ticket's private thread could
/// not be made: who, about what, where they asked, and what the bot already tried.
pub fn request_embed(t: &Ticket, link: Option<&str>) -> CreateEmbed {
    let p = &t.packet;
    let topic = p.intent_title.as_deref().unwrap_or("Not detected");
    let tried = if p.tried.is_empty() {
        "Nothing yet: the member asked for a human straight away.".to_string()
    } else {
        p.tried
            .iter()
            .map(|t| format!("• {t}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut e = CreateEmbed::new()
        .title(format!("Support request (ticket #{})", t.id))
        .field("Member", format!("<@{}>", t.member), true)
        .field("Topic", truncate(topic, EMBED_FIELD_VALUE_LENGTH_MAX), true);
    if let Some(link) = link {
        e = e.field(
            "Message",
            truncate(link, EMBED_FIELD_VALUE_LENGTH_MAX),
            false,
        );
    }
    if let Some(r) = &p.reason {
        e = e.field("Reason", truncate(r, EMBED_FIELD_VALUE_LENGTH_MAX), false);
    }
    e.field(
        "Tried",
        truncate(&tried, EMBED_FIELD_VALUE_LENGTH_MAX),
        false,
    )
    .colour(0xE6_7E_22)
}
