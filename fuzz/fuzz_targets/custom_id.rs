//! Component `custom_id` decoding: these strings come back from Discord and may be crafted.
//!
//! Every parser sees the raw string: none may panic. Then values built from the fuzz input
//! (owner, position, choice, ticket, member) are encoded and must decode to themselves, with
//! every id within Discord's 100-character limit; and any id that parses re-encodes to one that
//! parses to the same value.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use paymedic::discord::convert::{
    button_id, forget_id, notify_id, parse_button_id, parse_forget_id, parse_notify_id,
    parse_rate_id, parse_staff_id, rate_id, staff_id, ButtonId, StaffButton,
};
use paymedic::engine::ids::{IncidentId, MemberId, TicketId};
use paymedic::engine::limits::CUSTOM_ID_LENGTH_MAX;
use paymedic::engine::{Choice, Content, Engine, Position};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::embedded);

/// Values to encode, read from the same bytes as the raw string.
#[derive(Arbitrary, Debug)]
struct Values {
    owner: u64,
    position: Option<(u16, u8, u8)>,
    choice: (u8, u16),
    ticket: i64,
    solved: bool,
    member: u64,
    staff: u8,
}

/// A valid position of the pack, picked by numbers (`IntentId` and `StepId` can only be made
/// by the library, so through the decoder).
fn position(c: &Content, (i, at, step): (u16, u8, u8)) -> Option<Position> {
    let i = usize::from(i) % c.intents.len();
    let flow = c.intents[i].flow.len();
    let at = match at % 3 {
        0 => "c".to_string(),
        1 => "h".to_string(),
        // An intent without a flow has no step to be at.
        _ if flow == 0 => return None,
        _ => format!("s{}", usize::from(step) % flow),
    };
    let p = Position::decode(&format!("{i}.{at}"), c);
    assert!(p.is_some(), "a valid position failed to decode: {i}.{at}");
    p
}

fn choice(c: &Content, (kind, n): (u8, u16)) -> Choice {
    let code = match kind % 6 {
        0 => format!("o{}", n as u8),
        1 => "f".into(),
        2 => "s".into(),
        3 => "h".into(),
        4 => "n".into(),
        _ => format!("t{}", usize::from(n) % c.intents.len()),
    };
    Choice::decode(&code, c).expect("a valid choice code decodes")
}

fn id_fits(id: &str) {
    assert!(
        id.chars().count() <= CUSTOM_ID_LENGTH_MAX,
        "custom id over Discord's limit: {id:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let c = &ENGINE.content;
    if let Ok(raw) = std::str::from_utf8(data) {
        parse_raw(c, raw);
    }
    if let Ok(values) = Values::arbitrary(&mut Unstructured::new(data)) {
        round_trip(c, values);
    }
});

/// Attacker-controlled strings: parse, and anything accepted must survive a re-encode.
fn parse_raw(c: &Content, raw: &str) {
    if let Some(b) = parse_button_id(raw, c) {
        let again = button_id(b.owner, b.at, b.choice);
        id_fits(&again);
        assert_eq!(parse_button_id(&again, c), Some(b), "{raw:?}");
    }
    if let Some((action, ticket)) = parse_staff_id(raw) {
        assert!(ticket.get() > 0);
        assert_eq!(
            parse_staff_id(&staff_id(action, ticket)),
            Some((action, ticket))
        );
    }
    if let Some((ticket, solved)) = parse_rate_id(raw) {
        assert!(ticket.get() > 0);
        assert_eq!(
            parse_rate_id(&rate_id(ticket, solved)),
            Some((ticket, solved))
        );
    }
    if let Some(m) = parse_forget_id(raw) {
        assert_eq!(parse_forget_id(&forget_id(m)), Some(m));
    }
    if let Some(i) = parse_notify_id(raw) {
        assert!(i.get() > 0);
        assert_eq!(parse_notify_id(&notify_id(i)), Some(i));
    }
    if let Some(p) = Position::decode(raw, c) {
        assert_eq!(Position::decode(&p.encode(), c), Some(p));
    }
    if let Some(ch) = Choice::decode(raw, c) {
        assert_eq!(Choice::decode(&ch.encode(), c), Some(ch));
    }
}

/// Values built from the input: decode(encode(x)) == x.
fn round_trip(c: &Content, input: Values) {
    let at = input.position.and_then(|p| position(c, p));
    let ch = choice(c, input.choice);
    let id = button_id(input.owner, at, ch);
    id_fits(&id);
    assert_eq!(
        parse_button_id(&id, c),
        Some(ButtonId {
            owner: input.owner,
            at,
            choice: ch
        }),
        "{id:?}"
    );
    let ticket = TicketId(input.ticket);
    let staff = [
        StaffButton::Claim,
        StaffButton::Unclaim,
        StaffButton::Close,
        StaffButton::HandBack,
        StaffButton::Reopen,
    ][usize::from(input.staff) % 5];
    let sid = staff_id(staff, ticket);
    id_fits(&sid);
    let rid = rate_id(ticket, input.solved);
    id_fits(&rid);
    // Ticket ids are positive; the parsers refuse anything else.
    if input.ticket > 0 {
        assert_eq!(parse_staff_id(&sid), Some((staff, ticket)));
        assert_eq!(parse_rate_id(&rid), Some((ticket, input.solved)));
    } else {
        assert_eq!(parse_staff_id(&sid), None);
        assert_eq!(parse_rate_id(&rid), None);
    }
    let fid = forget_id(MemberId(input.member));
    id_fits(&fid);
    assert_eq!(parse_forget_id(&fid), Some(MemberId(input.member)));
    // Incident ids are positive, like ticket ids.
    let nid = notify_id(IncidentId(input.ticket));
    id_fits(&nid);
    let expected = (input.ticket > 0).then_some(IncidentId(input.ticket));
    assert_eq!(parse_notify_id(&nid), expected);
}
