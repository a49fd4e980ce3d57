//! Crash safety of `chat --db`: the real binary is killed with SIGKILL at random points, 20
//! times, over one database. After each kill it restarts and checks that
//! - no ticket the member was told about is lost,
//! - no conversation goes back past its last reply,
//! - the database opens cleanly (the store runs an integrity check on open).
//!
//! A turn commits before it replies, so after a kill during line `k` the stored conversation is
//! either where the last reply left it, or one line further (committed, reply not yet seen).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_paymedic");

/// One member's lines: a flow, a request for a human, then waiting on the ticket.
const SCRIPT: &[&str] = &[
    "klarna isnt working at checkout",
    "1",
    "2",
    "still stuck",
    "talk to a human",
    "hello? anyone?",
];

struct Chat {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Chat {
    fn start(db: &std::path::Path) -> Chat {
        let mut child = Command::new(BIN)
            .args(["chat", "--db"])
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start paymedic chat");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Chat { child, lines }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Reads output until a `(session: …)` line; returns it and the lines before it.
    fn until_session(&mut self) -> (String, Vec<String>) {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no session line; output so far:\n{}", seen.join("\n")));
            if let Some(s) = line.strip_prefix("(session: ") {
                return (s.strip_suffix(')').unwrap_or(s).to_string(), seen);
            }
            seen.push(line);
        }
    }

    /// Sends one line and `/session`, and waits for both to be answered.
    fn step(&mut self, line: &str) -> (String, Vec<String>) {
        self.send(line);
        self.send("/session");
        self.until_session()
    }
}

/// Ticket numbers the member was told about in these lines.
fn promised(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.split("opened a private ticket").nth(1)?;
            let n = rest.split("ticket #").nth(1)?;
            n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        })
        .collect()
}

/// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_at_random_points_loses_no_ticket_and_no_reply() {
    let dir = std::env::temp_dir().join(format!("paymedic-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("crash.db");
    let _ = std::fs::remove_file(&db);

    // The reference: the stored state after each line, from an uninterrupted run.
    let mut reference = Vec::new();
    {
        let mut chat = Chat::start(&db);
        chat.send("/as reference");
        chat.send("/session");
        reference.push(chat.until_session().0);
        for l in SCRIPT {
            reference.push(chat.step(l).0);
        }
        drop(chat.child.stdin.take());
        assert!(chat.child.wait().unwrap().success());
    }
    assert!(
        reference[SCRIPT.len()].contains("handed_off"),
        "{reference:?}"
    );

    let seed = 0x5eed_cafe_u64;
    let mut rng = Rng(seed);
    let mut all_promised = BTreeSet::new();
    for round in 0..20 {
        let who = format!("/as member{round}");
        let kill_at = rng.below(SCRIPT.len() as u64 + 1) as usize;
        let mut chat = Chat::start(&db);
        chat.send(&who);
        chat.send("/session");
        let (mut last, _) = chat.until_session();
        assert_eq!(last, reference[0]);
        for l in &SCRIPT[..kill_at] {
            let (state, out) = chat.step(l);
            all_promised.extend(promised(&out));
            last = state;
        }
        if kill_at < SCRIPT.len() {
            chat.send(SCRIPT[kill_at]);
        }
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        chat.child.kill().unwrap();
        let _ = chat.child.wait();

        // Restart: the database opens, and the conversation is where the last reply left
        // it, or one line further.
        let mut chat = Chat::start(&db);
        chat.send(&who);
        chat.send("/session");
        let (now, _) = chat.until_session();
        let allowed = &reference[kill_at..=(kill_at + 1).min(SCRIPT.len())];
        assert!(
            now == last || allowed.contains(&now),
            "round {round} (seed {seed:#x}, killed during line {kill_at}): the conversation went \
             back.\nlast reply: {last}\nafter restart: {now}"
        );
        drop(chat.child.stdin.take());
        assert!(
            chat.child.wait().unwrap().success(),
            "round {round}: restart failed"
        );

        // Every ticket a member was told about is still there.
        let out = Command::new(BIN)
            .args(["tickets", "list", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = String::from_utf8_lossy(&out.stdout);
        for n in &all_promised {
            assert!(
                listed.lines().any(|l| l.starts_with(&format!("#{n} "))),
                "round {round} (seed {seed:#x}): ticket #{n} was promised but is gone:\n{listed}"
            );
        }
    }
    assert!(
        !all_promised.is_empty(),
        "no round got as far as a ticket; the test checked nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
