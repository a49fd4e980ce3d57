//! The checks behind `/check`: pure functions over plain values, with a clear error for every
//! bad input instead of a panic.

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

/// Why an input to a check was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("{what}: `{input}` is not an amount (try something like 120 or 89.99)")]
    NotAnAmount { what: &'static str, input: String },
    #[error("{what} can't be negative")]
    Negative { what: &'static str },
    #[error("{what} is too large to be real")]
    TooLarge { what: &'static str },
    #[error("the limit must be more than zero")]
    ZeroLimit,
    #[error("`{0}` is not a version (try something like 24.10.2)")]
    NotAVersion(String),
    #[error("`{0}` is not a platform: use ios or android")]
    NotAPlatform(String),
    #[error("`{0}` is not an expiry date: use MM/YY, like 08/27")]
    NotAnExpiry(String),
    #[error("month {0} doesn't exist: use 01 to 12")]
    BadMonth(u32),
}

const AMOUNT_MAX_CENTS: u64 = 100_000_000 * 100;

/// Parses "120", "89.99", "89,99", "$1,240.50", "€ 1.240,50" into cents.
pub fn parse_amount(what: &'static str, input: &str) -> Result<Cents, CheckError> {
    let bad = || CheckError::NotAnAmount {
        what,
        input: input.chars().take(40).collect(),
    };
    let s: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, '$' | '€' | '£' | ' ' | '\u{a0}' | '_'))
        .collect();
    let s = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let s = s.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if let Some(rest) = s.strip_prefix('-') {
        if !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            return Err(CheckError::Negative { what });
        }
        return Err(bad());
    }
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(bad());
    }
    // The last separator followed by exactly one or two digits is the decimal point; the
    // others group thousands.
    let (int_part, frac_part) = match s.rfind(['.', ',']) {
        Some(i) if s.len() - i - 1 <= 2 && s.len() - i > 1 => (&s[..i], &s[i + 1..]),
        Some(i) if s.len() - i == 1 => return Err(bad()),
        _ => (s, ""),
    };
    let int_digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if int_digits.len() > 12 {
        return Err(CheckError::TooLarge { what });
    }
    let whole: u64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| bad())?
    };
    let frac: u64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<u64>().map_err(|_| bad())? * 10,
        _ => frac_part.parse().map_err(|_| bad())?,
    };
    let cents = whole * 100 + frac;
    if cents > AMOUNT_MAX_CENTS {
        return Err(CheckError::TooLarge { what });
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
            _ => Err(CheckError::NotAPlatform(s.chars().take(40).collect())),
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
            _ => Err(CheckError::NotAVersion(s.chars().take(40).collect())),
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
    let bad = || CheckError::NotAnExpiry(input.chars().take(20).collect());
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

/// The status check: the incident notice, if one is set.
pub fn status(notice: Option<&str>) -> String {
    match notice.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("Known issue right now: {n}"),
        None => "No known outage right now. If checkout keeps failing, try the steps for a declined payment.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_common_formats() {
        assert_eq!(parse_amount("x", "120"), Ok(Cents(12000)));
        assert_eq!(parse_amount("x", "89.99"), Ok(Cents(8999)));
        assert_eq!(parse_amount("x", "89,99"), Ok(Cents(8999)));
        assert_eq!(parse_amount("x", "$1,240.50"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "€ 1.240,50"), Ok(Cents(124050)));
        assert_eq!(parse_amount("x", "1,240"), Ok(Cents(124000)));
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

    #[test]
    fn status_shows_the_notice_or_says_none() {
        assert!(status(Some("Checkout errors at some retailers")).contains("Checkout errors"));
        assert!(status(Some("  ")).starts_with("No known outage"));
        assert!(status(None).starts_with("No known outage"));
    }
}
