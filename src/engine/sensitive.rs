//! Spotting card numbers, CVV codes, PINs, passwords and personal details in member messages,
//! and masking them wherever a member's text is shown, stored or logged.
//!
//! paymedic never asks for card numbers, codes or passwords. When a member posts one anyway,
//! the engine warns them instead of answering (the adapters also delete the message where they
//! can), and the text is never classified, echoed or stored. Detection errs on the side of
//! warning, but ordinary support talk ("i forgot my password", "wrong cvv", "order
//! 1234567890123") must not trip it, or members learn to ignore the warning.
//!
//! Two tiers:
//! - **secrets** ([`Secret`], reported by [`kind`]): these drive the secrets guard.
//!   - card numbers: any Luhn-valid run of 13–19 digits that starts like a card network's
//!     number, whatever separators sit between the digits (see [`has_card_number`]);
//!   - codes: a 3–4 digit number next to "cvv"/"cvc"/"security code", "123 is my cvv", "the
//!     digits on the back are 123", or a PIN;
//!   - passwords: "password is ...", "pw: ...", "passwort ist ...", "login is bob@x.com / ...",
//!     "bob@x.com:...".
//! - **personal details** ([`Personal`], found by [`personal`]): IBANs (checked with their
//!   mod-97 check digits and the country's length), email addresses and phone numbers. They are
//!   masked like secrets but do *not* trigger the guard: a member who gives an email address or
//!   a phone number in a support channel has not put their money at risk, and deleting the
//!   message would lose their question. Nor does an IBAN: it is the number people hand out to
//!   be paid, not one that lets anyone take money, so the bot answers as usual and only the
//!   copies it keeps (sessions, packets, transcripts, logs) lose the number.
//!
//! [`redact`] masks both tiers: `[card number]`, `[hidden]` (codes and passwords), `[iban]`,
//! `[email]` and `[phone]`. It is the one function every path that shows, stores or logs a
//! member's text goes through (`tickets::mask`, explain, the terminal, the log writer).
//!
//! Cost: [`kind`] runs on every message, so nothing here is a backtracking regex over the
//! whole text on the card path: card numbers, IBANs, emails and phones are found by linear
//! hand-written scans, each behind a cheap pre-check (a digit count, an `@`).

use regex::Regex;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::LazyLock;

/// What kind of secret a message holds, most serious first: the derived order makes
/// `CardNumber < Code < Password`, so the minimum of several is the one to warn about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Secret {
    /// A card number (PAN).
    CardNumber,
    /// A CVV/CVC security code or a PIN.
    Code,
    /// A password, or login credentials.
    Password,
}

/// A personal detail that [`redact`] masks but that is not a [`Secret`]: it never triggers the
/// secrets guard (see the module doc for why).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Personal {
    /// An international bank account number with valid check digits.
    Iban,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
}

/// What replaces a card number in [`redact`]'s output.
pub const CARD_PLACEHOLDER: &str = "[card number]";
/// What replaces a code or password in [`redact`]'s output.
pub const HIDDEN_PLACEHOLDER: &str = "[hidden]";
/// What replaces an IBAN in [`redact`]'s output.
pub const IBAN_PLACEHOLDER: &str = "[iban]";
/// What replaces an email address in [`redact`]'s output.
pub const EMAIL_PLACEHOLDER: &str = "[email]";
/// What replaces a phone number in [`redact`]'s output.
pub const PHONE_PLACEHOLDER: &str = "[phone]";

/// Every placeholder [`redact`] writes; none of them holds a digit, an `@` or a separator that
/// could join two numbers, so redacting twice changes nothing.
const PLACEHOLDERS: [&str; 5] = [
    CARD_PLACEHOLDER,
    HIDDEN_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    PHONE_PLACEHOLDER,
];

/// Whether `text` appears to contain a card number, a CVV code, a PIN or a password: the
/// secrets guard's question. Personal details ([`Personal`]) don't count.
pub fn looks_sensitive(text: &str) -> bool {
    kind(text).is_some()
}

/// The most serious kind of secret in `text`, if any, so callers can word the warning ("card
/// details" vs "login details").
pub fn kind(text: &str) -> Option<Secret> {
    if has_card_number(text) {
        return Some(Secret::CardNumber);
    }
    phrase_secrets(text).into_iter().map(|(_, k)| k).min()
}

/// The kinds of personal detail in `text` (IBANs, emails, phones), each once, in order. An
/// IBAN is never also counted as a card number, and the digits of a card number are never
/// counted as a phone number.
pub fn personal(text: &str) -> Vec<Personal> {
    let mut out = Vec::new();
    let ibans = iban_spans(text);
    if !ibans.is_empty() {
        out.push(Personal::Iban);
    }
    let first = mask_cards_and_ibans(text, ibans);
    if !email_spans(&first).is_empty() {
        out.push(Personal::Email);
    }
    if !phone_spans(&first).is_empty() {
        out.push(Personal::Phone);
    }
    out
}

/// What a span of [`redact`] is replaced with; where spans overlap, the first variant wins.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mask {
    Hidden,
    Card,
    Iban,
    Email,
    Phone,
}

impl Mask {
    fn placeholder(self) -> &'static str {
        match self {
            Mask::Hidden => HIDDEN_PLACEHOLDER,
            Mask::Card => CARD_PLACEHOLDER,
            Mask::Iban => IBAN_PLACEHOLDER,
            Mask::Email => EMAIL_PLACEHOLDER,
            Mask::Phone => PHONE_PLACEHOLDER,
        }
    }
}

/// `text` with every card number replaced by `[card number]` (the whole span from its first to
/// its last digit, separators included), the secret part of every code or password phrase
/// replaced by `[hidden]` ("my password is [hidden]"), and every IBAN, email address and phone
/// number replaced by `[iban]`, `[email]` and `[phone]`. Borrows when there is nothing to hide.
///
/// Card numbers and IBANs go first, so a phone or code detector never sees their digits; the
/// phrase, email and phone detectors then run on that text.
///
/// Idempotent: the placeholders contain letters, which end any digit sequence, and the phrase
/// detectors skip a placeholder where a secret would be.
pub fn redact(text: &str) -> Cow<'_, str> {
    let once = redact_once(text);
    let Cow::Owned(mut out) = once else {
        return once;
    };
    // Masking one phrase can bring a neighbour into a detector's reach ("pw: x login is y"
    // read again finds "login is y" whole), so the pass repeats until nothing changes: the
    // output is then idempotent. Each pass only turns text into placeholders, which the
    // detectors skip, so this ends; the bound is a guard. (Found by `cargo fuzz`, target
    // `redact`.)
    for _ in 0..REDACT_PASSES_MAX {
        match redact_once(&out) {
            Cow::Borrowed(_) => break,
            Cow::Owned(next) if next == out => break,
            Cow::Owned(next) => out = next,
        }
    }
    Cow::Owned(out)
}

/// Passes [`redact`] makes at most after the first (it stops as soon as one changes nothing).
const REDACT_PASSES_MAX: usize = 8;

/// One pass of [`redact`]: cards and IBANs, then code and password phrases, emails and
/// phones.
fn redact_once(text: &str) -> Cow<'_, str> {
    let first = mask_cards_and_ibans(text, iban_spans(text));
    let mut spans: Vec<(Range<usize>, Mask)> = phrase_secrets(&first)
        .into_iter()
        .map(|(r, _)| (r, Mask::Hidden))
        .collect();
    spans.extend(email_spans(&first).into_iter().map(|r| (r, Mask::Email)));
    spans.extend(phone_spans(&first).into_iter().map(|r| (r, Mask::Phone)));
    if spans.is_empty() {
        return first;
    }
    Cow::Owned(replace_spans(&first, spans))
}

/// `text` with its card numbers and the given IBAN spans masked.
fn mask_cards_and_ibans(text: &str, ibans: Vec<Range<usize>>) -> Cow<'_, str> {
    let mut spans: Vec<(Range<usize>, Mask)> = Vec::new();
    scan_cards(text, &ibans, |span| {
        spans.push((span, Mask::Card));
        true
    });
    spans.extend(ibans.into_iter().map(|r| (r, Mask::Iban)));
    if spans.is_empty() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(replace_spans(text, spans))
    }
}

/// Replaces each of `spans` with its placeholder. Overlapping spans (and touching spans of one
/// kind) are merged into one, which takes the placeholder of the most serious kind.
fn replace_spans(text: &str, mut spans: Vec<(Range<usize>, Mask)>) -> String {
    spans.sort_by_key(|(r, _)| (r.start, r.end));
    let mut merged: Vec<(Range<usize>, Mask)> = Vec::with_capacity(spans.len());
    for (r, m) in spans {
        match merged.last_mut() {
            Some((last, lm)) if r.start < last.end || (r.start == last.end && *lm == m) => {
                last.end = last.end.max(r.end);
                *lm = (*lm).min(m);
            }
            _ => merged.push((r, m)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, m) in merged {
        out.push_str(&text[at..r.start]);
        out.push_str(m.placeholder());
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Card numbers
// ---------------------------------------------------------------------------------------------

const CARD_MIN: usize = 13;
const CARD_MAX: usize = 19;
/// Visible separator characters allowed between two digit groups of one number: enough for
/// " - ", " / " or a double space, too few for a sentence.
const GAP_MAX: usize = 4;

/// Whether `text` contains a card number: a run of 13 to 19 digits that starts like a card
/// network's number (2–6) and passes the Luhn checksum every card number carries.
///
/// How the digits may be written: the text is split into digit *groups* (maximal runs of
/// decimal digits, in any script: full-width, Arabic-Indic, Devanagari, mathematical ...).
/// Groups form a *sequence* while only short separator runs sit between them: any characters
/// that are neither letters nor digits, at most [`GAP_MAX`] visible ones (zero-width and other
/// invisible format characters don't count). A letter, or a Discord mention like
/// `<@1300000000000000010>`, ends the sequence. Every contiguous run of whole groups in a
/// sequence is a candidate, so a card is found whatever sits right before or after it
/// ("exp 08/27 4111 1111 1111 1111 123").
///
/// Why whole groups and not every 13–19 digit window: a window may not start or end inside
/// a group, so a long id (a 19-digit Discord snowflake, a 22-digit reference) is never cut
/// into card-length pieces, each of which would pass Luhn one time in ten. The cost: a card
/// glued to other digits with no separator at all ("41111111111111111123") is out of scope,
/// and so is a group of more than 19 digits, which ends the sequence.
///
/// What keeps false positives down: the first digit must be 2–6 (Discord snowflakes start with
/// 1 for years to come, tracking numbers often with 9 or 0), Luhn passes only one random
/// number in ten, and a run may not start at a group right after `+` (a phone number's
/// country code: "+49 1512 3456789"). Dates, amounts, versions and phone numbers are mostly
/// too short to reach 13 digits.
///
/// One number is usually typed with one separator, and a run whose groups are joined by two
/// different separators is only taken for a card when it is laid out like one: every gap a
/// single character ("4111 1111-1111.1111", "4111/1111 1111 1111") and the groups sized as card
/// numbers are printed (4-4-4-4 with a shorter last group allowed, 4-6-5, 4-6-4, 4-4-5,
/// 4-3-3-3). See [`Sep`] for why mixed runs need that much more.
///
/// An IBAN is not a card: its digits often hold a Luhn-valid 16-digit run ("DE89 3704 0044
/// 0532 0130 00" did), so a valid IBAN (see [`personal`]) ends a sequence like a letter does.
/// IBANs are only looked for once a card candidate is found, so ordinary messages pay nothing.
///
/// Work is linear: each group is checked against at most 19 earlier groups, and a group
/// longer than 19 digits is not stored.
pub fn has_card_number(text: &str) -> bool {
    let mut found = false;
    scan_cards(text, &[], |_| {
        found = true;
        false
    });
    if !found {
        return false;
    }
    let ibans = iban_spans(text);
    if ibans.is_empty() {
        return true;
    }
    found = false;
    scan_cards(text, &ibans, |_| {
        found = true;
        false
    });
    found
}

#[derive(Clone, Copy)]
struct Group {
    /// Byte range of the group in the text, first digit to last.
    start: usize,
    end: usize,
    digits: [u8; CARD_MAX],
    len: usize,
    /// Right after a `+`: a phone number's country code, not the start of a card number.
    no_start: bool,
    /// The visible separator between the previous group of the sequence and this one.
    sep: Sep,
    /// How many visible characters that separator had (before normalizing).
    gap: usize,
}

/// A separator run, normalized so the ways of typing one separator compare equal: any space
/// is ' ', any dash is '-', spaces around another separator are dropped (" - " is "-"), and a
/// run of spaces is one. Empty when only invisible characters (or nothing) stood there.
///
/// One card number is usually written with one separator: "4111 1111 1111 1111", "4111-1111-…".
/// Two phone numbers ("555-123-4567, 555-987-6543"), IP addresses, timestamps and date ranges
/// mix them, and a run of groups joined by two different separators is not taken for a card
/// unless it has a card's layout (see [`has_card_number`]): without this rule two phone
/// numbers looked like a card about one time in four. Sloppy typing and copy-paste do mix
/// separators inside one card ("4111 1111-1111.1111"), hence the layout exception.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Sep {
    chars: [char; GAP_MAX],
    len: usize,
}

impl Sep {
    fn push(&mut self, c: char) {
        let c = if c.is_whitespace() {
            ' '
        } else if matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'
        ) {
            '-'
        } else {
            c
        };
        if self.len > 0 && c == ' ' && self.chars[self.len - 1] == ' ' {
            return;
        }
        if self.len < GAP_MAX {
            self.chars[self.len] = c;
            self.len += 1;
        }
    }

    /// The signature: spaces around other characters dropped.
    fn signature(mut self) -> Sep {
        let visible: Vec<char> = self.chars[..self.len].to_vec();
        if visible.iter().all(|&c| c == ' ') {
            return self;
        }
        let kept: Vec<char> = visible.into_iter().filter(|&c| c != ' ').collect();
        self.len = kept.len();
        self.chars[..kept.len()].copy_from_slice(&kept);
        self
    }
}

enum Class {
    Digit(u8),
    /// Zero-width and other invisible format characters: they split digit groups but don't
    /// count toward a separator run, since a reader doesn't see them.
    Invisible,
    Letter,
    Separator,
}

fn classify(c: char) -> Class {
    if let Some(d) = digit_value(c) {
        return Class::Digit(d);
    }
    if matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}')
    {
        Class::Invisible
    } else if c.is_alphanumeric() {
        Class::Letter
    } else {
        Class::Separator
    }
}

/// The code point of digit zero of each Unicode block of decimal digits (general category Nd);
/// each block runs zero to nine contiguously. Generated from the Unicode 14 data, plus the
/// blocks Unicode 15 added. Digits of newer blocks count as letters, which only ends a
/// sequence.
const DIGIT_ZEROS: [u32; 68] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// The value of `c` if it is a decimal digit in any script.
pub fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let cp = c as u32;
    let i = DIGIT_ZEROS.partition_point(|&z| z <= cp);
    let zero = *DIGIT_ZEROS.get(i.checked_sub(1)?)?;
    (cp - zero < 10).then_some((cp - zero) as u8)
}

/// The length in bytes of the Discord mention, channel link, custom emoji or timestamp at the
/// start of `s` (`<@123>`, `<@!123>`, `<@&123>`, `<#123>`, `<:name:123>`, `<a:name:123>`,
/// `<t:123:R>`), if there is one. Bounded, so a text of many `<` stays linear.
fn mention_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('<')?;
    if !(rest.starts_with(['@', '#', ':']) || rest.starts_with("t:") || rest.starts_with("a:")) {
        return None;
    }
    for (i, c) in rest.char_indices().take(100) {
        match c {
            '>' => return Some(1 + i + 1),
            c if c.is_ascii_alphanumeric() || "_:@!&#-".contains(c) => {}
            _ => return None,
        }
    }
    None
}

/// Whether a run's visual group sizes (first to last; groups split only by invisible characters
/// count as one) are a card number's printed layout.
fn card_layout(sizes: &[usize]) -> bool {
    match sizes {
        [4, 6, 5] | [4, 6, 4] | [4, 4, 5] | [4, 3, 3, 3] => true,
        [init @ .., last] => init.len() >= 3 && init.iter().all(|&n| n == 4) && *last <= 4,
        [] => false,
    }
}

/// Calls `found` with the byte span of each card number (for each group that ends one, the
/// longest valid run ending there), until `found` returns false. The sorted, disjoint `skip`
/// spans (IBANs) are passed over and end a sequence, like a letter.
fn scan_cards(text: &str, skip: &[Range<usize>], mut found: impl FnMut(Range<usize>) -> bool) {
    let mut seq: VecDeque<Group> = VecDeque::new();
    let mut seq_digits = 0usize;
    let mut cur: Option<Group> = None;
    let mut too_long = false;
    let mut gap = 0usize;
    let mut gap_sep = Sep::default();
    let mut after_plus = false;

    // Ends the group being read: stores it in the sequence and checks the runs ending at it.
    // Returns false when `found` asked to stop.
    let mut close = |cur: &mut Option<Group>,
                     too_long: &mut bool,
                     seq: &mut VecDeque<Group>,
                     seq_digits: &mut usize|
     -> bool {
        let Some(g) = cur.take() else { return true };
        if std::mem::take(too_long) {
            // No run can contain it, so it splits the sequence.
            seq.clear();
            *seq_digits = 0;
            return true;
        }
        seq.push_back(g);
        *seq_digits += g.len;
        while *seq_digits > CARD_MAX {
            if let Some(front) = seq.pop_front() {
                *seq_digits -= front.len;
            }
        }
        // Luhn from the right: prepending a group only adds terms, so one pass over the
        // sequence, back to front, checks every run ending at `g`. Once a separator differs
        // from the others (see [`Sep`]) the run is mixed: it goes on only while every gap is
        // one character, and is a card only with a card's layout.
        let (mut sum, mut pos) = (0u32, 0usize);
        let mut best = None;
        let mut run_sep: Option<Sep> = None;
        let mut mixed = false;
        let mut single = true;
        // Visual group sizes, last group first.
        let mut sizes = [0usize; CARD_MAX];
        let mut groups = 0usize;
        let mut later: Option<&Group> = None;
        for h in seq.iter().rev() {
            match later {
                Some(l) if l.sep.len > 0 => {
                    single &= l.gap == 1;
                    match run_sep {
                        None => run_sep = Some(l.sep),
                        Some(s) if s != l.sep => mixed = true,
                        Some(_) => {}
                    }
                    if mixed && !single {
                        break;
                    }
                    sizes[groups] = h.len;
                    groups += 1;
                }
                // Only invisible characters (or nothing) between: one group to the eye.
                Some(_) => sizes[groups - 1] += h.len,
                None => {
                    sizes[0] = h.len;
                    groups = 1;
                }
            }
            later = Some(h);
            for &d in h.digits[..h.len].iter().rev() {
                let d = u32::from(d);
                sum += if pos % 2 == 1 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                };
                pos += 1;
            }
            if (CARD_MIN..=CARD_MAX).contains(&pos)
                && !h.no_start
                && (2..=6).contains(&h.digits[0])
                && sum.is_multiple_of(10)
                && (!mixed || {
                    let mut layout = sizes;
                    layout[..groups].reverse();
                    card_layout(&layout[..groups])
                })
            {
                best = Some(h.start..g.end);
            }
        }
        match best {
            Some(span) => found(span),
            None => true,
        }
    };

    let mut skip = skip.iter().peekable();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let width = c.len_utf8();
        if let Some(r) = skip.next_if(|r| r.start <= i) {
            if !close(&mut cur, &mut too_long, &mut seq, &mut seq_digits) {
                return;
            }
            seq.clear();
            seq_digits = 0;
            after_plus = false;
            gap = 0;
            gap_sep = Sep::default();
            i = r.end.max(i + width);
            continue;
        }
        if c == '<' {
            if let Some(n) = mention_len(&text[i..]) {
                if !close(&mut cur, &mut too_long, &mut seq, &mut seq_digits) {
                    return;
                }
                seq.clear();
                seq_digits = 0;
                after_plus = false;
                i += n;
                continue;
            }
        }
        match classify(c) {
            Class::Digit(d) => {
                let g = cur.get_or_insert_with(|| Group {
                    start: i,
                    end: i,
                    digits: [0; CARD_MAX],
                    len: 0,
                    no_start: after_plus,
                    sep: std::mem::take(&mut gap_sep).signature(),
                    gap,
                });
                if g.len < CARD_MAX {
                    g.digits[g.len] = d;
                    g.len += 1;
                } else {
                    too_long = true;
                }
                g.end = i + width;
                gap = 0;
                after_plus = false;
            }
            Class::Invisible => {
                if !close(&mut cur, &mut too_long, &mut seq, &mut seq_digits) {
                    return;
                }
            }
            Class::Letter => {
                if !close(&mut cur, &mut too_long, &mut seq, &mut seq_digits) {
                    return;
                }
                seq.clear();
                seq_digits = 0;
                after_plus = false;
            }
            Class::Separator => {
                if !close(&mut cur, &mut too_long, &mut seq, &mut seq_digits) {
                    return;
                }
                gap += 1;
                gap_sep.push(c);
                after_plus = c == '+';
                if gap > GAP_MAX {
                    seq.clear();
                    seq_digits = 0;
                }
            }
        }
        i += width;
    }
    close(&mut cur, &mut too_long, &mut seq, &mut seq_digits);
}

// ---------------------------------------------------------------------------------------------
// IBANs
// ---------------------------------------------------------------------------------------------

/// IBAN length by country code, from the ISO 13616 registry (release 99, 2024).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22),
    (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DJ", 27), (b"DK", 18), (b"DO", 28), (b"EE", 20),
    (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22),
    (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HN", 28), (b"HR", 21),
    (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30),
    (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20), (b"LU", 20),
    (b"LV", 21), (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22), (b"MK", 19), (b"MN", 20),
    (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NI", 28), (b"NL", 18), (b"NO", 15), (b"OM", 23),
    (b"PK", 24), (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22),
    (b"RU", 33), (b"SA", 24), (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24),
    (b"SM", 27), (b"SO", 23), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26),
    (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20), (b"YE", 30),
];

/// The longest IBAN (Russia's).
const IBAN_MAX: usize = 34;

/// Byte spans of the IBANs in `text`, in order: a known country code at the start of a word,
/// two check digits right after it and the rest of the country's length in letters and digits
/// (any digit script), either in groups of four split by one space or dash ("DE89 3704 0044
/// 0532 0130 00") or with no separator at all ("de89370400440532013000"), and the ISO 7064
/// mod-97 check passing. The check passes for one random string in 97, the length must match
/// the country's exactly and the layout is strict, so a word that happens to be a country code
/// ("no", "at", "de") followed by numbers is not an IBAN.
fn iban_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < bytes.len() {
        if bytes[i].is_ascii_alphabetic()
            && bytes[i + 1].is_ascii_alphabetic()
            && !text[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            if let Some(end) = iban_at(text, i) {
                out.push(i..end);
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The end of the IBAN starting at byte `at` (an ASCII letter), if one does.
fn iban_at(text: &str, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    let cc = [b[at].to_ascii_uppercase(), b[at + 1].to_ascii_uppercase()];
    let len = IBAN_LENGTHS.iter().find(|(c, _)| **c == cc)?.1;
    let mut vals = [0u8; IBAN_MAX];
    vals[0] = cc[0] - b'A' + 10;
    vals[1] = cc[1] - b'A' + 10;
    let mut n = 2;
    let mut end = at + 2;
    let mut separated = false;
    // Printed in groups of four ("DE89 3704 …") or not at all ("DE8937…"): decided at the
    // first group's end, then kept.
    let mut spaced: Option<bool> = None;
    for (off, c) in text[at + 2..].char_indices() {
        if n == len {
            break;
        }
        let v = if let Some(d) = digit_value(c) {
            d
        } else if c.is_ascii_alphabetic() && n >= 4 {
            c.to_ascii_uppercase() as u8 - b'A' + 10
        } else {
            match classify(c) {
                Class::Invisible => continue,
                Class::Separator
                    if !separated && n >= 4 && n % 4 == 0 && (c.is_whitespace() || c == '-') =>
                {
                    separated = true;
                    continue;
                }
                _ => return None,
            }
        };
        if n >= 4 && n % 4 == 0 && *spaced.get_or_insert(separated) != separated {
            return None;
        }
        vals[n] = v;
        n += 1;
        separated = false;
        end = at + 2 + off + c.len_utf8();
    }
    if n < len
        || text[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    // ISO 7064 MOD 97-10: the first four characters move to the end, letters count as 10–35.
    let mut rem = 0u32;
    for &v in vals[4..len].iter().chain(&vals[..4]) {
        rem = if v >= 10 {
            (rem * 100 + u32::from(v)) % 97
        } else {
            (rem * 10 + u32::from(v)) % 97
        };
    }
    (rem == 1).then_some(end)
}

// ---------------------------------------------------------------------------------------------
// Email addresses
// ---------------------------------------------------------------------------------------------

/// Byte spans of the email addresses in `text`: a local part of letters, digits and `._%+-'`
/// (at most 64 characters), `@`, and a domain of at least two dot-separated labels ending in
/// an alphabetic top-level domain of two letters or more. A Discord mention (`<@123>`) has no
/// local part and no domain, so it is not one.
fn email_spans(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    if !text.contains('@') {
        return out;
    }
    for (at, _) in text.match_indices('@') {
        if out.last().is_some_and(|r| at < r.end) {
            continue;
        }
        let mut start = at;
        for (j, c) in text[..at].char_indices().rev().take(64) {
            if c.is_alphanumeric() || "._%+-'".contains(c) {
                start = j;
            } else {
                break;
            }
        }
        while text[start..at].starts_with(['.', '\'', '-']) {
            start += 1;
        }
        if start == at {
            continue;
        }
        let rest = &text[at + 1..];
        let mut len = 0;
        for (j, c) in rest.char_indices().take(255) {
            if c.is_alphanumeric() || c == '-' || c == '.' {
                len = j + c.len_utf8();
            } else {
                break;
            }
        }
        let domain = rest[..len].trim_end_matches(['.', '-']);
        let mut labels = domain.split('.');
        let tld = labels.next_back().unwrap_or("");
        let ok = domain.contains('.')
            && domain.split('.').all(|l| !l.is_empty())
            && tld.chars().count() >= 2
            && tld.chars().all(char::is_alphabetic);
        if ok {
            out.push(start..at + 1 + domain.len());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

/// The fewest and most digits of a phone number (E.164 allows 15 with the country code).
const PHONE_MIN: usize = 7;
const PHONE_MAX: usize = 15;
/// The most digit groups one phone number is read in.
const PHONE_GROUPS_MAX: usize = 8;

/// Words that, shortly before a plain run of digits, say it is a phone number.
#[rustfmt::skip]
const PHONE_WORDS: &[&str] = &[
    "phone", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "whatsapp", "sms", "call",
    "handy", "telefon", "telefonnummer", "handynummer", "mobil", "teléfono", "telefono", "móvil",
    "movil", "téléphone", "portable", "numéro", "tél",
];

/// Words that may sit between a phone word and the number ("call me on", "my phone number
/// is"); any other word ("call on order 1000…") breaks the link.
#[rustfmt::skip]
const PHONE_FILLERS: &[&str] = &[
    "", "me", "us", "on", "at", "is", "my", "our", "the", "number", "nr", "no", "to", "via",
    "under", "its", "meine", "ist", "unter", "mi", "es", "mon", "est", "au",
];

/// One group of digits of a phone number candidate.
#[derive(Clone, Copy, Default)]
struct PhoneGroup {
    /// Byte range, first digit to last.
    start: usize,
    end: usize,
    /// Index in the char list just past the group.
    next: usize,
    len: usize,
    first: u8,
    second: Option<u8>,
    third: Option<u8>,
}

/// How two groups of a phone number are joined.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PhoneSep {
    /// One space, dash, dot or slash.
    Plain(char),
    /// A bracket is involved: "(555) 123", "+44 (0)20".
    Paren,
}

/// Byte spans of the phone numbers in `text`. A candidate is read from the start of a digit
/// group (or a `+` or `(` before one) as groups of digits joined by one space, dash, dot or
/// slash, or by brackets; the longest leading part of it that one of these accepts is a phone:
/// - international: `+` and 8–15 digits ("+49 151 23456789", "+1 (555) 123-4567"), or `00`
///   and a country code, in at least two groups ("0049 151 23456789");
/// - North American: 3-3-4 digits, area code and exchange starting with 2–9, one separator
///   throughout or the area code in brackets ("555-234-5678", "(555) 234-5678");
/// - national with a trunk 0: 9–12 digits in groups of two or more, one separator throughout
///   or the area code in brackets ("020 7946 0958", "0151 23456789", "06 12 34 56 78");
/// - 7–15 digits with one separator throughout, right after a phone word ("call me on
///   5551234567", "tel: 01512345678"; see [`PHONE_WORDS`]), unless they are a date or an
///   amount in thousands.
///
/// What stays out: a candidate glued to a letter or to a digit before it ("v10.12.3",
/// "1.240,50"), a group of more than 15 digits (ids, snowflakes), amounts, dates, times and
/// versions, which have too few digits, mix separators or start with 1–9 without a phone
/// word. An order number typed like a phone number is masked as one: the cost of hiding an
/// order number from staff is smaller than keeping a phone number.
fn phone_spans(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let digits = text
        .chars()
        .filter(|&c| digit_value(c).is_some())
        .take(PHONE_MIN)
        .count();
    if digits < PHONE_MIN {
        return out;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let is_digit = |k: usize| chars.get(k).is_some_and(|&(_, c)| digit_value(c).is_some());
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c == '<' {
            if let Some(n) = mention_len(&text[at..]) {
                while i < chars.len() && chars[i].0 < at + n {
                    i += 1;
                }
                continue;
            }
        }
        let opens = match c {
            '+' | '(' => is_digit(i + 1),
            c => digit_value(c).is_some(),
        };
        let done = out.last().map_or(0, |r| r.end);
        if opens && phone_may_start(&chars, i, done) {
            if let Some((span, next)) = phone_at(text, &chars, i) {
                out.push(span);
                i = next;
                continue;
            }
        }
        i += 1;
        if opens {
            // The rest of this group can't start a number.
            while is_digit(i) {
                i += 1;
            }
        }
    }
    out
}

/// Whether a phone number may start at char `i`: not glued to a letter, a mention or handle
/// sign, a currency sign, or a digit before it (directly or across one `.,:/-_'`), unless that
/// digit ends a phone number already found (before byte `done`).
fn phone_may_start(chars: &[(usize, char)], i: usize, done: usize) -> bool {
    let Some(&(_, prev)) = i.checked_sub(1).and_then(|k| chars.get(k)) else {
        return true;
    };
    if prev.is_alphanumeric() || "@#&!$€£¥+%*\\".contains(prev) {
        return false;
    }
    if ".,:/-_'".contains(prev) {
        if let Some(&(b, before)) = i.checked_sub(2).and_then(|k| chars.get(k)) {
            if digit_value(before).is_some() && b >= done {
                return false;
            }
        }
    }
    !continues_thousands(chars, i, done)
}

/// Whether the digit group at char `i` is a three-digit group starting with 0 right after a
/// group of one to three digits and a space: the thousands of an amount ("1 001", "5 012 345
/// kr"), not an international prefix or a trunk 0.
fn continues_thousands(chars: &[(usize, char)], i: usize, done: usize) -> bool {
    let digit = |k: usize| chars.get(k).is_some_and(|&(_, c)| digit_value(c).is_some());
    let group = (i..).take_while(|&k| digit(k)).count();
    if group != 3 || chars.get(i).and_then(|&(_, c)| digit_value(c)) != Some(0) {
        return false;
    }
    let Some(space) = i.checked_sub(1) else {
        return false;
    };
    if !chars[space].1.is_whitespace() {
        return false;
    }
    let head = (0..space).rev().take_while(|&k| digit(k)).count();
    let head_start = space - head;
    (1..=3).contains(&head)
        && chars[head_start].0 >= done
        && head_start
            .checked_sub(1)
            .is_none_or(|k| !chars[k].1.is_alphanumeric())
}

/// The phone number starting at char `i`, with the char index just past it.
fn phone_at(text: &str, chars: &[(usize, char)], i: usize) -> Option<(Range<usize>, usize)> {
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut j = i;
    let plus = at(j) == Some('+');
    if plus {
        j += 1;
    }
    let open = at(j) == Some('(');
    if open {
        j += 1;
    }
    let mut groups = [PhoneGroup::default(); PHONE_GROUPS_MAX];
    let mut seps = [PhoneSep::Paren; PHONE_GROUPS_MAX];
    let mut n = 0;
    let mut total = 0;
    loop {
        let mut g = PhoneGroup {
            start: chars.get(j)?.0,
            ..PhoneGroup::default()
        };
        while let Some(c) = at(j) {
            if let Some(d) = digit_value(c) {
                match g.len {
                    0 => g.first = d,
                    1 => g.second = Some(d),
                    2 => g.third = Some(d),
                    _ => {}
                }
                g.len += 1;
                g.end = chars[j].0 + c.len_utf8();
            } else if !matches!(classify(c), Class::Invisible) {
                break;
            }
            j += 1;
        }
        if g.len > PHONE_MAX {
            // An id, not a phone number; nothing in it is.
            return None;
        }
        g.next = j;
        groups[n] = g;
        n += 1;
        total += g.len;
        if n == PHONE_GROUPS_MAX || total > PHONE_MAX + 2 {
            break;
        }
        // The separator: `)`, then one space, dash, dot or slash, then `(`, in any part.
        let mut k = j;
        let mut paren = false;
        let mut plain = None;
        if at(k) == Some(')') {
            paren = true;
            k += 1;
        }
        if let Some(c) = at(k) {
            let c = if c.is_whitespace() && c != '\n' && c != '\r' {
                Some(' ')
            } else if matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}') {
                Some('-')
            } else if matches!(c, '.' | '/') {
                Some(c)
            } else {
                None
            };
            if c.is_some() {
                plain = c;
                k += 1;
            }
        }
        if at(k) == Some('(') {
            paren = true;
            k += 1;
        }
        if !(paren || plain.is_some()) || at(k).is_none_or(|c| digit_value(c).is_none()) {
            break;
        }
        seps[n - 1] = if paren {
            PhoneSep::Paren
        } else {
            PhoneSep::Plain(plain.unwrap_or(' '))
        };
        j = k;
    }
    let word = !plus && phone_word_before(text, groups[0].start);
    for k in (1..=n).rev() {
        let last = groups[k - 1];
        // Glued to a letter, or to more digits across a tight separator: "200 000 1990-01-01"
        // is an amount and a date, "030 1234 5678,50" not a phone number.
        let after = &text[last.end..];
        let mut next = after.chars();
        let glued = match next.next() {
            Some(c) if c.is_alphanumeric() => true,
            Some(',' | ':' | '-' | '.' | '/' | '_' | '\u{2010}'..='\u{2015}' | '\u{2212}') => {
                next.next().is_some_and(|c| digit_value(c).is_some())
            }
            _ => false,
        };
        if glued || !phone_shape(&groups[..k], &seps[..k - 1], plus, open, word) {
            continue;
        }
        let start = if plus || (open && seps[0] == PhoneSep::Paren) {
            chars[i].0
        } else {
            groups[0].start
        };
        return Some((start..last.end, last.next));
    }
    None
}

/// Whether these groups, joined by these separators, are a phone number (see
/// [`phone_spans`] for the shapes).
fn phone_shape(
    groups: &[PhoneGroup],
    seps: &[PhoneSep],
    plus: bool,
    open: bool,
    word: bool,
) -> bool {
    let digits: usize = groups.iter().map(|g| g.len).sum();
    let g0 = groups[0];
    if plus {
        return (8..=PHONE_MAX).contains(&digits) && g0.first != 0;
    }
    // One plain separator throughout, or the first group in brackets and one after it.
    let bracketed = open && seps.first() == Some(&PhoneSep::Paren);
    let rest = if bracketed { &seps[1..] } else { seps };
    let uniform = rest
        .iter()
        .all(|s| matches!(s, PhoneSep::Plain(_)) && *s == rest[0]);
    let lens: Vec<usize> = groups.iter().map(|g| g.len).collect();
    let n = |g: &PhoneGroup| (2..=9).contains(&g.first);
    if g0.first == 0 && g0.second == Some(0) {
        // "0049 151 …": 00, a country code (never starting with 0) in the same group.
        return groups.len() >= 2
            && (3..=5).contains(&g0.len)
            && g0.third.is_some_and(|d| d != 0)
            && uniform
            && (10..=PHONE_MAX + 2).contains(&digits);
    }
    let nanp = match lens.as_slice() {
        [3, 3, 4] => n(&groups[0]) && n(&groups[1]),
        [1, 3, 3, 4] => g0.first == 1 && n(&groups[1]) && n(&groups[2]),
        _ => false,
    };
    if nanp && uniform && !rest.contains(&PhoneSep::Plain('/')) {
        return true;
    }
    // The area code has two digits or more; a two-digit one only in the French "06 12 34 56
    // 78" or the Dutch "06 12345678" layout, so "08/27/12139" stays a date. A slash only
    // after the area code ("0151/23456789").
    let layout = g0.len >= 3
        || lens.iter().all(|&l| l == 2)
        || matches!(lens.as_slice(), [2, 7..=PHONE_MAX]);
    let slash = rest.contains(&PhoneSep::Plain('/'));
    let trunk = g0.first == 0
        && g0.second.is_some_and(|d| d != 0)
        && groups.len() >= 2
        && groups.iter().all(|g| g.len >= 2)
        && (9..=12).contains(&digits)
        && layout
        && (!slash || (groups.len() == 2 && g0.len >= 3));
    if trunk && uniform {
        return true;
    }
    // A date ("call on 12.05.2024") or an amount in thousands ("100 000 000") is not a phone
    // number, phone word or not. (So a Spanish "612 345 678" is masked only with its +34.)
    let date = matches!(lens.as_slice(), [1 | 2, 1 | 2, 4] | [4, 1 | 2, 1 | 2]);
    let thousands = groups.len() >= 2 && g0.len <= 3 && lens[1..].iter().all(|&l| l == 3);
    // Phone groups have two digits or more, and dots are left to the shapes above:
    // "1.0.0.1000" and "10.10.10.10" are versions or addresses.
    let short = lens.iter().any(|&l| l < 2);
    let dots = rest.contains(&PhoneSep::Plain('.'));
    word && uniform
        && !date
        && !thousands
        && !short
        && !dots
        && (PHONE_MIN..=PHONE_MAX).contains(&digits)
}

/// Whether one of [`PHONE_WORDS`] is among the four words before byte `at`, with only
/// [`PHONE_FILLERS`] in between ("call me on", "my phone number is", "tel:").
fn phone_word_before(text: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(64);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let window = &text[from..at];
    let mut words: Vec<&str> = window.split_whitespace().collect();
    if from > 0 && !window.starts_with(char::is_whitespace) && !words.is_empty() {
        // Cut in the middle of a word: not a word.
        words.remove(0);
    }
    for word in words.into_iter().rev().take(4) {
        if word.chars().any(|c| digit_value(c).is_some() || c == '[') {
            return false;
        }
        let core: String = word
            .chars()
            .filter(|c| c.is_alphabetic())
            .flat_map(char::to_lowercase)
            .collect();
        if PHONE_WORDS.contains(&core.as_str()) {
            return true;
        }
        if !PHONE_FILLERS.contains(&core.as_str()) {
            return false;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Codes and passwords
// ---------------------------------------------------------------------------------------------

/// A 3–4 digit code (digits may be spaced: "1 2 3") shortly after a CVV keyword. The gap may
/// not cross a placeholder (`[`), so `redact` stays idempotent.
static CODE_AFTER_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:cvv2?|cvc2?|cv2|csc|security\s+code|card\s+code)\b[^\d\[\]]{0,12}\b(\d(?:[ \-]?\d){2,3})\b",
    )
    .expect("static regex")
});

/// "123 is my cvv", "1234 is the pin".
static CODE_BEFORE_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{3,8})\s+(?:is|was|=|are)\s+(?:(?:my|the|his|her|our|your)\s+)?(?:cvv2?|cvc2?|cv2|csc|security\s+code|card\s+code|pin)\b",
    )
    .expect("static regex")
});

/// "the 3 digits on the back are 123".
static CODE_ON_THE_BACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:digits?|numbers?|code)\s+on\s+(?:the\s+)?back(?:\s+of\s+(?:the|my|your)\s+card)?\s*(?:(?:are|is|were|was|=|:|-)\s*)?\b(\d(?:[ \-]?\d){2,3})\b",
    )
    .expect("static regex")
});

/// Words that introduce a password or a PIN. `pass` is weak (a boarding pass, to pass a
/// check), so it only counts with a connector and a token that mixes letters with digits or
/// symbols.
static SECRET_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?P<pin>pin(?:\s*(?:code|number))?)|mot\s+de\s+passe|pass\s?words?|passwor[dt]s?|passwd|passcode|kennwort|contrase[ñn]as?|pwd|pw|(?P<weak>pass))\b",
    )
    .expect("static regex")
});

/// What may sit between a keyword and its secret: an optional "for klarna", then `is`, `was`,
/// `ist`, `es`, `est`, `:` or `=`, then an optional filler ("is now ...").
static CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\s+(?:for|on|at|in|to|of|für|bei|pour|para)\s+(?:(?:my|the|your|mein|meine|mon|ma|mi)\s+)?[\w.'-]{1,30})?(?:\s*[:=]\s*|\s*[-=]>\s*|\s+(?:is|was|ist|war|es|est|lautet|are|were)(?:\s*:\s*|\s+))(?:(?:now|still|just|currently|literally|actually|simply|probably|like|basically|jetzt|nun)\s+)?",
    )
    .expect("static regex")
});

/// "hunter2 is my password": the token before must look like a secret.
static SECRET_BEFORE_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|\s)(\S+)\s+(?:is|was|=)\s+(?:(?:my|the|our|his|her|your)\s+)?(?:password|passwort|passwd|pwd|pw|passcode|kennwort)\b",
    )
    .expect("static regex")
});

/// An email address followed by `:`, `/` or `|` and a token: "bob@example.com:hunter2".
static EMAIL_THEN_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\w.+-]+@[\w-]+(?:\.[\w-]+)+(\s*[:/|]\s*)(\S+)").expect("static regex")
});

/// "login is bob / hunter2", "credentials: bob:hunter2".
static LOGIN_THEN_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:login|log-in|credentials|creds)\s*(?:\s(?:is|are|was)\s|[:=])\s*([^\s/:|]+)\s*[/:|]\s*(\S+)",
    )
    .expect("static regex")
});

/// Ordinary words that follow "my password is" in support talk: the state of the password,
/// not the password. Lowercase; English, German, Spanish and French.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    // English
    "wrong", "incorrect", "not", "expired", "reset", "correct", "right", "too", "the", "case",
    "sensitive", "fine", "ok", "okay", "valid", "invalid", "blocked", "locked", "changed",
    "forgotten", "lost", "gone", "missing", "required", "needed", "weak", "strong", "short",
    "long", "same", "different", "empty", "blank", "new", "old", "a", "an", "my", "your", "his",
    "her", "their", "our", "it", "its", "that", "this", "there", "here", "what", "which", "where",
    "why", "how", "when", "who", "on", "in", "at", "for", "from", "to", "of", "with", "without",
    "and", "or", "but", "so", "because", "saved", "stored", "set", "been", "being", "also",
    "definitely", "probably", "still", "just", "now", "already", "never", "always", "no", "none",
    "nothing", "very", "really", "super", "good", "bad", "broken", "stuck", "useless", "unknown",
    "hidden", "visible", "shown", "asked", "sent", "like", "about", "over", "under", "less",
    "more", "only", "all", "any", "some", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "digits", "characters", "chars", "letters", "numbers", "something",
    "anything", "everything", "whatever", "mine", "yours", "fake", "secure", "safe", "unsafe",
    "ready", "due", "mandatory", "optional", "impossible", "possible", "hard", "easy", "simple",
    "complicated", "weird", "strange", "odd", "great", "perfect", "done", "isnt", "wasnt",
    "doesnt", "dont", "cant", "wont", "aint", "def", "prob", "rly", "rlly", "sth", "smth", "ur",
    "u", "ya", "yes", "yeah", "yep", "nope", "nah", "either", "try", "please", "pls", "plz",
    "error", "help", "again", "forgot", "change", "update", "updated", "hint", "field", "box",
    "page", "screen", "link", "email", "mail", "sms", "code", "text", "app", "login", "account",
    "neither", "both", "most", "least", "sure", "unsure", "unclear", "clear", "known", "unusual",
    "usual", "normal", "standard", "default", "temporary", "temp", "expiring", "outdated",
    "current", "previous", "last", "first", "next", "then", "than", "as", "by", "if", "into",
    "onto", "up", "down", "out", "off", "back", "correctly", "through", "via", "accepted",
    "rejected", "declined", "denied", "disabled", "enabled", "active", "inactive", "deactivated",
    "frozen", "suspended", "compromised", "hacked", "leaked", "stolen", "requested", "typed",
    "entered", "mistyped", "misspelled",
    // German
    "falsch", "richtig", "korrekt", "abgelaufen", "gesperrt", "nicht", "zu", "ungültig",
    "vergessen", "weg", "neu", "alt", "leer", "der", "die", "das", "mein", "meine", "kein",
    "keine", "noch", "schon", "auch", "sehr", "immer", "zurückgesetzt", "geändert",
    // Spanish
    "incorrecta", "incorrecto", "correcta", "correcto", "mala", "malo", "mal", "la", "el", "mi",
    "muy", "olvidada", "bloqueada", "caducada", "nueva", "vieja",
    // French
    "faux", "fausse", "bon", "bonne", "bloqué", "oublié", "pas", "le", "mon", "trop", "expiré",
    "nouveau", "ancien",
];

/// Whether `word` describes a password rather than being one: a stop word, or a lowercase
/// word shaped like a participle or an adverb ("working", "blocked", "definitely").
fn ordinary_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    if STOP_WORDS.contains(&lower.as_str()) {
        return true;
    }
    let plain_lowercase = word
        .chars()
        .all(|c| c.is_lowercase() || c == '\'' || c == '’');
    plain_lowercase
        && (word.contains(['\'', '’'])
            || (word.chars().count() >= 5
                && (lower.ends_with("ed") || lower.ends_with("ing") || lower.ends_with("ly"))))
}

/// A symbol that makes a token look like a secret: anything but letters, digits and the
/// apostrophes and hyphens of ordinary words ("isn't", "e-mail").
fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !matches!(c, '\'' | '’' | '-')
}

/// The longest token a secret is looked for in, in bytes: far longer than any password.
const TOKEN_BYTES_MAX: usize = 128;

/// The token at the start of `s` (up to whitespace), with its core: the token without
/// surrounding quotes, brackets and sentence punctuation.
fn token(s: &str) -> Option<(usize, &str)> {
    if PLACEHOLDERS.iter().any(|p| s.starts_with(p)) {
        // Already redacted.
        return None;
    }
    // A token is read up to whitespace, but never further than this: a line of many keywords
    // ("pw:pw:pw:…") must not rescan the rest of the text for each one.
    let mut cap = s.len().min(TOKEN_BYTES_MAX);
    while !s.is_char_boundary(cap) {
        cap -= 1;
    }
    let len = s[..cap].find(char::is_whitespace).unwrap_or(cap);
    let core = s[..len]
        .trim_start_matches(['"', '\'', '`', '‘', '“', '«', '(', '[', '{', '<', '*', '_'])
        .trim_end_matches([
            '"', '\'', '`', '’', '”', '»', ')', ']', '}', '>', '*', '_', '.', ',', '!', '?', ';',
            ':',
        ]);
    (len > 0 && !core.is_empty()).then_some((len, core))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Pin,
    Weak,
    Strong,
}

/// The byte range of the secret after a keyword ending at `at`, if one follows.
fn secret_after(text: &str, at: usize, keyword: Keyword) -> Option<Range<usize>> {
    let rest = &text[at..];
    let (start, connected) = match CONNECTOR.find(rest) {
        Some(m) => (m.end(), true),
        None => {
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() {
                return None;
            }
            (rest.len() - trimmed.len(), false)
        }
    };
    let (len, core) = token(&rest[start..])?;
    if ordinary_word(core) {
        return None;
    }
    let chars = core.chars().count();
    let all_digits = core.chars().all(|c| digit_value(c).is_some());
    let has_digit = core.chars().any(|c| digit_value(c).is_some());
    let has_letter = core.chars().any(char::is_alphabetic);
    let has_symbol = core.chars().any(is_symbol);
    let secret = match (keyword, connected) {
        // PINs are digits; "pin reset" and "pin 2 messages" are not PINs.
        (Keyword::Pin, false) => all_digits && (4..=8).contains(&chars),
        (Keyword::Pin, true) => chars >= 3,
        (Keyword::Weak, false) => false,
        (Keyword::Weak, true) => has_letter && (has_digit || has_symbol),
        (Keyword::Strong, true) => chars >= 3,
        (Keyword::Strong, false) => chars >= 4 && (has_digit || has_symbol),
    };
    secret.then(|| at + start..at + start + len)
}

/// The spans of code and password secrets in `text`, with their kind.
fn phrase_secrets(text: &str) -> Vec<(Range<usize>, Secret)> {
    let mut out = Vec::new();
    for re in [
        &*CODE_AFTER_KEYWORD,
        &*CODE_BEFORE_KEYWORD,
        &*CODE_ON_THE_BACK,
    ] {
        for c in re.captures_iter(text) {
            if let Some(m) = c.get(1) {
                out.push((m.range(), Secret::Code));
            }
        }
    }
    for c in SECRET_KEYWORD.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let keyword = if c.name("pin").is_some() {
            Keyword::Pin
        } else if c.name("weak").is_some() {
            Keyword::Weak
        } else {
            Keyword::Strong
        };
        if let Some(span) = secret_after(text, m.end(), keyword) {
            let kind = if keyword == Keyword::Pin {
                Secret::Code
            } else {
                Secret::Password
            };
            out.push((span, kind));
        }
    }
    for c in SECRET_BEFORE_KEYWORD.captures_iter(text) {
        let Some(tok) = c.get(1) else { continue };
        if let Some((_, core)) = token(tok.as_str()) {
            let looks = core
                .chars()
                .any(|c| digit_value(c).is_some() || is_symbol(c));
            if core.chars().count() >= 3 && looks && !ordinary_word(core) {
                out.push((tok.range(), Secret::Password));
            }
        }
    }
    for c in EMAIL_THEN_SECRET.captures_iter(text) {
        let (Some(sep), Some(tok)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let Some((_, core)) = token(tok.as_str()) else {
            continue;
        };
        // "bob@x.com:hunter2" is a credential dump; after " / " the token must look like a
        // secret, so "bob@x.com / discord" is not one.
        let dump = sep.as_str() == ":";
        let looks = core
            .chars()
            .any(|c| digit_value(c).is_some() || is_symbol(c));
        if core.chars().count() >= 3 && !ordinary_word(core) && (dump || looks) {
            out.push((tok.range(), Secret::Password));
        }
    }
    for c in LOGIN_THEN_SECRET.captures_iter(text) {
        let (Some(user), Some(tok)) = (c.get(1), c.get(2)) else {
            continue;
        };
        // "login is slow / app crashes" is not a login: the secret must look like one, unless
        // the user part is an email address.
        if let Some((_, core)) = token(tok.as_str()) {
            let looks = core
                .chars()
                .any(|c| digit_value(c).is_some() || is_symbol(c));
            if core.chars().count() >= 3
                && !ordinary_word(core)
                && (looks || user.as_str().contains('@'))
            {
                out.push((tok.range(), Secret::Password));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Found by `cargo fuzz` (target `redact`): masking one password phrase brought the next
    /// into reach, so a second pass hid more than the first.
    #[test]
    fn redact_is_idempotent_where_phrases_chain() {
        let input = "pw: sr\0login is bpw:login is bpw: s\0\0\0\0\0\0\0login is bpw: s /hu]\u{17}0";
        let once = redact(input).into_owned();
        assert_eq!(redact(&once), once);
    }

    proptest::proptest! {
        /// The class: phrase openers, separators and words chained in any order.
        #[test]
        fn redact_is_idempotent_over_chained_phrases(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "pw:", "pw: ", "login is ", "password is ", "passwort ist ", "my pin is ",
                    "cvv ", "cvv: ", "b", "s", "x1", " ", "\0", ":", "/", "bob@x.com", " / ",
                    "123", "4111", "hunter2", "\n",
                ]),
                0..24,
            )
        ) {
            let text: String = parts.concat();
            let once = redact(&text).into_owned();
            proptest::prop_assert_eq!(redact(&once).into_owned(), once);
        }
    }

    use super::testgen::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn test_card_numbers_are_spotted_in_any_grouping() {
        // Well-known test numbers, not real cards.
        assert!(looks_sensitive(
            "my card is 4111 1111 1111 1111 why declined"
        ));
        assert!(looks_sensitive("5555-5555-5555-4444"));
        assert!(looks_sensitive("378282246310005"));
    }

    #[test]
    fn amounts_versions_and_order_numbers_are_not_cards() {
        assert!(!looks_sensitive("order 1234567890123 for $240"));
        // Passes Luhn, but no card network starts with 9.
        assert!(!looks_sensitive("tracking 9000000000000001"));
        assert!(!looks_sensitive("app version 24.10.2 on ios 17"));
        assert!(!looks_sensitive("€89,99 at zalando"));
    }

    #[test]
    fn cvv_and_passwords_are_spotted() {
        assert!(looks_sensitive("cvv is 123"));
        assert!(looks_sensitive("CVC: 4321"));
        assert!(looks_sensitive("my password is hunter2"));
        assert!(!looks_sensitive("i forgot my password"));
        assert!(!looks_sensitive("wrong cvv i think"));
    }

    /// The formats the old detector missed: each was a regression before the group scanner.
    #[test]
    fn cards_next_to_other_numbers_and_in_odd_formats_are_spotted() {
        for text in [
            "my card 4111 1111 1111 1111 123 keeps failing",
            "4111 1111 1111 1111 08/27 123",
            "exp 08/27 4111 1111 1111 1111",
            "4111  1111  1111  1111",
            "4111.1111.1111.1111",
            "4111/1111/1111/1111",
            "4111_1111_1111_1111",
            "4111 - 1111 - 1111 - 1111",
            "4111\u{a0}1111\u{202f}1111\u{2009}1111",
            "41\u{200b}11\u{200c}1111\u{200d}1111\u{2060}11\u{feff}11\u{ad}",
            "４１１１ １１１１ １１１１ １１１１",
            "٤١١١ ١١١١ ١١١١ ١١١١",
            "۴۱۱۱-۱۱۱۱-۱۱۱۱-۱۱۱۱",
            "४१११ ११११ ११११ ११११",
            "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏",
            "card:5555555555554444",
            "3782 822463 10005 cvv 1234",
        ] {
            assert!(has_card_number(text), "{text:?}");
            assert_eq!(kind(text), Some(Secret::CardNumber), "{text:?}");
        }
    }

    #[test]
    fn ordinary_numbers_are_not_cards() {
        for text in [
            "order 1234567890123 for $240",
            "tracking 9000000000000001",
            "<@1300000000000000010> can you help",
            "<@!1300000000000000010> <#1200000000000000001> <:pepe:1100000000000000000>",
            "call me on +49 1512 3456789",
            "+44 20 7946 0958",
            "paid €1.240,50 on 12/05/2024 at 14:30",
            "app version 24.10.2 on ios 17.4.1",
            "order #4000123 and #4000124 both failed",
            "€89,99 at zalando",
            "i paid 50, 50 and 100",
            "it says error 0x80070005",
            "1300000000000000010",
        ] {
            assert!(!has_card_number(text), "{text:?}");
            assert!(!looks_sensitive(text), "{text:?}");
        }
    }

    /// Mixed separators inside one card: every one was missed before the layout rule (a run
    /// stopped at the first separator that differed).
    #[test]
    fn cards_typed_with_mixed_separators_are_spotted() {
        for text in [
            "4111 1111-1111.1111",
            "4111/1111 1111 1111",
            "my card is 4111-1111 1111/1111 pls",
            "5555.5555-5555 4444",
            "3782-822463 10005",
            "4111 1111\u{a0}1111-1111",
            "4111_1111-1111 1111 exp 08/27",
            "4111 11\u{200b}11-1111.1111",
            "６０１１ １１１１-１１１１.１１１７",
        ] {
            assert!(has_card_number(text), "{text:?}");
            assert_eq!(kind(text), Some(Secret::CardNumber), "{text:?}");
            let once = redact(text);
            assert!(once.contains(CARD_PLACEHOLDER), "{text:?} -> {once:?}");
        }
    }

    /// Valid IBANs whose digits hold a Luhn-valid 13–19 digit run were taken for cards (the
    /// message deleted, the member warned about card details).
    #[test]
    fn an_iban_is_masked_as_an_iban_not_flagged_as_a_card() {
        for text in [
            "refund to DE89 3704 0044 0532 0130 00 please",
            "DE89370400440532013000",
            "iban: de89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "NL91ABNA0417164300",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NO93 8601 1117 947",
        ] {
            assert_eq!(kind(text), None, "{text:?}");
            assert_eq!(personal(text), vec![Personal::Iban], "{text:?}");
            let once = redact(text);
            assert!(once.contains(IBAN_PLACEHOLDER), "{text:?} -> {once:?}");
            assert!(!once.contains("3704") && !once.contains("0417"), "{once:?}");
        }
        // One check digit off: not an IBAN (and its digits are left to the card scanner).
        for text in ["DE88 3704 0044 0532 0130 00", "XX89 3704 0044 0532 0130 00"] {
            assert!(!personal(text).contains(&Personal::Iban), "{text:?}");
        }
    }

    #[test]
    fn emails_and_phones_are_masked_but_not_secrets() {
        for (text, want, masked) in [
            (
                "mail me at anna.k+klarna@example.co.uk",
                Personal::Email,
                "mail me at [email]",
            ),
            ("ANNA@EXAMPLE.COM.", Personal::Email, "[email]."),
            (
                "call me on +49 151 23456789",
                Personal::Phone,
                "call me on [phone]",
            ),
            ("+44 20 7946 0958", Personal::Phone, "[phone]"),
            (
                "+1 (555) 123-4567 anytime",
                Personal::Phone,
                "[phone] anytime",
            ),
            ("+4915123456789", Personal::Phone, "[phone]"),
            ("0049 151 23456789", Personal::Phone, "[phone]"),
            (
                "my number 555-234-5678",
                Personal::Phone,
                "my number [phone]",
            ),
            ("(555) 234-5678", Personal::Phone, "[phone]"),
            ("555.234.5678", Personal::Phone, "[phone]"),
            ("020 7946 0958", Personal::Phone, "[phone]"),
            ("07911 123456", Personal::Phone, "[phone]"),
            ("0151/23456789", Personal::Phone, "[phone]"),
            ("06 12 34 56 78", Personal::Phone, "[phone]"),
            ("(030) 12345678", Personal::Phone, "[phone]"),
            ("call me 5551234567", Personal::Phone, "call me [phone]"),
            ("tel:01512345678", Personal::Phone, "tel:[phone]"),
            (
                "whatsapp: 0151 2345 678",
                Personal::Phone,
                "whatsapp: [phone]",
            ),
        ] {
            assert_eq!(kind(text), None, "{text:?}");
            assert!(!looks_sensitive(text), "{text:?}");
            assert_eq!(personal(text), vec![want], "{text:?}");
            assert_eq!(redact(text), masked, "{text:?}");
        }
        assert_eq!(
            redact("login is bob@example.com / hunter2"),
            "login is [email] / [hidden]"
        );
        assert_eq!(redact("bob@example.com:hunter2"), "[email]:[hidden]");
        assert_eq!(
            redact("my password is bob@x.com"),
            "my password is [hidden]"
        );
        assert_eq!(
            redact("0151-2345678, 0171 2345678 or +49 30 1234567"),
            "[phone], [phone] or [phone]"
        );
        // Two numbers glued by a dash are one odd token, not two phones; redacting again
        // changes nothing either way.
        let odd = redact("0151-2345678-0171 2345678");
        assert_eq!(redact(&odd), odd);
    }

    /// The classes of number a phone detector mistakes for phones: none is masked.
    #[test]
    fn amounts_orders_dates_times_versions_and_limits_are_not_phones() {
        for text in [
            // amounts
            "paid €1.240,50 then $2,500.00 and 1 234 567 kr",
            "€ 1.500.000,00",
            "it was 12 345 678 SEK",
            "0,99 0,50 and 0.75",
            // order numbers, ids
            "order 1234567890123 for $240",
            "order #4000123 and #4000124",
            "order 123-456-7890",
            "ref 1234567890",
            "<@1300000000000000010> can you help",
            "https://discord.com/channels/1200000000000000001/1300000000000000002/1400000000000000003",
            "tracking 9000000000000001",
            // dates and times
            "on 12/05/2024 at 14:30",
            "2024-05-12 14:30:59",
            "05.12.2024 10:30",
            "call on 12.05.2024 at 10:30",
            "called them 2024-05-12",
            "from 01/12/2024 - 02/12/2024",
            // versions
            "app version 10.12.3 on ios 17.4.1",
            "v24.10.2 build 1234567",
            "android 14.0.1.23",
            // card limits and figures
            "limit 1500, used 1200, left 300",
            "my limit went from 2 000 to 500 to 1 250 000",
            "limit 250000 vs 1000000",
            "3 payments of 33,33",
            // ip addresses
            "192.168.100.200",
        ] {
            let once = redact(text);
            assert!(
                !once.contains(PHONE_PLACEHOLDER),
                "{text:?} -> {once:?}"
            );
            assert!(!personal(text).contains(&Personal::Phone), "{text:?}");
        }
    }

    #[test]
    fn amounts_grouped_in_thousands_next_to_each_other_are_not_phones() {
        // "limit 1 001 1 000 000 kr": the "001" that continues "1 001" was read as a new
        // number starting with the international prefix 00, and "5 012 34 567 890" as a
        // national one with the trunk 0. Every short group followed by a three-digit group
        // that starts with 0, followed by more amounts, is checked.
        let tails = [
            "1 000 000",
            "12 345 678",
            "999 000",
            "7 654 321 kr",
            "34 567 890",
            "1",
        ];
        for a in [1, 5, 12, 999] {
            for b in (0..100).chain([100, 505]) {
                for tail in tails {
                    // (Not after a phone word: "call on 12 000 12 345 678" may be a number.)
                    for lead in ["limit ", "klarna says ", "", "i paid "] {
                        let text = format!("{lead}{a} {b:03} {tail}");
                        let once = redact(&text);
                        assert!(!once.contains(PHONE_PLACEHOLDER), "{text:?} -> {once:?}");
                    }
                }
            }
        }
        // A number that starts a run of its own still is one.
        for (text, masked) in [
            ("call me on 0049 151 23456789", "call me on [phone]"),
            ("limit 500, call 0151 2345678", "limit 500, call [phone]"),
            ("ref 123 555-234-5678", "ref 123 [phone]"),
        ] {
            assert_eq!(redact(text), masked, "{text:?}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        for text in [
            "<@1300000000000000010> hi",
            "@everyone help",
            "user@localhost",
            "ping @anna",
            "a@b.c",
            "klarna @ zalando",
        ] {
            assert!(!redact(text).contains(EMAIL_PLACEHOLDER), "{text:?}");
        }
    }

    #[test]
    fn huge_inputs_are_handled_without_blowing_up() {
        let digits = "4".repeat(100_000);
        assert!(!has_card_number(&digits));
        let spaced = "4 ".repeat(50_000);
        // Only ever 13–19 digit runs are checked, whatever the input length.
        let _ = has_card_number(&spaced);
        let _ = redact(&spaced);
        let angles = "<@".repeat(50_000);
        assert!(!looks_sensitive(&angles));
    }

    #[test]
    fn codes_and_passwords_in_many_phrasings_are_spotted() {
        for (text, want) in [
            ("cvv is 123", Secret::Code),
            ("CVC: 4321", Secret::Code),
            ("security code 123", Secret::Code),
            ("123 is my cvv", Secret::Code),
            ("the 3 digits on the back are 123", Secret::Code),
            ("cvv: 1 2 3", Secret::Code),
            ("my pin is 4821", Secret::Code),
            ("PIN: 4821", Secret::Code),
            ("my password is hunter2", Secret::Password),
            ("pw is hunter2", Secret::Password),
            ("my pass is hunter2", Secret::Password),
            ("password hunter2", Secret::Password),
            ("passwort ist hunter2", Secret::Password),
            ("mi contraseña es hunter2", Secret::Password),
            ("mot de passe: hunter2", Secret::Password),
            ("my password for klarna is hunter2", Secret::Password),
            ("pw=hunter2", Secret::Password),
            ("login is bob@example.com / hunter2", Secret::Password),
            ("bob@example.com:hunter2", Secret::Password),
            ("hunter2 is my password", Secret::Password),
        ] {
            assert_eq!(kind(text), Some(want), "{text:?}");
        }
    }

    #[test]
    fn ordinary_support_talk_is_not_sensitive() {
        for text in [
            "i forgot my password",
            "wrong cvv i think",
            "my password is wrong",
            "my password is not working",
            "my password isn't working",
            "password reset didnt work",
            "my pass expired",
            "boarding pass",
            "the cvv is on the back",
            "which digits on the back",
            "i entered the wrong security code",
            "i entered the wrong security code 3 times",
            "pin reset",
            "my email is wrong",
            "my password is 8 characters long",
            "my password is still wrong",
            "password: try again it says",
            "mein passwort ist falsch",
            "login is slow / app crashes",
            "email me at bob@example.com / discord",
            "pin the message pls",
        ] {
            assert_eq!(kind(text), None, "{text:?}");
        }
    }

    #[test]
    fn redaction_keeps_the_words_and_hides_the_secret() {
        assert_eq!(redact("my password is hunter2"), "my password is [hidden]");
        assert_eq!(redact("cvv is 123"), "cvv is [hidden]");
        assert_eq!(
            redact("my card 4111 1111 1111 1111 123 keeps failing"),
            "my card [card number] 123 keeps failing"
        );
        assert_eq!(
            redact("exp 08/27 4111-1111-1111-1111 cvv 123"),
            "exp 08/27 [card number] cvv [hidden]"
        );
        assert_eq!(
            redact("password is 4111 1111 1111 1111"),
            "password is [card number]"
        );
        assert!(matches!(redact("klarna declined me"), Cow::Borrowed(_)));
    }

    // --- generators -----------------------------------------------------------------------

    #[rustfmt::skip]
    const BEFORE: &[&str] = &[
        "", "my card ", "exp 08/27 ", "08/27 ", "123 ", "cvv 123 ", "€1.240,50 ", "$240 ", "💳 ",
        "pls help 🙏 ", "order 12345 ", "card: ", "(", "\"", "klarna says no\n",
    ];
    #[rustfmt::skip]
    const AFTER: &[&str] = &[
        "", " 123", " 08/27 123", " exp 08/27", " cvv 123", " keeps failing", " 🙏", " €89,99",
        "\n123", ")", ".", " 08/27", "!!", " / 12/28 / 456",
    ];

    fn message_with_card() -> impl Strategy<Value = (Vec<u8>, String)> {
        (
            formatted_card(),
            prop::sample::select(BEFORE),
            prop::sample::select(AFTER),
        )
            .prop_map(|((digits, card), before, after)| (digits, format!("{before}{card}{after}")))
    }

    /// All digits of `text`, per stretch between letters: a brute-force reading that ignores
    /// every separator and grouping.
    fn digit_stretches(text: &str) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new()];
        for c in text.chars() {
            if let Some(d) = digit_value(c) {
                out.last_mut().expect("one stretch").push(d);
            } else if c.is_alphanumeric() {
                out.push(Vec::new());
            }
        }
        out
    }

    /// Whether any 13–19 digit window of any stretch is a card number (starts with 2–6 and
    /// passes Luhn), across any separators.
    fn brute_force_card(text: &str) -> bool {
        digit_stretches(text).iter().any(|s| {
            (0..s.len()).any(|i| {
                (2..=6).contains(&s[i])
                    && (CARD_MIN..=CARD_MAX).any(|n| i + n <= s.len() && luhn_ok(&s[i..i + n]))
            })
        })
    }

    #[rustfmt::skip]
    const WORDS: &[&str] = &[
        "klarna", "declined", "my", "payment", "order", "why", "the", "app", "limit", "is", "on",
        "at", "help", "refund", "€", "$", "ios", "android", "version", "card", "expired", "a",
        "failed", "again", "today", "zalando", "h&m", "🙏", "😭", ":(", "lol", "?", "!", "...",
        "€89,99", "08/27", "24.10.2", "order #", "-", "/",
    ];

    /// Ordinary text with at most 12 digits in total.
    fn ordinary_text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(WORDS).prop_map(String::from),
                1 => (0u64..100_000).prop_map(|n| n.to_string()),
            ],
            0..40,
        )
        .prop_flat_map(|tokens| {
            let seps = prop::collection::vec(prop::sample::select(SEPARATORS), tokens.len());
            (Just(tokens), seps)
        })
        .prop_map(|(tokens, seps)| {
            let mut out = String::new();
            let mut digits = 0;
            for (t, sep) in tokens.iter().zip(seps) {
                let n = t.chars().filter(char::is_ascii_digit).count();
                if digits + n > 12 {
                    continue;
                }
                digits += n;
                out.push_str(t);
                out.push_str(if sep.is_empty() { " " } else { sep });
            }
            out
        })
    }

    /// Numbers that are not phone numbers: amounts, order numbers, dates, times, versions and
    /// card limits, alone or a few in a row, in ordinary words.
    fn numbers_that_are_not_phones() -> impl Strategy<Value = String> {
        let one = prop_oneof![
            // amounts
            (1u32..100_000, 0u32..100).prop_map(|(a, c)| format!("€{a},{c:02}")),
            (1u32..10_000_000).prop_map(|a| format!("${a}")),
            (1u32..1000, 0u32..1000, 0u32..100)
                .prop_map(|(a, b, c)| format!("{a}.{b:03},{c:02} €")),
            (1u32..1000, 0u32..1000, 0u32..1000)
                .prop_map(|(a, b, c)| format!("{a} {b:03} {c:03} kr")),
            // order numbers and references (no area code shape: they start with 1 or carry a #)
            (0u64..1_000_000_000_000).prop_map(|n| format!("order #{n}")),
            (0u64..10_000_000_000).prop_map(|n| format!("order 1{n:010}")),
            (100u32..200, 0u32..1000, 0u32..10_000)
                .prop_map(|(a, b, c)| format!("ref {a}-{b:03}-{c:04}")),
            // dates and times
            (1u32..=31, 1u32..=12, 1990u32..2100)
                .prop_map(|(d, m, y)| format!("{d:02}/{m:02}/{y}")),
            (1u32..=31, 1u32..=12, 1990u32..2100)
                .prop_map(|(d, m, y)| format!("{d:02}.{m:02}.{y}")),
            (1u32..=31, 1u32..=12, 1990u32..2100)
                .prop_map(|(d, m, y)| format!("{y}-{m:02}-{d:02}")),
            (1u32..=31, 1u32..=12, 0u32..100).prop_map(|(d, m, y)| format!("{d:02}/{m:02}/{y:02}")),
            (0u32..24, 0u32..60, 0u32..60).prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}")),
            (0u32..24, 0u32..60).prop_map(|(h, m)| format!("at {h:02}:{m:02}")),
            // versions
            (1u32..40, 0u32..20, 0u32..20).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
            (1u32..40, 0u32..20, 0u32..100).prop_map(|(a, b, c)| format!("app {a}.{b}.{c}")),
            (1u32..40, 0u32..20, 0u32..100, 0u32..10_000)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            // card limits
            (1u32..100_000, 1u32..100_000).prop_map(|(a, b)| format!("limit {a} of {b}")),
            (1u32..1000, 0u32..1000).prop_map(|(a, b)| format!("limit {a} {b:03}")),
            (1u32..100, 1u32..1000).prop_map(|(n, a)| format!("{n} payments of {a}")),
        ];
        (
            prop::collection::vec(one, 1..4),
            prop::sample::select(vec![" ", ", ", " and ", " then ", " / ", "\n"]),
            prop::sample::select(vec!["", "klarna says ", "i paid ", "call on ", "why "]),
        )
            .prop_map(|(parts, sep, lead)| format!("{lead}{}", parts.join(sep)))
    }

    #[rustfmt::skip]
    const PASSWORD_KEYWORDS: &[&str] = &[
        "password", "Password", "PASSWORD", "passwort", "passwd", "pwd", "pw", "pass", "kennwort",
        "contraseña", "mot de passe", "passcode", "pass word",
    ];
    #[rustfmt::skip]
    const CONNECTORS: &[&str] = &[
        " is ", " was ", " ist ", " es ", " est ", ": ", ":", " = ", "=", " is: ", " is now ",
        " for klarna is ", " -> ",
    ];
    #[rustfmt::skip]
    const STOPS: &[&str] = &[
        "wrong", "incorrect", "not working", "expired", "reset", "correct", "right", "too long",
        "the same", "case sensitive", "fine", "blocked", "Wrong", "definitely right",
        "still wrong", "falsch", "incorrecta", "isn't working",
    ];

    /// Passwords: letters mixed with digits or symbols, as the weak keyword `pass` needs.
    fn password() -> impl Strategy<Value = String> {
        "[a-zA-Z]{2,8}[0-9!#$%&*]{1,4}[a-zA-Z0-9]{1,4}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn number_lists_that_mix_separators_are_not_cards(
            d in prop::collection::vec(0u32..10_000, 8),
            shape in 0usize..4,
        ) {
            // Two phone numbers, two IP addresses, a timestamp, a date range: each holds 13+
            // digits in all, but joined by more than one kind of separator.
            let text = match shape {
                0 => format!("call {:03}-{:03}-{:04}, {:03}-{:03}-{:04}", d[0] % 1000, d[1] % 1000, d[2], d[3] % 1000, d[4] % 1000, d[5]),
                1 => format!("{}.{}.{}.{} {}.{}.{}.{}", d[0] % 256, d[1] % 256, d[2] % 256, d[3] % 256, d[4] % 256, d[5] % 256, d[6] % 256, d[7] % 256),
                2 => format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", 2000 + d[0] % 100, 1 + d[1] % 12, 1 + d[2] % 28, d[3] % 24, d[4] % 60, d[5] % 60),
                _ => format!("{:02}/{:02}/{:04} - {:02}/{:02}/{:04}", 1 + d[0] % 12, 1 + d[1] % 28, 2000 + d[2] % 100, 1 + d[3] % 12, 1 + d[4] % 28, 2000 + d[5] % 100),
            };
            prop_assert!(!has_card_number(&text), "flagged: {text:?}");
        }

        #[test]
        fn cards_are_found_in_any_format((_, text) in message_with_card()) {
            prop_assert!(has_card_number(&text), "{:?}", text);
            prop_assert_eq!(kind(&text), Some(Secret::CardNumber));
        }

        #[test]
        fn redaction_leaves_no_card_and_is_idempotent((_, text) in message_with_card()) {
            let once = redact(&text).into_owned();
            prop_assert!(!brute_force_card(&once), "{:?} -> {:?}", text, once);
            prop_assert!(once.contains(CARD_PLACEHOLDER));
            prop_assert_eq!(redact(&once).into_owned(), once.clone());
        }

        #[test]
        fn ordinary_text_is_never_flagged(text in ordinary_text()) {
            prop_assert!(!looks_sensitive(&text), "{:?}", text);
            prop_assert_eq!(redact(&text).into_owned(), text.clone());
        }

        #[test]
        fn cards_with_mixed_separators_in_card_layouts_are_found(
            (digits, card) in mixed_card(),
            before in prop::sample::select(BEFORE),
            after in prop::sample::select(AFTER),
        ) {
            let text = format!("{before}{card}{after}");
            prop_assert!(has_card_number(&text), "{:?} ({:?})", text, digits);
            let once = redact(&text).into_owned();
            prop_assert!(!brute_force_card(&once), "{:?} -> {:?}", text, once);
            prop_assert_eq!(redact(&once).into_owned(), once.clone());
        }

        #[test]
        fn ibans_are_masked_and_never_taken_for_cards(
            (iban, _) in iban(),
            before in prop::sample::select(vec!["", "iban ", "refund to ", "IBAN: ", "(", "my account "]),
            after in prop::sample::select(vec!["", " pls", ".", ")", " thanks", "\n"]),
        ) {
            let text = format!("{before}{iban}{after}");
            prop_assert_eq!(kind(&text), None, "{:?}", text);
            prop_assert_eq!(personal(&text), vec![Personal::Iban], "{:?}", text);
            let once = redact(&text).into_owned();
            prop_assert_eq!(once.clone(), format!("{before}{IBAN_PLACEHOLDER}{after}"));
        }

        #[test]
        fn phones_in_common_formats_are_masked_and_not_secrets(
            phone in phone(),
            before in prop::sample::select(vec!["", "call me on ", "my number is ", "tel: ", "(", "reach me at "]),
            after in prop::sample::select(vec!["", " pls", ".", ")", " after 5pm", ", thanks", "\n"]),
        ) {
            let text = format!("{before}{phone}{after}");
            prop_assert_eq!(kind(&text), None, "{:?}", text);
            let once = redact(&text).into_owned();
            prop_assert_eq!(once.clone(), format!("{before}{PHONE_PLACEHOLDER}{after}"), "{:?}", text);
        }

        #[test]
        fn emails_are_masked_and_not_secrets(
            // Not a local part that reads like a code or password phrase ("csc+000"), which
            // the phrase detectors rightly flag wherever it stands.
            local in "[a-z][a-z0-9._+-]{0,15}[a-z0-9]".prop_filter("no secret phrase", |l| {
                !["cvv", "cvc", "csc", "cv2", "pin", "pw", "pass"].iter().any(|k| l.contains(k))
            }),
            domain in "[a-z][a-z0-9-]{0,10}[a-z0-9]",
            tld in prop::sample::select(vec!["com", "de", "co.uk", "io", "se"]),
            before in prop::sample::select(vec!["", "mail me at ", "my email is ", "(", "<"]),
            after in prop::sample::select(vec!["", " pls", ".", ")", ">", "!"]),
        ) {
            let text = format!("{before}{local}@{domain}.{tld}{after}");
            prop_assert_eq!(kind(&text), None, "{:?}", text);
            prop_assert_eq!(redact(&text).into_owned(), format!("{before}{EMAIL_PLACEHOLDER}{after}"));
        }

        #[test]
        fn amounts_dates_times_versions_and_limits_are_never_phones(text in numbers_that_are_not_phones()) {
            let once = redact(&text);
            prop_assert!(!once.contains(PHONE_PLACEHOLDER), "{:?} -> {:?}", text, once);
            prop_assert!(!personal(&text).contains(&Personal::Phone), "{:?}", text);
        }

        #[test]
        fn redaction_of_digit_heavy_text_is_idempotent(text in "[0-9 +().,:/@a-z\u{200b}\u{a0}-]{0,60}") {
            let once = redact(&text).into_owned();
            prop_assert_eq!(redact(&once).into_owned(), once.clone(), "{:?}", text);
            prop_assert!(!brute_force_card(&once), "{:?} -> {:?}", text, once);
        }

        #[test]
        fn any_input_is_handled(text in "\\PC{0,200}") {
            let once = redact(&text).into_owned();
            prop_assert_eq!(redact(&once).into_owned(), once.clone());
            if looks_sensitive(&text) {
                prop_assert_ne!(once, text);
            }
        }

        #[test]
        fn password_phrasings_are_flagged_and_hidden(
            lead in prop::sample::select(vec!["", "my ", "fyi my ", "ok "]),
            keyword in prop::sample::select(PASSWORD_KEYWORDS),
            connector in prop::sample::select(CONNECTORS),
            secret in password(),
            tail in prop::sample::select(vec!["", " btw", " pls help", ".", "\nthanks"]),
        ) {
            let text = format!("{lead}{keyword}{connector}{secret}{tail}");
            prop_assert_eq!(kind(&text), Some(Secret::Password), "{:?}", text);
            let hidden = redact(&text);
            prop_assert!(!hidden.contains(&secret), "{:?} -> {:?}", text, hidden);
            prop_assert!(hidden.contains(keyword), "{:?} -> {:?}", text, hidden);
            prop_assert_eq!(redact(&hidden).into_owned(), hidden.clone().into_owned());
        }

        #[test]
        fn password_state_phrasings_are_not_flagged(
            lead in prop::sample::select(vec!["", "my ", "i think my ", "ok "]),
            keyword in prop::sample::select(PASSWORD_KEYWORDS),
            connector in prop::sample::select(CONNECTORS),
            stop in prop::sample::select(STOPS),
            tail in prop::sample::select(vec!["", " i think", " pls help", ".", "?"]),
        ) {
            let text = format!("{lead}{keyword}{connector}{stop}{tail}");
            prop_assert_eq!(kind(&text), None, "{:?}", text);
        }

        #[test]
        fn code_phrasings_are_flagged_and_hidden(
            phrase in prop::sample::select(vec![
                "cvv is {}", "CVC: {}", "cvv2 {}", "security code {}", "{} is my cvv",
                "the 3 digits on the back are {}", "my pin is {}", "pin {}", "PIN code: {}",
                "csc={}",
            ]),
            code in 100u32..10_000,
        ) {
            // PINs have at least four digits.
            let code = if phrase.to_lowercase().contains("pin") {
                format!("{code:04}")
            } else {
                code.to_string()
            };
            let text = phrase.replace("{}", &code);
            prop_assert_eq!(kind(&text), Some(Secret::Code), "{:?}", text);
            let hidden = redact(&text);
            prop_assert!(!hidden.contains(&code), "{:?} -> {:?}", text, hidden);
            prop_assert_eq!(redact(&hidden).into_owned(), hidden.clone().into_owned());
        }
    }
}

/// Generated card numbers in many formats, shared by the tests of every module that must never
/// repeat one.
#[cfg(test)]
pub(crate) mod testgen {
    use proptest::prelude::*;

    /// Appends the Luhn check digit to `body`.
    pub(crate) fn with_check_digit(mut body: Vec<u8>) -> Vec<u8> {
        for check in 0..10 {
            body.push(check);
            if luhn_ok(&body) {
                return body;
            }
            body.pop();
        }
        unreachable!("one check digit always fits")
    }

    pub(crate) fn luhn_ok(digits: &[u8]) -> bool {
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                let d = u32::from(d) * if i % 2 == 1 { 2 } else { 1 };
                if d > 9 {
                    d - 9
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    pub(crate) fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("4".to_string()),
            (51u32..=55).prop_map(|n| n.to_string()),
            (2221u32..=2720).prop_map(|n| n.to_string()),
            prop::sample::select(vec!["34", "37", "6011", "65", "35", "30", "36", "38", "62"])
                .prop_map(String::from),
        ]
    }

    /// Luhn-valid card numbers of 13–19 digits with real network prefixes.
    pub(crate) fn card_digits() -> impl Strategy<Value = Vec<u8>> {
        (prefix(), 13usize..=19, prop::collection::vec(0u8..10, 19)).prop_map(
            |(prefix, len, fill)| {
                let mut body: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
                body.extend(fill.into_iter().take(len - 1 - body.len()));
                with_check_digit(body)
            },
        )
    }

    #[rustfmt::skip]
    pub(crate) const SEPARATORS: &[&str] = &[
        " ", "  ", "-", " - ", ".", "/", "_", "\u{a0}", "\u{202f}", "\u{2009}", "\n", "\u{200b}",
        "\u{200c}", "\u{200d}", "\u{2060}", "\u{feff}", "\u{ad}", " \u{200b}", "\u{200b}-",
        "-\u{ad}", " / ", "", ", ",
    ];

    pub(crate) const SCRIPTS: &[u32] = &[0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x1D7CE, 0x1D7EC];

    pub(crate) fn to_script(d: u8, zero: u32) -> char {
        char::from_u32(zero + u32::from(d)).expect("digit code point")
    }

    /// A card number written out: split into groups of random sizes, joined by one separator
    /// (an empty one glues the groups into one) with invisible characters mixed in, in a
    /// random digit script.
    pub(crate) fn formatted_card() -> impl Strategy<Value = (Vec<u8>, String)> {
        (
            card_digits(),
            prop::collection::vec(1usize..=8, 19),
            prop::sample::select(SEPARATORS),
            prop::collection::vec(prop::sample::select(INVISIBLE), 19),
            prop::sample::select(SCRIPTS),
        )
            .prop_map(|(digits, sizes, sep, extra, zero)| {
                let mut out = String::new();
                let mut at = 0;
                for (i, size) in sizes.iter().enumerate() {
                    if at >= digits.len() {
                        break;
                    }
                    if i > 0 {
                        // One separator per number, as people type them, with invisible
                        // characters (or nothing) mixed in anywhere.
                        out.push_str(extra[i]);
                        out.push_str(sep);
                        out.push_str(extra[(i + 7) % extra.len()]);
                    }
                    let end = (at + size).min(digits.len());
                    out.extend(digits[at..end].iter().map(|&d| to_script(d, zero)));
                    at = end;
                }
                (digits, out)
            })
    }

    /// Invisible characters someone (or a copy-paste) may slip between digits, or nothing.
    pub(crate) const INVISIBLE: &[&str] = &[
        "", "", "", "\u{200b}", "\u{200c}", "\u{2060}", "\u{feff}", "\u{ad}",
    ];

    /// A card number in a printed layout (4-4-4-4 with a shorter last group, 4-6-5, 4-6-4,
    /// 4-4-5, 4-3-3-3) with a random single-character separator in each gap, so the
    /// separators usually differ ("4111 1111-1111.1111").
    pub(crate) fn mixed_card() -> impl Strategy<Value = (Vec<u8>, String)> {
        (
            card_digits(),
            prop::collection::vec(prop::sample::select(MIXED), 6),
            prop::sample::select(SCRIPTS),
            any::<bool>(),
        )
            .prop_map(|(digits, seps, zero, alternative)| {
                let sizes: Vec<usize> = match (digits.len(), alternative) {
                    (15, true) => vec![4, 6, 5],
                    (14, true) => vec![4, 6, 4],
                    (13, true) => vec![4, 4, 5],
                    (13, false) => vec![4, 3, 3, 3],
                    (n, _) => {
                        let mut v = vec![4; n / 4];
                        if n % 4 > 0 {
                            v.push(n % 4);
                        }
                        v
                    }
                };
                let mut out = String::new();
                let mut at = 0;
                for (i, size) in sizes.iter().enumerate() {
                    if i > 0 {
                        out.push_str(seps[i - 1]);
                    }
                    out.extend(digits[at..at + size].iter().map(|&d| to_script(d, zero)));
                    at += size;
                }
                (digits, out)
            })
    }

    /// Single separator characters a card number's gaps are typed with.
    pub(crate) const MIXED: &[&str] = &[
        " ",
        "-",
        ".",
        "/",
        "_",
        "\u{a0}",
        "\u{202f}",
        "\u{2009}",
        "\u{2013}",
        " \u{200b}",
    ];

    /// Country codes and BBAN lengths of IBANs to generate (digits-only BBANs).
    const IBAN_COUNTRIES: &[(&str, usize)] = &[
        ("DE", 18),
        ("AT", 16),
        ("CH", 17),
        ("NL", 14),
        ("BE", 12),
        ("ES", 20),
        ("IT", 23),
        ("FR", 23),
        ("PL", 24),
        ("SE", 20),
        ("NO", 11),
        ("GB", 18),
    ];

    /// A valid IBAN (check digits computed) with digits-only BBAN, written in groups of four,
    /// without spaces, or in lowercase; with its compact form.
    pub(crate) fn iban() -> impl Strategy<Value = (String, String)> {
        (
            prop::sample::select(IBAN_COUNTRIES),
            prop::collection::vec(0u8..10, 24),
            0usize..3,
        )
            .prop_map(|((cc, n), fill, style)| {
                let bban: String = fill[..n].iter().map(|d| char::from(b'0' + d)).collect();
                let check = 98 - mod97(&format!("{bban}{cc}00"));
                let compact = format!("{cc}{check:02}{bban}");
                let shown = match style {
                    0 => compact
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).expect("ascii"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    1 => compact.clone(),
                    _ => compact.to_lowercase(),
                };
                (shown, compact)
            })
    }

    /// ISO 7064 mod 97 of an alphanumeric string (letters count as 10–35).
    pub(crate) fn mod97(s: &str) -> u32 {
        s.chars().fold(0, |rem, c| match c.to_digit(36) {
            Some(v) if v >= 10 => (rem * 100 + v) % 97,
            Some(v) => (rem * 10 + v) % 97,
            None => rem,
        })
    }

    /// Phone numbers as people type them: international with `+` or `00`, North American,
    /// and national numbers with a trunk 0 (UK, German, French, Dutch layouts).
    pub(crate) fn phone() -> impl Strategy<Value = String> {
        let d = |n: usize| {
            prop::collection::vec(0u8..10, n)
                .prop_map(|v| v.iter().map(|d| char::from(b'0' + d)).collect::<String>())
        };
        let nz = || (1u8..10).prop_map(|d| char::from(b'0' + d).to_string());
        let n29 = || (2u8..10).prop_map(|d| char::from(b'0' + d).to_string());
        prop_oneof![
            (
                nz(),
                d(1),
                d(3),
                d(7),
                prop::sample::select(vec![" ", "-", "."])
            )
                .prop_map(|(a, b, c, e, s)| format!("+{a}{b} {c}{s}{e}")),
            (
                prop::sample::select(vec!["44", "49", "33", "46", "31"]),
                d(9)
            )
                .prop_map(|(cc, n)| format!("+{cc}{n}")),
            (n29(), d(2), d(3), d(4)).prop_map(|(a, b, c, e)| format!("+1 ({a}{b}) {c}-{e}")),
            (
                prop::sample::select(vec!["0049", "0044", "0033"]),
                d(3),
                d(8)
            )
                .prop_map(|(cc, a, b)| format!("{cc} {a} {b}")),
            (
                n29(),
                d(2),
                n29(),
                d(2),
                d(4),
                prop::sample::select(vec![" ", "-", "."])
            )
                .prop_map(|(a, b, c, c2, e, s)| format!("{a}{b}{s}{c}{c2}{s}{e}")),
            (n29(), d(2), n29(), d(2), d(4))
                .prop_map(|(a, b, c, c2, e)| format!("({a}{b}) {c}{c2}-{e}")),
            (nz(), d(2), d(4), d(4)).prop_map(|(a, b, c, e)| format!("0{a}{b} {c} {e}")),
            (nz(), d(2), d(7), prop::sample::select(vec![" ", "/", "-"]))
                .prop_map(|(a, b, c, s)| format!("0{a}{b}{s}{c}")),
            (nz(), d(2), d(2), d(2), d(2))
                .prop_map(|(a, b, c, e, f)| format!("0{a} {b} {c} {e} {f}")),
            (nz(), d(8)).prop_map(|(a, b)| format!("0{a} {b}")),
        ]
    }
}
