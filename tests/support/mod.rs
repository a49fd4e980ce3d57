pub mod fake_discord;
pub mod hooked_store;
pub mod pg_relay;
