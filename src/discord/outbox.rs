//! The one outbox: everything paymedic sends, edits or uploads on Discord goes out here, for
//! member messages, button presses, modal submits, slash commands and the timer task alike.
//!
//! [`Outbox::turn`] carries out a member's turn where the input came from ([`To`]): every text
//! piece, the embed, the buttons, the sensitive-data removal and warning, and the member's
//! ticket note. Each ticket effect has exactly one function: [`Outbox::open_ticket`] (the
//! private thread), [`Outbox::post_packet`], [`Outbox::edit_packet`],
//! [`Outbox::post_transcript`], and the close, reopen and timer posts built on them.
//!
//! Allowed mentions are set on every message and name nobody, except:
//! - the packet pings exactly the support role and the member: in a private thread, a mention
//!   is what adds them to it;
//! - the SLA reminder and the plain request (when no thread could be made) ping only the
//!   support role;
//! - the sensitive-data warning pings only the member, since their message may be gone.
//!
//! Every call here runs after the store committed what it reports ("commit before you speak"):
//! a send that fails is logged, and only the route and status are logged, never a message's
//! content.

use super::convert::truncate;
use super::effects::{no_mentions, only_role, only_user, render, request_embed, role_and_user};
use super::tickets::{packet_content, packet_embed, rating_row, staff_rows, thread_name};
use super::{Context, Error};
use crate::app::{self, App, Changed, Fired, TicketNote, Turn};
use crate::config::DiscordConfig;
use crate::engine::content::Copy;
use crate::engine::ids::{ChannelId as TChannelId, MemberId, MessageId as TMessageId};
use crate::engine::sensitive::Secret;
use crate::engine::tickets::{Ticket, TicketStatus, Timer};
use crate::engine::Effect;
use crate::store::StoreError;
use poise::serenity_prelude as serenity;
use poise::CreateReply;
use serenity::{
    AutoArchiveDuration, ChannelId, ChannelType, ComponentInteraction, CreateActionRow,
    CreateAttachment, CreateEmbed, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, CreateThread, EditMessage,
    EditThread, Http, Message, ModalInteraction, UserId,
};
use tokio::sync::Semaphore;

/// What went wrong, said to a member or moderator who is waiting on an interaction.
pub const SOMETHING_WENT_WRONG: &str = "Sorry, something went wrong on my side. Please try again.";

/// How long a member asking again waits for their ticket's thread, while another request is
/// still creating it, before they get the ticket's number instead of a link.
const THREAD_WAIT: std::time::Duration = std::time::Duration::from_millis(2500);

/// Sends for one event: Discord's HTTP client, the app, the settings, and the bound on
/// concurrent sends.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    pub http: &'a Http,
    pub app: &'a App,
    pub discord: &'a DiscordConfig,
    sends: &'a Semaphore,
}

/// Where replies go: the channel of a member's message, an interaction (first the response,
/// then follow-ups), or a poise command.
pub struct To<'a> {
    kind: ToKind<'a>,
    /// An interaction was answered or deferred: what follows are follow-ups.
    responded: bool,
    /// Something was sent (a deferral doesn't count).
    sent: bool,
}

#[derive(Clone, Copy)]
enum ToKind<'a> {
    Message(&'a Message),
    Press(&'a ComponentInteraction),
    Modal(&'a ModalInteraction),
    Command(Context<'a>),
}

impl<'a> To<'a> {
    pub fn message(msg: &'a Message) -> To<'a> {
        To::of(ToKind::Message(msg))
    }

    pub fn press(press: &'a ComponentInteraction) -> To<'a> {
        To::of(ToKind::Press(press))
    }

    pub fn modal(modal: &'a ModalInteraction) -> To<'a> {
        To::of(ToKind::Modal(modal))
    }

    pub fn command(ctx: Context<'a>) -> To<'a> {
        To::of(ToKind::Command(ctx))
    }

    fn of(kind: ToKind<'a>) -> To<'a> {
        To {
            kind,
            responded: false,
            sent: false,
        }
    }

    fn is_interaction(&self) -> bool {
        !matches!(self.kind, ToKind::Message(_))
    }

    /// The member's message a turn answers, to remove when it holds a secret.
    fn posted(&self) -> Option<Posted> {
        match self.kind {
            ToKind::Message(m) => Some(Posted::of(m)),
            _ => None,
        }
    }

    /// A link to where the member asked, for the moderators.
    fn source_link(&self) -> Option<String> {
        match self.kind {
            ToKind::Message(m) => Some(m.link()),
            // The bot's message replies to the member's own: link that one.
            ToKind::Press(p) => Some(
                match p
                    .message
                    .message_reference
                    .as_ref()
                    .and_then(|r| r.message_id)
                {
                    Some(m) => m.link(p.channel_id, p.guild_id),
                    None => p.message.id.link(p.channel_id, p.guild_id),
                },
            ),
            ToKind::Modal(_) | ToKind::Command(_) => None,
        }
    }
}

/// One message of a reply.
#[derive(Default)]
pub struct Piece {
    pub content: Option<String>,
    pub embed: Option<CreateEmbed>,
    pub rows: Vec<CreateActionRow>,
    /// Only the member sees it (interactions only; a reply in a channel is public).
    pub ephemeral: bool,
}

impl Piece {
    pub fn text(text: impl Into<String>) -> Piece {
        Piece {
            content: Some(text.into()),
            ..Piece::default()
        }
    }

    pub fn ephemeral(text: impl Into<String>) -> Piece {
        Piece {
            ephemeral: true,
            ..Piece::text(text)
        }
    }
}

/// A member's message, as far as removing it and warning its author goes: a new message or
/// an edit (whose event carries no full message).
pub struct Posted {
    pub id: serenity::MessageId,
    pub channel: ChannelId,
    pub guild: Option<serenity::GuildId>,
    pub author: UserId,
}

impl Posted {
    pub fn of(msg: &Message) -> Posted {
        Posted {
            id: msg.id,
            channel: msg.channel_id,
            guild: msg.guild_id,
            author: msg.author.id,
        }
    }
}

/// What [`Outbox::open_ticket`] did.
#[derive(Debug)]
pub enum Opening {
    /// The thread exists with its packet, and the ticket is open.
    Open(Ticket),
    /// No thread: the ticket is failed and the moderators got a plain request.
    Failed(Ticket),
}

/// How a ticket closed, for what its thread and its member are told.
#[derive(Clone, Debug)]
pub enum Closing {
    /// Staff closed it: the member is asked "Did we solve it?".
    Closed {
        by: MemberId,
        reason: String,
    },
    HandedBack {
        by: MemberId,
    },
    /// Nobody wrote for the auto-close time.
    Inactive,
    /// The member asked to be forgotten: no transcript, nothing sent to them.
    Forgotten,
}

/// A ticket's link for the member: its thread, or its number while it has none.
pub fn ticket_link(t: &Ticket) -> String {
    t.thread
        .map_or_else(|| format!("ticket #{}", t.id), |c| format!("<#{c}>"))
}

impl<'a> Outbox<'a> {
    pub fn new(
        http: &'a Http,
        app: &'a App,
        discord: &'a DiscordConfig,
        sends: &'a Semaphore,
    ) -> Outbox<'a> {
        Outbox {
            http,
            app,
            discord,
            sends,
        }
    }

    fn copy(&self) -> &'a Copy {
        &self.app.engine.content.copy
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'a>, Error> {
        Ok(self.sends.acquire().await?)
    }

    // ---------------------------------------------------------------------------------------
    // Replies
    // ---------------------------------------------------------------------------------------

    /// Sends one message of a reply where `to` points.
    pub async fn send(&self, to: &mut To<'_>, p: Piece) -> Result<(), Error> {
        let _permit = self.permit().await?;
        match to.kind {
            ToKind::Message(msg) => {
                let mut m = CreateMessage::new()
                    .reference_message(msg)
                    .allowed_mentions(no_mentions());
                if let Some(c) = p.content {
                    m = m.content(c);
                }
                if let Some(e) = p.embed {
                    m = m.embed(e);
                }
                if !p.rows.is_empty() {
                    m = m.components(p.rows);
                }
                msg.channel_id.send_message(self.http, m).await?;
            }
            ToKind::Command(ctx) => {
                let mut r = CreateReply::default().allowed_mentions(no_mentions());
                if let Some(c) = p.content {
                    r = r.content(c);
                }
                if let Some(e) = p.embed {
                    r = r.embed(e);
                }
                if !p.rows.is_empty() {
                    r = r.components(p.rows);
                }
                if p.ephemeral {
                    r = r.ephemeral(true);
                }
                ctx.send(r).await?;
            }
            ToKind::Press(_) | ToKind::Modal(_) if !to.responded => {
                let mut m = CreateInteractionResponseMessage::new()
                    .allowed_mentions(no_mentions())
                    .ephemeral(p.ephemeral);
                if let Some(c) = p.content {
                    m = m.content(c);
                }
                if let Some(e) = p.embed {
                    m = m.embed(e);
                }
                if !p.rows.is_empty() {
                    m = m.components(p.rows);
                }
                self.respond(to, CreateInteractionResponse::Message(m))
                    .await?;
            }
            ToKind::Press(_) | ToKind::Modal(_) => {
                let mut f = CreateInteractionResponseFollowup::new()
                    .allowed_mentions(no_mentions())
                    .ephemeral(p.ephemeral);
                if let Some(c) = p.content {
                    f = f.content(c);
                }
                if let Some(e) = p.embed {
                    f = f.embed(e);
                }
                if !p.rows.is_empty() {
                    f = f.components(p.rows);
                }
                match to.kind {
                    ToKind::Press(i) => i.create_followup(self.http, f).await?,
                    ToKind::Modal(i) => i.create_followup(self.http, f).await?,
                    _ => unreachable!("only interactions have follow-ups"),
                };
            }
        }
        to.sent = true;
        Ok(())
    }

    async fn respond(&self, to: &mut To<'_>, r: CreateInteractionResponse) -> Result<(), Error> {
        match to.kind {
            ToKind::Press(i) => i.create_response(self.http, r).await?,
            ToKind::Modal(i) => i.create_response(self.http, r).await?,
            ToKind::Message(_) | ToKind::Command(_) => {}
        }
        to.responded = true;
        Ok(())
    }

    /// Tells Discord an answer is coming, for work that may take longer than the 3 seconds an
    /// interaction waits (creating a thread, closing a ticket). The first piece sent after it
    /// replaces the "thinking…" message, with the deferral's ephemerality.
    pub async fn defer(&self, to: &mut To<'_>, ephemeral: bool) -> Result<(), Error> {
        if to.responded {
            return Ok(());
        }
        match to.kind {
            ToKind::Message(_) => Ok(()),
            ToKind::Command(ctx) => {
                if ephemeral {
                    ctx.defer_ephemeral().await?;
                } else {
                    ctx.defer().await?;
                }
                to.responded = true;
                Ok(())
            }
            ToKind::Press(_) | ToKind::Modal(_) => {
                let _permit = self.permit().await?;
                let m = CreateInteractionResponseMessage::new().ephemeral(ephemeral);
                self.respond(to, CreateInteractionResponse::Defer(m)).await
            }
        }
    }

    /// Opens a modal in answer to a button press (it must be the press's first answer).
    pub async fn modal(&self, to: &mut To<'_>, modal: CreateModal) -> Result<(), Error> {
        let _permit = self.permit().await?;
        self.respond(to, CreateInteractionResponse::Modal(modal))
            .await?;
        to.sent = true;
        Ok(())
    }

    /// Ends an interaction that had nothing to say, so Discord doesn't show it as failed.
    async fn finish(&self, to: &mut To<'_>) -> Result<(), Error> {
        if to.sent {
            return Ok(());
        }
        match to.kind {
            ToKind::Press(_) if !to.responded => {
                let _permit = self.permit().await?;
                self.respond(to, CreateInteractionResponse::Acknowledge)
                    .await
            }
            ToKind::Message(_) => Ok(()),
            // A command or modal always gets words, never a silent "application did not
            // respond"; and a deferral must be followed by something.
            ToKind::Press(_) | ToKind::Modal(_) | ToKind::Command(_) => {
                self.send(to, Piece::ephemeral("Nothing to add right now."))
                    .await
            }
        }
    }

    /// Tells a waiting member or moderator that something failed (a store error), ephemerally,
    /// however far the interaction got. The error itself is the caller's to log.
    pub async fn fail(&self, to: &mut To<'_>) {
        if let ToKind::Message(_) = to.kind {
            return;
        }
        if let Err(e) = self.send(to, Piece::ephemeral(SOMETHING_WENT_WRONG)).await {
            tracing::warn!(error = %e, "could not tell the member something went wrong");
        }
    }

    /// A member's turn, carried out where it came from: removal and warning for a secret;
    /// every text piece, the embed and the buttons; and the ticket note (opening its thread
    /// when the turn opened one).
    pub async fn turn(
        &self,
        to: &mut To<'_>,
        owner: MemberId,
        turn: Turn<'_>,
    ) -> Result<(), Error> {
        let secret = turn.effects.iter().find_map(|e| match e {
            Effect::Sensitive(s) => Some(*s),
            _ => None,
        });
        if let (Some(secret), Some(posted)) = (secret, to.posted()) {
            return self.remove_and_warn(&posted, secret).await;
        }
        let reply = render(owner.get(), &turn.effects);
        if let Some(note) = &turn.ticket {
            // Opening a thread (or waiting for the one another press is opening) can take
            // longer than an interaction waits.
            let slow = matches!(note, TicketNote::Opened(_)) || note.ticket().thread.is_none();
            if slow && reply.is_empty() && to.is_interaction() {
                let ephemeral = matches!(note, TicketNote::Pointer(_));
                self.defer(to, ephemeral).await?;
            }
        }
        self.reply(to, reply).await?;
        if let Some(note) = turn.ticket {
            let copy = self.copy();
            let piece = match note {
                TicketNote::Opened(t) => {
                    let link = to.source_link();
                    match self.open_ticket(t, link.as_deref()).await? {
                        Opening::Open(t) => {
                            Piece::text(Copy::with_ticket(&copy.ticket_opened, &ticket_link(&t)))
                        }
                        Opening::Failed(_) => Piece::text(copy.ticket_failed.clone()),
                    }
                }
                TicketNote::Existing(t) => {
                    let t = self.with_thread(t).await;
                    Piece::text(Copy::with_ticket(&copy.ticket_exists, &ticket_link(&t)))
                }
                TicketNote::Pointer(t) => {
                    let t = self.with_thread(t).await;
                    Piece::ephemeral(Copy::with_ticket(&copy.ticket_pointer, &ticket_link(&t)))
                }
            };
            self.send(to, piece).await?;
        }
        self.finish(to).await
    }

    /// A rendered reply: the embed with the first text piece, the buttons with the last, and
    /// every piece in between.
    pub async fn reply(&self, to: &mut To<'_>, reply: super::effects::Reply) -> Result<(), Error> {
        if reply.is_empty() {
            return Ok(());
        }
        let pieces = reply.content.len().max(1);
        let mut embed = reply.embed;
        let mut rows = Some(reply.rows);
        let mut content = reply.content.into_iter();
        for i in 0..pieces {
            let p = Piece {
                content: content.next(),
                embed: embed.take(),
                rows: if i + 1 == pieces {
                    rows.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
                ephemeral: false,
            };
            self.send(to, p).await?;
        }
        Ok(())
    }

    /// The ticket as stored once its thread exists, waiting a little while another request
    /// (a press at the same instant, a moderator's `/escalate`) is still creating it.
    async fn with_thread(&self, t: Ticket) -> Ticket {
        if t.thread.is_some() || t.status != TicketStatus::Opening {
            return t;
        }
        let deadline = tokio::time::Instant::now() + THREAD_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            match self.app.store().ticket(t.id).await {
                Ok(Some(n)) if n.thread.is_some() || n.status != TicketStatus::Opening => return n,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(ticket = t.id.get(), error = %e, "could not reload a ticket");
                    break;
                }
            }
        }
        t
    }

    // ---------------------------------------------------------------------------------------
    // Secrets
    // ---------------------------------------------------------------------------------------

    /// A member posted what looked like card or login details: remove the message if the bot
    /// can (Manage Messages; never in DMs), then warn them, saying which of the two happened.
    ///
    /// The warning mentions the member, since their message may be gone, and pings only them.
    /// It carries no reply reference once the message is deleted: Discord refuses a reply to a
    /// deleted message (400, unknown message), and the member would never see why their message
    /// vanished. When the message stays, the warning replies to it, without failing if the
    /// member deletes it first.
    pub async fn remove_and_warn(&self, msg: &Posted, secret: Secret) -> Result<(), Error> {
        let removed = if msg.guild.is_some() {
            let _permit = self.permit().await?;
            match msg.channel.delete_message(self.http, msg.id).await {
                Ok(()) => true,
                Err(e) => {
                    // The error names the route, never the message's content.
                    tracing::warn!(
                        channel = msg.channel.get(),
                        member = msg.author.get(),
                        error = %e,
                        "could not remove a message that looked like it held a secret (does the bot have Manage Messages?)"
                    );
                    false
                }
            }
        } else {
            false
        };
        let warning = self.copy().sensitive_warning(secret, removed);
        let mut m = CreateMessage::new()
            .content(format!("<@{}> {warning}", msg.author))
            .allowed_mentions(only_user(msg.author.get()));
        if !removed {
            let mut reference = serenity::MessageReference::from((msg.channel, msg.id));
            reference.guild_id = msg.guild;
            m = m.reference_message(reference.fail_if_not_exists(false));
        }
        self.post(msg.channel, m).await?;
        tracing::info!(
            channel = msg.channel.get(),
            member = msg.author.get(),
            removed,
            ?secret,
            "warned a member about posting a secret"
        );
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Tickets
    // ---------------------------------------------------------------------------------------

    /// Posts a message in a channel or thread.
    async fn post(&self, channel: ChannelId, m: CreateMessage) -> Result<Message, Error> {
        let _permit = self.permit().await?;
        Ok(channel.send_message(self.http, m).await?)
    }

    /// Posts, and logs a failure instead of returning it: for posts after a commit, where the
    /// rest of the work must still happen.
    async fn post_logged(&self, channel: ChannelId, m: CreateMessage, what: &str) -> bool {
        match self.post(channel, m).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(channel = channel.get(), error = %e, "could not post the {what}");
                false
            }
        }
    }

    /// Opens a new ticket's private thread in the escalation channel and posts its packet as
    /// the first message; then the ticket is open. Two-phase: the ticket was committed as
    /// `Opening` before this runs, so a crash here leaves a row the start-up pass finishes.
    ///
    /// When the thread can't be made (no escalation channel, missing permissions), the ticket
    /// is failed, never left open without a thread, and the moderators get a plain request in
    /// the escalation channel instead. `source` links where the member asked.
    pub async fn open_ticket(
        &self,
        t: Ticket,
        source: Option<&str>,
    ) -> Result<Opening, StoreError> {
        let made = match self.make_thread(&t).await {
            Ok(made) => made,
            Err(why) => return self.ticket_failed(t, &why, source).await,
        };
        let (thread, packet) = made;
        match self
            .app
            .ticket_opened(t.id, Some(thread), Some(packet), app::now())
            .await?
        {
            Some(t) if t.status == TicketStatus::Open => {
                tracing::info!(ticket = t.id.get(), thread = thread.get(), "ticket opened");
                Ok(Opening::Open(t))
            }
            // Failed or closed meanwhile (another process): nothing to link.
            Some(t) => Ok(Opening::Failed(t)),
            None => Ok(Opening::Failed(t)),
        }
    }

    /// Creates the private thread and posts the packet in it. Err: why not (for the log and
    /// the ticket's events; it never holds member text).
    async fn make_thread(&self, t: &Ticket) -> Result<(TChannelId, TMessageId), String> {
        let Some(parent) = self.discord.escalation_channel else {
            return Err("discord.escalation_channel is not set".into());
        };
        // Private (type 12), and members can't invite others: only staff add people.
        let builder = CreateThread::new(thread_name(t))
            .kind(ChannelType::PrivateThread)
            .invitable(false)
            .auto_archive_duration(AutoArchiveDuration::OneWeek);
        let thread = {
            let _permit = self.permit().await.map_err(|e| e.to_string())?;
            ChannelId::new(parent.get())
                .create_thread(self.http, builder)
                .await
                .map_err(|e| {
                    format!("could not create a private thread (needs Create Private Threads): {e}")
                })?
        };
        match self.post_packet(thread.id, t).await {
            Ok(m) => Ok((TChannelId(thread.id.get()), TMessageId(m.id.get()))),
            Err(e) => {
                // An empty thread is of no use; archive it rather than leave it open.
                self.archive(thread.id).await;
                Err(format!(
                    "could not post the packet (needs Send Messages in Threads): {e}"
                ))
            }
        }
    }

    async fn ticket_failed(
        &self,
        t: Ticket,
        why: &str,
        source: Option<&str>,
    ) -> Result<Opening, StoreError> {
        tracing::warn!(
            ticket = t.id.get(),
            why,
            "no thread for the ticket; posting a plain request"
        );
        let failed = self
            .app
            .ticket_failed(t.id, why, app::now())
            .await?
            .unwrap_or(t);
        self.plain_request(&failed, source).await;
        Ok(Opening::Failed(failed))
    }

    /// The old escalation post, when no thread could be made: pings only the support role.
    async fn plain_request(&self, t: &Ticket, source: Option<&str>) {
        let Some(channel) = self.discord.escalation_channel else {
            tracing::warn!(
                ticket = t.id.get(),
                "a member asked for a human, but discord.escalation_channel is not set"
            );
            return;
        };
        let (content, mentions) = match self.discord.support_role {
            Some(role) => (
                format!("<@&{role}> a member needs help. I couldn't open a private ticket thread, so please reach out to them directly."),
                only_role(role),
            ),
            None => (
                "A member needs help. I couldn't open a private ticket thread, so please reach out to them directly.".to_string(),
                no_mentions(),
            ),
        };
        let m = CreateMessage::new()
            .content(content)
            .embed(request_embed(t, source))
            .allowed_mentions(mentions);
        self.post_logged(ChannelId::new(channel.get()), m, "plain request")
            .await;
    }

    /// The packet, as the thread's first message: the embed, the staff buttons, and the
    /// mentions that add the support role and the member to the private thread.
    pub async fn post_packet(&self, thread: ChannelId, t: &Ticket) -> Result<Message, Error> {
        let role = self.discord.support_role;
        let m = CreateMessage::new()
            .content(packet_content(t, role))
            .embed(packet_embed(t))
            .components(staff_rows(t))
            .allowed_mentions(role_and_user(role, t.member.get()));
        self.post(thread, m).await
    }

    /// The packet edited in place to show the ticket's state (who has it, closed) and the
    /// buttons that fit it. Edits never ping, and set no mentions.
    pub async fn edit_packet(&self, t: &Ticket) {
        let (Some(thread), Some(msg)) = (t.thread, t.packet_message) else {
            return;
        };
        let edit = EditMessage::new()
            .content(packet_content(t, self.discord.support_role))
            .embed(packet_embed(t))
            .components(staff_rows(t))
            .allowed_mentions(no_mentions());
        let result = match self.permit().await {
            Ok(_permit) => ChannelId::new(thread.get())
                .edit_message(self.http, serenity::MessageId::new(msg.get()), edit)
                .await
                .map(|_| ())
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(ticket = t.id.get(), error = %e, "could not edit the packet");
        }
    }

    /// The transcript, as a file in the ticket log channel (when one is set).
    pub async fn post_transcript(&self, t: &Ticket, transcript: &str) {
        let Some(log) = self.app.config.ticket_log_channel else {
            return;
        };
        let member = if t.member == MemberId::FORGOTTEN {
            "a forgotten member".to_string()
        } else {
            format!("<@{}>", t.member)
        };
        let reason = t.close_reason.as_deref().unwrap_or("closed");
        let content = truncate(
            &format!("Transcript of ticket #{} ({member}): {reason}", t.id),
            crate::engine::limits::MESSAGE_CONTENT_LENGTH_MAX,
        );
        let file = CreateAttachment::bytes(
            transcript.as_bytes().to_vec(),
            format!("ticket-{}.md", t.id),
        );
        let m = CreateMessage::new()
            .content(content)
            .add_file(file)
            .allowed_mentions(no_mentions());
        self.post_logged(ChannelId::new(log.get()), m, "transcript")
            .await;
    }

    /// Archives and locks a ticket's thread: the history stays, nobody writes in it, and only
    /// staff with Manage Threads can open it again. Threads are never deleted.
    async fn archive(&self, thread: ChannelId) {
        let result = match self.permit().await {
            Ok(_permit) => thread
                .edit_thread(self.http, EditThread::new().archived(true).locked(true))
                .await
                .map(|_| ())
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(thread = thread.get(), error = %e, "could not archive and lock a ticket thread (needs Manage Threads)");
        }
    }

    /// A direct message to a member. Fails when they closed their DMs (403, 50007).
    async fn dm(&self, member: MemberId, m: CreateMessage) -> Result<Message, Error> {
        let channel = {
            let _permit = self.permit().await?;
            UserId::new(member.get())
                .create_dm_channel(self.http)
                .await?
        };
        self.post(channel.id, m).await
    }

    /// Tells a member, by DM, that a moderator opened a ticket for them. Best effort: the
    /// packet's mention already added them to the thread.
    pub async fn tell_escalated(&self, t: &Ticket) {
        let text = Copy::with_ticket(&self.copy().ticket_escalated, &ticket_link(t));
        let m = CreateMessage::new()
            .content(text)
            .allowed_mentions(no_mentions());
        if let Err(e) = self.dm(t.member, m).await {
            tracing::info!(ticket = t.id.get(), error = %e, "could not DM the member about their ticket");
        }
    }

    /// A ticket closed (by staff, a timer or `/forget-me`): the packet shows it, the thread
    /// says why, the member is told (and asked "Did we solve it?" when staff closed it), the
    /// transcript goes to the log channel, and the thread is archived and locked, in that
    /// order, since nothing can be posted in a locked thread.
    pub async fn closed(&self, c: &Changed, how: &Closing) {
        let t = &c.ticket;
        self.edit_packet(t).await;
        let thread = t.thread.map(|c| ChannelId::new(c.get()));
        let note = match how {
            Closing::Closed { by, reason } => format!("Closed by <@{by}>: {reason}"),
            Closing::HandedBack { by } => {
                format!("<@{by}> handed the member back to the bot.")
            }
            Closing::Inactive => "Closed: nobody wrote here for a while.".to_string(),
            Closing::Forgotten => "Closed at the member's request.".to_string(),
        };
        if let Some(thread) = thread {
            let m = CreateMessage::new()
                .content(truncate(
                    &note,
                    crate::engine::limits::MESSAGE_CONTENT_LENGTH_MAX,
                ))
                .allowed_mentions(no_mentions());
            self.post_logged(thread, m, "closing note").await;
        }
        if !matches!(how, Closing::Forgotten) && t.member != MemberId::FORGOTTEN {
            let rate = matches!(how, Closing::Closed { .. });
            self.tell_closed(t, c.member_notice.as_deref(), rate).await;
            if let Some(text) = &c.transcript {
                self.post_transcript(t, text).await;
            }
        }
        if let Some(thread) = thread {
            self.archive(thread).await;
        }
    }

    /// The member's notice that their ticket closed, with "Did we solve it?" and Yes/No when
    /// `rate`: by DM, or in the thread (just before it is locked) when their DMs are closed.
    async fn tell_closed(&self, t: &Ticket, notice: Option<&str>, rate: bool) {
        let copy = self.copy();
        let mut text: Vec<&str> = notice.into_iter().collect();
        if rate {
            text.push(&copy.rate_question);
        }
        if text.is_empty() {
            return;
        }
        let text = text.join("\n\n");
        let rows = if rate {
            vec![rating_row(t.id)]
        } else {
            Vec::new()
        };
        let dm = CreateMessage::new()
            .content(text.clone())
            .components(rows.clone())
            .allowed_mentions(no_mentions());
        match self.dm(t.member, dm).await {
            Ok(_) => return,
            Err(e) => {
                tracing::info!(ticket = t.id.get(), error = %e, "could not DM the member; asking in the thread");
            }
        }
        if let Some(thread) = t.thread {
            let m = CreateMessage::new()
                .content(format!("<@{}> {text}", t.member))
                .components(rows)
                .allowed_mentions(no_mentions());
            self.post_logged(ChannelId::new(thread.get()), m, "closing notice")
                .await;
        }
    }

    /// A ticket reopened: the thread is unarchived and unlocked first (nothing can be edited
    /// or posted in a locked thread), then the packet shows it open, and the thread says who.
    pub async fn reopened(&self, t: &Ticket, by: MemberId) {
        let Some(thread) = t.thread.map(|c| ChannelId::new(c.get())) else {
            return;
        };
        let result = match self.permit().await {
            Ok(_permit) => thread
                .edit_thread(self.http, EditThread::new().archived(false).locked(false))
                .await
                .map(|_| ())
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(thread = thread.get(), error = %e, "could not reopen a ticket thread");
        }
        self.edit_packet(t).await;
        let m = CreateMessage::new()
            .content(format!("Reopened by <@{by}>."))
            .allowed_mentions(no_mentions());
        self.post_logged(thread, m, "reopen note").await;
    }

    /// A ticket timer that fired (already recorded): the SLA reminder pings only the support
    /// role; the inactivity warning pings nobody; auto-close closes like staff do, without
    /// the rating.
    pub async fn fired(&self, f: &Fired) {
        let t = &f.changed.ticket;
        let Some(thread) = t.thread.map(|c| ChannelId::new(c.get())) else {
            return;
        };
        let settings = &self.app.config.tickets;
        match f.timer {
            Timer::SlaReminder => {
                let minutes = settings.sla_ms / 60_000;
                let (content, mentions) = match self.discord.support_role {
                    Some(role) => (
                        format!("<@&{role}> ticket #{} has waited {minutes} minutes and nobody has claimed it yet.", t.id),
                        only_role(role),
                    ),
                    None => (
                        format!("Ticket #{} has waited {minutes} minutes and nobody has claimed it yet.", t.id),
                        no_mentions(),
                    ),
                };
                let m = CreateMessage::new()
                    .content(content)
                    .allowed_mentions(mentions);
                self.post_logged(thread, m, "SLA reminder").await;
            }
            Timer::InactivityWarning => {
                let minutes = settings.warn_before_ms / 60_000;
                let m = CreateMessage::new()
                    .content(format!(
                        "This ticket has been quiet for a while. It closes by itself in about {minutes} minutes unless someone writes here."
                    ))
                    .allowed_mentions(no_mentions());
                self.post_logged(thread, m, "inactivity warning").await;
            }
            Timer::AutoClose => self.closed(&f.changed, &Closing::Inactive).await,
        }
    }

    /// Tells the moderators, once per raid, that replies in `channel` hit the reply cap
    /// (`[limits] channel_replies_per_10s`). Names the channel only: no member, no member text,
    /// and it pings nobody.
    pub async fn raid_notice(&self, channel: ChannelId) {
        let per = self.app.config.limits.channel_replies_per_10s;
        tracing::warn!(
            channel = channel.get(),
            per_10s = per,
            "reply cap reached in a channel; replies there are paused until it calms down"
        );
        let Some(escalation) = self.discord.escalation_channel else {
            return;
        };
        let m = CreateMessage::new()
            .content(raid_notice_text(channel, per))
            .allowed_mentions(no_mentions());
        self.post_logged(ChannelId::new(escalation.get()), m, "reply cap notice")
            .await;
    }
}

/// The moderators' notice that a channel hit the reply cap.
pub fn raid_notice_text(channel: ChannelId, per_10s: u32) -> String {
    format!(
        "Heads up: a lot of messages are arriving in <#{channel}>, more than I answer there \
         ({per_10s} replies every 10 seconds). I'm leaving the rest unanswered until it calms \
         down. If this is a raid, slow mode or a lockdown will help. I won't post this again \
         for that channel until it has been quiet for {quiet} minutes.",
        quiet = crate::engine::throttle::NOTICE_QUIET_MS / 60_000
    )
}
