pub mod fake_discord;
pub mod hooked_store;
