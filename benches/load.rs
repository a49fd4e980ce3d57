//! Load: 10,000 messages from 2,000 members within 10 s, through the fake Discord, to the
//! release bot. Every message must end answered exactly once or deliberately throttled.
//!
//! `cargo bench --bench load`. The bot runs as its own process (`paymedic run`, release build)
//! with `DISCORD_API_BASE` pointing at the fake on 127.0.0.1, with the default settings for
//! the cooldown (2 s) and the channel reply cap (20 replies per channel per 10 s), and its
//! SQLite store in a temp folder.
//!
//! The traffic: each member sends 5 support questions at random moments of the 10 s. Four in
//! five members write to the bot in DMs; the fifth writes in one of four support channels, so
//! 2,000 messages (500 a channel) meet the channel cap: that part is a raid, and it is meant
//! to be capped. `PAYMEDIC_LOAD_CAP=N` sets `[limits] channel_replies_per_10s` (0: off).
//!
//! Accounting, per message id, each in exactly one bucket:
//! - a reply (the fake records replies with `message_reference`): the cooldown notice (by its
//!   text) or an answer. Two replies to one message is a duplicate and fails the bench.
//! - no reply: the bot says why, one debug log line per message id (`paymedic::tally`):
//!   `cooldown_silenced`, `channel_capped`, `shed`, `quiet`, `failed`. A message with no reply
//!   and no such line is lost and fails the bench.
//!
//! At shutdown the bot logs its own totals per bucket; they must equal the bench's.
//! Latency is from the moment the fake sends MESSAGE_CREATE to the moment it has read the
//! bot's reply POST (both on the fake's clock). RSS is read from /proc.

#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;

use fake_discord::{self as fd, FakeDiscord, FakeOptions};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const ESCALATION: u64 = 1_300_000_000_000_000_003;
const CHANNEL_BASE: u64 = 1_300_000_000_000_000_100;
const DM_BASE: u64 = 1_310_000_000_000_000_000;
const MEMBER_BASE: u64 = 1_400_000_000_000_000_000;
const T: Duration = Duration::from_secs(120);

const MESSAGES: [&str; 12] = [
    "klarna declined my order at asos",
    "over my spending limit and cant buy these trainers",
    "the klarna app keeps crashing when i open it",
    "my klarna account got locked, says unusual activity",
    "my bank blocked the klarna payment",
    "is klarna down? checkout keeps erroring",
    "why was my pay in 3 declined when i have money in my account",
    "payment failed at checkout, card expired last month i think",
    "it says i'm not eligible for pay later, why?",
    "the app says update required and won't let me pay",
    "klarna wont accept my card, keeps saying try another one",
    "order declined even though my limit shows 300",
];

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// xorshift64*: reproducible traffic without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One planned message.
struct Planned {
    at: Duration,
    member: u64,
    /// `None`: a DM.
    channel: Option<u64>,
    text: &'static str,
}

/// `key=value` pairs of a log line (values unquoted).
fn fields(line: &str) -> HashMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"')))
        .collect()
}

#[derive(Default)]
struct BotLog {
    /// Message id → buckets the bot logged for it (one expected).
    unreplied: HashMap<u64, Vec<String>>,
    /// The bot's own totals, from its shutdown line.
    totals: Option<BTreeMap<String, u64>>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this without --bench: a short smoke run then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (members, per_member, spread) = if quick {
        (20u64, 3u64, Duration::from_millis(500))
    } else {
        (2000, 5, Duration::from_secs(10))
    };
    let channels: Vec<u64> = (0..4).map(|i| CHANNEL_BASE + i).collect();
    let cap: u32 = std::env::var("PAYMEDIC_LOAD_CAP")
        .ok()
        .map(|v| v.parse().expect("PAYMEDIC_LOAD_CAP is a number"))
        // The smoke run caps at 1, so that it goes through the cap and the notice too.
        .unwrap_or(if quick { 1 } else { 20 });

    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let guild = fake.options().guild_ids[0];
    let dir = std::env::temp_dir().join(format!("paymedic-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("paymedic.db"));
    let config = dir.join("config.toml");
    let support = channels
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &config,
        format!(
            "[discord]\nguild_ids = [{guild}]\nsupport_channels = [{support}]\nescalation_channel = {ESCALATION}\n\n[limits]\nchannel_replies_per_10s = {cap}\n"
        ),
    )
    .unwrap();
    for c in &channels {
        fake.add_channel(fd::guild_text_channel(*c, guild, &format!("support-{c}")));
    }
    for m in 0..members {
        fake.add_channel(fd::dm_channel(
            DM_BASE + m,
            MEMBER_BASE + m,
            &format!("member{m}"),
        ));
    }

    let mut bot = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
        .args(["run", "--config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", "bench-token")
        .env("DISCORD_API_BASE", fake.api_base())
        // Per-message accounting for the messages that get no reply, and the totals.
        .env("RUST_LOG", "warn,paymedic::tally=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn paymedic");
    let pid = bot.id().unwrap();
    let log = Arc::new(Mutex::new(BotLog::default()));
    let stderr = bot.stderr.take().unwrap();
    let reader = {
        let log = log.clone();
        // A plain thread: the bot's log must be drained whatever the runtime is doing.
        let stderr = stderr.into_owned_fd().unwrap();
        std::thread::spawn(move || {
            let lines = std::io::BufReader::new(std::fs::File::from(stderr)).lines();
            for line in lines.map_while(Result::ok) {
                if !line.contains("paymedic::tally") {
                    eprintln!("{line}");
                    continue;
                }
                let f = fields(&line);
                let mut log = log.lock().unwrap();
                if line.contains("message tally:") {
                    log.totals = Some(
                        f.iter()
                            .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                            .collect(),
                    );
                } else if let (Some(id), Some(bucket)) = (f.get("message_id"), f.get("bucket")) {
                    let id: u64 = id.parse().expect("message id");
                    log.unreplied
                        .entry(id)
                        .or_default()
                        .push(bucket.to_string());
                }
            }
        })
    };
    fake.wait_for_ready(T).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_ready = proc_status_kb(pid, "VmRSS:");

    // The plan: every member's messages at random moments of the spread, in time order.
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut plan: Vec<Planned> = Vec::new();
    for m in 0..members {
        let channel = (m % 5 == 4).then(|| channels[(m / 5) as usize % channels.len()]);
        for _ in 0..per_member {
            plan.push(Planned {
                at: Duration::from_micros(rng.below(spread.as_micros() as u64)),
                member: MEMBER_BASE + m,
                channel,
                text: MESSAGES[rng.below(MESSAGES.len() as u64) as usize],
            });
        }
    }
    plan.sort_by_key(|p| p.at);
    let n = plan.len();

    // Send on schedule; a late sender sends at once (and the send duration says so).
    let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(n);
    let start = Instant::now();
    for p in &plan {
        tokio::time::sleep_until(start + p.at).await;
        let id = fd::new_snowflake();
        let m = p.member - MEMBER_BASE;
        let payload = match p.channel {
            Some(c) => fd::guild_message(
                id,
                guild,
                c,
                p.member,
                &format!("member{m}"),
                p.text,
                false,
                &[],
            ),
            None => fd::dm_message(id, DM_BASE + m, p.member, &format!("member{m}"), p.text),
        };
        sent_at.insert(id, Instant::now());
        fake.dispatch("MESSAGE_CREATE", payload).await;
    }
    let send_duration = start.elapsed();

    // Done when every message has a reply or a logged reason.
    let ids: Vec<u64> = sent_at.keys().copied().collect();
    let settled = |fake: &FakeDiscord| {
        let replied =
            fake.count_matching(|r| r.replied_to().is_some_and(|m| sent_at.contains_key(&m)));
        let log = log.lock().unwrap();
        replied + log.unreplied.len() >= n
    };
    let wait = Instant::now();
    while !settled(&fake) && wait.elapsed() < T {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A little longer, so a late duplicate would be seen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak = proc_status_kb(pid, "VmHWM:");
    let rss_end = proc_status_kb(pid, "VmRSS:");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = proc_status_kb(pid, "VmRSS:");

    // SIGTERM: the bot logs its totals and exits 0.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = tokio::time::timeout(T, bot.wait())
        .await
        .expect("bot exits")
        .unwrap();
    reader.join().unwrap();
    assert!(status.success(), "bot exited with {status}");

    // Accounting.
    let slow_down = paymedic::engine::Engine::embedded()
        .content
        .copy
        .slow_down
        .clone();
    let replies = fake.requests_matching(|r| r.replied_to().is_some());
    let mut by_message: HashMap<u64, Vec<&fake_discord::Recorded>> = HashMap::new();
    for r in &replies {
        if let Some(m) = r.replied_to().filter(|m| sent_at.contains_key(m)) {
            by_message.entry(m).or_default().push(r);
        }
    }
    let log = log.lock().unwrap();
    let mut buckets: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    let (mut lost, mut duplicates, mut both) = (0u64, 0u64, 0u64);
    let mut first_reply: Option<Instant> = None;
    let mut last_reply: Option<Instant> = None;
    for id in &ids {
        let got = by_message.get(id).map_or(&[][..], |v| &v[..]);
        let logged = log.unreplied.get(id).map_or(&[][..], |v| &v[..]);
        if got.len() > 1 || logged.len() > 1 {
            duplicates += 1;
        }
        match (got.first(), logged.first()) {
            (Some(r), None) => {
                let notice = r.body["content"].as_str() == Some(slow_down.as_str());
                let b = if notice {
                    "cooldown_notice"
                } else {
                    "answered"
                };
                *buckets.entry(b.into()).or_default() += 1;
                latencies.push(r.at.duration_since(sent_at[id]).as_secs_f64() * 1000.0);
                first_reply = Some(first_reply.map_or(r.at, |f| f.min(r.at)));
                last_reply = Some(last_reply.map_or(r.at, |l| l.max(r.at)));
            }
            (None, Some(b)) => *buckets.entry(b.clone()).or_default() += 1,
            (Some(_), Some(_)) => both += 1,
            (None, None) => lost += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let notices = fake.count_matching(|r| r.is_message_to(ESCALATION));
    let get = |k: &str| buckets.get(k).copied().unwrap_or(0);
    let answered = get("answered");
    let throttled = get("cooldown_notice") + get("cooldown_silenced") + get("channel_capped");
    let until_last = last_reply.map_or(Duration::ZERO, |l| l.duration_since(start));

    if quick {
        println!("load bench (smoke run under `cargo test`, not a measurement):");
    } else {
        println!(
            "load bench: {n} messages from {members} members within {:.0} s, release bot against the fake Discord on 127.0.0.1, SQLite store (synchronous = full), cooldown 2 s, channel cap {cap} replies per 10 s ({} support channels, 1 member in 5 writes there, the rest in DMs)",
            spread.as_secs_f64(),
            channels.len()
        );
    }
    println!(
        "  sent {n} in {:.2} s (planned {:.1} s)",
        send_duration.as_secs_f64(),
        spread.as_secs_f64()
    );
    println!(
        "  answered {answered}, throttled {throttled} (cooldown notice {}, cooldown silenced {}, channel capped {}), shed {}, quiet {}, failed {}, secret removed {}",
        get("cooldown_notice"),
        get("cooldown_silenced"),
        get("channel_capped"),
        get("shed"),
        get("quiet"),
        get("failed"),
        get("secret_removed")
    );
    println!("  lost {lost}, duplicates {duplicates}, both replied and logged {both}; moderator notices {notices}");
    println!(
        "  throughput: {:.0} messages settled/s over the send window, {:.0} replies/s (first to last reply {:.2} s; last reply {:.2} s after the first send)",
        (answered + throttled + get("shed")) as f64 / until_last.max(send_duration).as_secs_f64(),
        latencies.len() as f64
            / last_reply
                .zip(first_reply)
                .map_or(f64::NAN, |(l, f)| l.duration_since(f).as_secs_f64()),
        last_reply
            .zip(first_reply)
            .map_or(f64::NAN, |(l, f)| l.duration_since(f).as_secs_f64()),
        until_last.as_secs_f64()
    );
    println!(
        "  reply latency (MESSAGE_CREATE → reply POST, fake's clock): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  bot RSS: {:.1} MB after READY, peak {:.1} MB (VmHWM), {:.1} MB at the end, {:.1} MB 3 s later",
        rss_ready as f64 / 1024.0,
        peak as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    let totals = log
        .totals
        .clone()
        .expect("the bot logged its totals at shutdown");
    println!("  the bot's own tally: {totals:?}");

    assert_eq!(lost, 0, "messages with neither a reply nor a logged reason");
    assert_eq!(duplicates, 0, "messages answered or logged twice");
    assert_eq!(both, 0, "messages both answered and logged as unanswered");
    for (k, v) in &totals {
        assert_eq!(
            get(k),
            *v,
            "bucket {k}: the bench counted {}, the bot {v}",
            get(k)
        );
    }
    assert_eq!(
        totals.values().sum::<u64>(),
        n as u64,
        "the bot's tally covers every message"
    );
    // One notice per capped channel at most (one raid each).
    assert!(notices <= channels.len(), "{notices} moderator notices");
    let problems = fake.problems();
    assert!(problems.is_empty(), "{problems:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}
