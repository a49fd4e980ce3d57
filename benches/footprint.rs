//! Per-message classification time (median over the corpus) and memory per stored
//! conversation. A plain bench binary: `cargo bench --bench footprint`.
//!
//! Time: the corpus is classified in order `PASSES` times, each message timed once per pass;
//! a message's time is its median over the passes after the first, and the figure is the
//! median over messages. Memory: a counting global allocator
//! measures the live heap before and after `USERS` members each start a flow and answer one
//! question, so the figure includes the session map's own overhead, divided by `USERS`.

use paymedic::app::{App, UserKey};
use paymedic::config::Config;
use paymedic::engine::{Choice, Engine, Input, Timestamp};
use paymedic::engine::{GuildId, MemberId};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PASSES: usize = 21;
const USERS: u64 = 10_000;

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run quickly then.
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        println!("footprint (smoke run under `cargo test`, not a measurement):");
    }
    let before_engine = LIVE.load(Ordering::Relaxed);
    let engine = Engine::embedded();
    let engine_heap = LIVE.load(Ordering::Relaxed) - before_engine;
    let texts: Vec<String> = include_str!("../tests/data/corpus.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    // Passes over the whole corpus in order, timing each message once per pass, so each
    // classification runs after other messages (as in a live channel), not after itself.
    // Pass 0 is a warm-up (the regex engine builds its automaton states lazily); it is
    // reported on its own.
    let passes = if quick { 2 } else { PASSES };
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(passes); texts.len()];
    let mut cold = 0.0;
    for pass in 0..passes {
        for (i, t) in texts.iter().enumerate() {
            let start = Instant::now();
            black_box(engine.classify(black_box(t)));
            let ns = start.elapsed().as_nanos() as f64;
            if pass == 0 {
                cold += ns;
            } else {
                times[i].push(ns);
            }
        }
    }
    let mut per_message: Vec<f64> = times
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    per_message.sort_by(f64::total_cmp);
    let median = per_message[per_message.len() / 2];
    let p99 = per_message[per_message.len() * 99 / 100];
    println!(
        "classify: median {:.2} µs per message, p99 {:.2} µs ({} messages, median of {} interleaved passes); first pass mean {:.2} µs",
        median / 1000.0,
        p99 / 1000.0,
        texts.len(),
        passes - 1,
        cold / texts.len() as f64 / 1000.0
    );

    // The regex set builds its automaton states lazily, in a cache that grows with the
    // variety of text seen; after the passes above it holds every state the corpus needs.
    let warmed_heap = LIVE.load(Ordering::Relaxed) - before_engine;
    println!(
        "engine: {:.2} MB of heap once loaded, {:.2} MB after classifying the corpus (the regex set's state cache)",
        engine_heap as f64 / (1 << 20) as f64,
        warmed_heap as f64 / (1 << 20) as f64
    );

    let app = App::new(engine, Config::default());
    let users = if quick { 100 } else { USERS };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    for u in 0..users {
        let key = UserKey::new(GuildId(1), MemberId(u));
        rt.block_on(async {
            app.turn(
                key,
                Input::Text {
                    text: "klarna declined my order at zalando",
                    addressed: true,
                },
                Timestamp(0),
            )
            .await
            .unwrap();
            app.turn(
                key,
                Input::Choose {
                    choice: Choice::Option(0),
                    shown_at: None,
                },
                Timestamp(1),
            )
            .await
            .unwrap();
        });
    }
    let after = LIVE.load(Ordering::Relaxed);
    assert_eq!(
        rt.block_on(app.session_count()).unwrap(),
        users,
        "every member should be mid-flow"
    );
    println!(
        "memory: {:.0} bytes per stored conversation ({} conversations, {} bytes of heap)",
        (after - before) as f64 / users as f64,
        users,
        after - before
    );
}
