//! Fast scoring: a compact copy of the trained model, with weights summed per known word.
//!
//! Two things make a message cheap to score:
//! - A word's own features (the word and its character grams) do not depend on its
//!   neighbours, so for every word of the vocabulary their weights are summed once, at load.
//!   Scoring then costs one lookup per word and one per word pair instead of one per feature
//!   (about ten times as many). Words outside the vocabulary (typos, names, numbers) fall back
//!   to their grams.
//! - Weights are quantized to `i16` with one scale for the whole model, in rows padded to 16
//!   values (half a cache line), behind an open-addressing table of plain `u64` keys. The
//!   model's table shrinks from about 1.6 MB to about 0.9 MB, and a lookup touches one key
//!   line and one row. Sums are exact integers, so the per-word shortcut changes nothing; the
//!   quantization moves a logit by well under 0.001. A test holds this against the model.

use super::features;
use super::model::LinearModel;

/// Values per lane: one lane of `i16` is 32 bytes.
const LANE: usize = 16;

#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
struct Lane([i16; LANE]);

#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct WideLane([i32; LANE]);

/// Open addressing with linear probing from `u64` feature hashes to row numbers. Key 0 marks
/// an empty slot; a feature whose hash is 0 (one chance in 2^64) is left out.
#[derive(Clone, Debug)]
struct Slots {
    keys: Vec<u64>,
    rows: Vec<u32>,
    shift: u32,
    len: usize,
}

impl Slots {
    fn with_capacity(n: usize) -> Slots {
        // At most half full, so probes stay short.
        let size = (n.max(4) * 2).next_power_of_two();
        Slots {
            keys: vec![0; size],
            rows: vec![0; size],
            shift: 64 - size.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn start(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Inserts `key` with the next row number unless present; returns its row.
    fn insert(&mut self, key: u64) -> Option<u32> {
        if key == 0 {
            return None;
        }
        debug_assert!(self.len * 2 < self.keys.len());
        let mask = self.keys.len() - 1;
        let mut i = self.start(key);
        loop {
            match self.keys[i] {
                0 => {
                    let row = self.len as u32;
                    self.keys[i] = key;
                    self.rows[i] = row;
                    self.len += 1;
                    return Some(row);
                }
                k if k == key => return Some(self.rows[i]),
                _ => i = (i + 1) & mask,
            }
        }
    }

    #[inline]
    fn get(&self, key: u64) -> Option<usize> {
        if key == 0 {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut i = self.start(key);
        loop {
            match self.keys[i] {
                k if k == key => return Some(self.rows[i] as usize),
                0 => return None,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scorer {
    classes: usize,
    /// Lanes per row.
    lanes: usize,
    /// A weight is `value as f32 * scale`.
    scale: f32,
    bias: Vec<f32>,
    features: Slots,
    /// `lanes` lanes per feature.
    weights: Vec<Lane>,
    words: Slots,
    /// `lanes` lanes per known word: the sum of its own features' quantized weights.
    word_sums: Vec<WideLane>,
    /// How many features each known word stands for.
    word_counts: Vec<u32>,
}

impl Scorer {
    /// Quantizes `model` and precomputes the sums for every word in `vocabulary`, which must
    /// hold every word of the training texts.
    pub fn new<'a>(model: &LinearModel, vocabulary: impl IntoIterator<Item = &'a str>) -> Scorer {
        let classes = model.classes();
        let lanes = classes.div_ceil(LANE).max(1);
        let max = model
            .rows()
            .flat_map(|(_, row)| row.iter())
            .fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 {
            max / f32::from(i16::MAX)
        } else {
            1.0
        };
        let mut features = Slots::with_capacity(model.feature_count());
        let mut weights = Vec::with_capacity(model.feature_count() * lanes);
        for (h, row) in model.rows() {
            if features.insert(h).is_none() {
                continue;
            }
            let mut lane = vec![Lane::default(); lanes];
            for (c, w) in row.iter().enumerate() {
                lane[c / LANE].0[c % LANE] = (w / scale).round() as i16;
            }
            weights.extend(lane);
        }
        let mut scorer = Scorer {
            classes,
            lanes,
            scale,
            bias: model.bias().to_vec(),
            features,
            weights,
            words: Slots::with_capacity(0),
            word_sums: Vec::new(),
            word_counts: Vec::new(),
        };
        let vocabulary: Vec<&str> = vocabulary
            .into_iter()
            .filter(|w| !w.is_empty() && !w.contains(' '))
            .collect();
        let mut words = Slots::with_capacity(vocabulary.len());
        let mut feats = Vec::new();
        for w in vocabulary {
            let h = features::word(w);
            match words.insert(h) {
                Some(row) if row as usize == scorer.word_counts.len() => {}
                _ => continue, // already known, or unstorable
            }
            feats.clear();
            feats.push(h);
            features::grams_of(w, &mut feats);
            let mut sum = vec![WideLane::default(); lanes];
            for f in &feats {
                scorer.add(&mut sum, *f);
            }
            scorer.word_sums.extend(sum);
            scorer.word_counts.push(feats.len() as u32);
        }
        scorer.words = words;
        scorer
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many features the model knows.
    pub fn feature_count(&self) -> usize {
        self.features.len
    }

    /// The weight of one feature for one class, as scoring uses it (0 for an unknown feature).
    pub fn weight(&self, feature: u64, class: usize) -> f32 {
        self.features.get(feature).map_or(0.0, |row| {
            let lane = self.weights[row * self.lanes + class / LANE];
            f32::from(lane.0[class % LANE]) * self.scale
        })
    }

    /// Adds the quantized weights of `feature`, if known, to `acc`.
    #[inline]
    fn add(&self, acc: &mut [WideLane], feature: u64) {
        if let Some(row) = self.features.get(feature) {
            let lanes = &self.weights[row * self.lanes..(row + 1) * self.lanes];
            accumulate(acc, lanes.iter().map(|l| &l.0));
        }
    }

    /// The logits of normalized text `norm`, plus `extra` features (pattern features), into
    /// `out` (one value per class).
    pub fn logits(&self, norm: &str, extra: &[u64], out: &mut [f32]) {
        // Up to 32 classes, the sums live on the stack.
        let mut stack = [WideLane::default(); 2];
        let mut heap = Vec::new();
        let acc: &mut [WideLane] = if self.lanes <= stack.len() {
            &mut stack[..self.lanes]
        } else {
            heap.resize(self.lanes, WideLane::default());
            &mut heap
        };
        let mut count = 0usize;
        // The previous word, and whether it is in the vocabulary.
        let mut prev: Option<(&str, bool)> = None;
        let mut grams = Vec::new();
        for w in features::words(norm) {
            let h = features::word(w);
            let row = self.words.get(h);
            if let Some(row) = row {
                let sums = &self.word_sums[row * self.lanes..(row + 1) * self.lanes];
                accumulate(acc, sums.iter().map(|l| &l.0));
                count += self.word_counts[row] as usize;
            } else {
                grams.clear();
                grams.push(h);
                features::grams_of(w, &mut grams);
                count += grams.len();
                for g in &grams {
                    self.add(acc, *g);
                }
            }
            if let Some((p, p_known)) = prev {
                count += 1;
                // Training pairs are made of training words, all in the vocabulary: a pair
                // with an unknown word has no weights, so it is not looked up.
                if p_known && row.is_some() {
                    self.add(acc, features::pair(p, w));
                }
            }
            prev = Some((w, row.is_some()));
        }
        for f in extra {
            count += 1;
            self.add(acc, *f);
        }
        // Each feature counts 1/sqrt(n), as in training.
        let x = if count == 0 {
            0.0
        } else {
            self.scale / (count as f32).sqrt()
        };
        let sums = acc.iter().flat_map(|l| l.0.iter());
        for ((o, b), s) in out.iter_mut().zip(&self.bias).zip(sums) {
            *o = b + *s as f32 * x;
        }
    }
}

/// Adds rows of lanes into `acc`, lane by lane.
#[inline]
fn accumulate<'a, T: Copy + Into<i32> + 'a>(
    acc: &mut [WideLane],
    rows: impl Iterator<Item = &'a [T; LANE]>,
) {
    for (a, row) in acc.iter_mut().zip(rows) {
        // Through a local copy, which the compiler vectorizes (it cannot tell that `acc` and
        // the table never overlap).
        let mut v = a.0;
        for (v, w) in v.iter_mut().zip(row) {
            *v += (*w).into();
        }
        a.0 = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nlu::model::{Sample, TrainSettings};

    #[test]
    fn compact_scoring_matches_the_trained_model() {
        let texts = [
            ("klarna declined my order", 0),
            ("payment declined at checkout", 0),
            ("over my limit again", 1),
            ("spending limit too low", 1),
            ("nice weather today", 2),
        ];
        let samples: Vec<Sample> = texts
            .iter()
            .map(|(t, c)| {
                let mut features = Vec::new();
                features::extract(t, &mut features);
                Sample {
                    features,
                    class: *c,
                    weight: 1.0,
                }
            })
            .collect();
        let model = LinearModel::train(&samples, 3, TrainSettings::default());
        let vocab: Vec<&str> = texts.iter().flat_map(|(t, _)| t.split(' ')).collect();
        let scorer = Scorer::new(&model, vocab);
        assert_eq!(scorer.feature_count(), model.feature_count());
        for text in [
            "klarna declined my order",
            "declind at checkout over limit",
            "zzz qqq",
            "limit limit limit",
            "",
            &"x".repeat(60),
        ] {
            let mut feats = Vec::new();
            features::extract(text, &mut feats);
            let (mut slow, mut fast) = ([0.0f32; 3], [0.0f32; 3]);
            model.logits(&feats, &mut slow);
            scorer.logits(text, &[], &mut fast);
            for (s, f) in slow.iter().zip(&fast) {
                assert!((s - f).abs() < 1e-3, "{text:?}: {slow:?} vs {fast:?}");
            }
        }
    }

    #[test]
    fn rows_wider_than_a_lane_keep_every_class() {
        // 40 classes: three lanes per row, and sums too wide for the stack.
        let samples: Vec<Sample> = (0..40)
            .map(|c| Sample {
                features: vec![100 + c as u64, 7],
                class: c,
                weight: 1.0,
            })
            .collect();
        let model = LinearModel::train(&samples, 40, TrainSettings::default());
        let scorer = Scorer::new(&model, []);
        for c in 0..40 {
            let (m, s) = (
                model.weight(100 + c as u64, c),
                scorer.weight(100 + c as u64, c),
            );
            assert!(m > 0.0 && (m - s).abs() < 1e-3, "class {c}: {m} vs {s}");
        }
        let mut feats = Vec::new();
        features::extract("some words here", &mut feats);
        let (mut slow, mut fast) = ([0.0f32; 40], [0.0f32; 40]);
        model.logits(&feats, &mut slow);
        scorer.logits("some words here", &[], &mut fast);
        for (s, f) in slow.iter().zip(&fast) {
            assert!((s - f).abs() < 1e-3, "{slow:?} vs {fast:?}");
        }
    }

    #[test]
    fn slots_find_what_was_inserted_and_nothing_else() {
        let mut slots = Slots::with_capacity(1000);
        for k in 1..=1000u64 {
            assert_eq!(slots.insert(k * 7919), Some(k as u32 - 1));
        }
        assert_eq!(slots.insert(7919), Some(0), "a second insert keeps the row");
        assert_eq!(slots.insert(0), None);
        for k in 1..=1000u64 {
            assert_eq!(slots.get(k * 7919), Some(k as usize - 1));
        }
        assert_eq!(slots.get(3), None);
        assert_eq!(slots.get(0), None);
    }
}
