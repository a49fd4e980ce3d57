//! Typed IDs for the people and places a conversation or ticket involves.
//!
//! Discord gives every one of these as a bare `u64` snowflake; the adapter wraps them at its
//! edge, so a role can never be compared with a member or a channel with a guild (a real bug in
//! a peer bot). The terminal makes up its own.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A member (a Discord user). `MemberId(0)` stands for a member who asked to be forgotten.
    MemberId(u64)
);
id!(
    /// A guild (server). `GuildId(0)` is the scope of DMs and the terminal.
    GuildId(u64)
);
id!(
    /// A channel or thread.
    ChannelId(u64)
);
id!(
    /// A role.
    RoleId(u64)
);
id!(
    /// A message.
    MessageId(u64)
);
id!(
    /// A ticket, numbered by the store from 1.
    TicketId(i64)
);
id!(
    /// An incident (a known outage moderators announced), numbered by the store from 1.
    IncidentId(i64)
);

impl MemberId {
    /// Who a forgotten member becomes in stored transcripts.
    pub const FORGOTTEN: MemberId = MemberId(0);
}

/// Whose conversation: a member in a guild. Conversations are per guild, so a member helped in
/// one server starts fresh in another; DMs and the terminal use [`GuildId`] 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserKey {
    pub guild: GuildId,
    pub member: MemberId,
}

impl UserKey {
    pub fn new(guild: GuildId, member: MemberId) -> UserKey {
        UserKey { guild, member }
    }
}
