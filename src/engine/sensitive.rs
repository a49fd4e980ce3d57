//! Spotting card numbers, CVV codes, PINs and passwords in member messages.
//!
//! paymedic never asks for these. When a member posts one anyway, the engine warns them
//! instead of answering, and the text is never classified, echoed or stored. Detection errs on
//! the side of warning, but ordinary support talk ("i forgot my password", "wrong cvv",
//! "order 1234567890123") must not trip it, or members learn to ignore the warning.
//!
//! Three detectors:
//! - card numbers: any Luhn-valid run of 13–19 digits that starts like a card network's
//!   number, whatever separators sit between the digits (see [`has_card_number`]);
//! - codes: a 3–4 digit number next to "cvv"/"cvc"/"security code", "123 is my cvv", "the
//!   digits on the back are 123", or a PIN;
//! - passwords: "password is ...", "pw: ...", "passwort ist ...", "login is bob@x.com / ...",
//!   "bob@x.com:...".
//!
//! [`redact`] blanks what they find, for anything that must show or log a member's text.

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

/// What replaces a card number in [`redact`]'s output.
pub const CARD_PLACEHOLDER: &str = "[card number]";
/// What replaces a code or password in [`redact`]'s output.
pub const HIDDEN_PLACEHOLDER: &str = "[hidden]";

/// Whether `text` appears to contain a card number, a CVV code, a PIN or a password.
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

/// `text` with every card number replaced by `[card number]` (the whole span from its first to
/// its last digit, separators included) and the secret part of every code or password phrase
/// replaced by `[hidden]` ("my password is [hidden]"). Borrows when there is nothing to hide.
///
/// Idempotent: the placeholders contain letters, which end any digit sequence, and the phrase
/// detectors skip a placeholder where a secret would be.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut cards = Vec::new();
    scan_cards(text, |span| {
        cards.push(span);
        true
    });
    let first: Cow<'_, str> = if cards.is_empty() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(replace_spans(text, cards, CARD_PLACEHOLDER))
    };
    let hidden: Vec<Range<usize>> = phrase_secrets(&first).into_iter().map(|(r, _)| r).collect();
    if hidden.is_empty() {
        return first;
    }
    Cow::Owned(replace_spans(&first, hidden, HIDDEN_PLACEHOLDER))
}

/// Replaces each of `spans` (merged where they overlap or touch) with `with`.
fn replace_spans(text: &str, mut spans: Vec<Range<usize>>, with: &str) -> String {
    spans.sort_by_key(|r| (r.start, r.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    for r in merged {
        out.push_str(&text[at..r.start]);
        out.push_str(with);
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
/// Work is linear: each group is checked against at most 19 earlier groups, and a group
/// longer than 19 digits is not stored.
pub fn has_card_number(text: &str) -> bool {
    let mut found = false;
    scan_cards(text, |_| {
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
}

/// A separator run, normalized so the ways of typing one separator compare equal: any space
/// is ' ', any dash is '-', spaces around another separator are dropped (" - " is "-"), and a
/// run of spaces is one. Empty when only invisible characters (or nothing) stood there.
///
/// One card number is written with one separator: "4111 1111 1111 1111", "4111-1111-…". Two
/// phone numbers ("555-123-4567, 555-987-6543"), IP addresses, timestamps and date ranges mix
/// them, and a run of groups joined by two different separators is not taken for a card:
/// without this rule two phone numbers looked like a card about one time in four.
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

/// Calls `found` with the byte span of each card number (for each group that ends one, the
/// longest valid run ending there), until `found` returns false.
fn scan_cards(text: &str, mut found: impl FnMut(Range<usize>) -> bool) {
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
        // sequence, back to front, checks every run ending at `g`. A run stops at the first
        // separator that differs from the others (see [`Sep`]).
        let (mut sum, mut pos) = (0u32, 0usize);
        let mut best = None;
        let mut run_sep: Option<Sep> = None;
        let mut later: Option<&Group> = None;
        for h in seq.iter().rev() {
            if let Some(l) = later {
                if l.sep.len > 0 {
                    match run_sep {
                        None => run_sep = Some(l.sep),
                        Some(s) if s != l.sep => break,
                        Some(_) => {}
                    }
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
            {
                best = Some(h.start..g.end);
            }
        }
        match best {
            Some(span) => found(span),
            None => true,
        }
    };

    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let width = c.len_utf8();
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
    if s.starts_with(HIDDEN_PLACEHOLDER) || s.starts_with(CARD_PLACEHOLDER) {
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
}
