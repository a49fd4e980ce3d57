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
//!
//! Every request goes through [`Outbox::call`], which applies `super::retry`: 429, 5xx and
//! network errors are retried with a bounded backoff (messages carry an enforced nonce, so a
//! retried POST that Discord had carried out doesn't post twice); a request given up is
//! logged once, as an error naming the member and channel; a missing permission or a deleted
//! channel is logged once per channel. A ticket thread found deleted closes its ticket, so
//! the member is back with the bot instead of handed off to a thread nobody can see.
//!
//! Interactions must be answered within 3 seconds. Work that awaits the store before the
//! first answer runs under [`Outbox::in_time`]: answered directly when it is done within
//! [`DEFER_AFTER`], otherwise deferred first and answered by follow-up.

use super::convert::truncate;
use super::effects::{
    incident_piece, no_mentions, only_role, only_user, render, request_embed, role_and_user,
};
use super::retry::{self, Failure, Repeat, SendError, STATS};
use super::tickets::{packet_content, packet_embed, rating_row, staff_rows, thread_name};
use super::{Context, Error};
use crate::app::{self, App, Changed, Fired, TicketNote, Turn};
use crate::config::DiscordConfig;
use crate::engine::content::Copy;
use crate::engine::ids::{ChannelId as TChannelId, MemberId, MessageId as TMessageId};
use crate::engine::limits::MESSAGE_CONTENT_LENGTH_MAX;
use crate::engine::scam::{NameFlag, ScamFlag};
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
use std::future::Future;
use std::pin::Pin;
use tokio::sync::Semaphore;

/// The pace of an incident's "it's fixed" DMs: one member every 250 ms. Opening a DM channel
/// and posting in it are two requests, so this stays well under Discord's global limit of 50
/// requests a second, leaves room for replies to members meanwhile, and a 429 is still
/// retried by `Outbox::call`.
pub const FANOUT_PACE: std::time::Duration = std::time::Duration::from_millis(250);

/// What telling an incident's subscribers did, for the moderator's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fanout {
    pub sent: u32,
    /// Members who don't take DMs from the bot (403, 50007): skipped.
    pub closed: u32,
    pub failed: u32,
}

/// Characters of a member's display name shown to the moderators.
const NAME_SHOWN_MAX: usize = 64;

/// A link to a posted message (noting when it was removed).
fn message_link(msg: &Posted, removed: bool) -> String {
    let guild = msg
        .guild
        .map_or_else(|| "@me".to_string(), |g| g.to_string());
    let link = format!(
        "https://discord.com/channels/{guild}/{}/{}",
        msg.channel, msg.id
    );
    if removed {
        format!("{link} (removed)")
    } else {
        link
    }
}

/// A member-chosen name made safe to show: control, invisible and direction characters
/// dropped, markdown and mention characters escaped, and at most [`NAME_SHOWN_MAX`] characters.
fn defused(name: &str) -> String {
    let mut out = String::new();
    for c in name
        .chars()
        .filter(|c| !c.is_control() && !crate::engine::scam::is_invisible(*c))
        .take(NAME_SHOWN_MAX)
    {
        if "\\*_~`|>#[]()<@:".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What went wrong, said to a member or moderator who is waiting on an interaction.
pub const SOMETHING_WENT_WRONG: &str = "Sorry, something went wrong on my side. Please try again.";

/// How long a member asking again waits for their ticket's thread, while another request is
/// still creating it, before they get the ticket's number instead of a link.
const THREAD_WAIT: std::time::Duration = std::time::Duration::from_millis(2500);

/// How long after its creation an interaction may go unanswered before it is deferred.
/// Discord waits 3 seconds for the first answer; the other 1.5 s are for the deferral's own
/// round trip, scheduling on a busy host, and a host clock that runs behind Discord's (the
/// creation time is read from the interaction's id: see [`received_at`]).
pub const DEFER_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);

/// Why a ticket is closed when its thread is found deleted.
const THREAD_GONE_REASON: &str = "its thread was deleted";

/// Who a request concerns, for the log line when it is given up: ids only.
#[derive(Clone, Copy, Debug, Default)]
struct About {
    member: Option<u64>,
    channel: Option<u64>,
}

impl About {
    fn new(member: Option<u64>, channel: Option<u64>) -> About {
        About { member, channel }
    }
}

/// When an interaction began, for its 3 seconds: its id's timestamp is when Discord created
/// it, so the time it spent in the gateway and in the handler queue counts too. The age is
/// capped at [`DEFER_AFTER`]: a host clock ahead of Discord's only makes the deferral come
/// sooner, and one behind it counts from now, as without the id.
fn received_at(snowflake: u64) -> tokio::time::Instant {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let created_ms = (snowflake >> 22).saturating_add(DISCORD_EPOCH_MS);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let age = std::time::Duration::from_millis(now_ms.saturating_sub(created_ms)).min(DEFER_AFTER);
    let now = tokio::time::Instant::now();
    now.checked_sub(age).unwrap_or(now)
}

/// A message as sent: with allowed mentions set by the caller, and here an enforced nonce, so
/// that a retry of a POST Discord already carried out gets the first message back instead of
/// posting a second.
fn once(m: CreateMessage) -> CreateMessage {
    m.nonce(serenity::Nonce::String(retry::nonce()))
        .enforce_nonce(true)
}

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
    /// The interaction was deferred with a "thinking…" message, which some answer must
    /// replace; a press acknowledged without one (type 6) owes nothing more.
    thinking: bool,
    /// Something was sent (a deferral doesn't count).
    sent: bool,
    /// When the interaction began (see [`received_at`]), for [`DEFER_AFTER`].
    received: tokio::time::Instant,
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
        let id = match kind {
            ToKind::Message(_) => None,
            ToKind::Press(i) => Some(i.id.get()),
            ToKind::Modal(i) => Some(i.id.get()),
            ToKind::Command(poise::Context::Application(a)) => Some(a.interaction.id.get()),
            ToKind::Command(poise::Context::Prefix(_)) => None,
        };
        To {
            kind,
            responded: false,
            thinking: false,
            sent: false,
            received: id.map_or_else(tokio::time::Instant::now, received_at),
        }
    }

    /// How long the handler may still work before the interaction must be deferred.
    pub fn time_left(&self) -> std::time::Duration {
        DEFER_AFTER.saturating_sub(self.received.elapsed())
    }

    /// The member and channel, for logs.
    fn about(&self) -> About {
        match self.kind {
            ToKind::Message(m) => About::new(Some(m.author.id.get()), Some(m.channel_id.get())),
            ToKind::Press(i) => About::new(Some(i.user.id.get()), Some(i.channel_id.get())),
            ToKind::Modal(i) => About::new(Some(i.user.id.get()), Some(i.channel_id.get())),
            ToKind::Command(ctx) => {
                About::new(Some(ctx.author().id.get()), Some(ctx.channel_id().get()))
            }
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
    /// The thread was deleted: nothing is posted in it; the member is told, the transcript
    /// kept.
    ThreadGone,
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
        &self.app.engine().content.copy
    }

    /// Runs one request to Discord with the retry policy of `super::retry`, holding a send
    /// permit during each try (not while it waits to retry). `what` names the request in the
    /// logs; `done` is what a retry that finds the work already done (40060, 10008, after a
    /// failure Discord may have acted on) returns.
    async fn call<T, F, Fut>(
        &self,
        what: &'static str,
        about: About,
        repeat: Repeat,
        done: Option<fn() -> T>,
        mut f: F,
    ) -> Result<T, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = serenity::Result<T>>,
    {
        let mut attempt: u32 = 0;
        let mut maybe_applied = false;
        loop {
            attempt += 1;
            let result = {
                // The semaphore is never closed; if it were, go ahead without a permit.
                let _permit = self.sends.acquire().await.ok();
                f().await
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let failure = Failure::of(&e);
            crate::metrics::discord_rest_error(&failure.status_label());
            if maybe_applied
                && matches!(failure, Failure::AlreadyAnswered | Failure::UnknownMessage)
            {
                if let Some(done) = done {
                    return Ok(done());
                }
            }
            maybe_applied |= failure.maybe_applied();
            match retry::wait_before_retry(failure, repeat, attempt, retry::jitter()) {
                Some(wait) => {
                    STATS.retried(failure);
                    tracing::warn!(
                        member = about.member,
                        channel = about.channel,
                        what,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        ?failure,
                        counts = %STATS.snapshot(),
                        "Discord answered an error; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                None if failure.is_transient() => {
                    STATS.gave_up();
                    tracing::error!(
                        member = about.member,
                        channel = about.channel,
                        what,
                        attempts = attempt,
                        ?failure,
                        counts = %STATS.snapshot(),
                        "gave up on a request to Discord"
                    );
                    return Err(SendError::new(e, true));
                }
                None => {
                    let logged = match (failure, about.channel) {
                        (Failure::NoPermission(code), Some(channel)) => {
                            STATS.undeliverable(failure);
                            if retry::first_in_channel(channel, what) {
                                tracing::warn!(
                                    channel,
                                    member = about.member,
                                    what,
                                    code,
                                    counts = %STATS.snapshot(),
                                    "the bot lacks a permission for this in the channel (needs View Channel and Send Messages, or Manage Messages to remove); logged once per channel"
                                );
                            }
                            true
                        }
                        (Failure::UnknownChannel, Some(channel)) => {
                            STATS.undeliverable(failure);
                            if retry::first_in_channel(channel, what) {
                                tracing::warn!(
                                    channel,
                                    member = about.member,
                                    what,
                                    counts = %STATS.snapshot(),
                                    "the channel or thread was deleted; logged once per channel"
                                );
                            }
                            true
                        }
                        _ => false,
                    };
                    return Err(SendError::new(e, logged));
                }
            }
        }
    }

    /// Runs `work` (a store call, a turn) for an interaction that has not been answered yet:
    /// if it is done within [`DEFER_AFTER`] of the interaction's creation, the caller answers
    /// directly; otherwise the interaction is deferred first, so it never misses Discord's
    /// 3 seconds, and the answer goes out as a follow-up. A press is acknowledged without a
    /// "thinking…" message (its follow-ups keep their own visibility); a modal or command is
    /// deferred, `ephemeral` or not.
    pub async fn in_time<T>(
        &self,
        to: &mut To<'_>,
        ephemeral: bool,
        work: impl Future<Output = T>,
    ) -> Result<T, Error> {
        if !to.is_interaction() || to.responded {
            return Ok(work.await);
        }
        let mut work = std::pin::pin!(work);
        match tokio::time::timeout(to.time_left(), &mut work).await {
            Ok(v) => Ok(v),
            Err(_) => {
                tracing::debug!(
                    member = to.about().member,
                    "slow interaction: deferring before the answer"
                );
                match to.kind {
                    ToKind::Press(_) => {
                        self.respond(to, CreateInteractionResponse::Acknowledge)
                            .await?
                    }
                    _ => self.defer(to, ephemeral).await?,
                }
                Ok(work.await)
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Replies
    // ---------------------------------------------------------------------------------------

    /// Sends one message of a reply where `to` points.
    pub async fn send(&self, to: &mut To<'_>, p: Piece) -> Result<(), Error> {
        let about = to.about();
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
                let m = once(m);
                self.call("reply", about, Repeat::Safe, None, || {
                    msg.channel_id.send_message(self.http, m.clone())
                })
                .await?;
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
                self.call("command reply", about, Repeat::Safe, None, || async {
                    ctx.send(r.clone()).await.map(|_| ())
                })
                .await?;
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
                self.call("follow-up", about, Repeat::Safe, None, || async {
                    match to.kind {
                        ToKind::Press(i) => i.create_followup(self.http, f.clone()).await,
                        ToKind::Modal(i) => i.create_followup(self.http, f.clone()).await,
                        _ => unreachable!("only interactions have follow-ups"),
                    }
                })
                .await?;
            }
        }
        to.sent = true;
        Ok(())
    }

    /// The interaction's first answer. Repeating it is safe: Discord refuses a second one
    /// (40060), which after a failure Discord may have acted on means the first went through.
    async fn respond(&self, to: &mut To<'_>, r: CreateInteractionResponse) -> Result<(), Error> {
        let thinking = matches!(r, CreateInteractionResponse::Defer(_));
        let about = to.about();
        let kind = to.kind;
        self.call(
            "interaction answer",
            about,
            Repeat::Safe,
            Some(|| ()),
            || async {
                match kind {
                    ToKind::Press(i) => i.create_response(self.http, r.clone()).await,
                    ToKind::Modal(i) => i.create_response(self.http, r.clone()).await,
                    ToKind::Message(_) | ToKind::Command(_) => Ok(()),
                }
            },
        )
        .await?;
        to.responded = true;
        to.thinking = thinking;
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
                let about = to.about();
                self.call("deferral", about, Repeat::Safe, Some(|| ()), || async {
                    if ephemeral {
                        ctx.defer_ephemeral().await
                    } else {
                        ctx.defer().await
                    }
                })
                .await?;
                to.responded = true;
                to.thinking = true;
                Ok(())
            }
            ToKind::Press(_) | ToKind::Modal(_) => {
                let m = CreateInteractionResponseMessage::new().ephemeral(ephemeral);
                self.respond(to, CreateInteractionResponse::Defer(m)).await
            }
        }
    }

    /// Opens a modal in answer to a button press (it must be the press's first answer).
    pub async fn modal(&self, to: &mut To<'_>, modal: CreateModal) -> Result<(), Error> {
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
                self.respond(to, CreateInteractionResponse::Acknowledge)
                    .await
            }
            // Acknowledged without "thinking…" (a slow press): nothing more is owed.
            ToKind::Press(_) if !to.thinking => Ok(()),
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
            if !retry::already_logged(e.as_ref()) {
                tracing::warn!(error = %e, "could not tell the member something went wrong");
            }
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
        let scam = turn.effects.iter().find_map(|e| match e {
            Effect::Scam(flag) => Some(flag),
            _ => None,
        });
        if let (Some(flag), Some(posted)) = (scam, to.posted()) {
            return self.scam_warning(&posted, flag).await;
        }
        if let Some((notice, rows)) = incident_piece(&turn.effects) {
            let piece = Piece {
                content: Some(notice),
                rows,
                ..Piece::default()
            };
            self.send(to, piece).await?;
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
        let removed = msg.guild.is_some()
            && self
                .remove(msg, "a message that looked like it held a secret")
                .await;
        let warning = self.copy().sensitive_warning(secret, removed);
        let mut m = CreateMessage::new()
            .content(format!("<@{}> {warning}", msg.author))
            .allowed_mentions(only_user(msg.author.get()));
        if !removed {
            let mut reference = serenity::MessageReference::from((msg.channel, msg.id));
            reference.guild_id = msg.guild;
            m = m.reference_message(reference.fail_if_not_exists(false));
        }
        self.post(msg.channel, Some(msg.author.get()), m).await?;
        tracing::info!(
            channel = msg.channel.get(),
            member = msg.author.get(),
            removed,
            ?secret,
            "warned a member about posting a secret"
        );
        Ok(())
    }

    /// Removes a member's message; `false` (logged, naming the route and never the content)
    /// when Discord refuses, most often for want of Manage Messages.
    async fn remove(&self, msg: &Posted, what: &str) -> bool {
        let about = About::new(Some(msg.author.get()), Some(msg.channel.get()));
        let deleted = self
            .call("remove a message", about, Repeat::Safe, Some(|| ()), || {
                msg.channel.delete_message(self.http, msg.id)
            })
            .await;
        match deleted {
            Ok(()) => true,
            Err(e) if e.logged => false,
            Err(e) => {
                tracing::warn!(
                    channel = msg.channel.get(),
                    member = msg.author.get(),
                    error = %e,
                    "could not remove {what} (does the bot have Manage Messages?)"
                );
                false
            }
        }
    }

    /// A message the scam shield flagged: removed when `[scam] delete` is on (and the bot may),
    /// a public warning in the channel, and a notice to the moderators with a link to the
    /// message and the rule's reason. The warning names and pings nobody: it is for everyone
    /// reading the channel. The member's words are neither logged nor quoted.
    pub async fn scam_warning(&self, msg: &Posted, flag: &ScamFlag) -> Result<(), Error> {
        let removed = self.app.config().scam_delete
            && self.remove(msg, "a message the scam shield flagged").await;
        let copy = &self.app.engine().content.scam.copy;
        let mut m = CreateMessage::new()
            .content(copy.warning.clone())
            .allowed_mentions(no_mentions());
        if !removed {
            let mut reference = serenity::MessageReference::from((msg.channel, msg.id));
            reference.guild_id = msg.guild;
            m = m.reference_message(reference.fail_if_not_exists(false));
        }
        self.post_logged(msg.channel, Some(msg.author.get()), m, "scam warning")
            .await;
        let link = message_link(msg, removed);
        let notice = copy
            .notice
            .replace("{member}", &format!("<@{}>", msg.author))
            .replace("{reason}", &flag.reason)
            .replace("{link}", &link);
        self.notify_moderators(notice, msg.author.get(), "scam notice")
            .await;
        tracing::info!(
            channel = msg.channel.get(),
            member = msg.author.get(),
            rule = %flag.rule,
            kind = flag.kind.key(),
            removed,
            "the scam shield flagged a message"
        );
        Ok(())
    }

    /// Tells the moderators, once, that a member posts under a name imitating the bot, a staff
    /// role or a brand's staff. The name is shown defused: no invisible or direction
    /// characters, no markdown, at most 64 characters (`NAME_SHOWN_MAX`).
    pub async fn name_notice(&self, msg: &Posted, name: &str, flag: &NameFlag) {
        let copy = &self.app.engine().content.scam.copy;
        let notice = copy
            .name_notice
            .replace("{member}", &format!("<@{}>", msg.author))
            .replace("{name}", &defused(name))
            .replace("{imitates}", &defused(&flag.imitates))
            .replace("{link}", &message_link(msg, false));
        self.notify_moderators(notice, msg.author.get(), "display-name notice")
            .await;
        tracing::info!(
            channel = msg.channel.get(),
            member = msg.author.get(),
            "reported a display name that imitates staff"
        );
    }

    /// A notice about `member` in the escalation channel, pinging nobody; logged if it can't
    /// be posted.
    async fn notify_moderators(&self, text: String, member: u64, what: &str) {
        let Some(channel) = self.discord.escalation_channel else {
            tracing::warn!("the {what} has nowhere to go: discord.escalation_channel is not set");
            return;
        };
        let m = CreateMessage::new()
            .content(truncate(&text, MESSAGE_CONTENT_LENGTH_MAX))
            .allowed_mentions(no_mentions());
        self.post_logged(ChannelId::new(channel.get()), Some(member), m, what)
            .await;
    }

    // ---------------------------------------------------------------------------------------
    // Tickets
    // ---------------------------------------------------------------------------------------

    /// Posts a message in a channel or thread (for `member`, named in the log if it fails).
    async fn post(
        &self,
        channel: ChannelId,
        member: Option<u64>,
        m: CreateMessage,
    ) -> Result<Message, SendError> {
        let m = once(m);
        let about = About::new(member, Some(channel.get()));
        self.call("post", about, Repeat::Safe, None, || {
            channel.send_message(self.http, m.clone())
        })
        .await
    }

    /// Posts, and logs a failure instead of returning it: for posts after a commit, where the
    /// rest of the work must still happen. A ticket thread found deleted closes its ticket.
    async fn post_logged(
        &self,
        channel: ChannelId,
        member: Option<u64>,
        m: CreateMessage,
        what: &str,
    ) -> bool {
        match self.post(channel, member, m).await {
            Ok(_) => true,
            Err(e) => {
                if !e.logged {
                    tracing::warn!(channel = channel.get(), error = %e, "could not post the {what}");
                }
                if e.failure == Failure::UnknownChannel {
                    self.thread_gone(channel).await;
                }
                false
            }
        }
    }

    /// A channel was found deleted: if it was an active ticket's thread, the ticket closes
    /// ("its thread was deleted"), the member is told and back with the bot, and the
    /// transcript (kept in the store) goes to the log channel. Otherwise nothing.
    fn thread_gone(&self, thread: ChannelId) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let thread = TChannelId(thread.get());
            match self
                .app
                .thread_gone(thread, THREAD_GONE_REASON, app::now())
                .await
            {
                Ok(Some(changed)) => {
                    tracing::warn!(
                        ticket = changed.ticket.id.get(),
                        thread = thread.get(),
                        "a ticket's thread was deleted; the ticket is closed"
                    );
                    self.closed(&changed, &Closing::ThreadGone).await;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(thread = thread.get(), error = %e, "could not close the ticket of a deleted thread")
                }
            }
        })
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
        // A repeat could make a second thread: retried only when Discord did nothing.
        let about = About::new(Some(t.member.get()), Some(parent.get()));
        let thread = self
            .call("create a thread", about, Repeat::IfUnapplied, None, || {
                ChannelId::new(parent.get()).create_thread(self.http, builder.clone())
            })
            .await
            .map_err(|e| {
                format!("could not create a private thread (needs Create Private Threads): {e}")
            })?;
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
        self.post_logged(
            ChannelId::new(channel.get()),
            Some(t.member.get()),
            m,
            "plain request",
        )
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
        Ok(self.post(thread, Some(t.member.get()), m).await?)
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
        let about = About::new(Some(t.member.get()), Some(thread.get()));
        let result = self
            .call("edit the packet", about, Repeat::Safe, None, || {
                ChannelId::new(thread.get()).edit_message(
                    self.http,
                    serenity::MessageId::new(msg.get()),
                    edit.clone(),
                )
            })
            .await;
        if let Err(e) = result {
            if !e.logged {
                tracing::warn!(ticket = t.id.get(), error = %e, "could not edit the packet");
            }
            if e.failure == Failure::UnknownChannel {
                self.thread_gone(ChannelId::new(thread.get())).await;
            }
        }
    }

    /// The transcript, as a file in the ticket log channel (when one is set).
    pub async fn post_transcript(&self, t: &Ticket, transcript: &str) {
        let Some(log) = self.app.config().ticket_log_channel else {
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
        self.post_logged(ChannelId::new(log.get()), None, m, "transcript")
            .await;
    }

    /// Archives and locks a ticket's thread: the history stays, nobody writes in it, and only
    /// staff with Manage Threads can open it again. Threads are never deleted.
    async fn archive(&self, thread: ChannelId) {
        let about = About::new(None, Some(thread.get()));
        let result = self
            .call("archive a thread", about, Repeat::Safe, None, || async {
                thread
                    .edit_thread(self.http, EditThread::new().archived(true).locked(true))
                    .await
                    .map(|_| ())
            })
            .await;
        if let Err(e) = result {
            if !e.logged {
                tracing::warn!(thread = thread.get(), error = %e, "could not archive and lock a ticket thread (needs Manage Threads)");
            }
        }
    }

    /// A direct message to a member. Fails when they closed their DMs (403, 50007).
    async fn dm(&self, member: MemberId, m: CreateMessage) -> Result<Message, SendError> {
        let about = About::new(Some(member.get()), None);
        let channel = self
            .call("open a DM", about, Repeat::Safe, None, || {
                UserId::new(member.get()).create_dm_channel(self.http)
            })
            .await?;
        self.post(channel.id, Some(member.get()), m).await
    }

    /// An ended incident's subscribers, each told once by DM that it's fixed, at
    /// [`FANOUT_PACE`]. A member subscribed from several guilds gets one DM. Each
    /// subscription is deleted once its member was told or skipped (DMs closed, or a refusal
    /// that won't change), so a fan-out cut short resumes without a second DM; a transient
    /// failure (given up after retries) keeps it for the resume at the next start.
    pub async fn incident_fixed(&self, ended: &app::Ended) -> Fanout {
        let text = self.copy().incident_fixed.clone();
        let id = ended.incident.id;
        let mut f = Fanout::default();
        let mut members: Vec<MemberId> = Vec::new();
        for who in &ended.subscribers {
            if !members.contains(&who.member) {
                members.push(who.member);
            }
        }
        for (n, member) in members.into_iter().enumerate() {
            if n > 0 {
                tokio::time::sleep(FANOUT_PACE).await;
            }
            let m = CreateMessage::new()
                .content(text.clone())
                .allowed_mentions(no_mentions());
            let done = match self.dm(member, m).await {
                Ok(_) => {
                    f.sent += 1;
                    true
                }
                Err(e) if e.dms_closed() => {
                    f.closed += 1;
                    true
                }
                Err(e) => {
                    f.failed += 1;
                    if !e.logged {
                        tracing::warn!(member = member.get(), incident = id.get(), error = %e, "could not DM a member that the incident is fixed");
                    }
                    !e.failure.is_transient()
                }
            };
            if done {
                for who in ended.subscribers.iter().filter(|k| k.member == member) {
                    if let Err(e) = self.app.incident_told(id, *who).await {
                        tracing::warn!(member = member.get(), incident = id.get(), error = %e, "could not record that a member was told the incident is fixed");
                    }
                }
            }
        }
        f
    }

    /// An ephemeral follow-up to a slash command, after its first answer (the incident
    /// fan-out's summary). Best effort: logged when it fails.
    pub async fn command_followup(&self, interaction: &serenity::CommandInteraction, text: String) {
        let about = About::new(
            Some(interaction.user.id.get()),
            Some(interaction.channel_id.get()),
        );
        let f = CreateInteractionResponseFollowup::new()
            .content(truncate(&text, MESSAGE_CONTENT_LENGTH_MAX))
            .ephemeral(true)
            .allowed_mentions(no_mentions());
        let result = self
            .call("follow-up", about, Repeat::Safe, None, || {
                interaction.create_followup(self.http, f.clone())
            })
            .await;
        if let Err(e) = result {
            if !e.logged {
                tracing::info!(error = %e, "could not post a command's follow-up");
            }
        }
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
        let gone = matches!(how, Closing::ThreadGone);
        if !gone {
            self.edit_packet(t).await;
        }
        let thread = t.thread.map(|c| ChannelId::new(c.get())).filter(|_| !gone);
        let note = match how {
            Closing::Closed { by, reason } => format!("Closed by <@{by}>: {reason}"),
            Closing::HandedBack { by } => {
                format!("<@{by}> handed the member back to the bot.")
            }
            Closing::Inactive => "Closed: nobody wrote here for a while.".to_string(),
            Closing::Forgotten => "Closed at the member's request.".to_string(),
            Closing::ThreadGone => String::new(),
        };
        if let Some(thread) = thread {
            let m = CreateMessage::new()
                .content(truncate(
                    &note,
                    crate::engine::limits::MESSAGE_CONTENT_LENGTH_MAX,
                ))
                .allowed_mentions(no_mentions());
            self.post_logged(thread, Some(t.member.get()), m, "closing note")
                .await;
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
            self.post_logged(
                ChannelId::new(thread.get()),
                Some(t.member.get()),
                m,
                "closing notice",
            )
            .await;
        }
    }

    /// A ticket reopened: the thread is unarchived and unlocked first (nothing can be edited
    /// or posted in a locked thread), then the packet shows it open, and the thread says who.
    pub async fn reopened(&self, t: &Ticket, by: MemberId) {
        let Some(thread) = t.thread.map(|c| ChannelId::new(c.get())) else {
            return;
        };
        let about = About::new(Some(t.member.get()), Some(thread.get()));
        let result = self
            .call("reopen a thread", about, Repeat::Safe, None, || async {
                thread
                    .edit_thread(self.http, EditThread::new().archived(false).locked(false))
                    .await
                    .map(|_| ())
            })
            .await;
        if let Err(e) = result {
            if !e.logged {
                tracing::warn!(thread = thread.get(), error = %e, "could not reopen a ticket thread");
            }
        }
        self.edit_packet(t).await;
        let m = CreateMessage::new()
            .content(format!("Reopened by <@{by}>."))
            .allowed_mentions(no_mentions());
        self.post_logged(thread, Some(t.member.get()), m, "reopen note")
            .await;
    }

    /// A ticket timer that fired (already recorded): the SLA reminder pings only the support
    /// role; the inactivity warning pings nobody; auto-close closes like staff do, without
    /// the rating.
    pub async fn fired(&self, f: &Fired) {
        let t = &f.changed.ticket;
        let Some(thread) = t.thread.map(|c| ChannelId::new(c.get())) else {
            return;
        };
        let settings = &self.app.config().tickets;
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
                self.post_logged(thread, Some(t.member.get()), m, "SLA reminder")
                    .await;
            }
            Timer::InactivityWarning => {
                let minutes = settings.warn_before_ms / 60_000;
                let m = CreateMessage::new()
                    .content(format!(
                        "This ticket has been quiet for a while. It closes by itself in about {minutes} minutes unless someone writes here."
                    ))
                    .allowed_mentions(no_mentions());
                self.post_logged(thread, Some(t.member.get()), m, "inactivity warning")
                    .await;
            }
            Timer::AutoClose => self.closed(&f.changed, &Closing::Inactive).await,
        }
    }

    /// Tells the moderators, once per raid, that replies in `channel` hit the reply cap
    /// (`[limits] channel_replies_per_10s`). Names the channel only: no member, no member text,
    /// and it pings nobody.
    pub async fn raid_notice(&self, channel: ChannelId) {
        let per = self.app.config().limits.channel_replies_per_10s;
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
        self.post_logged(
            ChannelId::new(escalation.get()),
            None,
            m,
            "reply cap notice",
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snowflake_at(ms: u64) -> u64 {
        (ms - 1_420_070_400_000) << 22
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    /// The time since Discord created an interaction counts against its window, capped: an
    /// old id (or a clock far ahead) defers at once, an id from the future (a clock behind)
    /// gets the whole [`DEFER_AFTER`].
    #[test]
    fn an_interactions_age_counts_against_its_window() {
        let slack = std::time::Duration::from_millis(200);
        for spent_ms in [0u64, 300, 1000, 1400] {
            let left = DEFER_AFTER
                .saturating_sub(received_at(snowflake_at(now_ms() - spent_ms)).elapsed());
            let expected = DEFER_AFTER - std::time::Duration::from_millis(spent_ms);
            assert!(
                left <= expected && left + slack >= expected,
                "{spent_ms} ms: {left:?} left"
            );
        }
        let old = received_at(snowflake_at(now_ms() - 60_000));
        assert!(old.elapsed() >= DEFER_AFTER);
        let future = received_at(snowflake_at(now_ms() + 60_000));
        assert!(future.elapsed() < slack);
    }
}
