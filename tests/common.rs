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

/// Every example the model trains on (intents' and out-of-scope), normalized: what a held-out
/// or generated sentence must not be.
pub fn trained_examples(engine: &Engine) -> std::collections::HashSet<String> {
    let c = &engine.content;
    c.intents
        .iter()
        .flat_map(|i| &i.examples)
        .chain(&c.out_of_scope)
        .map(|e| engine.classifier.normalize(e))
        .collect()
}
