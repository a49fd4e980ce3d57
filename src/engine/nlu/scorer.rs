//! Fast scoring: the model's weights summed per known word.
//!
//! A word's own features (the word and its character grams) do not depend on its neighbours,
//! so for every word of the vocabulary the sum of their weight rows is computed once, at load.
//! Scoring a message then costs one lookup per word and one per word pair, instead of one per
//! feature (about ten times as many). Words outside the vocabulary (typos, names, numbers) fall
//! back to their grams. The result equals [`LinearModel::logits`] over
//! [`features::extract`] up to the order of float additions; a test holds them together.

use super::features;
use super::model::{FeatureIndex, LinearModel};

#[derive(Clone, Debug)]
pub struct Scorer {
    model: LinearModel,
    /// Word feature hash -> row of `sums` and `counts`.
    words: FeatureIndex,
    /// Row-major, `classes` values per known word.
    sums: Vec<f32>,
    /// How many features each known word stands for.
    counts: Vec<u32>,
}

impl Scorer {
    /// Precomputes the sums for every word in `vocabulary`.
    pub fn new<'a>(model: LinearModel, vocabulary: impl IntoIterator<Item = &'a str>) -> Scorer {
        let classes = model.classes();
        let mut scorer = Scorer {
            model,
            words: FeatureIndex::default(),
            sums: Vec::new(),
            counts: Vec::new(),
        };
        let mut feats = Vec::new();
        for w in vocabulary {
            let h = features::word(w);
            if w.is_empty() || w.contains(' ') || scorer.words.contains_key(&h) {
                continue;
            }
            feats.clear();
            feats.push(h);
            features::grams_of(w, &mut feats);
            let row = scorer.counts.len() as u32;
            scorer.sums.resize(scorer.sums.len() + classes, 0.0);
            let sum = &mut scorer.sums[row as usize * classes..];
            for f in &feats {
                if let Some(weights) = scorer.model.row(*f) {
                    add(sum, weights);
                }
            }
            scorer.counts.push(feats.len() as u32);
            scorer.words.insert(h, row);
        }
        scorer.sums.shrink_to_fit();
        scorer
    }

    pub fn model(&self) -> &LinearModel {
        &self.model
    }

    /// The logits of normalized text `norm`, plus `extra` features (pattern features), into
    /// `out` (one value per class).
    pub fn logits(&self, norm: &str, extra: &[u64], out: &mut [f32]) {
        let classes = self.model.classes();
        out.fill(0.0);
        let mut count = 0usize;
        let mut prev: Option<&str> = None;
        let mut grams = Vec::new();
        for w in features::words(norm) {
            let h = features::word(w);
            if let Some(&row) = self.words.get(&h) {
                let row = row as usize;
                add(out, &self.sums[row * classes..(row + 1) * classes]);
                count += self.counts[row] as usize;
            } else {
                grams.clear();
                grams.push(h);
                features::grams_of(w, &mut grams);
                count += grams.len();
                for g in &grams {
                    if let Some(weights) = self.model.row(*g) {
                        add(out, weights);
                    }
                }
            }
            if let Some(p) = prev {
                count += 1;
                if let Some(weights) = self.model.row(features::pair(p, w)) {
                    add(out, weights);
                }
            }
            prev = Some(w);
        }
        for f in extra {
            count += 1;
            if let Some(weights) = self.model.row(*f) {
                add(out, weights);
            }
        }
        // Each feature counts 1/sqrt(n), as in training.
        let x = if count == 0 {
            0.0
        } else {
            1.0 / (count as f32).sqrt()
        };
        for (o, b) in out.iter_mut().zip(self.model.bias()) {
            *o = b + *o * x;
        }
    }
}

#[inline]
fn add(acc: &mut [f32], row: &[f32]) {
    for (a, w) in acc.iter_mut().zip(row) {
        *a += w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nlu::model::{Sample, TrainSettings};

    #[test]
    fn word_sums_give_the_same_logits_as_every_feature() {
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
        let scorer = Scorer::new(model.clone(), vocab);
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
                assert!((s - f).abs() < 1e-4, "{text:?}: {slow:?} vs {fast:?}");
            }
        }
    }
}
