//! Shared fixtures: the embedded engine is trained once per test binary and cloned from there.

use paymedic::app::App;
use paymedic::config::Config;
use paymedic::engine::Engine;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::embedded);

pub fn engine() -> Engine {
    ENGINE.clone()
}

pub fn app() -> App {
    App::new(engine(), Config::default())
}

/// The real content pack's source text.
pub fn pack() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/intents.toml")).unwrap()
}
