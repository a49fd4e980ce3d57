//! The activity log through the real `App`: what each turn records (by content keys), the
//! bounded buffer and its flush, "gave up" counted once, `/forget-me`, and `load_report` on
//! what was recorded.

use crate::common::{app, block_on, member};
use paymedic::app::{App, ACTIVITY_BUFFER_MAX};
use paymedic::engine::insight::{ActivityKind, ActivityRow, Window};
use paymedic::engine::{Choice, Input, Timestamp};
use paymedic::insight::load_report;

fn say(app: &App, m: u64, text: &str, at: u64) {
    block_on(app.turn(
        member(1, m),
        Input::Text {
            text,
            addressed: false,
        },
        Timestamp(at),
    ))
    .unwrap();
}

fn press(app: &App, m: u64, choice: Choice, at: u64) {
    block_on(app.turn(
        member(1, m),
        Input::Choose {
            choice,
            shown_at: None,
        },
        Timestamp(at),
    ))
    .unwrap();
}

/// Flushes and reads back every row.
fn logged(app: &App, at: u64) -> Vec<ActivityRow> {
    block_on(app.flush_activity(Timestamp(at))).unwrap();
    assert_eq!(app.activity_pending(), 0);
    block_on(app.store().activity(Timestamp(0))).unwrap()
}

/// (kind, intent, step) of each row.
fn events(rows: &[ActivityRow]) -> Vec<(&'static str, Option<&str>, Option<&str>)> {
    rows.iter()
        .map(|r| (r.kind.as_str(), r.intent.as_deref(), r.step.as_deref()))
        .collect()
}

#[test]
fn a_flow_is_logged_by_content_keys_with_still_stuck_and_fixed() {
    let app = app();
    say(&app, 1, "my payment keeps getting declined", 1_000);
    press(&app, 1, Choice::Stuck, 2_000);
    press(&app, 1, Choice::Fixed, 3_000);
    // Nothing reaches the store until the flush.
    assert!(block_on(app.store().activity(Timestamp(0)))
        .unwrap()
        .is_empty());
    let rows = logged(&app, 4_000);
    let pd = Some("payment_declined");
    assert_eq!(
        events(&rows),
        vec![
            ("answered", pd, Some("where")),
            ("started", pd, None),
            ("reached", pd, Some("where")),
            ("still_stuck", pd, Some("where")),
            // "declined" in the first message answered `message`: shown, not asked.
            ("reached", pd, Some("message")),
            ("reached", pd, Some("other_method")),
            ("fixed", pd, Some("other_method")),
        ],
        "{rows:#?}"
    );
    assert!(rows[1].confidence.is_some_and(|c| c > 0.0));
    // Count-only rows name nobody and keep no text.
    assert!(rows.iter().all(|r| r.member.is_none() && r.text.is_none()));
}

#[test]
fn silent_messages_keep_masked_text_and_secrets_keep_nothing() {
    let mut app = app();
    app.config_mut().cooldown_ms = 60_000;
    say(&app, 1, "anyone know if the mall is open on sunday", 1_000);
    say(
        &app,
        2,
        "klarna declined me, my card is 4111 1111 1111 1111",
        1_000,
    );
    // Too fast: answered, then the notice, then silence.
    say(&app, 3, "klarna declined my payment", 1_000);
    say(&app, 3, "klarna declined my payment", 1_001);
    say(&app, 3, "klarna declined my payment", 1_002);
    let rows = logged(&app, 2_000);
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "out_of_scope",
            "removed",
            "answered",
            "started",
            "reached",
            "cooldown",
            "cooldown"
        ],
        "{rows:#?}"
    );
    let silent = &rows[0];
    assert_eq!(
        silent.text.as_deref(),
        Some("anyone know if the mall is open on sunday")
    );
    assert_eq!(silent.member, Some(paymedic::engine::MemberId(1)));
    assert!(silent.nearest.is_some() && silent.score.is_some());
    let removed = &rows[1];
    assert_eq!((removed.text.as_ref(), removed.member), (None, None));
    let all = format!("{rows:?}");
    assert!(!all.contains("4111"), "{all}");
}

#[test]
fn gave_up_counts_once_whether_the_sweep_or_the_next_message_finds_it() {
    let app = app();
    let idle = app.engine().settings.idle_timeout_ms;
    say(&app, 1, "my payment keeps getting declined", 0);
    say(&app, 2, "my payment keeps getting declined", 0);
    // Member 2 comes back after the timeout, before any sweep: their old flow gave up.
    say(&app, 2, "hello?", idle + 1);
    // The sweep finds member 1's; member 2's session was replaced, so it is not counted again.
    assert_eq!(block_on(app.sweep(Timestamp(idle + 2), true)).unwrap(), 1);
    assert_eq!(block_on(app.sweep(Timestamp(idle + 3), true)).unwrap(), 0);
    let rows = logged(&app, idle + 4);
    let gave_up: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == ActivityKind::GaveUp)
        .map(|r| (r.at.0, r.intent.as_deref(), r.step.as_deref()))
        .collect();
    let pd = Some("payment_declined");
    assert_eq!(
        gave_up,
        vec![(idle + 1, pd, Some("where")), (idle + 2, pd, Some("where"))]
    );
}

#[test]
fn forget_me_deletes_the_words_buffered_and_stored() {
    let app = app();
    say(&app, 1, "anyone know if the mall is open on sunday", 1_000);
    block_on(app.flush_activity(Timestamp(1_500))).unwrap();
    say(&app, 1, "what time does the mall close today", 2_000);
    say(&app, 2, "is the mall open late on friday", 2_000);
    block_on(app.forget(member(1, 1), Timestamp(3_000))).unwrap();
    let rows = logged(&app, 4_000);
    let texts: Vec<_> = rows.iter().filter_map(|r| r.text.as_deref()).collect();
    assert_eq!(texts, ["is the mall open late on friday"]);
}

#[test]
fn the_buffer_keeps_the_newest_rows_and_counts_the_dropped() {
    let app = app();
    let extra = 5;
    for i in 0..(ACTIVITY_BUFFER_MAX + extra) as u64 {
        // A card number: recorded without touching the store.
        say(&app, i, "my card 4111 1111 1111 1111", 1_000 + i);
    }
    assert_eq!(app.activity_pending(), ACTIVITY_BUFFER_MAX);
    assert_eq!(app.activity_dropped(), extra as u64);
    let rows = logged(&app, 1_000_000);
    assert_eq!(rows.len(), ACTIVITY_BUFFER_MAX);
    assert_eq!(rows[0].at, Timestamp(1_000 + extra as u64));
}

#[test]
fn load_report_reads_what_was_recorded() {
    let app = app();
    let day = 86_400_000;
    say(&app, 1, "my payment keeps getting declined", day);
    press(&app, 1, Choice::Human, day + 1_000);
    say(
        &app,
        2,
        "anyone know if the mall is open on sunday",
        day + 2_000,
    );
    block_on(app.flush_activity(Timestamp(day + 3_000))).unwrap();
    let r = block_on(load_report(
        &**app.store(),
        app.engine(),
        Window::Day,
        Timestamp(day + 3_000),
    ))
    .unwrap();
    assert_eq!(
        (
            r.messages.seen,
            r.messages.answered,
            r.messages.out_of_scope
        ),
        (2, 1, 1)
    );
    let pd = &r.intents[0];
    assert_eq!(pd.intent, "payment_declined");
    assert_eq!(
        (pd.conversations, pd.escalated, pd.resolved_without_human),
        (1, 1, 0)
    );
    assert_eq!(r.funnels[0].steps[0].step, "where");
    assert_eq!(
        (
            r.funnels[0].steps[0].reached,
            r.funnels[0].steps[0].asked_human
        ),
        (1, 1)
    );
    assert_eq!(r.unanswered.len(), 1);
    assert_eq!(r.tickets.opened, 1);
    assert_eq!(r.tickets.open_now.len(), 1);
}

#[test]
fn a_moderators_escalation_is_logged_at_the_members_step() {
    let app = app();
    say(&app, 1, "my payment keeps getting declined", 1_000);
    let staff = paymedic::app::Staff::trusted(paymedic::engine::MemberId(900));
    block_on(app.escalate(staff, member(1, 1), Some("stuck"), Timestamp(2_000), None)).unwrap();
    // Again: the ticket exists, nothing new is logged.
    block_on(app.escalate(staff, member(1, 1), Some("stuck"), Timestamp(3_000), None)).unwrap();
    let rows = logged(&app, 4_000);
    let escalated: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == ActivityKind::Escalated)
        .map(|r| (r.intent.as_deref(), r.step.as_deref()))
        .collect();
    assert_eq!(escalated, vec![(Some("payment_declined"), Some("where"))]);
}

/// A store whose `record_activity` fails while `broken` is set.
struct Broken {
    broken: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl crate::support::hooked_store::Hook for Broken {
    async fn before(&self, op: &'static str) -> paymedic::store::Result<()> {
        if op == "record_activity" && self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(paymedic::store::StoreError::Backend("disk full".into()));
        }
        Ok(())
    }
}

#[test]
fn a_failed_flush_keeps_the_rows_for_the_next_one() {
    let store = std::sync::Arc::new(crate::support::hooked_store::Hooked::new(Broken {
        broken: std::sync::atomic::AtomicBool::new(true),
    }));
    let app = App::with_store(
        crate::common::engine(),
        paymedic::config::Config::default(),
        store.clone(),
    );
    say(&app, 1, "anyone know if the mall is open on sunday", 1_000);
    say(&app, 2, "my card is 4111 1111 1111 1111", 1_000);
    assert!(block_on(app.flush_activity(Timestamp(2_000))).is_err());
    assert_eq!(app.activity_pending(), 2);
    say(&app, 3, "my card is 4111 1111 1111 1111", 3_000);
    store
        .hook
        .broken
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(block_on(app.flush_activity(Timestamp(4_000))).unwrap(), 3);
    let at: Vec<u64> = block_on(app.store().activity(Timestamp(0)))
        .unwrap()
        .iter()
        .map(|r| r.at.0)
        .collect();
    // In their order, the retried ones first.
    assert_eq!(at, [1_000, 1_000, 3_000]);
    assert_eq!(app.activity_dropped(), 0);
}
