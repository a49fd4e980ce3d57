//! Incident mode through the app and the chat: what members see while moderators have
//! announced an outage, the "notify me" list, ending it, and what survives a restart.

use crate::chat::chat;
use crate::common::{app, block_on, engine, member};
use crate::store_contract::TempDir;
use paymedic::app::{App, IncidentError, Staff, INCIDENT_CACHE_MS};
use paymedic::config::Config;
use paymedic::engine::incident::SHORT_STEPS;
use paymedic::engine::{Effect, Input, MemberId, Timestamp};
use paymedic::store::memory::MemoryStore;
use paymedic::store::{Started, Store, Subscribed};
use std::sync::Arc;

const NOTICE: &str = "Klarna checkout is down right now; they're on it.";

fn moderator() -> Staff {
    Staff::trusted(MemberId(99))
}

fn text(t: &str) -> Input<'_> {
    Input::Text {
        text: t,
        addressed: true,
    }
}

/// The effects of one typed message, by kind, for order checks.
fn kinds(app: &App, who: u64, msg: &str, at: u64) -> Vec<String> {
    let turn = block_on(app.turn(member(7, who), text(msg), Timestamp(at))).unwrap();
    turn.effects
        .iter()
        .map(|e| match e {
            Effect::Incident { notice, button, .. } => format!("incident: {notice} [{button}]"),
            Effect::Answer { intent, steps, .. } => {
                format!(
                    "answer {} ({} steps)",
                    app.engine().content.intent(*intent).key,
                    steps.len()
                )
            }
            Effect::Say(s) => format!("say: {s}"),
            Effect::Ask { .. } => "ask".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn incident_id(app: &App, who: u64, msg: &str, at: u64) -> paymedic::engine::IncidentId {
    let turn = block_on(app.turn(member(7, who), text(msg), Timestamp(at))).unwrap();
    turn.effects
        .iter()
        .find_map(|e| match e {
            Effect::Incident { id, .. } => Some(*id),
            _ => None,
        })
        .expect("an incident answer")
}

#[test]
fn during_an_incident_payment_failures_lead_with_the_notice_then_the_button_then_short_steps() {
    let app = app();
    let copy = app.engine().content.copy.clone();
    let before = kinds(&app, 1, "klarna declined my payment", 1_000);
    assert!(
        before[0].starts_with("answer payment_declined"),
        "{before:?}"
    );
    block_on(app.start_incident(moderator(), NOTICE, "", Timestamp(2_000))).unwrap();
    let during = kinds(&app, 2, "klarna declined my payment", 3_000);
    assert_eq!(
        during[0],
        format!("incident: {NOTICE} [{}]", copy.incident_notify)
    );
    assert_eq!(
        during[1],
        format!("answer payment_declined ({SHORT_STEPS} steps)")
    );
    assert_eq!(during[2], format!("say: {}", copy.incident_more_steps));
    assert_eq!(&during[3..], &before[1..], "the flow goes on as usual");
    // An intent the incident doesn't cover is answered as always.
    let limit = kinds(&app, 3, "what is my spending limit", 4_000);
    assert!(
        limit.iter().all(|k| !k.starts_with("incident")),
        "{limit:?}"
    );
    // Ended: back to the usual answer.
    block_on(app.end_incident(moderator(), Timestamp(5_000))).unwrap();
    assert_eq!(kinds(&app, 4, "klarna declined my payment", 6_000), before);
}

#[test]
fn notify_me_is_idempotent_and_ending_returns_each_subscriber_once() {
    let app = app();
    block_on(app.start_incident(moderator(), NOTICE, "", Timestamp(0))).unwrap();
    let id = incident_id(&app, 1, "klarna declined my payment", 1_000);
    let (a, b) = (member(7, 1), member(7, 2));
    let sub = |who, at| block_on(app.subscribe_incident(id, who, Timestamp(at))).unwrap();
    assert_eq!(sub(a, 1_100), Subscribed::Added);
    assert_eq!(sub(a, 1_200), Subscribed::Already);
    assert_eq!(sub(b, 1_300), Subscribed::Added);
    let ended = block_on(app.end_incident(moderator(), Timestamp(2_000)))
        .unwrap()
        .expect("an active incident");
    assert_eq!(ended.incident.id, id);
    assert_eq!(ended.incident.ended_by, Some(MemberId(99)));
    assert_eq!(ended.subscribers, vec![a, b]);
    // Each told member comes off the list, so a resumed fan-out skips them.
    assert!(block_on(app.incident_told(id, a)).unwrap());
    let left = block_on(app.unfinished_fanouts()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].subscribers, vec![b]);
    assert!(block_on(app.incident_told(id, b)).unwrap());
    assert!(block_on(app.unfinished_fanouts()).unwrap().is_empty());
    // Too late to subscribe; nothing to end.
    assert_eq!(sub(member(7, 3), 3_000), Subscribed::Over);
    assert!(block_on(app.end_incident(moderator(), Timestamp(3_100)))
        .unwrap()
        .is_none());
}

#[test]
fn a_second_start_replaces_the_notice_and_keeps_the_list() {
    let app = app();
    let first = block_on(app.start_incident(moderator(), NOTICE, "", Timestamp(0))).unwrap();
    let id = first.incident().id;
    block_on(app.subscribe_incident(id, member(7, 1), Timestamp(1))).unwrap();
    let second = block_on(app.start_incident(
        moderator(),
        "Fix expected within the hour.",
        "payment_declined",
        Timestamp(2),
    ))
    .unwrap();
    let Started::Replaced(i) = second else {
        panic!("a second start replaces: {second:?}");
    };
    assert_eq!(i.id, id);
    assert_eq!(i.notice, "Fix expected within the hour.");
    assert_eq!(i.intents, vec!["payment_declined".to_string()]);
    assert_eq!(
        block_on(app.check_status(Timestamp(3))).unwrap(),
        "Known issue right now: Fix expected within the hour."
    );
    let ended = block_on(app.end_incident(moderator(), Timestamp(4)))
        .unwrap()
        .unwrap();
    assert_eq!(ended.subscribers, vec![member(7, 1)]);
}

#[test]
fn bad_starts_are_refused_clearly_and_notices_are_masked() {
    let app = app();
    let at = Timestamp(0);
    match block_on(app.start_incident(moderator(), "x", "payment_declined, nope", at)) {
        Err(IncidentError::Intents(e)) => {
            assert!(e.contains("`nope`") && e.contains("browser_issue"), "{e}")
        }
        other => panic!("expected an intent error, got {other:?}"),
    }
    assert!(matches!(
        block_on(app.start_incident(moderator(), "   ", "", at)),
        Err(IncidentError::EmptyNotice)
    ));
    assert!(matches!(
        block_on(app.start_incident(moderator(), &"a".repeat(501), "", at)),
        Err(IncidentError::NoticeTooLong { .. })
    ));
    assert!(block_on(app.store().active_incident()).unwrap().is_none());
    let started = block_on(app.start_incident(
        moderator(),
        "Down for card 4111 1111 1111 1111 holders",
        "",
        at,
    ))
    .unwrap();
    assert!(!started.incident().notice.contains("4111"), "{started:?}");
    assert_eq!(
        started.incident().intents,
        vec!["payment_declined", "technical_glitch", "browser_issue"]
    );
}

#[test]
fn check_status_shows_the_notice_only_while_active() {
    let app = app();
    let clear = block_on(app.check_status(Timestamp(0))).unwrap();
    assert!(clear.starts_with("No known outage"), "{clear}");
    block_on(app.start_incident(moderator(), NOTICE, "", Timestamp(1))).unwrap();
    assert_eq!(
        block_on(app.check_status(Timestamp(2))).unwrap(),
        format!("Known issue right now: {NOTICE}")
    );
    block_on(app.end_incident(moderator(), Timestamp(3))).unwrap();
    assert_eq!(block_on(app.check_status(Timestamp(4))).unwrap(), clear);
}

#[test]
fn processes_sharing_a_store_agree_within_the_cache_time() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = App::with_store(engine(), Config::default(), store.clone());
    let b = App::with_store(engine(), Config::default(), store);
    let seen = |app: &App, at: u64| block_on(app.active_incident(Timestamp(at))).unwrap();
    assert!(seen(&b, 0).is_none());
    block_on(a.start_incident(moderator(), NOTICE, "", Timestamp(10))).unwrap();
    // The starting process knows at once; another within the cache time.
    assert!(seen(&a, 11).is_some());
    assert!(seen(&b, INCIDENT_CACHE_MS).is_some());
    block_on(a.end_incident(moderator(), Timestamp(INCIDENT_CACHE_MS + 10))).unwrap();
    assert!(seen(&a, INCIDENT_CACHE_MS + 11).is_none());
    assert!(seen(&b, 2 * INCIDENT_CACHE_MS + 1).is_none());
}

#[test]
fn status_notice_starts_the_first_incident_and_only_the_first() {
    let config = Config::parse("c.toml", "[status]\nnotice = \"Checkout is slow\"\n").unwrap();
    let app = App::new(engine(), config);
    let seeded = block_on(app.seed_incident(Timestamp(0))).unwrap();
    assert!(matches!(&seeded, Some(Started::New(i)) if i.notice == "Checkout is slow"));
    block_on(app.end_incident(moderator(), Timestamp(1))).unwrap();
    // Once any incident was stored, the setting is ignored.
    assert!(block_on(app.seed_incident(Timestamp(2))).unwrap().is_none());
    assert!(block_on(app.active_incident(Timestamp(3)))
        .unwrap()
        .is_none());
    // Without the setting, nothing starts.
    assert!(block_on(crate::common::app().seed_incident(Timestamp(0)))
        .unwrap()
        .is_none());
}

#[test]
fn configured_incident_intents_are_checked_against_the_pack() {
    let mut e = engine();
    let config = Config::parse(
        "c.toml",
        "[status]\nincident_intents = [\"payment_declined\", \"nope\"]\n",
    )
    .unwrap();
    let err = config.apply(&mut e).unwrap_err().to_string();
    assert!(
        err.contains("status.incident_intents") && err.contains("`nope`"),
        "{err}"
    );
    let config = Config::parse(
        "c.toml",
        "[status]\nincident_intents = [\"credit_limit\"]\n",
    )
    .unwrap();
    config.apply(&mut e).unwrap();
    let app = App::new(e, config);
    let started = block_on(app.start_incident(moderator(), NOTICE, "", Timestamp(0))).unwrap();
    assert_eq!(started.incident().intents, vec!["credit_limit"]);
}

#[test]
fn the_incident_survives_an_app_restart_over_the_same_sqlite_file() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new("incident-restart");
    let path = dir.path().join("paymedic.db");
    rt.block_on(async {
        let open = || async {
            let store = paymedic::store::sqlite::SqliteStore::open(&path).await.unwrap();
            App::with_store(engine(), Config::default(), Arc::new(store))
        };
        let first = open().await;
        let id = first
            .start_incident(moderator(), NOTICE, "", Timestamp(0))
            .await
            .unwrap()
            .incident()
            .id;
        first
            .subscribe_incident(id, member(7, 1), Timestamp(1))
            .await
            .unwrap();
        drop(first);
        let second = open().await;
        assert_eq!(
            second.check_status(Timestamp(2)).await.unwrap(),
            format!("Known issue right now: {NOTICE}")
        );
        let turn = second
            .turn(member(7, 2), text("klarna declined my payment"), Timestamp(3))
            .await
            .unwrap();
        assert!(
            matches!(&turn.effects[0], Effect::Incident { id: i, notice, .. } if *i == id && notice == NOTICE),
            "{:?}",
            turn.effects
        );
        let ended = second
            .end_incident(moderator(), Timestamp(4))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ended.subscribers, vec![member(7, 1)]);
    });
}

#[test]
fn chat_mod_incident_start_notify_me_as_choice_zero_and_end() {
    let out = chat(
        "/mod incident start intents=nope Down\n\
         /mod incident start Klarna checkout is down right now\n\
         klarna declined my payment\n\
         0\n\
         0\n\
         /check status\n\
         /as bob\n\
         what is my spending limit\n\
         /mod incident end\n\
         /as you\n\
         /check status\n\
         klarna declined my payment\n\
         /mod incident end\n",
    );
    let copy = crate::common::engine().content.copy;
    assert!(
        out.contains("(refused: unknown intent id `nope`; valid ids: payment_declined"),
        "{out}"
    );
    assert!(
        out.contains(
            "(incident #1 started; covers payment_declined, technical_glitch, browser_issue)"
        ),
        "{out}"
    );
    // Notice, then the numbered notify choice, then the shortened steps.
    let notice = out
        .find("bot: (!) Klarna checkout is down right now")
        .expect(&out);
    let button = out
        .find(&format!("[0] {}", copy.incident_notify))
        .expect(&out);
    let steps = out.find("bot: [").expect(&out);
    assert!(notice < button && button < steps, "{out}");
    assert!(out.contains(&copy.incident_more_steps), "{out}");
    assert!(
        out.contains(&format!("bot: {}", copy.incident_subscribed)),
        "{out}"
    );
    assert!(
        out.contains(&format!("bot: {}", copy.incident_already_subscribed)),
        "{out}"
    );
    assert!(
        out.contains("bot: Known issue right now: Klarna checkout is down right now"),
        "{out}"
    );
    // bob asked about something else: no notice for him.
    let bob = &out[out.find("bob> what is my spending limit").expect(&out)..];
    let bob = &bob[..bob.find("/mod incident end").expect(&out)];
    assert!(!bob.contains("(!)"), "{bob}");
    // Exactly one DM, to the one subscriber.
    assert_eq!(out.matches(&copy.incident_fixed).count(), 1, "{out}");
    assert!(
        out.contains(&format!("bot → you (DM): {}", copy.incident_fixed)),
        "{out}"
    );
    assert!(
        out.contains("(incident #1 ended; told 1, closed DMs 0, failed 0)"),
        "{out}"
    );
    let after = &out[out.rfind("you> /check status").expect(&out)..];
    assert!(after.contains("No known outage"), "{after}");
    assert!(!after.contains("(!)"), "{after}");
    assert!(after.contains("(no incident is active)"), "{after}");
}
