//! The one integration test binary: a `mod` per area, sharing `common` and `support/`.

mod common;
mod support;

mod abuse;
mod architecture;
mod chat;
mod chats;
mod cli;
mod content_checks;
mod corpus;
mod crash;
mod dialogue;
mod discord_e2e;
mod discord_fake;
mod incident;
mod insight;
mod ops;
mod phrasings;
mod properties;
mod redaction;
mod scam;
mod scam_data;
mod store_contract;
mod tickets;
mod transcripts;
mod web;
