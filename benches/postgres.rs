//! The release bot on PostgreSQL, against the fake Discord: reply latency, turns per second
//! with one process and with two (shards 0-0 and 1-1 of 2 on one database), and database
//! round trips per turn.
//!
//! `cargo bench --bench postgres`, with `PAYMEDIC_BENCH_DATABASE_URL` (or, failing that,
//! `PAYMEDIC_TEST_DATABASE_URL`) naming the database; without either it prints one line and
//! skips. Everything lives in a schema of its own, dropped at the end.
//!
//! - **Latency**: as in `benches/discord.rs`, from the moment the fake sends MESSAGE_CREATE to
//!   the moment it has read the bot's reply POST, one message at a time, each from a new member.
//! - **Turns per second**: a burst of messages from new members, sent back to back, until the
//!   last reply. For two processes, each runs `--shards k-k --total-shards 2` against a fake
//!   of its own (its guild is one that shard k would carry), and the burst is split between
//!   them. Each fake answers any IDENTIFY, so this measures the bot and the database, not
//!   Discord's routing. Bots, fakes, the bench and PostgreSQL share the machine's cores.
//! - **Round trips per turn**: a third bot process reaches PostgreSQL through a TCP relay
//!   (`tests/support/pg_relay.rs`) that counts the client's request bursts (a write after an
//!   answer), counted around one turn at a time, after the reply, with a short pause for any
//!   write that follows it. The periodic jobs (every 30 s and more) may land in a window; the
//!   median is what a turn costs.

#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;
#[path = "../tests/support/pg_relay.rs"]
mod pg_relay;

use fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};
use pg_relay::PgRelay;
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;
use tokio::process::Child;
use tokio::time::Instant;

const SUPPORT: u64 = 1_300_000_000_000_000_001;
const ESCALATION: u64 = 1_300_000_000_000_000_003;
const T: Duration = Duration::from_secs(60);
/// After a turn's last answer, how long its round trips may still come in.
const SETTLE: Duration = Duration::from_millis(50);

const MESSAGES: [&str; 6] = [
    "klarna declined my order at asos",
    "over my spending limit and cant buy these trainers",
    "the klarna app keeps crashing when i open it",
    "my klarna account got locked, says unusual activity",
    "my bank blocked the klarna payment",
    "is klarna down? checkout keeps erroring",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn database_url() -> Option<String> {
    ["PAYMEDIC_BENCH_DATABASE_URL", "PAYMEDIC_TEST_DATABASE_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
}

/// `url` with `search_path` set to `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(u, _)| format!("{u}@"));
    format!("{scheme}://{user}{addr}{tail}")
}

/// A guild id that shard `k` of `total` carries (Discord: `(guild >> 22) % total`).
fn guild_on_shard(k: u64, total: u64) -> u64 {
    let mut g = 1_200_000_000_000_000_100u64;
    while (g >> 22) % total != k {
        g += 1 << 22;
    }
    g
}

struct Bot {
    fake: FakeDiscord,
    child: Child,
}

/// Starts `paymedic run` (release build) against a new fake whose one guild is `guild`.
async fn start_bot(
    dir: &Path,
    name: &str,
    guild: u64,
    db: &str,
    shards: Option<(u64, u64)>,
) -> Bot {
    let fake = FakeDiscord::start(FakeOptions {
        guild_ids: vec![guild],
        ..FakeOptions::default()
    })
    .await;
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[discord]\nguild_ids = [{guild}]\nsupport_channels = [{SUPPORT}]\nescalation_channel = {ESCALATION}\n\n[bot]\ncooldown_seconds = 0\n\n[limits]\nchannel_replies_per_10s = 0\n"
        ),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"));
    command.args(["run", "--config", config.to_str().unwrap()]);
    if let Some((k, total)) = shards {
        command.args([
            "--shards",
            &format!("{k}-{k}"),
            "--total-shards",
            &total.to_string(),
        ]);
    }
    let child = command
        .current_dir(dir)
        .env("PAYMEDIC_DATABASE_URL", db)
        .env("DISCORD_TOKEN", "bench-token")
        .env("DISCORD_API_BASE", fake.api_base())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn paymedic");
    if shards.is_some_and(|(k, _)| k != 0) {
        // Only the process with shard 0 registers the slash commands.
        fake.wait_for_session(T).await;
    } else {
        fake.wait_for_ready(T).await;
    }
    Bot { fake, child }
}

impl Bot {
    fn guild(&self) -> u64 {
        self.fake.options().guild_ids[0]
    }

    /// A new member's message; returns its id.
    async fn say(&self, member: u64, text: &str) -> u64 {
        let id = fd::new_snowflake();
        let m = fd::guild_message(
            id,
            self.guild(),
            SUPPORT,
            member,
            "member",
            text,
            false,
            &[],
        );
        self.fake.dispatch("MESSAGE_CREATE", m).await;
        id
    }

    /// Presses the button labelled `label` on `reply` as `member`; returns once the press is
    /// answered (its callback, and its follow-up if it deferred).
    async fn press(&self, reply: &Recorded, member: u64, label: &str) {
        let custom_id = reply.body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find(|b| b["label"] == label)
            .and_then(|b| b["custom_id"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no button {label:?} in {:#}", reply.body));
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let press = fd::component_interaction(
            id,
            &token,
            Some(self.guild()),
            SUPPORT,
            member,
            &[],
            &custom_id,
            reply.response.clone(),
        );
        self.fake.dispatch("INTERACTION_CREATE", press).await;
        let callback = self.fake.wait_for_interaction_callback(id, T).await;
        if matches!(callback.body["type"].as_u64(), Some(5 | 6)) {
            self.fake
                .wait_for_request(
                    |r| {
                        r.is_for_interaction_token(&token)
                            && r.method == "POST"
                            && r.route().starts_with("/webhooks/")
                    },
                    T,
                )
                .await;
        }
    }

    async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let status = tokio::time::timeout(T, self.child.wait())
            .await
            .expect("bot exits")
            .unwrap();
        assert!(status.success(), "bot exited with {status}");
        let problems = self.fake.problems();
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

/// New members, one id each.
struct Members(u64);

impl Members {
    fn next(&mut self) -> (u64, &'static str) {
        self.0 += 1;
        (self.0, MESSAGES[(self.0 % MESSAGES.len() as u64) as usize])
    }
}

/// A burst of `n` messages split evenly over `bots`, sent back to back (interleaved); turns
/// per second from the first send to the last reply.
async fn burst(bots: &[&Bot], n: usize, members: &mut Members) -> f64 {
    let mut ids: Vec<Vec<u64>> = vec![Vec::new(); bots.len()];
    let start = Instant::now();
    for i in 0..n {
        let (member, text) = members.next();
        let b = i % bots.len();
        ids[b].push(bots[b].say(member, text).await);
    }
    let mut done = start;
    for (bot, ids) in bots.iter().zip(&ids) {
        let set: std::collections::HashSet<u64> = ids.iter().copied().collect();
        let is_reply = |r: &Recorded| r.replied_to().is_some_and(|m| set.contains(&m));
        bot.fake
            .wait_until("every burst reply", T, |f| {
                f.count_matching(is_reply) >= ids.len()
            })
            .await;
        let last = bot
            .fake
            .requests_matching(is_reply)
            .iter()
            .map(|r| r.at)
            .max()
            .unwrap();
        done = done.max(last);
    }
    n as f64 / done.duration_since(start).as_secs_f64()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn spread(v: &[u64]) -> String {
    format!(
        "median {}, min {}, max {}, mean {:.2} over {} turns",
        median(v.to_vec()),
        v.iter().min().unwrap(),
        v.iter().max().unwrap(),
        v.iter().sum::<u64>() as f64 / v.len() as f64,
        v.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(url) = database_url() else {
        println!("postgres bench: skipped (set PAYMEDIC_BENCH_DATABASE_URL or PAYMEDIC_TEST_DATABASE_URL to run it)");
        return;
    };
    // `cargo test --benches` runs this without --bench: do a short smoke run then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (n, per_burst, trips) = if quick {
        (10, 20, 5)
    } else {
        (1000, 1000, 100)
    };

    let schema = format!("paymedic_bench_{}", std::process::id());
    let setup = paymedic::store::postgres::PgStore::connect_in(&url, Some(&schema))
        .await
        .expect("connect to PostgreSQL and create the bench schema");
    let db = in_schema(&url, &schema);
    let dir = std::env::temp_dir().join(format!("paymedic-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut members = Members(1_400_000_000_000_000_000);

    // One process: latency, then a burst.
    let one = start_bot(&dir, "one", guild_on_shard(0, 1), &db, None).await;
    for _ in 0..20.min(n) {
        let (m, text) = members.next();
        let id = one.say(m, text).await;
        one.fake.wait_for_reply_to(id, T).await;
    }
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let (m, text) = members.next();
        let sent = Instant::now();
        let id = one.say(m, text).await;
        let reply = one.fake.wait_for_reply_to(id, T).await;
        latencies.push(reply.at.duration_since(sent).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let one_rate = burst(&[&one], per_burst, &mut members).await;
    one.stop().await;

    // Two processes, one shard each, on the same database.
    let a = start_bot(&dir, "shard0", guild_on_shard(0, 2), &db, Some((0, 2))).await;
    let b = start_bot(&dir, "shard1", guild_on_shard(1, 2), &db, Some((1, 2))).await;
    for bot in [&a, &b] {
        for _ in 0..10 {
            let (m, text) = members.next();
            let id = bot.say(m, text).await;
            bot.fake.wait_for_reply_to(id, T).await;
        }
    }
    let two_rate = burst(&[&a, &b], per_burst, &mut members).await;
    a.stop().await;
    b.stop().await;

    // Round trips, through the counting relay.
    let upstream = {
        let o = sqlx::postgres::PgConnectOptions::from_str(&url).expect("a postgres:// URL");
        let host = o.get_host().to_string();
        tokio::net::lookup_host((host, o.get_port()))
            .await
            .expect("resolve the database host")
            .next()
            .expect("an address")
    };
    let relay = PgRelay::start(upstream).await;
    let counted = start_bot(
        &dir,
        "counted",
        guild_on_shard(0, 1),
        &through(&db, relay.addr()),
        None,
    )
    .await;
    for _ in 0..10 {
        let (m, text) = members.next();
        let id = counted.say(m, text).await;
        counted.fake.wait_for_reply_to(id, T).await;
    }
    let mut messages = Vec::with_capacity(trips);
    let mut presses = Vec::with_capacity(trips);
    let mut last = (Vec::new(), Vec::new());
    for _ in 0..trips {
        let (m, _) = members.next();
        tokio::time::sleep(SETTLE).await;
        let before = relay.bursts();
        let id = counted.say(m, "klarna declined my order at asos").await;
        let reply = counted.fake.wait_for_reply_to(id, T).await;
        tokio::time::sleep(SETTLE).await;
        let between = relay.bursts();
        counted.press(&reply, m, "In a web browser").await;
        tokio::time::sleep(SETTLE).await;
        let after = relay.bursts();
        messages.push(between - before);
        presses.push(after - between);
        let labels = relay.labels(before);
        let split = (between - before) as usize;
        last = (labels[..split].to_vec(), labels[split..].to_vec());
    }
    counted.stop().await;

    if quick {
        println!("postgres bench (smoke run under `cargo test`, not a measurement):");
    } else {
        println!("postgres bench: release bot processes against fakes of Discord on 127.0.0.1, PostgreSQL store at {}", paymedic::store::postgres::target_of(&url).unwrap_or_default());
    }
    println!(
        "  reply latency ({n} messages, one at a time, one process): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    println!("  turns per second, burst of {per_burst}: one process {one_rate:.0}/s; two processes (shards 0-0 and 1-1 of 2, one database) {two_rate:.0}/s");
    println!(
        "  PostgreSQL round trips per turn: a plain answered message: {}",
        spread(&messages)
    );
    println!(
        "  PostgreSQL round trips per turn: a button press (the flow's next step): {}",
        spread(&presses)
    );

    for (kind, labels) in [("message", &last.0), ("press", &last.1)] {
        println!("  the last {kind}'s round trips, by first statement:");
        for l in labels {
            println!("    {l}");
        }
    }

    setup.drop_schema(&schema).await.unwrap();
    setup.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
