//! Each gateway event is handled once, even when Discord delivers it twice.
//!
//! Discord's gateway is at-least-once: after a RESUME it replays every dispatch after the
//! sequence number the client gave, and a client that resumes from an older number (or a
//! session handed between processes) sees events it already handled. A replayed
//! MESSAGE_CREATE would run a second turn (the conversation steps twice, a second reply is
//! posted), and a replayed INTERACTION_CREATE a second press.
//!
//! [`Seen`] is the first layer: an in-memory set of the ids of recent member messages and
//! interactions, bounded by count ([`SEEN_MAX`]), checked before an event reaches poise (in
//! the `Gate`), one set for both kinds.
//!
//! The seam for more than one process, or a replay across a restart, is [`EventId`]: a later
//! layer claims it in the database (`INSERT … ON CONFLICT DO NOTHING` on the id, the house
//! rule "uniqueness lives in the database") after this set said "first time", so the common
//! replay is answered from memory and only new events cost a write.

use poise::serenity_prelude as serenity;
use serenity::FullEvent;
use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

/// Event ids remembered. A RESUME replays what the gateway buffered for the session, which is
/// minutes of traffic at most; 4096 ids cover four times the 1000-message burst of
/// `benches/discord.rs`, in about 100 KB.
pub const SEEN_MAX: usize = 4096;

/// What identifies an event for deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventId {
    /// A member's message (MESSAGE_CREATE), by message id.
    Message(u64),
    /// An interaction (INTERACTION_CREATE: a press, a modal, a command), by interaction id.
    Interaction(u64),
}

impl EventId {
    /// The event's claim key in a shared store (`message:ID`, `interaction:ID`).
    pub fn key(&self) -> String {
        match self {
            EventId::Message(id) => format!("message:{id}"),
            EventId::Interaction(id) => format!("interaction:{id}"),
        }
    }

    /// The id of an event that runs a turn or answers someone: a message from a person, or an
    /// interaction. Other events (edits, bots' messages, which are ignored anyway) have none.
    pub fn of(event: &FullEvent) -> Option<EventId> {
        match event {
            FullEvent::Message { new_message } if !new_message.author.bot => {
                Some(EventId::Message(new_message.id.get()))
            }
            FullEvent::InteractionCreate { interaction } => {
                Some(EventId::Interaction(interaction.id().get()))
            }
            _ => None,
        }
    }
}

/// A set of the most recent `max` distinct values: inserting a new one past `max` forgets the
/// oldest. O(1) per insert; memory bounded by `max`.
#[derive(Debug)]
pub struct Recent<T> {
    max: usize,
    order: VecDeque<T>,
    set: HashSet<T>,
}

impl<T: Hash + Eq + Clone> Recent<T> {
    pub fn new(max: usize) -> Recent<T> {
        Recent {
            max: max.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// Adds `v`; true if it was not among the remembered values.
    pub fn insert(&mut self, v: T) -> bool {
        if self.set.contains(&v) {
            return false;
        }
        if self.order.len() == self.max {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(v.clone());
        self.set.insert(v);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Recently handled events, shared by every handler.
#[derive(Debug)]
pub struct Seen {
    ids: Mutex<Recent<EventId>>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen::new(SEEN_MAX)
    }
}

impl Seen {
    pub fn new(max: usize) -> Seen {
        Seen {
            ids: Mutex::new(Recent::new(max)),
        }
    }

    /// Claims `id`: true the first time (handle it), false for a replay (drop it).
    pub fn first(&self, id: EventId) -> bool {
        // A poisoned lock only means a panic elsewhere mid-insert; the set is still usable.
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a model (the last `max` distinct ids, as a list): an id is "first" exactly
        /// when it is not among them, and the set never holds more than `max`.
        #[test]
        fn recent_is_the_last_max_distinct_values(
            max in 1usize..16,
            ids in proptest::collection::vec(0u64..24, 0..200),
        ) {
            let mut recent = Recent::new(max);
            let mut model: Vec<u64> = Vec::new();
            for id in ids {
                let expected = !model.contains(&id);
                prop_assert_eq!(recent.insert(id), expected, "id {} model {:?}", id, model);
                if expected {
                    model.push(id);
                    if model.len() > max {
                        model.remove(0);
                    }
                }
                prop_assert!(recent.len() <= max);
                prop_assert_eq!(recent.len(), model.len());
            }
        }
    }

    #[test]
    fn a_replayed_event_is_claimed_once_and_kinds_do_not_collide() {
        let seen = Seen::new(8);
        assert!(seen.first(EventId::Message(1)));
        assert!(!seen.first(EventId::Message(1)));
        assert!(seen.first(EventId::Interaction(1)));
        assert!(!seen.first(EventId::Interaction(1)));
    }
}
