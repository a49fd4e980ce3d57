//! Spotting card numbers, CVV codes and passwords in member messages.
//!
//! paymedic never asks for these. When a member posts one anyway, the engine warns them
//! instead of answering, and the text is never classified, echoed or stored. Detection
//! errs on the side of warning: a 13–19 digit run that passes the Luhn check, a 3–4 digit
//! code next to "cvv"/"cvc"/"security code", or "password is ...".

use regex::Regex;
use std::sync::LazyLock;

static CODE_OR_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(cvv2?|cvc2?|cv2|csc|security\s+code)\b\D{0,12}\b\d{3,4}\b
        | \b(password|passwd|pwd|passcode|pass\s+word)\s*(is|was|=|:)\s*\S+",
    )
    .expect("static regex")
});

/// What a message looked like it held, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Secret {
    CardNumber,
    Code,
    Password,
}

/// The most serious secret `text` appears to hold.
pub fn kind(text: &str) -> Option<Secret> {
    if has_card_number(text) {
        Some(Secret::CardNumber)
    } else if CODE_OR_PASSWORD.is_match(text) {
        Some(Secret::Password)
    } else {
        None
    }
}

/// Whether `text` appears to contain a card number, a CVV code or a password.
pub fn looks_sensitive(text: &str) -> bool {
    has_card_number(text) || CODE_OR_PASSWORD.is_match(text)
}

/// A run of 13 to 19 digits, optionally grouped by single spaces or dashes, that starts like a
/// card network's number (2–6) and passes the Luhn checksum every card number carries. Order
/// and tracking numbers rarely meet all three, so members are not warned about those.
pub fn has_card_number(text: &str) -> bool {
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut gap = false;
    for c in text.chars().chain(std::iter::once('\n')) {
        if let Some(d) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
            digits.push(d as u8);
            gap = false;
            if digits.len() > 19 {
                // Too long for a card; skip the rest of this run.
                digits.clear();
            }
        } else if (c == ' ' || c == '-') && !digits.is_empty() && !gap {
            gap = true;
        } else {
            if (13..=19).contains(&digits.len()) && (2..=6).contains(&digits[0]) && luhn(&digits) {
                return true;
            }
            digits.clear();
            gap = false;
        }
    }
    false
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
