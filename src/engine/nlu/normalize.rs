//! Text normalization: the one form that patterns, examples and member messages are compared in.
//!
//! Steps, in order: keep at most [`CLASSIFY_CHARS_MAX`] characters; Unicode NFKC (so full-width
//! letters and ligatures match their plain forms); lowercase; drop apostrophes so "can't" and
//! "cant" agree; turn every other non-alphanumeric character into a single space; squeeze
//! letters stretched three or more times ("sooo" -> "soo", or "so" when that is a known word);
//! then rewrite each word through the content pack's lexicon (misspellings, slang and
//! contractions).

use crate::engine::limits::CLASSIFY_CHARS_MAX;
use rustc_hash::{FxHashMap, FxHashSet};
use unicode_normalization::UnicodeNormalization;

/// Normalizes text with a lexicon and a vocabulary of known words.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    lexicon: FxHashMap<String, String>,
    vocab: FxHashSet<String>,
}

impl Normalizer {
    pub fn new(lexicon: impl IntoIterator<Item = (String, String)>) -> Normalizer {
        let lexicon: FxHashMap<String, String> = lexicon.into_iter().collect();
        let mut vocab = FxHashSet::default();
        for (k, v) in &lexicon {
            vocab.insert(k.clone());
            vocab.extend(v.split(' ').map(str::to_string));
        }
        Normalizer { lexicon, vocab }
    }

    /// Adds the words of already-normalized texts to the vocabulary used to undo stretching.
    pub fn learn_words<'a>(&mut self, texts: impl IntoIterator<Item = &'a str>) {
        for t in texts {
            for w in t.split(' ').filter(|w| !w.is_empty()) {
                if !self.vocab.contains(w) {
                    self.vocab.insert(w.to_string());
                }
            }
        }
    }

    /// Every word the normalizer knows: the lexicon's and the learned ones.
    pub fn vocabulary(&self) -> impl Iterator<Item = &str> {
        self.vocab.iter().map(String::as_str)
    }

    /// The normalized form of `text`: lowercase words separated by single spaces.
    pub fn normalize(&self, text: &str) -> String {
        let text = match text.char_indices().nth(CLASSIFY_CHARS_MAX) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        let mut out = String::with_capacity(text.len() + 8);
        let mut word = String::with_capacity(32);
        if text.is_ascii() {
            // The common case, byte by byte.
            for &b in text.as_bytes() {
                if b.is_ascii_alphanumeric() {
                    word.push(char::from(b.to_ascii_lowercase()));
                } else if b != b'\'' && b != b'`' {
                    self.flush(&mut word, &mut out);
                }
            }
        } else if unicode_normalization::is_nfkc(text) {
            // Already in NFKC (emoji and most accented text): skip the rewrite.
            for c in text.chars() {
                for lc in c.to_lowercase() {
                    self.push_char(lc, &mut word, &mut out);
                }
            }
        } else {
            for c in text.nfkc() {
                for lc in c.to_lowercase() {
                    self.push_char(lc, &mut word, &mut out);
                }
            }
        }
        self.flush(&mut word, &mut out);
        out
    }

    fn push_char(&self, c: char, word: &mut String, out: &mut String) {
        if matches!(
            c,
            '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}'
        ) {
            return;
        }
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            self.flush(word, out);
        }
    }

    fn flush(&self, word: &mut String, out: &mut String) {
        if word.is_empty() {
            return;
        }
        let squeezed = self.unstretch(word);
        let w = squeezed.as_deref().unwrap_or(word.as_str());
        let w = self.lexicon.get(w).map_or(w, String::as_str);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        word.clear();
    }

    /// `None` when the word has no letter repeated three or more times in a row.
    fn unstretch(&self, word: &str) -> Option<String> {
        if !is_stretched(word) {
            return None;
        }
        let chars: Vec<char> = word.chars().collect();
        let squeeze = |keep: usize| {
            let mut s = String::with_capacity(word.len());
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                let mut j = i;
                while j < chars.len() && chars[j] == c {
                    j += 1;
                }
                let run = j - i;
                let n = if run >= 3 && c.is_alphabetic() {
                    keep
                } else {
                    run
                };
                for _ in 0..n {
                    s.push(c);
                }
                i = j;
            }
            s
        };
        let two = squeeze(2);
        if self.vocab.contains(&two) {
            return Some(two);
        }
        let one = squeeze(1);
        if self.vocab.contains(&one) {
            return Some(one);
        }
        Some(two)
    }
}

/// Whether `word` has a letter repeated three or more times in a row (checked without
/// allocating: most words are not).
fn is_stretched(word: &str) -> bool {
    let (mut last, mut run) = ('\0', 0);
    for c in word.chars() {
        if c == last {
            run += 1;
            if run >= 3 && c.is_alphabetic() {
                return true;
            }
        } else {
            (last, run) = (c, 1);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n() -> Normalizer {
        let mut n = Normalizer::new([
            ("cant".to_string(), "cannot".to_string()),
            ("klarma".to_string(), "klarna".to_string()),
        ]);
        n.learn_words(["so declined please"]);
        n
    }

    #[test]
    fn lowercases_and_strips_punctuation() {
        assert_eq!(
            n().normalize("Klarna DECLINED?!  my $120 order"),
            "klarna declined my 120 order"
        );
    }

    #[test]
    fn contractions_go_through_the_lexicon() {
        assert_eq!(
            n().normalize("I can't pay, KLARMA..."),
            "i cannot pay klarna"
        );
        assert_eq!(n().normalize("I can’t pay"), "i cannot pay");
    }

    #[test]
    fn stretched_letters_squeeze_to_known_words() {
        assert_eq!(n().normalize("sooo annoying"), "so annoying");
        assert_eq!(n().normalize("declinnnned"), "declined");
        assert_eq!(n().normalize("pleeeease"), "please");
        assert_eq!(n().normalize("zzzzz"), "zz");
    }

    #[test]
    fn only_letters_repeated_three_times_count_as_stretched() {
        assert!(is_stretched("sooo"));
        assert!(is_stretched("pleeease"));
        assert!(!is_stretched("soo"));
        assert!(!is_stretched("1000"));
        assert!(!is_stretched(""));
    }

    #[test]
    fn nfkc_folds_fullwidth_and_ligatures() {
        assert_eq!(n().normalize("ＫＬＡＲＮＡ ﬁx"), "klarna fix");
    }

    #[test]
    fn empty_and_symbol_only_text_is_empty() {
        assert_eq!(n().normalize(""), "");
        assert_eq!(n().normalize("?!... 😭😭"), "");
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let s = "éa".repeat(CLASSIFY_CHARS_MAX);
        assert_eq!(n().normalize(&s).chars().count(), CLASSIFY_CHARS_MAX);
    }
}
