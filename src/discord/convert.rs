//! Discord types to engine types and back: user keys, button and modal ids, mentions, message
//! splitting.
//!
//! Everything here is pure, so it is unit-tested without a gateway.
//!
//! Every `custom_id` paymedic puts on a component says everything needed to act on it, so a
//! press (or a modal submit) is handled statelessly, even after a restart:
//! - `pm:<owner>:<position>:<choice>`: a member's answer in their conversation;
//! - `pmt:<action>:<ticket>`: a staff button on a ticket's packet (and the close modal);
//! - `pmr:<ticket>:<y|n>`: the member's "Did we solve it?";
//! - `pmf:<member>`: the member's confirmation of `/forget-me`;
//! - `pmi:<incident>`: "Notify me when it's fixed" during an incident (anyone may press it;
//!   it subscribes the presser).

use crate::app::UserKey;
use crate::engine::content::Content;
use crate::engine::ids::{GuildId, IncidentId, MemberId, TicketId};
use crate::engine::limits::CUSTOM_ID_LENGTH_MAX;
use crate::engine::{Choice, Position};

/// Prefix of every button id paymedic creates; other ids are not ours.
const PREFIX: &str = "pm";

/// Conversations are per guild and user; DMs share scope 0.
pub fn user_key(guild: Option<u64>, user: u64) -> UserKey {
    UserKey::new(GuildId(guild.unwrap_or(0)), MemberId(user))
}

/// A button's `custom_id`: who the conversation belongs to, the question it was shown with,
/// and the choice. `pm:<owner>:<position or ->:<choice>`.
pub fn button_id(owner: u64, at: Option<Position>, choice: Choice) -> String {
    let at = at.map_or("-".to_string(), |p| p.encode());
    let id = format!("{PREFIX}:{owner}:{at}:{}", choice.encode());
    debug_assert!(id.len() <= CUSTOM_ID_LENGTH_MAX);
    id
}

/// A parsed button id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ButtonId {
    pub owner: u64,
    pub at: Option<Position>,
    pub choice: Choice,
}

/// Parses a `custom_id`; `None` for anything malformed or not from this content pack (ids come
/// back from Discord and must not be trusted).
pub fn parse_button_id(id: &str, content: &Content) -> Option<ButtonId> {
    let mut parts = id.split(':');
    if parts.next()? != PREFIX {
        return None;
    }
    let owner: u64 = parts.next()?.parse().ok()?;
    let at = match parts.next()? {
        "-" => None,
        p => Some(Position::decode(p, content)?),
    };
    let choice = Choice::decode(parts.next()?, content)?;
    if parts.next().is_some() {
        return None;
    }
    Some(ButtonId { owner, at, choice })
}

/// A staff button on a ticket's packet; `Close` is also the close modal's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffButton {
    Claim,
    Unclaim,
    Close,
    HandBack,
    Reopen,
}

impl StaffButton {
    const ALL: [StaffButton; 5] = [
        StaffButton::Claim,
        StaffButton::Unclaim,
        StaffButton::Close,
        StaffButton::HandBack,
        StaffButton::Reopen,
    ];

    fn code(self) -> &'static str {
        match self {
            StaffButton::Claim => "claim",
            StaffButton::Unclaim => "unclaim",
            StaffButton::Close => "close",
            StaffButton::HandBack => "handback",
            StaffButton::Reopen => "reopen",
        }
    }
}

/// `pmt:<action>:<ticket>`.
pub fn staff_id(action: StaffButton, ticket: TicketId) -> String {
    format!("pmt:{}:{ticket}", action.code())
}

pub fn parse_staff_id(id: &str) -> Option<(StaffButton, TicketId)> {
    let mut parts = id.split(':');
    if parts.next()? != "pmt" {
        return None;
    }
    let code = parts.next()?;
    let action = StaffButton::ALL.into_iter().find(|a| a.code() == code)?;
    let ticket = TicketId(parts.next()?.parse().ok().filter(|n: &i64| *n > 0)?);
    parts.next().is_none().then_some((action, ticket))
}

/// `pmr:<ticket>:<y|n>`: the member's answer to "Did we solve it?".
pub fn rate_id(ticket: TicketId, solved: bool) -> String {
    format!("pmr:{ticket}:{}", if solved { "y" } else { "n" })
}

pub fn parse_rate_id(id: &str) -> Option<(TicketId, bool)> {
    let mut parts = id.split(':');
    if parts.next()? != "pmr" {
        return None;
    }
    let ticket = TicketId(parts.next()?.parse().ok().filter(|n: &i64| *n > 0)?);
    let solved = match parts.next()? {
        "y" => true,
        "n" => false,
        _ => return None,
    };
    parts.next().is_none().then_some((ticket, solved))
}

/// `pmf:<member>`: the `/forget-me` confirmation; only that member may press it.
pub fn forget_id(member: MemberId) -> String {
    format!("pmf:{member}")
}

pub fn parse_forget_id(id: &str) -> Option<MemberId> {
    let rest = id.strip_prefix("pmf:")?;
    rest.parse().ok().map(MemberId)
}

/// `pmi:<incident>`: the "Notify me when it's fixed" button.
pub fn notify_id(incident: IncidentId) -> String {
    format!("pmi:{incident}")
}

/// Parses a notify button's id: a positive incident number and nothing else.
pub fn parse_notify_id(id: &str) -> Option<IncidentId> {
    let rest = id.strip_prefix("pmi:")?;
    // Digits only: `parse` would take a leading `+`.
    if rest.is_empty() || rest.len() > 19 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse::<i64>().ok().filter(|n| *n > 0).map(IncidentId)
}

/// The message text with the bot's own mention removed, so "@paymedic klarna declined me" is
/// classified as "klarna declined me".
pub fn strip_mention(text: &str, bot: u64) -> String {
    text.replace(&format!("<@{bot}>"), " ")
        .replace(&format!("<@!{bot}>"), " ")
        .trim()
        .to_string()
}

/// Splits text into pieces of at most `max` characters, preferring line breaks, then spaces,
/// and never cutting inside a character.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        // Byte index just past the first `max` characters.
        let hard = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..hard];
        let cut = window
            .rfind('\n')
            .or_else(|| window.rfind(' '))
            .filter(|&i| i > 0)
            .unwrap_or(hard);
        out.push(rest[..cut].trim_end().to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// Cuts text to at most `max` characters, ending with "…" when it had to cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{keep}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    #[test]
    fn button_ids_round_trip_and_reject_tampering() {
        let engine = Engine::embedded();
        let c = &engine.content;
        let intent = c.intent_by_key("credit_limit").unwrap();
        let at = Position::decode(&format!("{}.s0", intent.index()), c).unwrap();
        for (pos, choice) in [
            (Some(at), Choice::Option(1)),
            (None, Choice::Topic(intent)),
            (Some(at), Choice::Human),
        ] {
            let id = button_id(42, pos, choice);
            assert!(id.len() <= CUSTOM_ID_LENGTH_MAX);
            assert_eq!(
                parse_button_id(&id, c),
                Some(ButtonId {
                    owner: 42,
                    at: pos,
                    choice
                })
            );
        }
        for bad in [
            "",
            "pm",
            "pm:x:-:f",
            "pm:1:-:zz",
            "pm:1:999.s0:f",
            "pm:1:0.s99:f",
            "xx:1:-:f",
            "pm:1:-:f:extra",
            "pm:1:-:t9999",
        ] {
            assert_eq!(parse_button_id(bad, c), None, "{bad}");
        }
    }

    #[test]
    fn ticket_ids_round_trip_and_reject_tampering() {
        for a in StaffButton::ALL {
            let id = staff_id(a, TicketId(42));
            assert!(id.len() <= CUSTOM_ID_LENGTH_MAX);
            assert_eq!(parse_staff_id(&id), Some((a, TicketId(42))));
        }
        for solved in [true, false] {
            assert_eq!(
                parse_rate_id(&rate_id(TicketId(7), solved)),
                Some((TicketId(7), solved))
            );
        }
        assert_eq!(
            parse_forget_id(&forget_id(MemberId(99))),
            Some(MemberId(99))
        );
        for bad in [
            "pmt:claim",
            "pmt:claim:x",
            "pmt:claim:0",
            "pmt:claim:-3",
            "pmt:burn:1",
            "pmt:claim:1:2",
            "pm:claim:1",
            "pmr:1:maybe",
            "pmr:0:y",
        ] {
            assert_eq!(parse_staff_id(bad), None, "{bad}");
            assert_eq!(parse_rate_id(bad), None, "{bad}");
        }
        assert_eq!(parse_forget_id("pmf:x"), None);
        assert_eq!(
            parse_notify_id(&notify_id(IncidentId(12))),
            Some(IncidentId(12))
        );
        assert!(notify_id(IncidentId(i64::MAX)).len() <= CUSTOM_ID_LENGTH_MAX);
        for bad in [
            "pmi:",
            "pmi:0",
            "pmi:-1",
            "pmi:+1",
            "pmi:1:2",
            "pmi:x",
            "pmi:99999999999999999999",
            "pmi: 1",
            "pm:1",
        ] {
            assert_eq!(parse_notify_id(bad), None, "{bad}");
        }
        assert_eq!(parse_forget_id("pmt:claim:1"), None);
    }

    #[test]
    fn the_bots_mention_is_stripped() {
        assert_eq!(
            strip_mention("<@99> klarna declined me", 99),
            "klarna declined me"
        );
        assert_eq!(strip_mention("hey <@!99>", 99), "hey");
        assert_eq!(strip_mention("<@98> hi", 99), "<@98> hi");
    }

    #[test]
    fn split_never_cuts_a_character_and_respects_the_limit() {
        let text = "é".repeat(4500);
        let parts = split_text(&text, 2000);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), text);
        let words = "word ".repeat(1000);
        let parts = split_text(&words, 2000);
        assert!(parts
            .iter()
            .all(|p| p.chars().count() <= 2000 && !p.ends_with(' ')));
        assert_eq!(split_text("short", 2000), vec!["short"]);
        assert!(split_text("   ", 2000).is_empty());
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
    }
}
