//! `paymedic chat` with scripted input: numbered choices, per-user state, checks and commands.

use crate::common::{app, block_on};
use paymedic::engine::Timestamp;
use paymedic::terminal;

/// Runs a chat script on a fresh app, one second per line; the transcript.
pub(crate) fn chat(script: &str) -> String {
    let app = app();
    let mut out = Vec::new();
    let mut t = 0;
    block_on(terminal::run(
        &app,
        script.as_bytes(),
        &mut out,
        false,
        || {
            t += 1000;
            Timestamp(t)
        },
    ))
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn numbers_pick_choices_and_each_user_has_their_own_conversation() {
    let out = chat("klarna declined my order at asos\n/as bob\nhello\n/as you\n1\n");
    // "you" got the declined steps and a numbered question.
    let first_q = out.find("[1]").expect(&out);
    assert!(out[..first_q].contains("bot: ["), "{out}");
    // bob's greeting did not disturb "you": typing 1 answered the declined question.
    assert!(out.contains("(now talking as bob)"), "{out}");
    let after = &out[out.rfind("you> 1").expect(&out)..];
    assert!(after.contains("bot: "), "{out}");
    assert!(!after.contains("Sorry"), "{out}");
}

#[test]
fn checks_answer_and_refuse_bad_input_clearly() {
    let out = chat(
        "/check limit 400 200 500\n/check limit abc 1 2\n/check card-expiry 13/29\n/check app ios 1.0\n/check status\n/check app\n",
    );
    assert!(out.contains("Pay at least 100.00"), "{out}");
    assert!(out.contains("`abc` is not an amount"), "{out}");
    assert!(out.contains("month 13 doesn't exist"), "{out}");
    assert!(out.contains("too old"), "{out}");
    assert!(out.contains("No known outage"), "{out}");
    assert!(out.contains("usage: /check app"), "{out}");
}

#[test]
fn reset_help_unknown_commands_and_chatter() {
    let out = chat("/help\n/nope\n/reset\nlimited edition drop tomorrow\n");
    assert!(out.contains("/check limit"), "{out}");
    assert!(out.contains("unknown command /nope"), "{out}");
    // Chatter addressed to the bot gets the short fallback, not credit-limit advice.
    let tail = &out[out.find("limited edition").unwrap()..];
    assert!(!tail.to_lowercase().contains("limit ["), "{out}");
}

#[test]
fn a_pasted_card_number_is_never_echoed() {
    let out = chat("my card 4111 1111 1111 1111 got declined\n");
    assert!(!out.contains("4111"), "{out}");
    assert!(out.contains("(!)"), "{out}");
}
