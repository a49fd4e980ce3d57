//! Discord types to engine types and back: user keys, button ids, mentions, message splitting.
//!
//! Everything here is pure, so it is unit-tested without a gateway.

use crate::app::UserKey;
use crate::engine::content::Content;
use crate::engine::ids::{GuildId, MemberId};
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
