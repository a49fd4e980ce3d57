//! Tickets and the store seam through the real `App`: exactly-once opening under concurrency,
//! sessions stored by content keys across pack edits, and the staff check.

use crate::common::{app, block_on, engine, member, pack};
use paymedic::app::{ActionError, App, Staff, TicketNote};
use paymedic::config::{Config, DiscordConfig};
use paymedic::engine::dialogue::stored::StoredSession;
use paymedic::engine::tickets::{Refusal, StaffAction};
use paymedic::engine::{
    ChannelId, Choice, Engine, GuildId, Input, MemberId, RoleId, State, Timestamp,
};
use paymedic::store::memory::MemoryStore;
use paymedic::store::{Opened, Store, TicketFilter};
use std::sync::Arc;

/// 50 escalations of one member at the same instant — member presses and moderators'
/// `/escalate`, through two `App`s (two processes) over one store — open exactly one ticket.
pub async fn fifty_simultaneous_escalations_open_one_ticket(store: Arc<dyn Store>) {
    let a = Arc::new(App::with_store(engine(), Config::default(), store.clone()));
    let b = Arc::new(App::with_store(engine(), Config::default(), store.clone()));
    let user = member(3, 42);
    let mut tasks = Vec::new();
    for i in 0..50u64 {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let now = Timestamp(1_000);
            if i % 5 == 0 {
                let staff = Staff::trusted(MemberId(900 + i));
                match app
                    .escalate(staff, user, Some("stuck"), now, None)
                    .await
                    .unwrap()
                {
                    Opened::Created(t) => (1, t.id),
                    Opened::Existing(t) => (0, t.id),
                }
            } else {
                let input = Input::Choose {
                    choice: Choice::Human,
                    shown_at: None,
                };
                let origin = paymedic::app::Origin {
                    user,
                    request: Some(format!("interaction-{i}")),
                    claim: None,
                    screen: false,
                };
                let turn = app.turn(origin, input, now).await.unwrap();
                match turn.ticket {
                    Some(TicketNote::Opened(t)) => (1, t.id),
                    Some(TicketNote::Existing(t) | TicketNote::Pointer(t)) => (0, t.id),
                    None => panic!("a press for a human got no ticket: {:?}", turn.effects),
                }
            }
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (c, id) = t.await.unwrap();
        created += c;
        ids.insert(id);
    }
    assert_eq!(created, 1, "exactly one escalation creates the ticket");
    assert_eq!(ids.len(), 1, "every answer names the same ticket: {ids:?}");
    let all = store.tickets(&TicketFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
}

#[test]
fn fifty_simultaneous_escalations_open_one_ticket_in_memory() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(fifty_simultaneous_escalations_open_one_ticket(Arc::new(
        MemoryStore::new(),
    )));
}

fn say(app: &App, user: paymedic::app::UserKey, text: &str, at: u64) -> String {
    let turn = block_on(app.turn(
        user,
        Input::Text {
            text,
            addressed: true,
        },
        Timestamp(at),
    ))
    .unwrap();
    let mut out = Vec::new();
    paymedic::terminal::render(&mut out, &app.engine().content, &turn.effects).unwrap();
    String::from_utf8(out).unwrap()
}

/// The same store, read by an app whose pack was edited.
fn app_over(src: &str, store: Arc<dyn Store>) -> App {
    let engine = Engine::load("edited.toml", src).unwrap_or_else(|e| panic!("{e}"));
    App::with_store(engine, Config::default(), store)
}

/// Moves the `message` step of `payment_declined` before `where`: positions change, keys
/// don't.
fn swap_first_two_steps(src: &str) -> String {
    let w = src.find("[[intent.flow]]\nid = \"where\"").unwrap();
    let m = src.find("[[intent.flow]]\nid = \"message\"").unwrap();
    let o = src.find("[[intent.flow]]\nid = \"other_method\"").unwrap();
    format!("{}{}{}{}", &src[..w], &src[m..o], &src[w..m], &src[o..])
}

#[test]
fn a_session_is_read_back_by_step_key_after_the_pack_reorders_steps() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let before = app_over(&pack(), store.clone());
    let user = member(1, 1);
    let out = say(&before, user, "klarna isnt working at checkout", 0);
    assert!(out.contains("Where are you paying?"), "{out}");
    let out = say(&before, user, "1", 5_000);
    assert!(out.contains("What does the message say?"), "{out}");

    let edited = swap_first_two_steps(&pack());
    let after = app_over(&edited, store.clone());
    // Position 1 is now "where"; the stored key says "message", and "2" answers it.
    let out = say(&after, user, "2", 10_000);
    assert!(out.contains("Error codes usually point"), "misread: {out}");
}

#[test]
fn a_session_whose_step_is_gone_restarts_cleanly_and_a_hand_off_is_kept() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let before = app_over(&pack(), store.clone());
    let (u, v) = (member(1, 1), member(1, 2));
    say(&before, u, "klarna isnt working at checkout", 0);
    say(&before, u, "1", 5_000);
    say(&before, v, "klarna isnt working at checkout", 0);
    block_on(before.escalate(Staff::trusted(MemberId(9)), v, None, Timestamp(1), None)).unwrap();

    let renamed = pack().replace("id = \"message\"", "id = \"what_it_says\"");
    let after = app_over(&renamed, store.clone());
    let s = block_on(after.session(u)).unwrap().unwrap();
    assert_eq!(
        s.state,
        State::Idle,
        "an unknown step restarts the conversation"
    );
    let out = say(&after, u, "hi", 10_000);
    assert!(!out.contains("Sorry, I didn't quite get that"), "{out}");
    // The member with a ticket stays with the human.
    let s = block_on(after.session(v)).unwrap().unwrap();
    assert!(matches!(s.state, State::HandedOff { .. }), "{:?}", s.state);
    let turn = block_on(after.turn(
        v,
        Input::Text {
            text: "hello?",
            addressed: true,
        },
        Timestamp(20_000),
    ))
    .unwrap();
    assert!(turn.effects.is_empty(), "{:?}", turn.effects);
}

#[test]
fn stored_sessions_round_trip_by_key_through_any_conversation() {
    let app = app();
    let c = &app.engine().content;
    let lines = [
        "klarna declined my order at asos",
        "1",
        "2",
        "still stuck",
        "my bank blocked klarna",
        "3",
        "that fixed it",
        "hello",
        "2",
        "talk to a human",
    ];
    let user = member(5, 5);
    for (i, l) in lines.iter().enumerate() {
        say(&app, user, l, i as u64 * 5_000);
        if let Some(s) = block_on(app.session(user)).unwrap() {
            let stored = StoredSession::from_session(&s, c);
            let json = serde_json::to_string(&stored).unwrap();
            let back: StoredSession = serde_json::from_str(&json).unwrap();
            assert_eq!(back.to_session(c), s, "after {l:?}: {json}");
        }
    }
}

#[test]
fn staff_are_the_moderator_roles_and_the_support_role_only() {
    let config = Config {
        discord: Some(DiscordConfig {
            moderator_roles: vec![RoleId(10), RoleId(11)],
            support_role: Some(RoleId(20)),
            ..DiscordConfig::default()
        }),
        ..Config::default()
    };
    let app = App::new(engine(), config);
    let (m, g) = (MemberId(1), GuildId(7));
    assert!(app.staff(m, g, &[RoleId(11)]).is_some());
    assert!(app.staff(m, g, &[RoleId(5), RoleId(20)]).is_some());
    assert!(app.staff(m, g, &[]).is_none());
    assert!(app.staff(m, g, &[RoleId(12), RoleId(1)]).is_none());
    // With no Discord settings, nobody is staff.
    assert!(crate::common::app().staff(m, g, &[RoleId(10)]).is_none());
}

/// Staff of one guild can't act on another guild's tickets (role ids are global, so one config
/// can serve several guilds); a ticket from a DM belongs to every guild's staff.
#[test]
fn staff_act_only_on_their_own_guilds_tickets() {
    let config = Config {
        discord: Some(DiscordConfig {
            moderator_roles: vec![RoleId(10)],
            ..DiscordConfig::default()
        }),
        ..Config::default()
    };
    let app = App::new(engine(), config);
    let now = Timestamp(0);
    let other = member(8, 50);
    let dm = member(0, 51);
    let mod_of_7 = app.staff(MemberId(1), GuildId(7), &[RoleId(10)]).unwrap();
    let mod_of_8 = app.staff(MemberId(2), GuildId(8), &[RoleId(10)]).unwrap();
    let t = block_on(app.escalate(mod_of_8, other, None, now, None)).unwrap();
    let id = t.ticket().id;
    block_on(app.ticket_opened(id, Some(ChannelId(5)), None, now)).unwrap();
    let refused = block_on(app.act(mod_of_7, id, StaffAction::Claim, now));
    assert!(
        matches!(refused, Err(ActionError::Refused(Refusal::NoSuchTicket(_)))),
        "{refused:?}"
    );
    assert!(block_on(app.escalate(mod_of_7, other, None, now, None)).is_err());
    block_on(app.act(mod_of_8, id, StaffAction::Claim, now)).unwrap();
    let d = block_on(app.escalate(mod_of_8, dm, None, now, None)).unwrap();
    let did = d.ticket().id;
    block_on(app.ticket_opened(did, Some(ChannelId(6)), None, now)).unwrap();
    block_on(app.act(mod_of_7, did, StaffAction::Claim, now)).unwrap();
}

#[test]
fn fifty_simultaneous_escalations_open_one_ticket_in_sqlite() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("paymedic-tickets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fifty.db");
    let _ = std::fs::remove_file(&path);
    rt.block_on(async {
        let store = paymedic::store::sqlite::SqliteStore::open(&path)
            .await
            .unwrap();
        fifty_simultaneous_escalations_open_one_ticket(Arc::new(store)).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}
