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

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test thread");
}

/// Runs an async App call to completion on this test thread's runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

/// A member of guild 7 (transcripts) or any guild, by number.
pub fn member(guild: u64, member: u64) -> paymedic::app::UserKey {
    paymedic::app::UserKey::new(
        paymedic::engine::GuildId(guild),
        paymedic::engine::MemberId(member),
    )
}
