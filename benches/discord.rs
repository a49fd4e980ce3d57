//! The release bot against the fake Discord: reply latency, a 1000-message burst, and RSS.
//!
//! `cargo bench --bench discord`. The bot runs as its own process (`paymedic run`, release
//! build) with `DISCORD_API_BASE` pointing at the fake on 127.0.0.1, so its RSS is its own.
//! Latency is from the moment the fake sends MESSAGE_CREATE to the moment it has read the
//! bot's reply POST (both on the fake's clock). Each message comes from a different member, so
//! the per-user cooldown never applies, and the channel reply cap is off (every message goes
//! to one support channel; `benches/load.rs` measures the bot with its caps on).

#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;

use fake_discord::{self as fd, FakeDiscord, FakeOptions};
use std::process::Stdio;
use std::time::Duration;
use tokio::time::Instant;

const SUPPORT: u64 = 1_300_000_000_000_000_001;
const ESCALATION: u64 = 1_300_000_000_000_000_003;
const T: Duration = Duration::from_secs(60);

const MESSAGES: [&str; 6] = [
    "klarna declined my order at asos",
    "over my spending limit and cant buy these trainers",
    "the klarna app keeps crashing when i open it",
    "my klarna account got locked, says unusual activity",
    "my bank blocked the klarna payment",
    "is klarna down? checkout keeps erroring",
];

fn rss_kb(pid: u32) -> u64 {
    proc_status_kb(pid, "VmRSS:")
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this without --bench: do a short smoke run then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 20 } else { 1000 };

    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let guild = fake.options().guild_ids[0];
    let dir = std::env::temp_dir().join(format!("paymedic-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    // The store's durability: `PAYMEDIC_BENCH_SYNC=normal` measures `synchronous = NORMAL`.
    let sync = std::env::var("PAYMEDIC_BENCH_SYNC").unwrap_or_else(|_| "full".into());
    let _ = std::fs::remove_file(dir.join("paymedic.db"));
    std::fs::write(
        &config,
        format!(
            "[discord]\nguild_ids = [{guild}]\nsupport_channels = [{SUPPORT}]\nescalation_channel = {ESCALATION}\n\n[bot]\ncooldown_seconds = 0\n\n[limits]\nchannel_replies_per_10s = 0\n\n[store]\nsynchronous = \"{sync}\"\n"
        ),
    )
    .unwrap();
    // `PAYMEDIC_BENCH_CPU=0` pins the bot to that CPU (`taskset`), as `CPUAffinity=` would.
    let pin = std::env::var("PAYMEDIC_BENCH_CPU").ok();
    let mut command = match &pin {
        Some(cpu) => {
            let mut c = tokio::process::Command::new("taskset");
            c.args(["-c", cpu, env!("CARGO_BIN_EXE_paymedic")]);
            c
        }
        None => tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic")),
    };
    let mut bot = command
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "bench-token")
        .env("DISCORD_API_BASE", fake.api_base())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn paymedic");
    let pid = bot.id().unwrap();
    fake.wait_for_ready(T).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_ready = rss_kb(pid);

    let mut user = 1_400_000_000_000_000_000u64;
    let mut message = |fake: &FakeDiscord| {
        user += 1;
        let id = fd::new_snowflake();
        let text = MESSAGES[(user % MESSAGES.len() as u64) as usize];
        (
            id,
            fd::guild_message(
                id,
                fake.options().guild_ids[0],
                SUPPORT,
                user,
                "member",
                text,
                false,
                &[],
            ),
        )
    };

    // Latency: one message at a time.
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let (id, m) = message(&fake);
        let sent = Instant::now();
        fake.dispatch("MESSAGE_CREATE", m).await;
        let reply = fake.wait_for_reply_to(id, T).await;
        latencies.push(reply.at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);

    // Burst: n messages back to back, then wait for every reply.
    let mut ids = Vec::with_capacity(n);
    let burst_start = Instant::now();
    for _ in 0..n {
        let (id, m) = message(&fake);
        ids.push(id);
        fake.dispatch("MESSAGE_CREATE", m).await;
    }
    let sent_all = burst_start.elapsed();
    let set: std::collections::HashSet<u64> = ids.iter().copied().collect();
    let is_burst_reply =
        |r: &fake_discord::Recorded| r.replied_to().is_some_and(|m| set.contains(&m));
    // Count without copying: the fake's lock must not be hogged while the replies arrive.
    fake.wait_until("every burst reply", T, |f| {
        f.count_matching(is_burst_reply) >= n
    })
    .await;
    let replies = fake.requests_matching(is_burst_reply);
    let done = replies.iter().map(|r| r.at).max().unwrap();
    let burst = done.duration_since(burst_start);
    let rss_burst = rss_kb(pid);
    let peak = proc_status_kb(pid, "VmHWM:");
    // The bot hands freed memory back once a burst is over (within about a second).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_settled = rss_kb(pid);

    if quick {
        println!("discord bench (smoke run under `cargo test`, not a measurement):");
    } else {
        println!("discord bench: {n} messages, release bot process against the fake Discord on 127.0.0.1, SQLite store with synchronous = {sync}, {}", pin.as_ref().map_or("bot not pinned".to_string(), |c| format!("bot pinned to CPU {c}")));
    }
    println!(
        "  reply latency: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    println!(
        "  burst of {n}: all sent in {:.1} ms, all {} replies in {:.1} ms",
        sent_all.as_secs_f64() * 1000.0,
        replies.len(),
        burst.as_secs_f64() * 1000.0
    );
    println!(
        "  bot RSS: {:.1} MB after READY, {:.1} MB right after the burst (peak {:.1} MB), {:.1} MB 3 s later",
        rss_ready as f64 / 1024.0,
        rss_burst as f64 / 1024.0,
        peak as f64 / 1024.0,
        rss_settled as f64 / 1024.0
    );
    let problems = fake.problems();
    assert!(problems.is_empty(), "{problems:#?}");

    // SIGTERM: the bot shuts down cleanly and exits 0.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = tokio::time::timeout(T, bot.wait())
        .await
        .expect("bot exits")
        .unwrap();
    assert!(status.success(), "bot exited with {status}");
    println!("  SIGTERM: clean exit");
}
