//! A database lost mid-run: the bot's PostgreSQL store goes through a relay the test cuts
//! (every connection closed, new ones refused) and then restores. While it is cut, a member
//! gets no wrong answer (a message is left unanswered, a button press is told privately that
//! something went wrong) and the failure is logged; once it is back, the same running bot
//! answers again, and the conversation saved before the cut carries on.

use super::faults::log_lines;
use super::*;
use crate::support::pg_relay::PgRelay;
use paymedic::store::postgres::PgStore;
use tokio::time::Instant;

/// How soon after the cut a member's failed turn must be logged: a store call waits at most
/// the pool's acquire timeout (3 s), and a turn makes two before it fails.
const FAILS_WITHIN: Duration = Duration::from_secs(12);

/// The URL's `host:port`, resolved.
async fn upstream_of(url: &str) -> std::net::SocketAddr {
    use std::str::FromStr;
    let o = sqlx::postgres::PgConnectOptions::from_str(url).expect("a postgres:// URL");
    let host = o.get_host().to_string();
    let mut addrs = tokio::net::lookup_host((host, o.get_port()))
        .await
        .expect("resolve the database host");
    addrs.next().expect("an address for the database host")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_lost_mid_run_gives_no_wrong_answer_and_the_bot_recovers_without_a_restart() {
    let Some(url) = crate::store_contract::postgres_url() else {
        return;
    };
    super::faults::captured();
    let schema = crate::store_contract::fresh_schema();
    let direct = PgStore::connect_in(&url, Some(&schema)).await.unwrap();
    let relay = PgRelay::start(upstream_of(&url).await).await;
    let store = Arc::new(
        PgStore::connect_in(&through(&url, relay.addr()), Some(&schema))
            .await
            .unwrap(),
    );
    let bot = Bot::start_with(Setup {
        store: Some(store.clone()),
        ..Setup::default()
    })
    .await;
    // Members of this test's own, so the shared log capture names only them.
    let alice = fd::new_snowflake();
    let carol = fd::new_snowflake();

    let first = bot
        .say(SUPPORT, alice, "klarna declined my order at asos", &[])
        .await;
    let answered = bot.fake.wait_for_reply_to(first, T).await;
    let first_answer = text_of(&answered.body);
    assert!(!first_answer.is_empty(), "{:#}", answered.body);

    relay.cut().await;
    let cut_at = Instant::now();
    let posted_before = posts_to(&bot, SUPPORT).len();
    // A message while the database is gone: no answer, and the failed turn is logged.
    let lost = bot
        .say(SUPPORT, alice, "it says the payment was declined", &[])
        .await;
    // It fails within a bound, not after a long hang (sqlx retries a refused connection
    // until the pool's acquire timeout).
    let member = format!("member={alice}");
    let needles = [member.as_str(), "a turn failed"];
    while log_lines(&needles).is_empty() && cut_at.elapsed() < FAILS_WITHIN {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed_after = cut_at.elapsed();
    let logged = log_lines(&needles);
    assert_eq!(
        logged.len(),
        1,
        "no failure logged {FAILS_WITHIN:?} after the cut: {logged:#?}"
    );
    // Either the idle connection it was handed had died with the cut (it was used less than
    // a second ago, so not pinged first), or no new one could be made before the timeout.
    assert!(
        logged[0].contains("pool timed out")
            || logged[0].contains("error communicating with database"),
        "{logged:#?}"
    );
    // A button press while it is gone: told privately to try again, nothing else.
    let press = bot
        .press(
            &answered,
            alice,
            &button(&answered.body, "In a web browser"),
        )
        .await;
    // A slow press is acknowledged first (type 6), and told by follow-up.
    let said = match press.body["type"].as_u64() {
        Some(6) => bot.followups(&press, 1).await.remove(0).body,
        _ => bot.answer(&press).await,
    };
    assert_eq!(said["flags"], json!(64), "{said:#}");
    assert_eq!(
        text_of(&said),
        paymedic::discord::outbox::SOMETHING_WENT_WRONG,
        "{said:#}"
    );
    let pressed_logged = log_lines(&[&format!("member={alice}"), "a button press failed"]);
    assert_eq!(pressed_logged.len(), 1, "{pressed_logged:#?}");

    // Nothing at all was posted in the channel while the database was gone.
    assert_eq!(posts_to(&bot, SUPPORT).len(), posted_before);

    relay.restore().await;
    let restored_at = Instant::now();
    // The same bot answers a new member as it did before the cut ...
    let fresh = bot
        .say(SUPPORT, carol, "klarna declined my order at asos", &[])
        .await;
    let again = bot.fake.wait_for_reply_to(fresh, T).await;
    assert_eq!(text_of(&again.body), first_answer);
    let recovered_after = restored_at.elapsed();
    // ... and Alice's conversation goes on from where it was saved before the cut: the
    // button she was shown then still leads on.
    let press = bot
        .press(
            &answered,
            alice,
            &button(&answered.body, "In a web browser"),
        )
        .await;
    let said = bot.answer(&press).await;
    assert!(
        text_of(&said).contains("Does it work with a different card"),
        "{said:#}"
    );
    // The message sent during the cut was never answered (not late, either).
    bot.assert_no_reply_to(lost).await;
    eprintln!(
        "db outage: a turn failed {:.1} s after the cut; answered {:.0} ms after the restore",
        failed_after.as_secs_f64(),
        recovered_after.as_secs_f64() * 1000.0
    );
    bot.stop().await;
    tokio::time::timeout(T, store.close())
        .await
        .expect("the bot's store closes");
    tokio::time::timeout(T, direct.drop_schema(&schema))
        .await
        .expect("the test's schema drops")
        .unwrap();
}
