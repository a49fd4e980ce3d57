//! Scale-out (issue 11): two real `paymedic run` processes, `--shards 0-0` and `--shards 1-1`
//! of `--total-shards 2`, against one fake Discord and one PostgreSQL schema.
//!
//! The fake routes as Discord does: guild [`GUILD_A`]'s events to shard 0, [`GUILD_B`]'s to
//! shard 1, DMs to shard 0. Which process handled what is read from each process's own
//! message tally, logged when it stops on SIGTERM, so "each exactly once" is counted after
//! both are stopped, not guessed from a grace period.
//!
//! The tests here take turns ([`TURN`]): each process spends about 3.5 s of CPU loading the
//! content pack (debug build), and six at once on a loaded two-core machine starved each
//! other past the start-up wait.
//!
//! Skipped (one printed line) when `PAYMEDIC_TEST_DATABASE_URL` is unset.

use super::{
    answer_on, button, text_of, ticket_posts_on, OpenedTicket, ALICE, BOB, ESCALATION, MOD,
    MOD_ROLE, SUPPORT, SUPPORT_ROLE, T,
};
use crate::support::fake_discord::{self as fd, FakeDiscord, FakeOptions, Recorded};
use paymedic::engine::tickets::TicketStatus;
use paymedic::engine::{GuildId, MemberId, UserKey};
use paymedic::store::postgres::PgStore;
use paymedic::store::{Store, TicketFilter};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// `>> 22` even: shard 0 of 2 (process 0).
const GUILD_A: u64 = 310_000_000_000 << 22;
/// `>> 22` odd: shard 1 of 2 (process 1).
const GUILD_B: u64 = 310_000_000_001 << 22;
const CAROL: u64 = 1_300_000_000_000_000_013;
const DAVE: u64 = 1_300_000_000_000_000_014;

/// What a process logs when it becomes the leader (runs the ticket timers and retention).
const LEADING: &str = "leader: this process runs the scheduled jobs";

/// One fleet at a time (see the module doc).
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a process may take from spawn to set up: loading the content pack is CPU-bound,
/// and the whole suite shares the machine's cores meanwhile.
const START: Duration = Duration::from_secs(60);

/// One `paymedic run` process and the file its stderr goes to.
struct Process {
    child: tokio::process::Child,
    log: PathBuf,
}

/// The fake, the shared schema, and the two processes (`procs[i]` runs shard `i`).
struct Fleet {
    fake: FakeDiscord,
    schema: String,
    /// The schema's own store, to look at what the processes committed.
    store: PgStore,
    dir: PathBuf,
    config: PathBuf,
    procs: [Option<Process>; 2],
    /// Processes started so far, for log file names.
    started: usize,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Fleet {
    /// A migrated schema of its own, the fake (2 shards, [`GUILD_A`] and [`GUILD_B`]), and both
    /// processes connected. `None` without a test database.
    async fn start(test: &str) -> Option<Fleet> {
        Fleet::start_with(test, "").await
    }

    /// [`Fleet::start`] with `tickets` as the config's `[tickets]` section.
    async fn start_with(test: &str, tickets: &str) -> Option<Fleet> {
        let url = crate::store_contract::postgres_url()?;
        let turn = TURN.lock().await;
        let schema = crate::store_contract::fresh_schema();
        // Created and migrated here, before two processes would race to do it.
        let store = PgStore::connect_in(&url, Some(&schema))
            .await
            .unwrap_or_else(|e| panic!("PAYMEDIC_TEST_DATABASE_URL is set, but: {e}"));
        let sep = if url.contains('?') { '&' } else { '?' };
        let db = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        let dir = std::env::temp_dir().join(format!(
            "paymedic-multiprocess-{test}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[discord]\n\
                 guild_ids = [{GUILD_A}, {GUILD_B}]\n\
                 support_channels = [{SUPPORT}]\n\
                 escalation_channel = {ESCALATION}\n\
                 support_role = {SUPPORT_ROLE}\n\
                 moderator_roles = [{MOD_ROLE}]\n\
                 [bot]\n\
                 cooldown_seconds = 0\n\
                 [store]\n\
                 url = \"{db}\"\n\
                 leader_check_secs = 1\n\
                 [tickets]\n\
                 {tickets}\n"
            ),
        )
        .unwrap();
        let fake = FakeDiscord::start(FakeOptions {
            guild_ids: vec![GUILD_A, GUILD_B],
            total_shards: 2,
            ..FakeOptions::default()
        })
        .await;
        let mut fleet = Fleet {
            fake,
            schema,
            store,
            dir,
            config,
            procs: [None, None],
            started: 0,
            _turn: turn,
        };
        fleet.spawn(&[0, 1]).await;
        Some(fleet)
    }

    /// Starts the processes for `shards` and waits until each has IDENTIFYed anew and its
    /// session is live, and the one running shard 0 registered the commands in both guilds
    /// (only it does). Poise holds events until a process's setup is done, so dispatching
    /// after this is safe.
    async fn spawn(&mut self, shards: &[u64]) {
        let identified = |f: &FakeDiscord, i: u64| {
            f.identified_shards()
                .iter()
                .filter(|s| **s == [i, 2])
                .count()
        };
        let before: Vec<usize> = shards.iter().map(|i| identified(&self.fake, *i)).collect();
        let puts = self.fake.command_put_count();
        for &i in shards {
            self.started += 1;
            let log = self.dir.join(format!("shard{i}-run{}.log", self.started));
            let stderr = std::fs::File::create(&log).unwrap();
            let range = format!("{i}-{i}");
            let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_paymedic"))
                .args(["run", "--config", self.config.to_str().unwrap()])
                .args(["--shards", &range, "--total-shards", "2"])
                .env("DISCORD_TOKEN", "not-a-real-token")
                .env("DISCORD_API_BASE", self.fake.api_base())
                .env_remove("PAYMEDIC_DATABASE_URL")
                .env_remove("RUST_LOG")
                .stdout(std::process::Stdio::null())
                .stderr(stderr)
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            self.procs[i as usize] = Some(Process { child, log });
        }
        let what = format!("processes for shards {shards:?} identified, live and set up");
        self.fake
            .wait_until(&what, START, |f| {
                shards
                    .iter()
                    .zip(&before)
                    .all(|(i, n)| identified(f, *i) > *n && f.shard_live(*i))
                    && f.command_put_count() >= puts + if shards.contains(&0) { 2 } else { 0 }
            })
            .await;
    }

    /// SIGKILLs process `shard` (no shutdown of any kind) and waits until it is gone.
    async fn kill(&mut self, shard: u64) {
        let mut p = self.procs[shard as usize].take().expect("running");
        p.child.start_kill().unwrap();
        let status = tokio::time::timeout(T, p.child.wait())
            .await
            .expect("a SIGKILLed process exits")
            .unwrap();
        assert!(!status.success(), "{status:?}");
    }

    /// Stops both processes with SIGTERM, as an admin would, and returns each one's answered
    /// count from the message tally it logs at shutdown, by shard. After this nothing more can
    /// be sent, so counting replies is final.
    async fn stop(&mut self) -> [u64; 2] {
        let mut answered = [0; 2];
        for (i, slot) in self.procs.iter_mut().enumerate() {
            let mut p = slot.take().expect("running");
            let pid = p.child.id().expect("running").to_string();
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap();
            assert!(sent.success());
            let status = tokio::time::timeout(T, p.child.wait())
                .await
                .expect("exits after SIGTERM")
                .unwrap();
            let log = std::fs::read_to_string(&p.log).unwrap_or_default();
            assert!(status.success(), "shard {i}: {status:?}\n{log}");
            assert!(
                !log.contains("not-a-real-token"),
                "the token was logged: {log}"
            );
            answered[i] = tally(&log, "answered")
                .unwrap_or_else(|| panic!("shard {i} logged no message tally:\n{log}"));
        }
        answered
    }

    /// Waits until the processes together logged `drops` events dropped because the other
    /// process claimed them, or `twice` holds (an event was answered twice: the caller's
    /// count then fails at once instead of after a timeout).
    async fn settled(&self, drops: usize, twice: impl Fn(&FakeDiscord) -> bool) {
        // "dropped an event another process claimed" (an interaction, at the gate) or "dropped a
        // message another process claimed" (a message, with its first read).
        let dropped = "another process claimed";
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let logs: Vec<String> = self
                .procs
                .iter()
                .flatten()
                .map(|p| std::fs::read_to_string(&p.log).unwrap_or_default())
                .collect();
            let seen: usize = logs.iter().map(|l| l.matches(dropped).count()).sum();
            if seen >= drops || twice(&self.fake) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{seen} of {drops} events logged as {dropped:?}:\n{}",
                logs.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Process `shard`'s log so far.
    fn log(&self, shard: u64) -> String {
        let p = self.procs[shard as usize].as_ref().expect("running");
        std::fs::read_to_string(&p.log).unwrap_or_default()
    }

    /// Waits until process `shard`'s log holds `needle`.
    async fn wait_for_log(&self, shard: u64, needle: &str) {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let text = self.log(shard);
            if text.contains(needle) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "shard {shard} never logged {needle:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The shard of the process that leads (logged the leader line), once one does; panics
    /// if both say they lead.
    async fn leader(&self) -> u64 {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let leading: Vec<u64> = [0, 1]
                .into_iter()
                .filter(|i| self.log(*i).contains(LEADING))
                .collect();
            match leading.as_slice() {
                [one] => return *one,
                [] => assert!(
                    tokio::time::Instant::now() < deadline,
                    "no process leads:\n{}\n{}",
                    self.log(0),
                    self.log(1)
                ),
                _ => panic!("two leaders:\n{}\n{}", self.log(0), self.log(1)),
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A member's message in the support channel of `guild`, routed by the fake; its id.
    async fn say(&self, guild: u64, author: u64, content: &str) -> u64 {
        let id = fd::new_snowflake();
        let msg = fd::guild_message(id, guild, SUPPORT, author, "member", content, false, &[]);
        self.fake.dispatch("MESSAGE_CREATE", msg).await;
        id
    }

    /// A press by `user` (with `roles`) on `message` in `channel` of `guild`, delivered on
    /// `shard` (`None`: where Discord would route it). Returns the interaction's callback.
    #[allow(clippy::too_many_arguments)]
    async fn press(
        &self,
        shard: Option<u64>,
        guild: u64,
        channel: u64,
        message: &Value,
        user: u64,
        roles: &[u64],
        custom_id: &str,
    ) -> Recorded {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let press = fd::component_interaction(
            id,
            &token,
            Some(guild),
            channel,
            user,
            roles,
            custom_id,
            message.clone(),
        );
        self.interact(shard, id, press).await
    }

    async fn interact(&self, shard: Option<u64>, id: u64, interaction: Value) -> Recorded {
        match shard {
            Some(s) => {
                self.fake
                    .dispatch_to_shard(s, "INTERACTION_CREATE", interaction)
                    .await;
            }
            None => {
                self.fake.dispatch("INTERACTION_CREATE", interaction).await;
            }
        }
        self.fake.wait_for_interaction_callback(id, T).await
    }

    /// `/ticket close` by the moderator in a ticket's thread, delivered on `shard`.
    async fn close_ticket(&self, shard: u64, thread: u64, reason: &str) -> Value {
        let id = fd::new_snowflake();
        let token = format!("tok{id}");
        let close = json!([{"name": "close", "type": 1, "options": [
            {"name": "reason", "type": 3, "value": reason}
        ]}]);
        let i = fd::slash_interaction(
            id,
            &token,
            Some(GUILD_A),
            thread,
            MOD,
            &[MOD_ROLE],
            "ticket",
            close,
        );
        let callback = self.interact(Some(shard), id, i).await;
        answer_on(&self.fake, &callback).await
    }

    /// A member of [`GUILD_A`] asks for a human: their message, then "Talk to a human".
    async fn open_ticket(&self, member: u64) -> OpenedTicket {
        let id = self
            .say(GUILD_A, member, "klarna declined my order at asos")
            .await;
        let reply = self.fake.wait_for_reply_to(id, T).await;
        let human = button(&reply.body, "Talk to a human");
        let pressed = self
            .press(None, GUILD_A, SUPPORT, &reply.response, member, &[], &human)
            .await;
        let told = answer_on(&self.fake, &pressed).await;
        ticket_posts_on(&self.fake, told).await
    }

    /// The member's one ticket in [`GUILD_A`], as stored.
    async fn ticket_of(&self, member: u64) -> paymedic::engine::tickets::Ticket {
        let all = self.store.tickets(&TicketFilter::default()).await.unwrap();
        let mut theirs: Vec<_> = all.into_iter().filter(|t| t.member.0 == member).collect();
        assert_eq!(theirs.len(), 1, "{theirs:#?}");
        theirs.remove(0)
    }

    /// Every message id in `ids` got exactly one reply (call after [`Fleet::stop`]).
    fn assert_one_reply_each(&self, ids: &[u64]) {
        for id in ids {
            let replies = self
                .fake
                .count_matching(|r| r.replied_to() == Some(*id) && r.status == 200);
            assert_eq!(replies, 1, "message {id} got {replies} replies");
        }
    }

    /// The end of a passing test: the fake saw nothing unexpected, every message the bot sent
    /// mentions no one, and the schema is dropped.
    async fn finish(self) {
        self.fake.assert_clean();
        super::assert_every_message_mentions_none(&self.fake);
        self.store.drop_schema(&self.schema).await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Fleet {
    /// On a failure, each process's log says what it did.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
                if entry.path().extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    eprintln!("--- {}\n{text}", entry.path().display());
                }
            }
        }
    }
}

/// `name=N` from the last "message tally:" line of a process's log.
fn tally(log: &str, name: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains("message tally:"))?;
    let key = format!("{name}=");
    line.split_whitespace()
        .find_map(|w| w.trim_matches('"').strip_prefix(&key)?.parse().ok())
}

/// Members in guilds on both shards are each answered once, by their shard's process. A
/// ticket opened through process 0 (guild A, shard 0) is closed by `/ticket close` delivered
/// to process 1: it ends closed in the store, and the member is back with the bot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shard_answers_its_members_and_a_ticket_opened_on_one_process_closes_on_the_other() {
    let Some(mut fleet) = Fleet::start("close").await else {
        return;
    };
    let on_a = fleet
        .say(GUILD_A, BOB, "my klarna app keeps crashing on checkout")
        .await;
    let on_b = fleet
        .say(GUILD_B, BOB, "my klarna app keeps crashing on checkout")
        .await;
    fleet.fake.wait_for_reply_to(on_a, T).await;
    fleet.fake.wait_for_reply_to(on_b, T).await;

    let t = fleet.open_ticket(ALICE).await;
    assert_eq!(fleet.ticket_of(ALICE).await.status, TicketStatus::Open);
    let alice = UserKey::new(GuildId(GUILD_A), MemberId(ALICE));
    let session = fleet.store.session(alice).await.unwrap().expect("stored");
    assert!(session.is_handed_off(), "{session:#?}");

    let said = fleet.close_ticket(1, t.thread, "sorted").await;
    assert!(text_of(&said).contains("closed"), "{said:#}");
    let ticket = fleet.ticket_of(ALICE).await;
    assert_eq!(ticket.status, TicketStatus::Closed, "{ticket:#?}");
    assert_eq!(ticket.closed_by, Some(MemberId(MOD)));
    let thread_route = format!("/channels/{}", t.thread);
    let archive = fleet
        .fake
        .wait_for_request(|r| r.is("PATCH", &thread_route), T)
        .await;
    assert_eq!(archive.body["archived"], json!(true), "{:#}", archive.body);

    // Back with the bot: process 0 answers her again, with the flow's first step.
    let session = fleet.store.session(alice).await.unwrap();
    assert!(
        !session.as_ref().is_some_and(|s| s.is_handed_off()),
        "{session:#?}"
    );
    let again = fleet
        .say(GUILD_A, ALICE, "klarna declined my order at asos")
        .await;
    let reply = fleet.fake.wait_for_reply_to(again, T).await;
    assert!(
        text_of(&reply.body).contains("Where are you paying?"),
        "{:#}",
        reply.body
    );

    let asked = fleet
        .fake
        .requests_matching(|r| r.replied_to().is_some())
        .len();
    let answered = fleet.stop().await;
    // Shard 0: BOB's message in A, ALICE's first message, ALICE's message after the close;
    // shard 1: BOB's message in B.
    assert_eq!(answered, [3, 1], "answered by shard");
    assert_eq!(asked, 4);
    fleet.assert_one_reply_each(&[on_a, on_b, again]);
    fleet.finish().await;
}

/// Process 0 is SIGKILLed with a member mid-flow and another member's ticket open, then
/// started again: the member carries on from the step they were at, the ticket is still open
/// (its member is still with the staff), and a moderator closes it: the Close press on
/// process 1, the modal's submit on the new process 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_and_restarted_loses_no_conversation_or_ticket() {
    let Some(mut fleet) = Fleet::start("kill").await else {
        return;
    };
    let asked = fleet
        .say(GUILD_A, ALICE, "klarna declined my order at asos")
        .await;
    let steps = fleet.fake.wait_for_reply_to(asked, T).await;
    assert!(text_of(&steps.body).contains("Where are you paying?"));
    let t = fleet.open_ticket(CAROL).await;

    fleet.kill(0).await;
    fleet.spawn(&[0]).await;

    let browser = button(&steps.body, "In a web browser");
    let next = fleet
        .press(
            None,
            GUILD_A,
            SUPPORT,
            &steps.response,
            ALICE,
            &[],
            &browser,
        )
        .await;
    let said = answer_on(&fleet.fake, &next).await;
    assert!(
        text_of(&said).contains("Does it work with a different card"),
        "{said:#}"
    );

    assert_eq!(fleet.ticket_of(CAROL).await.status, TicketStatus::Open);
    let carol = UserKey::new(GuildId(GUILD_A), MemberId(CAROL));
    let session = fleet.store.session(carol).await.unwrap().expect("stored");
    assert!(session.is_handed_off(), "{session:#?}");
    // Closed with the packet's button, the press on process 1 and the modal's submit on the
    // restarted process 0: neither step keeps anything in one process's memory.
    let close = button(&t.packet.response, "Close");
    let modal = fleet
        .press(
            Some(1),
            GUILD_A,
            t.thread,
            &t.packet.response,
            MOD,
            &[MOD_ROLE],
            &close,
        )
        .await;
    assert_eq!(modal.body["type"], json!(9), "{:#}", modal.body);
    let id = fd::new_snowflake();
    let submit = fd::modal_submit_interaction(
        id,
        &format!("tok{id}"),
        Some(GUILD_A),
        t.thread,
        MOD,
        &[MOD_ROLE],
        &close,
        &[("reason", "sorted")],
        None,
    );
    let closed = fleet.interact(Some(0), id, submit).await;
    let said = answer_on(&fleet.fake, &closed).await;
    assert!(text_of(&said).contains("closed"), "{said:#}");
    assert_eq!(fleet.ticket_of(CAROL).await.status, TicketStatus::Closed);

    let answered = fleet.stop().await;
    // The restarted process 0 answered nothing by message (the press is an interaction);
    // the first one's tally died with it. Shard 1 had no members.
    assert_eq!(answered, [0, 0], "answered by shard");
    fleet.assert_one_reply_each(&[asked]);
    fleet.finish().await;
}

/// The same message, and the same button press, delivered to both processes (as Discord may
/// during a reconnect or a deploy overlap): one reply, one interaction answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_to_both_processes_is_answered_once() {
    let Some(mut fleet) = Fleet::start("twice").await else {
        return;
    };
    let id = fd::new_snowflake();
    let msg = fd::guild_message(
        id,
        GUILD_A,
        SUPPORT,
        DAVE,
        "member",
        "klarna declined my order at asos",
        false,
        &[],
    );
    let seqs = fleet.fake.dispatch_everywhere("MESSAGE_CREATE", msg).await;
    assert_eq!(seqs.len(), 2);
    let reply = fleet.fake.wait_for_reply_to(id, T).await;
    // The loser of the claim logs its drop; until then it might still answer.
    let replies = |f: &FakeDiscord| f.count_matching(|r| r.replied_to() == Some(id));
    fleet.settled(1, |f| replies(f) > 1).await;

    let press_id = fd::new_snowflake();
    let press = fd::component_interaction(
        press_id,
        &format!("tok{press_id}"),
        Some(GUILD_A),
        SUPPORT,
        DAVE,
        &[],
        &button(&reply.body, "In a web browser"),
        reply.response.clone(),
    );
    fleet
        .fake
        .dispatch_everywhere("INTERACTION_CREATE", press)
        .await;
    let callback = fleet.fake.wait_for_interaction_callback(press_id, T).await;
    let callbacks =
        |f: &FakeDiscord| f.count_matching(|r| r.interaction_callback_id() == Some(press_id));
    fleet.settled(2, |f| callbacks(f) > 1).await;
    let said = answer_on(&fleet.fake, &callback).await;
    assert!(
        text_of(&said).contains("Does it work with a different card"),
        "{said:#}"
    );

    let answered = fleet.stop().await;
    assert_eq!(
        answered[0] + answered[1],
        1,
        "answered by shard: {answered:?}"
    );
    fleet.assert_one_reply_each(&[id]);
    let answers = callbacks(&fleet.fake);
    assert_eq!(answers, 1, "the press was answered {answers} times");
    fleet.finish().await;
}

/// The leader (one process, by a PostgreSQL advisory lock) runs the ticket timers. An SLA
/// reminder falls due while both processes run; the leader is SIGKILLed before it looked again
/// (it looks when it starts leading and every 30 s), and the survivor, taking the lead within
/// `leader_check_secs = 1`, posts the reminder, once. The killed process, started again, does
/// not lead while the survivor lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leader_is_killed_the_survivor_takes_the_ticket_timers_over() {
    // 3 s: a reminder due while both processes run, long before the leader's next 30-s look.
    let Some(mut fleet) = Fleet::start_with("leader", "sla_minutes = 0.05").await else {
        return;
    };
    let leader = fleet.leader().await;
    let survivor = 1 - leader;
    let t = fleet.open_ticket(ALICE).await;
    let opened = fleet.ticket_of(ALICE).await.opened_at.0;
    let reminders = |f: &FakeDiscord| {
        f.count_matching(|r| {
            super::posted_to(r, t.thread) && text_of(&r.body).contains("nobody has claimed")
        })
    };
    // Until the reminder is due (a deadline to wait for, not a timing assertion).
    let now = paymedic::app::now().0;
    let due = opened + 3_000 + 50;
    tokio::time::sleep(Duration::from_millis(due.saturating_sub(now))).await;
    fleet.kill(leader).await;
    assert_eq!(
        reminders(&fleet.fake),
        0,
        "the leader posted the reminder before it was killed: its 30-s look fell in the \
         moment between the due time and the kill"
    );

    fleet.wait_for_log(survivor, LEADING).await;
    fleet
        .fake
        .wait_until("the survivor's SLA reminder", T, |f| reminders(f) >= 1)
        .await;
    assert!(fleet.ticket_of(ALICE).await.sla_reminded);

    // The lock is the survivor's: the restarted process asks at start-up (before it connects)
    // and every second after, and must not lead. Absence needs a wait: two more asks.
    fleet.spawn(&[leader]).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        !fleet.log(leader).contains(LEADING),
        "{}",
        fleet.log(leader)
    );
    assert!(
        !fleet.log(survivor).contains("no longer the leader"),
        "{}",
        fleet.log(survivor)
    );

    fleet.stop().await;
    assert_eq!(reminders(&fleet.fake), 1, "one reminder, whoever leads");
    fleet.finish().await;
}
