//! The checks behind `/check`: pure functions over plain values, with a clear error for every
//! bad input instead of a panic.

use super::sensitive::{looks_sensitive, redact};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// An amount of money in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub u64);

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A member's input as an error message may repeat it.
///
/// Members paste the wrong thing into `/check` fields, card numbers included, and an error
/// that quotes the input would post the card back into the channel (and into any log of the
/// error). So the input is kept only when it is short and harmless: at most
/// [`ECHO_MAX_CHARS`] characters, fewer than [`ECHO_MAX_DIGITS`] digits, and nothing
/// [`looks_sensitive`]. Otherwise it is dropped on the spot, so neither `Display` nor `Debug`
/// can show it; the message then says "that value".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Echo(Option<String>);

/// Longest input an error quotes.
pub const ECHO_MAX_CHARS: usize = 40;
/// An input with this many digits is never quoted: no amount, version or date needs that
/// many, and seven digits of a card number are already too many to repeat.
pub const ECHO_MAX_DIGITS: usize = 7;

impl Echo {
    /// Keeps `input` (trimmed) only if it is safe to repeat: short, few digits, and nothing
    /// [`redact`] would mask (no secret, IBAN, email address or phone number).
    pub fn of(input: &str) -> Echo {
        let t = input.trim();
        let digits = t.chars().filter(|c| c.is_numeric()).count();
        let safe = !t.is_empty()
            && t.chars().count() <= ECHO_MAX_CHARS
            && digits < ECHO_MAX_DIGITS
            && !looks_sensitive(t)
            && matches!(redact(t), Cow::Borrowed(_));
        Echo(safe.then(|| t.to_string()))
    }

    /// The input, if it may be shown.
    pub fn shown(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => write!(f, "`{s}`"),
            None => f.write_str("that value"),
        }
    }
}

/// Why an input to a check was refused. Variants that mention the input hold an [`Echo`],
/// never the raw text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("{what}: {input} is not an amount (try something like 120 or 89.99)")]
    NotAnAmount { what: &'static str, input: Echo },
    /// "10.001" or "1,240": one separator followed by exactly three digits reads as thousands
    /// in some countries and as decimals in others, so neither reading is guessed.
    #[error(
        "{what}: {input} could mean two different amounts: write it as {} or {decimal}",
        thousands.0 / 100
    )]
    AmbiguousAmount {
        what: &'static str,
        input: Echo,
        /// The thousands reading ("10.001" as 10001).
        thousands: Cents,
        /// The decimal reading, cut to cents ("10.001" as 10.00).
        decimal: Cents,
    },
    #[error("{what} can't be negative")]
    Negative { what: &'static str },
    #[error("{what} is too large to be real")]
    TooLarge { what: &'static str },
    #[error("the limit must be more than zero")]
    ZeroLimit,
    #[error("{0} is not a version (try something like 24.10.2)")]
    NotAVersion(Echo),
    #[error("{0} is not a platform: use ios or android")]
    NotAPlatform(Echo),
    #[error("{0} is not an expiry date: use MM/YY, like 08/27")]
    NotAnExpiry(Echo),
    #[error("month {0} doesn't exist: use 01 to 12")]
    BadMonth(u32),
}

const AMOUNT_MAX_CENTS: u64 = 100_000_000 * 100;

/// Currency signs that may sit before or after an amount.
const CURRENCY: &[char] = &['$', '€', '£', '¥', '₹', '₽', '₺', '₩', '₪', '¢'];

/// Characters that may group thousands besides `.` and `,`: spaces (plain, no-break, narrow
/// no-break), the Swiss apostrophe and the programmer's underscore. None of them can be a
/// decimal point.
fn groups_only(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’' | '_'
    )
}

/// Why [`number`] refused its input.
enum NumberError {
    Bad,
    TooLarge,
    Ambiguous { thousands: Cents, decimal: Cents },
}

/// Parses "120", "89.99", "89,99", "$1,240.50", "€ 1.240,50", "1 240,50", "1'240.50" into
/// cents.
///
/// Strict, because a misread amount gives a wrong verdict with confidence: the integer part
/// is plain digits, or thousands groups (a first group of 1–3 digits, then groups of exactly
/// three, all with the same separator); the optional decimal part is 1–2 digits after the
/// other separator. So "1.2.3", "10.001" and ",,,5" are refused instead of read as 123, 10001
/// and 5. Currency signs and words ("EUR", "quid") around the number are ignored.
pub fn parse_amount(what: &'static str, input: &str) -> Result<Cents, CheckError> {
    let bad = || CheckError::NotAnAmount {
        what,
        input: Echo::of(input),
    };
    let decoration =
        |c: char| c.is_whitespace() || CURRENCY.contains(&c) || c.is_ascii_alphabetic();
    let s = input.trim_matches(decoration);
    let (negative, s) = match s.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest.trim_matches(decoration)),
        None => (false, s),
    };
    match number(s) {
        Ok(_) if negative => Err(CheckError::Negative { what }),
        Ok(cents) => Ok(cents),
        Err(NumberError::TooLarge) => Err(CheckError::TooLarge { what }),
        Err(NumberError::Ambiguous { .. }) if negative => Err(CheckError::Negative { what }),
        Err(NumberError::Ambiguous { thousands, decimal }) => Err(CheckError::AmbiguousAmount {
            what,
            input: Echo::of(input),
            thousands,
            decimal,
        }),
        Err(NumberError::Bad) => Err(bad()),
    }
}

/// The strict number grammar of [`parse_amount`], on the number alone.
fn number(s: &str) -> Result<Cents, NumberError> {
    // Digit runs and the single separators between them.
    let mut groups: Vec<&str> = Vec::new();
    let mut seps: Vec<char> = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            start.get_or_insert(i);
            continue;
        }
        if !(c == '.' || c == ',' || groups_only(c)) {
            return Err(NumberError::Bad);
        }
        match start.take() {
            Some(st) => groups.push(&s[st..i]),
            // ".50" has an empty integer part; anything else (",,5", "1..2") is a typo.
            None if i == 0 && (c == '.' || c == ',') => groups.push(""),
            None => return Err(NumberError::Bad),
        }
        seps.push(c);
    }
    match start {
        Some(st) => groups.push(&s[st..]),
        // Empty, or a trailing separator ("1.").
        None => return Err(NumberError::Bad),
    }
    let n = groups.len();
    let last_sep = seps.last().copied();
    let is_point = |c: char| c == '.' || c == ',';
    // The last separator is a decimal point if 1–2 digits follow it and it is not the
    // separator that groups the thousands before it.
    let decimal = match last_sep {
        Some(p) if is_point(p) && (1..=2).contains(&groups[n - 1].len()) => {
            if seps[..n - 2].contains(&p) {
                return Err(NumberError::Bad);
            }
            Some(groups[n - 1])
        }
        _ => None,
    };
    let (int_groups, int_seps) = match decimal {
        Some(_) => (&groups[..n - 1], &seps[..n - 2]),
        None => (&groups[..], &seps[..]),
    };
    if int_groups.len() > 1 {
        let tsep = int_seps[0];
        let first = int_groups[0];
        let grouped = int_seps.iter().all(|&c| c == tsep)
            && (1..=3).contains(&first.len())
            && int_groups[1..].iter().all(|g| g.len() == 3);
        if !grouped {
            return Err(NumberError::Bad);
        }
    } else if int_groups[0].is_empty() && decimal.is_none() {
        return Err(NumberError::Bad);
    }
    let int_digits: String = int_groups.concat();
    if int_digits.trim_start_matches('0').len() > 12 {
        return Err(NumberError::TooLarge);
    }
    let whole: u64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| NumberError::Bad)?
    };
    let frac: u64 = match decimal {
        None => 0,
        Some(d) if d.len() == 1 => d.parse::<u64>().map_err(|_| NumberError::Bad)? * 10,
        Some(d) => d.parse().map_err(|_| NumberError::Bad)?,
    };
    // "10.001", "1,240": a lone point followed by exactly three digits.
    if decimal.is_none() && n == 2 && last_sep.is_some_and(is_point) {
        if groups[0].starts_with('0') || groups[0].is_empty() {
            // "0.001" can't be thousands, and three decimals aren't cents.
            return Err(NumberError::Bad);
        }
        let decimal = Cents(
            groups[0].parse::<u64>().map_err(|_| NumberError::Bad)? * 100
                + groups[1][..2]
                    .parse::<u64>()
                    .map_err(|_| NumberError::Bad)?,
        );
        return Err(NumberError::Ambiguous {
            thousands: Cents(whole * 100),
            decimal,
        });
    }
    let cents = whole * 100 + frac;
    if cents > AMOUNT_MAX_CENTS {
        return Err(NumberError::TooLarge);
    }
    Ok(Cents(cents))
}

/// The answer to "does this purchase fit my limit?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitVerdict {
    /// It fits, leaving `left` to spend.
    Fits { available: Cents, left: Cents },
    /// Pay `pay_down` off the balance first.
    TooBig { available: Cents, pay_down: Cents },
    /// The balance is already over the limit: `over` above it, before the purchase.
    OverLimit { over: Cents, pay_down: Cents },
}

/// Purchase against available spending: `limit - balance`.
pub fn limit(purchase: &str, balance: &str, limit: &str) -> Result<LimitVerdict, CheckError> {
    let purchase = parse_amount("purchase", purchase)?;
    let balance = parse_amount("balance", balance)?;
    let limit = parse_amount("limit", limit)?;
    if limit.0 == 0 {
        return Err(CheckError::ZeroLimit);
    }
    Ok(limit_cents(purchase, balance, limit))
}

pub fn limit_cents(purchase: Cents, balance: Cents, limit: Cents) -> LimitVerdict {
    if balance > limit {
        return LimitVerdict::OverLimit {
            over: Cents(balance.0 - limit.0),
            pay_down: Cents(balance.0 + purchase.0 - limit.0),
        };
    }
    let available = Cents(limit.0 - balance.0);
    if purchase <= available {
        LimitVerdict::Fits {
            available,
            left: Cents(available.0 - purchase.0),
        }
    } else {
        LimitVerdict::TooBig {
            available,
            pay_down: Cents(purchase.0 - available.0),
        }
    }
}

impl fmt::Display for LimitVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitVerdict::Fits { available, left } => write!(
                f,
                "It fits: you have {available} available, and {left} would be left after this purchase. If it still fails, the limit isn't the problem: try the declined-payment steps."
            ),
            LimitVerdict::TooBig { available, pay_down } => write!(
                f,
                "It doesn't fit: you have {available} available. Pay at least {pay_down} off your balance first, or choose a smaller order."
            ),
            LimitVerdict::OverLimit { over, pay_down } => write!(
                f,
                "Your balance is already {over} over your limit. Pay at least {pay_down} off your balance before this purchase can go through."
            ),
        }
    }
}

/// iOS or Android.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Ios,
    Android,
}

impl Platform {
    pub fn parse(s: &str) -> Result<Platform, CheckError> {
        match s.trim().to_lowercase().as_str() {
            "ios" | "iphone" | "ipad" | "apple" => Ok(Platform::Ios),
            "android" | "google" | "samsung" | "pixel" => Ok(Platform::Android),
            _ => Err(CheckError::NotAPlatform(Echo::of(s))),
        }
    }

    pub fn store(self) -> &'static str {
        match self {
            Platform::Ios => "the App Store",
            Platform::Android => "Google Play",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Ios => "iOS",
            Platform::Android => "Android",
        })
    }
}

/// A dotted version, compared part by part ("24.10" > "24.9"; "24.1" == "24.1.0").
#[derive(Clone, Debug)]
pub struct Version(Vec<u32>);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Version {
    pub fn parse(s: &str) -> Result<Version, CheckError> {
        // "4111.1111.1111.1111" has the shape of a version, but is a card number pasted into
        // the wrong field: refuse it rather than compare it.
        if looks_sensitive(s) {
            return Err(CheckError::NotAVersion(Echo::of(s)));
        }
        let t = s.trim().trim_start_matches(['v', 'V']);
        let parts: Option<Vec<u32>> = t
            .split('.')
            .map(|p| {
                if p.is_empty() || p.len() > 6 || !p.chars().all(|c| c.is_ascii_digit()) {
                    None
                } else {
                    p.parse().ok()
                }
            })
            .collect();
        match parts {
            Some(p) if !p.is_empty() && p.len() <= 4 => Ok(Version(p)),
            _ => Err(CheckError::NotAVersion(Echo::of(s))),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Latest and minimum supported app versions for one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppVersions {
    pub latest: Version,
    pub minimum: Version,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppVerdict {
    UpToDate {
        platform: Platform,
    },
    UpdateAvailable {
        platform: Platform,
        latest: Version,
    },
    Unsupported {
        platform: Platform,
        minimum: Version,
        latest: Version,
    },
    /// Newer than the newest we know of: a beta, or our config is behind.
    Newer {
        platform: Platform,
        latest: Version,
    },
}

pub fn app_version(
    platform: &str,
    version: &str,
    known: impl Fn(Platform) -> AppVersions,
) -> Result<AppVerdict, CheckError> {
    let platform = Platform::parse(platform)?;
    let v = Version::parse(version)?;
    let AppVersions { latest, minimum } = known(platform);
    Ok(match (v.cmp(&minimum), v.cmp(&latest)) {
        (Ordering::Less, _) => AppVerdict::Unsupported {
            platform,
            minimum,
            latest,
        },
        (_, Ordering::Less) => AppVerdict::UpdateAvailable { platform, latest },
        (_, Ordering::Equal) => AppVerdict::UpToDate { platform },
        (_, Ordering::Greater) => AppVerdict::Newer { platform, latest },
    })
}

impl fmt::Display for AppVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppVerdict::UpToDate { platform } => write!(f, "You're on the latest {platform} version, so the app version isn't the problem."),
            AppVerdict::UpdateAvailable { platform, latest } => write!(
                f,
                "A newer version ({latest}) is out. Update the app from {}, then try again.",
                platform.store()
            ),
            AppVerdict::Unsupported { platform, minimum, latest } => write!(
                f,
                "This version is too old to pay with (the oldest that works is {minimum}). Update to {latest} from {}, then try again.",
                platform.store()
            ),
            AppVerdict::Newer { platform, latest } => write!(
                f,
                "That's newer than the latest {platform} version we know of ({latest}), maybe a beta. If payments fail on it, try the release version from {}.",
                platform.store()
            ),
        }
    }
}

/// A card's expiry, as printed on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub month: u32,
    pub year: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryVerdict {
    /// Valid through the end of its month; `months_left` counts whole months after this one.
    Valid { expiry: Expiry, months_left: i32 },
    /// Last valid month was this one... already past.
    Expired { expiry: Expiry },
    /// Further out than any card is issued for: probably a typo.
    Implausible { expiry: Expiry },
}

/// How far ahead a card's expiry can plausibly be.
const EXPIRY_YEARS_MAX: i32 = 20;

/// Checks "MM/YY" (or MM/YYYY, MM-YY, MMYY) against today's year and month.
pub fn card_expiry(
    input: &str,
    today_year: i32,
    today_month: u32,
) -> Result<ExpiryVerdict, CheckError> {
    let bad = || CheckError::NotAnExpiry(Echo::of(input));
    let t = input.trim();
    let (m, y) = match t.split_once(['/', '-', ' ', '.']) {
        Some((m, y)) => (m.trim(), y.trim()),
        None if t.len() == 4 && t.is_ascii() => (&t[..2], &t[2..]),
        None => return Err(bad()),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(m) || !digits(y) || m.len() > 2 || !(y.len() == 2 || y.len() == 4) {
        return Err(bad());
    }
    let month: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) {
        return Err(CheckError::BadMonth(month));
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let year = if y.len() == 2 { 2000 + year } else { year };
    let expiry = Expiry { month, year };
    let months = (year - today_year) * 12 + month as i32 - today_month as i32;
    Ok(if months < 0 {
        ExpiryVerdict::Expired { expiry }
    } else if months > EXPIRY_YEARS_MAX * 12 {
        ExpiryVerdict::Implausible { expiry }
    } else {
        ExpiryVerdict::Valid {
            expiry,
            months_left: months,
        }
    })
}

impl fmt::Display for ExpiryVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiryVerdict::Valid { expiry, months_left: 0 } => write!(
                f,
                "{:02}/{:02} is still valid, but this is its last month. Ask your bank for the new card and add it before paying.",
                expiry.month, expiry.year % 100
            ),
            ExpiryVerdict::Valid { expiry, .. } => write!(
                f,
                "{:02}/{:02} hasn't expired. If the payment still fails, check the date was typed exactly as printed on the card.",
                expiry.month, expiry.year % 100
            ),
            ExpiryVerdict::Expired { expiry } => write!(
                f,
                "{:02}/{:02} has expired. Add your new card (or another one) and try again.",
                expiry.month, expiry.year % 100
            ),
            ExpiryVerdict::Implausible { expiry } => write!(
                f,
                "{:02}/{} is further out than cards are issued for. Check the date on the card again.",
                expiry.month, expiry.year
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sensitive::{digit_value, testgen};
    use proptest::prelude::*;

    /// A check error used to quote an email address typed where a version or date belonged.
    #[test]
    fn errors_never_quote_an_email_or_iban() {
        for input in [
            "anna@example.com",
            "DE89370400440532013000",
            "de89 3704 0044 0532 0130 00",
        ] {
            assert_eq!(Echo::of(input).shown(), None, "{input:?}");
            let e = Version::parse(input).unwrap_err().to_string();
            assert!(!e.contains("anna") && !e.contains("3704"), "{e}");
        }
        assert_eq!(Echo::of("24.x").shown(), Some("24.x"));
    }

    #[test]
    fn amounts_parse_in_common_formats() {
        assert_eq!(parse_amount("x", "120"), Ok(Cents(12000)));
        assert_eq!(parse_amount("x", "89.99"), Ok(Cents(8999)));
        assert_eq!(parse_amount("x", "89,99"), Ok(Cents(8999)));
        assert_eq!(parse_amount("x", "$1,240.50"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "€ 1.240,50"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "1,240.00"), Ok(Cents(124000)));
        assert_eq!(parse_amount("x", "1,240,000"), Ok(Cents(124000000)));
        assert_eq!(parse_amount("x", "1 240,50 €"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "1'240.50"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "EUR 89.9"), Ok(Cents(8990)));
        assert_eq!(parse_amount("x", ".50"), Ok(Cents(50)));
        assert_eq!(parse_amount("x", "150 quid"), Ok(Cents(15000)));
        assert_eq!(parse_amount("x", "0.5"), Ok(Cents(50)));
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!(
            parse_amount("purchase", "-5"),
            Err(CheckError::Negative { what: "purchase" })
        );
        assert!(matches!(
            parse_amount("purchase", "abc"),
            Err(CheckError::NotAnAmount { .. })
        ));
        assert!(matches!(
            parse_amount("purchase", ""),
            Err(CheckError::NotAnAmount { .. })
        ));
        assert!(matches!(
            parse_amount("purchase", "1."),
            Err(CheckError::NotAnAmount { .. })
        ));
        assert!(matches!(
            parse_amount("purchase", "99999999999999999999"),
            Err(CheckError::TooLarge { .. })
        ));
    }

    /// These were read as 123, 10001 and 5 before the grammar was strict.
    #[test]
    fn malformed_amounts_are_refused() {
        for input in [
            "1.2.3",
            ",,,5",
            "1..2",
            "1,234,56",
            "1240.500",
            "12,34,567",
            "1 50",
            "0.001",
            "1.",
            ".",
            "5,,",
            "1.2.3.4",
            "10.00.1",
            "1,2345",
        ] {
            assert!(
                matches!(
                    parse_amount("x", input),
                    Err(CheckError::NotAnAmount { .. })
                ),
                "{input:?}: {:?}",
                parse_amount("x", input)
            );
        }
    }

    /// Deliberately changed: "1,240" used to parse as 1240.00.
    #[test]
    fn a_lone_separator_before_three_digits_is_ambiguous() {
        assert_eq!(
            parse_amount("purchase", "10.001"),
            Err(CheckError::AmbiguousAmount {
                what: "purchase",
                input: Echo::of("10.001"),
                thousands: Cents(1_000_100),
                decimal: Cents(1000),
            })
        );
        let e = parse_amount("purchase", "1,240").unwrap_err();
        assert!(matches!(e, CheckError::AmbiguousAmount { .. }));
        let msg = e.to_string();
        assert!(msg.contains("1240 or 1.24"), "{msg}");
        assert!(parse_amount("purchase", "10.001")
            .unwrap_err()
            .to_string()
            .contains("10001 or 10.00"));
    }

    #[test]
    fn errors_do_not_repeat_card_numbers() {
        let known = |_| AppVersions {
            latest: Version::parse("24.10.2").unwrap(),
            minimum: Version::parse("23.0").unwrap(),
        };
        let errors = [
            limit("4111-1111-1111-1111", "200", "500").unwrap_err(),
            card_expiry("4111111111111111", 2026, 11).unwrap_err(),
            app_version("ios", "4111-1111-1111-1111", known).unwrap_err(),
            app_version("ios", "4111.1111.1111.1111", known).unwrap_err(),
            app_version("4111 1111 1111 1111", "24.1", known).unwrap_err(),
        ];
        for e in errors {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("1111"), "{shown}");
        }
        // Short harmless input is still quoted, so the member sees what was wrong.
        assert_eq!(
            Platform::parse("windows").unwrap_err().to_string(),
            "`windows` is not a platform: use ios or android"
        );
        assert!(Version::parse("1234567.1")
            .unwrap_err()
            .to_string()
            .starts_with("that value"));
    }

    #[test]
    fn limit_fits_too_big_and_over() {
        assert_eq!(
            limit("100", "200", "500"),
            Ok(LimitVerdict::Fits {
                available: Cents(30000),
                left: Cents(20000)
            })
        );
        assert_eq!(
            limit("400", "200", "500"),
            Ok(LimitVerdict::TooBig {
                available: Cents(30000),
                pay_down: Cents(10000)
            })
        );
        assert_eq!(
            limit("50", "600", "500"),
            Ok(LimitVerdict::OverLimit {
                over: Cents(10000),
                pay_down: Cents(15000)
            })
        );
        assert_eq!(limit("50", "0", "0"), Err(CheckError::ZeroLimit));
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(Version::parse("24.10").unwrap() > Version::parse("24.9.9").unwrap());
        assert_eq!(
            Version::parse("24.1.0").unwrap(),
            Version::parse("24.1").unwrap()
        );
        assert!(Version::parse("abc").is_err());
        assert!(Version::parse("1..2").is_err());
        assert!(Version::parse("").is_err());
    }

    #[test]
    fn app_version_verdicts() {
        let known = |_| AppVersions {
            latest: Version::parse("24.10.2").unwrap(),
            minimum: Version::parse("23.0").unwrap(),
        };
        assert!(matches!(
            app_version("ios", "24.10.2", known),
            Ok(AppVerdict::UpToDate { .. })
        ));
        assert!(matches!(
            app_version("android", "24.9", known),
            Ok(AppVerdict::UpdateAvailable { .. })
        ));
        assert!(matches!(
            app_version("ios", "22.4", known),
            Ok(AppVerdict::Unsupported { .. })
        ));
        assert!(matches!(
            app_version("ios", "25.0", known),
            Ok(AppVerdict::Newer { .. })
        ));
        assert!(matches!(
            app_version("windows", "1.0", known),
            Err(CheckError::NotAPlatform(_))
        ));
    }

    #[test]
    fn expiry_verdicts() {
        assert!(matches!(
            card_expiry("08/27", 2026, 11),
            Ok(ExpiryVerdict::Valid { months_left: 9, .. })
        ));
        assert!(matches!(
            card_expiry("11/26", 2026, 11),
            Ok(ExpiryVerdict::Valid { months_left: 0, .. })
        ));
        assert!(matches!(
            card_expiry("10/26", 2026, 11),
            Ok(ExpiryVerdict::Expired { .. })
        ));
        assert!(matches!(
            card_expiry("01/2099", 2026, 11),
            Ok(ExpiryVerdict::Implausible { .. })
        ));
        assert_eq!(
            card_expiry("13/29", 2026, 11),
            Err(CheckError::BadMonth(13))
        );
        assert!(matches!(
            card_expiry("abc", 2026, 11),
            Err(CheckError::NotAnExpiry(_))
        ));
        assert!(matches!(
            card_expiry("0827", 2026, 11),
            Ok(ExpiryVerdict::Valid { .. })
        ));
        assert!(matches!(
            card_expiry("８/27", 2026, 11),
            Err(CheckError::NotAnExpiry(_))
        ));
    }

    // --- properties -------------------------------------------------------------------------

    /// A card number in any format (see [`testgen::formatted_card`]), with the currency signs
    /// and words people type around amounts and versions.
    fn formatted_card() -> impl Strategy<Value = (Vec<u8>, String)> {
        (
            testgen::formatted_card(),
            prop::sample::select(vec!["", "$", "€ ", "v", " EUR"]),
        )
            .prop_map(|((digits, card), deco)| (digits, format!("{deco}{card}")))
    }

    /// Whether `shown` repeats seven or more consecutive digits of `card`, across any
    /// separators between letters.
    fn repeats_digits_of(shown: &str, card: &[u8]) -> bool {
        let mut stretches = vec![Vec::new()];
        for c in shown.chars() {
            if let Some(d) = digit_value(c) {
                stretches.last_mut().expect("one stretch").push(d);
            } else if c.is_alphanumeric() {
                stretches.push(Vec::new());
            }
        }
        card.windows(7)
            .any(|w| stretches.iter().any(|s| s.windows(7).any(|x| x == w)))
    }

    fn amount_text(
        cents: u64,
        style: (Option<char>, char),
        decimals: usize,
        deco: (&str, &str),
    ) -> String {
        let (tsep, dsep) = style;
        let whole = (cents / 100).to_string();
        let mut int = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                if let Some(t) = tsep {
                    int.push(t);
                }
            }
            int.push(c);
        }
        let frac = format!("{:02}", cents % 100);
        let num = match decimals {
            0 => int,
            1 => format!("{int}{dsep}{}", &frac[..1]),
            _ => format!("{int}{dsep}{frac}"),
        };
        format!("{}{num}{}", deco.0, deco.1)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn check_errors_never_repeat_a_card_number(
            (digits, card) in formatted_card(),
            slot in 0usize..6,
        ) {
            let known = |_| AppVersions {
                latest: Version::parse("24.10.2").expect("version"),
                minimum: Version::parse("23.0").expect("version"),
            };
            let err = match slot {
                0 => limit(&card, "200", "500").err(),
                1 => limit("100", &card, "500").err(),
                2 => limit("100", "200", &card).err(),
                3 => app_version(&card, "24.1", known).err(),
                4 => app_version("ios", &card, known).err(),
                _ => card_expiry(&card, 2026, 11).err(),
            };
            if let Some(e) = err {
                let shown = format!("{e} / {e:?}");
                prop_assert!(!repeats_digits_of(&shown, &digits), "{:?} -> {}", card, shown);
            }
        }

        #[test]
        fn amounts_in_accepted_styles_round_trip(
            cents in 0u64..=AMOUNT_MAX_CENTS,
            style in prop::sample::select(vec![
                (None, '.'), (None, ','), (Some(','), '.'), (Some('.'), ','), (Some(' '), ','),
                (Some('\u{a0}'), ','), (Some('\''), '.'), (Some(' '), '.'), (Some('\u{202f}'), ','),
            ]),
            decimals in 0usize..=2,
            deco in prop::sample::select(vec![
                ("", ""), ("$", ""), ("€", ""), ("€ ", ""), ("£", ""), ("", " €"), ("", " EUR"),
                ("USD ", ""), (" ", " "),
            ]),
        ) {
            // Drop decimals only where they are zero.
            let decimals = match decimals {
                0 if cents % 100 != 0 => 2,
                1 if cents % 10 != 0 => 2,
                d => d,
            };
            // "1,240" with no decimals is the ambiguous shape, refused on purpose (see
            // `lone_separator_amounts_are_refused_as_ambiguous`): write the decimals there.
            let one_point_group = matches!(style.0, Some('.') | Some(','))
                && (1000..1_000_000).contains(&(cents / 100));
            let decimals = if one_point_group && decimals == 0 { 2 } else { decimals };
            let text = amount_text(cents, style, decimals, deco);
            prop_assert_eq!(parse_amount("x", &text), Ok(Cents(cents)), "{:?}", text);
        }

        #[test]
        fn lone_separator_amounts_are_refused_as_ambiguous(
            first in 1u64..1000,
            last in 0u64..1000,
            sep in prop::sample::select(vec!['.', ',']),
        ) {
            let text = format!("{first}{sep}{last:03}");
            let got = parse_amount("x", &text);
            prop_assert_eq!(
                got,
                Err(CheckError::AmbiguousAmount {
                    what: "x",
                    input: Echo::of(&text),
                    thousands: Cents((first * 1000 + last) * 100),
                    decimal: Cents(first * 100 + last / 10),
                })
            );
        }

        #[test]
        fn checks_never_panic(a in "\\PC{0,60}", b in "[0-9.,$€ -]{0,20}") {
            let known = |_| AppVersions {
                latest: Version::parse("24.10.2").expect("version"),
                minimum: Version::parse("23.0").expect("version"),
            };
            let _ = parse_amount("x", &a);
            let _ = parse_amount("x", &b);
            let _ = limit(&a, &b, "500");
            let _ = app_version(&a, &b, known);
            let _ = card_expiry(&a, 2026, 11);
            let _ = card_expiry(&b, 2026, 11);
        }
    }
}
