//! Features of a normalized text: words, word pairs and character n-grams, as 64-bit hashes.
//!
//! Character n-grams make the model forgiving of typos and word forms ("declind", "declining")
//! that the lexicon does not list; word pairs catch phrases ("over limit", "app store").
//! Hashing keeps extraction allocation-free apart from the output vector.

/// Character n-gram lengths used.
const CHAR_GRAMS: std::ops::RangeInclusive<usize> = 3..=5;

const SEED_WORD: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED_PAIR: u64 = 0xC2B2_AE3D_27D4_EB4F;
const SEED_CHAR: u64 = 0x1656_67B1_9E37_79F9;
const SEED_PATTERN: u64 = 0x27D4_EB2F_1656_67C5;

/// The feature standing for "a pattern of intent number `intent` matched".
pub fn pattern(intent: usize) -> u64 {
    fnv(SEED_PATTERN, &(intent as u64).to_le_bytes())
}

/// FNV-1a over `bytes`, starting from `seed`.
#[inline]
fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// The feature for the word `w`.
#[inline]
pub fn word(w: &str) -> u64 {
    fnv(SEED_WORD, w.as_bytes())
}

/// The feature for the word pair `p w`.
#[inline]
pub fn pair(p: &str, w: &str) -> u64 {
    fnv(fnv(SEED_PAIR, p.as_bytes()), w.as_bytes())
}

/// The words of a normalized text.
#[inline]
pub fn words(norm: &str) -> impl Iterator<Item = &str> {
    norm.split(' ').filter(|w| !w.is_empty())
}

/// Appends the features of `norm` (already normalized) to `out`.
pub fn extract(norm: &str, out: &mut Vec<u64>) {
    let mut prev: Option<&str> = None;
    for w in words(norm) {
        out.push(word(w));
        if let Some(p) = prev {
            out.push(pair(p, w));
        }
        prev = Some(w);
        grams_of(w, out);
    }
}

/// Appends the character n-grams inside one word, padded with spaces so word starts and ends
/// count. A word's own features are [`word`] and these: they do not depend on its neighbours.
pub fn grams_of(w: &str, out: &mut Vec<u64>) {
    let bytes = w.as_bytes();
    let mut padded = [0u8; 48];
    if bytes.len() + 2 <= padded.len() {
        padded[0] = b' ';
        padded[1..=bytes.len()].copy_from_slice(bytes);
        padded[bytes.len() + 1] = b' ';
        grams(&padded[..bytes.len() + 2], out);
    } else {
        grams(bytes, out);
    }
}

fn grams(bytes: &[u8], out: &mut Vec<u64>) {
    for n in CHAR_GRAMS {
        if bytes.len() < n {
            break;
        }
        for win in bytes.windows(n) {
            out.push(fnv(SEED_CHAR, win));
        }
    }
}

/// A readable name for each feature of `norm`, for `paymedic explain`.
pub fn named(norm: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut prev: Option<&str> = None;
    for w in words(norm) {
        out.push((word(w), format!("word '{w}'")));
        if let Some(p) = prev {
            out.push((pair(p, w), format!("pair '{p} {w}'")));
        }
        prev = Some(w);
        let padded = format!(" {w} ");
        let bytes: &[u8] = if w.len() + 2 <= 48 {
            padded.as_bytes()
        } else {
            w.as_bytes()
        };
        for n in CHAR_GRAMS {
            for win in bytes.windows(n) {
                let text = String::from_utf8_lossy(win).replace(' ', "_");
                out.push((fnv(SEED_CHAR, win), format!("chars '{text}'")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_features_match_extracted_ones() {
        let mut fast = Vec::new();
        extract("klarna declined me", &mut fast);
        let named: Vec<u64> = named("klarna declined me")
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        assert_eq!(fast, named);
    }

    #[test]
    fn a_typo_shares_most_character_grams() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        extract("declined", &mut a);
        extract("declind", &mut b);
        let shared = a.iter().filter(|h| b.contains(h)).count();
        assert!(shared >= 6, "only {shared} shared grams");
    }
}
