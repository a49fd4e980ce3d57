//! The store under load: turns per second through `App::turn` with SQLite (`synchronous =
//! FULL`) on one core, the latency of one turn alone, and bytes on disk per stored
//! conversation and per closed ticket with its transcript.
//!
//! `cargo bench --bench store`. Under `cargo test --benches` it does a short smoke run.

use paymedic::app::{App, Staff, UserKey};
use paymedic::config::Config;
use paymedic::engine::tickets::StaffAction;
use paymedic::engine::{ChannelId, Choice, Engine, GuildId, Input, MemberId, Timestamp};
use paymedic::store::sqlite::{Durability, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OPENERS: &[&str] = &[
    "klarna declined my order at asos",
    "my klarna account is locked, they flagged unusual activity",
    "the klarna app says my version is too old",
    "my bank blocked the klarna payment",
    "klarna says i went over my spending limit",
];

fn db_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|s| std::fs::metadata(format!("{}{s}", path.display())).map_or(0, |m| m.len()))
        .sum()
}

/// The size of a new, empty database, measured like the full one: after a reopen folds the
/// WAL (which holds the migrations at first) into the file. Measured with the WAL still
/// full, the baseline could exceed a small database's checkpointed size.
async fn empty_db_bytes(path: &Path) -> u64 {
    SqliteStore::open(path).await.unwrap().close().await;
    SqliteStore::open(path).await.unwrap().close().await;
    db_bytes(path)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn app_on(path: &Path) -> Arc<App> {
    app_with(path, Durability::Full).await
}

async fn app_with(path: &Path, durability: Durability) -> Arc<App> {
    let store = SqliteStore::open_with(path, durability)
        .await
        .expect("open the store");
    let config = Config {
        cooldown_ms: 0,
        ..Config::default()
    };
    Arc::new(App::with_store(Engine::embedded(), config, Arc::new(store)))
}

fn key(m: u64) -> UserKey {
    UserKey::new(GuildId(1), MemberId(m))
}

/// One member's two turns: a question that starts a flow, then an answer.
async fn conversation(app: &App, m: u64, at: u64) {
    let text = OPENERS[(m % OPENERS.len() as u64) as usize];
    app.turn(
        key(m),
        Input::Text {
            text,
            addressed: true,
        },
        Timestamp(at),
    )
    .await
    .unwrap();
    app.turn(
        key(m),
        Input::Choose {
            choice: Choice::Option(0),
            shown_at: None,
        },
        Timestamp(at + 1),
    )
    .await
    .unwrap();
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("paymedic-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // One core: a current-thread runtime drives every turn and the store's committer.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (name, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
        // Latency of one turn at a time (nothing to share an fsync with).
        let path = dir.join(format!("latency-{name}.db"));
        let app = app_with(&path, durability).await;
        let n = if quick { 20 } else { 500 };
        let mut lat = Vec::with_capacity(n);
        for m in 0..n as u64 {
            let t = Instant::now();
            app.turn(
                key(m),
                Input::Text {
                    text: OPENERS[(m % 5) as usize],
                    addressed: true,
                },
                Timestamp(m),
            )
            .await
            .unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "synchronous = {name}: one turn alone (classify, step, commit): p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );

        // Sustained throughput: many members at once, for a fixed time.
        let path = dir.join(format!("throughput-{name}.db"));
        let app = app_with(&path, durability).await;
        let members = 256u64;
        let run_for = Duration::from_secs(if quick { 1 } else { 10 });
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..members {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let mut turns = 0u64;
                let mut m = w;
                while start.elapsed() < run_for {
                    conversation(&app, 10_000 + m, m).await;
                    turns += 2;
                    m += members;
                }
                turns
            }));
        }
        let mut turns = 0;
        for t in tasks {
            turns += t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "synchronous = {name}: sustained, {members} members at once on one core: {turns} turns in {secs:.1} s = {:.0} turns/s",
            turns as f64 / secs
        );

        }

        // Bytes on disk per stored conversation.
        let path = dir.join("size.db");
        let before = empty_db_bytes(&path).await;
        let app = app_on(&path).await;
        let convs = if quick { 200 } else { 10_000 };
        let mut handles = Vec::new();
        for m in 0..convs {
            let app = app.clone();
            handles.push(tokio::spawn(async move { conversation(&app, m, 0).await }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let stored = app.session_count().await.unwrap();
        drop(app);
        // Reopen (a checkpoint folds the WAL into the file) and measure the file.
        let reopened = SqliteStore::open(&path).await.unwrap();
        reopened.close().await;
        let after = db_bytes(&path);
        println!(
            "disk per stored conversation: {:.0} bytes ({stored} conversations, {} bytes)",
            after.saturating_sub(before) as f64 / stored as f64,
            after.saturating_sub(before)
        );

        // Bytes on disk per closed ticket with its transcript.
        let path = dir.join("tickets.db");
        let base = empty_db_bytes(&path).await;
        let app = app_on(&path).await;
        let tickets = if quick { 20 } else { 1_000 };
        let staff = Staff::trusted(MemberId(9));
        for m in 0..tickets {
            conversation(&app, m, 0).await;
            let turn = app
                .turn(
                    key(m),
                    Input::Text {
                        text: "talk to a human",
                        addressed: true,
                    },
                    Timestamp(10),
                )
                .await
                .unwrap();
            let Some(note) = turn.ticket else {
                panic!("no ticket opened")
            };
            let id = note.ticket().id;
            app.ticket_opened(id, Some(ChannelId(1_000 + m)), None, Timestamp(11))
                .await
                .unwrap();
            app.act(staff, id, StaffAction::Claim, Timestamp(12))
                .await
                .unwrap();
            for (i, text) in [
                "Hi, I can help. Which shop was it?",
                "asos, it keeps saying declined",
                "Thanks. Please try removing the card and adding it again.",
                "that worked, thank you!",
            ]
            .iter()
            .enumerate()
            {
                let author = if i % 2 == 0 { MemberId(9) } else { MemberId(m) };
                app.ticket_message(ChannelId(1_000 + m), author, text, Timestamp(13 + i as u64))
                    .await
                    .unwrap();
            }
            app.act(
                staff,
                id,
                StaffAction::Close {
                    reason: "solved: card re-added".into(),
                },
                Timestamp(20),
            )
            .await
            .unwrap();
            app.rate(id, MemberId(m), true, Timestamp(21)).await.unwrap();
        }
        drop(app);
        let reopened = SqliteStore::open(&path).await.unwrap();
        reopened.close().await;
        println!(
            "disk per closed ticket with transcript and 4 thread messages: {:.0} bytes ({tickets} tickets)",
            db_bytes(&path).saturating_sub(base) as f64 / tickets as f64
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
