//! Incident mode against the fake Discord: `/incident start` (staff only, checked on the
//! server), a member's payment failure answered with the notice and its "Notify me" button
//! first, the press, `/check status`, and `/incident end` with one DM per subscriber, closed
//! DMs skipped and counted, and the list emptied.

use super::*;
use paymedic::engine::IncidentId;

const NOTICE: &str = "Klarna checkout is down right now; they're working on it.";

fn start(notice: &str, intents: Option<&str>) -> Value {
    let mut options = vec![json!({"name": "notice", "type": 3, "value": notice})];
    if let Some(i) = intents {
        options.push(json!({"name": "intents", "type": 3, "value": i}));
    }
    json!([{"name": "start", "type": 1, "options": options}])
}

/// A member's declined payment in the support channel: the first reply (the notice with its
/// button) and the next (the answer).
async fn ask(bot: &Bot, who: u64) -> (Recorded, Recorded) {
    let id = bot
        .say(SUPPORT, who, "klarna declined my order at asos", &[])
        .await;
    let replies = bot
        .fake
        .wait_for_requests(2, |r| r.replied_to() == Some(id) && r.status == 200, T)
        .await;
    (replies[0].clone(), replies[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_leads_answers_takes_subscribers_and_dms_each_once_when_it_ends() {
    let bot = Bot::start(0).await;
    let copy = bot.app.engine().content.copy.clone();
    bot.fake.close_dms(BOB);

    // A member can't start one: refused on the server, privately.
    let refused = bot
        .slash_in(SUPPORT, BOB, &[], "incident", start("all good lol", None))
        .await;
    let said = bot.answer(&refused).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert!(text_of(&said).contains("moderators"), "{said:#}");
    // Nor can the support role alone: incidents are the moderators'.
    let refused = bot
        .slash_in(
            SUPPORT,
            BOB,
            &[SUPPORT_ROLE],
            "incident",
            start("all good lol", None),
        )
        .await;
    assert!(text_of(&bot.answer(&refused).await).contains("moderators"));
    assert!(bot.app.store().active_incident().await.unwrap().is_none());

    // A bad intent id is refused, naming the valid ones.
    let bad = bot
        .slash_in(
            SUPPORT,
            MOD,
            &[MOD_ROLE],
            "incident",
            start(NOTICE, Some("payment_declined, nope")),
        )
        .await;
    let said = text_of(&bot.answer(&bad).await);
    assert!(
        said.contains("`nope`") && said.contains("browser_issue"),
        "{said}"
    );
    assert!(bot.app.store().active_incident().await.unwrap().is_none());

    let started = bot
        .slash_in(SUPPORT, MOD, &[MOD_ROLE], "incident", start(NOTICE, None))
        .await;
    let said = text_of(&bot.answer(&started).await);
    assert!(said.contains("Incident #1 started"), "{said}");

    // The notice and its button come first, then the shortened answer.
    let (notice, answer) = ask(&bot, ALICE).await;
    assert_eq!(text_of(&notice.body), NOTICE, "{:#}", notice.body);
    let notify = button(&notice.body, &copy.incident_notify);
    assert_eq!(notify, "pmi:1");
    assert_no_mentions(&notice.body);
    assert!(notice.index < answer.index);
    let steps = answer.body["embeds"][0]["description"].as_str().unwrap();
    assert!(
        steps.contains("\n2. ") && !steps.contains("\n3. "),
        "{steps}"
    );
    assert!(text_of(&answer.body).contains(&copy.incident_more_steps));

    // Pressing subscribes, once.
    let g = Some(bot.guild());
    let pressed = bot
        .press_on(g, SUPPORT, &notice.response, ALICE, &[], &notify)
        .await;
    let said = bot.answer(&pressed).await;
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert_eq!(text_of(&said), copy.incident_subscribed);
    let again = bot
        .press_on(g, SUPPORT, &notice.response, ALICE, &[], &notify)
        .await;
    assert_eq!(
        text_of(&bot.answer(&again).await),
        copy.incident_already_subscribed
    );
    // Bob (DMs closed) subscribes from his own answer.
    let (bob_notice, _) = ask(&bot, BOB).await;
    let bob_press = bot
        .press_on(g, SUPPORT, &bob_notice.response, BOB, &[], &notify)
        .await;
    assert_eq!(
        text_of(&bot.answer(&bob_press).await),
        copy.incident_subscribed
    );
    // So does Dave, who'll be told after Bob.
    let dave = 1_300_000_000_000_000_021;
    let (dave_notice, _) = ask(&bot, dave).await;
    let dave_press = bot
        .press_on(g, SUPPORT, &dave_notice.response, dave, &[], &notify)
        .await;
    assert_eq!(
        text_of(&bot.answer(&dave_press).await),
        copy.incident_subscribed
    );

    let status = json!([{"name": "status", "type": 1, "options": []}]);
    let checked = bot
        .slash_in(SUPPORT, ALICE, &[], "check", status.clone())
        .await;
    assert!(text_of(&bot.answer(&checked).await).contains(NOTICE));

    // Ending: answered at once, then one DM each, the closed DMs counted, and a summary.
    let ended = bot
        .slash_in(
            SUPPORT,
            MOD,
            &[MOD_ROLE],
            "incident",
            json!([{"name": "end", "type": 1, "options": []}]),
        )
        .await;
    let said = text_of(&bot.answer(&ended).await);
    assert!(
        said.contains("Incident #1 ended") && said.contains("3 member(s)"),
        "{said}"
    );
    let summary = bot.followups(&ended, 2).await.remove(1).body;
    assert_eq!(summary["flags"], json!(64), "{summary:#}");
    assert!(
        text_of(&summary).contains("told 2 member(s); closed DMs 1 (skipped); failed 0"),
        "{summary:#}"
    );
    let dms = bot.fake.requests_matching(|r| {
        r.method == "POST" && r.status == 200 && text_of(&r.body) == copy.incident_fixed
    });
    assert_eq!(dms.len(), 2, "{dms:#?}");
    let opened = bot
        .fake
        .requests_matching(|r| r.is("POST", "/users/@me/channels"));
    let dm_of = |who: u64| {
        let r = opened
            .iter()
            .find(|r| r.body["recipient_id"] == json!(who.to_string()))
            .unwrap_or_else(|| panic!("a DM channel for {who}"));
        fd::id_of(&r.response["id"]).unwrap()
    };
    for (who, dm) in [(ALICE, &dms[0]), (dave, &dms[1])] {
        assert!(dm.is_message_to(dm_of(who)), "{dm:#?}");
        assert_no_mentions(&dm.body);
    }
    // Paced: one member at a time, at least the pace apart (Alice, Bob, then Dave).
    assert_eq!(opened.len(), 3, "{opened:#?}");
    for w in opened.windows(2) {
        let gap = w[1].at.duration_since(w[0].at);
        assert!(gap >= Duration::from_millis(240), "DMs {gap:?} apart");
    }
    let closed = bot
        .fake
        .requests_matching(|r| r.status == 403 && r.response["code"] == json!(50007));
    assert_eq!(closed.len(), 1, "{closed:#?}");
    assert!(bot
        .app
        .store()
        .subscribers(IncidentId(1))
        .await
        .unwrap()
        .is_empty());

    // Over: the status is clear, the old button says so, answers are back to normal.
    let checked = bot.slash_in(SUPPORT, ALICE, &[], "check", status).await;
    assert!(text_of(&bot.answer(&checked).await).contains("No known outage"));
    let late = bot
        .press_on(g, SUPPORT, &notice.response, ALICE, &[], &notify)
        .await;
    assert_eq!(text_of(&bot.answer(&late).await), copy.incident_over);
    // (A member who hasn't asked yet: a repeat of the same topic only repeats the question.)
    let carol = 1_300_000_000_000_000_020;
    let id = bot
        .say(SUPPORT, carol, "klarna declined my order at asos", &[])
        .await;
    let reply = bot.fake.wait_for_reply_to(id, T).await;
    assert!(reply.body["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .contains("\n3. "));
    bot.stop().await;
}

/// A fan-out a restart cut short: the ended incident's remaining subscribers are told at
/// start-up, once, and the list is emptied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_fanout_resumes_at_start_up() {
    use paymedic::engine::{GuildId, MemberId, Timestamp, UserKey};
    use paymedic::store::Store;
    let store = Arc::new(paymedic::store::memory::MemoryStore::new());
    let guild = FakeOptions::default().guild_ids[0];
    let id = store
        .start_incident(
            NOTICE,
            &["payment_declined".into()],
            Timestamp(1),
            MemberId(MOD),
        )
        .await
        .unwrap()
        .incident()
        .id;
    let alice = UserKey::new(GuildId(guild), MemberId(ALICE));
    store.subscribe(id, alice, Timestamp(2)).await.unwrap();
    store
        .end_incident(Timestamp(3), MemberId(MOD))
        .await
        .unwrap();
    let bot = Bot::start_with(Setup {
        store: Some(store.clone()),
        ..Setup::default()
    })
    .await;
    let fixed = bot.app.engine().content.copy.incident_fixed.clone();
    bot.fake
        .wait_for_request(|r| r.status == 200 && text_of(&r.body) == fixed, T)
        .await;
    // The subscription goes right after the DM; give the task a moment to record it.
    for _ in 0..50 {
        if store.subscribers(id).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.subscribers(id).await.unwrap().is_empty());
    let sent = bot
        .fake
        .count_matching(|r| r.method == "POST" && text_of(&r.body) == fixed);
    assert_eq!(sent, 1);
    bot.stop().await;
}
