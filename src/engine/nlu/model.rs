//! A small multinomial logistic-regression model over hashed features, trained at load time.
//!
//! Training is deterministic: a fixed number of epochs over the examples in a fixed, seeded
//! order, so the same content pack always gives the same model and the same answers. Class
//! `k - 1` is "out of scope", learned from the pack's chatter examples.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Passes an already-hashed `u64` key through (with a final mix), so lookups cost no rehash.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
}

type FeatureIndex = HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

/// Training settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainSettings {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty, applied as weight decay on the features each update touches.
    pub l2: f32,
    /// Average the weights at the end of each epoch of the second half, instead of keeping
    /// the last ones: at a high learning rate the last weights lean toward the last examples
    /// seen, so a line added or removed anywhere reshuffles them and moves readings near
    /// the threshold.
    pub average: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            epochs: 10,
            learning_rate: 1.0,
            l2: 1e-4,
            average: false,
        }
    }
}

/// One training example: its features and its class.
pub struct Sample {
    pub features: Vec<u64>,
    pub class: usize,
    /// How much this example counts (1.0 for most).
    pub weight: f32,
}

#[derive(Clone, Debug)]
pub struct LinearModel {
    classes: usize,
    /// Values per row: `classes` rounded up to a whole number of blocks, so updates run over
    /// fixed-size blocks the compiler vectorizes. Padding values stay 0.
    stride: usize,
    index: FeatureIndex,
    /// Row-major: `weights[f * stride + c]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// Values per block of a row.
const BLOCK: usize = 16;
/// Values per block of a row when there are this few classes or fewer.
const SMALL_BLOCK: usize = 4;

impl LinearModel {
    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn train(samples: &[Sample], classes: usize, settings: TrainSettings) -> LinearModel {
        // A few classes (the scam model's 4) in blocks of 4: a block of 16 would be mostly
        // padding, and cost 4 times the work.
        if classes <= SMALL_BLOCK {
            Self::train_in::<SMALL_BLOCK>(samples, classes, settings)
        } else {
            Self::train_in::<BLOCK>(samples, classes, settings)
        }
    }

    fn train_in<const B: usize>(
        samples: &[Sample],
        classes: usize,
        settings: TrainSettings,
    ) -> LinearModel {
        let mut index = FeatureIndex::default();
        let encoded: Vec<(Vec<u32>, usize, f32)> = samples
            .iter()
            .map(|s| {
                let mut ids: Vec<u32> = s
                    .features
                    .iter()
                    .map(|h| {
                        let next = index.len() as u32;
                        *index.entry(*h).or_insert(next)
                    })
                    .collect();
                ids.sort_unstable();
                (ids, s.class, s.weight)
            })
            .collect();
        let stride = classes.div_ceil(B).max(1) * B;
        let mut model = LinearModel {
            classes,
            stride,
            weights: vec![0.0; index.len() * stride],
            bias: vec![0.0; classes],
            index,
        };
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut z = vec![0.0f32; stride];
        let averaged_from = settings.epochs / 2;
        let (mut sum_w, mut sum_b, mut snapshots) = (Vec::new(), Vec::new(), 0u32);
        for epoch in 0..settings.epochs {
            // Fisher-Yates with a fixed xorshift seed: reproducible, but not file order.
            for i in (1..order.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            let base_lr = settings.learning_rate / (1.0 + epoch as f32 * 0.1);
            for &i in &order {
                let (ids, class, weight) = &encoded[i];
                if ids.is_empty() {
                    continue;
                }
                let lr = base_lr * weight;
                let x = 1.0 / (ids.len() as f32).sqrt();
                model.scores_ids::<B>(ids, x, &mut z);
                softmax(&mut z[..classes]);
                z[*class] -= 1.0; // gradient of cross-entropy w.r.t. the logits
                for (b, g) in model.bias.iter_mut().zip(&z) {
                    *b -= lr * g;
                }
                for &f in ids {
                    let row = &mut model.weights[f as usize * stride..(f as usize + 1) * stride];
                    let (rows, grads) = (row.as_chunks_mut::<B>().0, z.as_chunks::<B>().0);
                    for (w, g) in rows.iter_mut().zip(grads) {
                        // Through a local copy: the compiler cannot tell that `weights` and
                        // `z` never overlap, and would not vectorize the update in place.
                        let mut v = *w;
                        for (v, g) in v.iter_mut().zip(g) {
                            *v -= lr * (g * x + settings.l2 * *v);
                        }
                        *w = v;
                    }
                }
            }
            if settings.average && epoch >= averaged_from {
                if sum_w.is_empty() {
                    sum_w = vec![0.0f32; model.weights.len()];
                    sum_b = vec![0.0f32; model.bias.len()];
                }
                for (s, w) in sum_w.iter_mut().zip(&model.weights) {
                    *s += w;
                }
                for (s, b) in sum_b.iter_mut().zip(&model.bias) {
                    *s += b;
                }
                snapshots += 1;
            }
        }
        if snapshots > 0 {
            let n = snapshots as f32;
            for (w, s) in model.weights.iter_mut().zip(&sum_w) {
                *w = s / n;
            }
            for (b, s) in model.bias.iter_mut().zip(&sum_b) {
                *b = s / n;
            }
        }
        model
    }

    /// Logits into `out` (`stride` long; the padding comes out 0).
    fn scores_ids<const B: usize>(&self, ids: &[u32], x: f32, out: &mut [f32]) {
        out.fill(0.0);
        for &f in ids {
            let row = &self.weights[f as usize * self.stride..(f as usize + 1) * self.stride];
            let (outs, rows) = (out.as_chunks_mut::<B>().0, row.as_chunks::<B>().0);
            for (o, w) in outs.iter_mut().zip(rows) {
                let mut v = *o;
                for (v, w) in v.iter_mut().zip(w) {
                    *v += w;
                }
                *o = v;
            }
        }
        for (o, b) in out.iter_mut().zip(&self.bias) {
            *o = b + *o * x;
        }
    }

    /// Logits for hashed features; features never seen in training are skipped.
    pub fn logits(&self, features: &[u64], out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        if features.is_empty() {
            return;
        }
        let x = 1.0 / (features.len() as f32).sqrt();
        for h in features {
            if let Some(&f) = self.index.get(h) {
                let row = &self.weights[f as usize * self.stride..][..self.classes];
                for (o, w) in out.iter_mut().zip(row) {
                    *o += w * x;
                }
            }
        }
    }

    /// Every feature with its weights, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = (u64, &[f32])> {
        self.index.iter().map(|(&h, &f)| {
            let f = f as usize;
            (h, &self.weights[f * self.stride..][..self.classes])
        })
    }

    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// The weight of one feature for one class (0 for an unknown feature).
    pub fn weight(&self, feature: u64, class: usize) -> f32 {
        self.index
            .get(&feature)
            .filter(|_| class < self.classes)
            .map_or(0.0, |&f| self.weights[f as usize * self.stride + class])
    }

    pub fn feature_count(&self) -> usize {
        self.index.len()
    }
}

/// In-place softmax; `-inf` entries become 0.
pub fn softmax(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        let n = z.len() as f32;
        z.iter_mut().for_each(|v| *v = 1.0 / n);
        return;
    }
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_toy_problem() {
        let samples = vec![
            Sample {
                features: vec![1, 2],
                class: 0,
                weight: 1.0,
            },
            Sample {
                features: vec![1, 3],
                class: 0,
                weight: 1.0,
            },
            Sample {
                features: vec![4, 5],
                class: 1,
                weight: 1.0,
            },
            Sample {
                features: vec![4, 6],
                class: 1,
                weight: 1.0,
            },
        ];
        let m = LinearModel::train(&samples, 2, TrainSettings::default());
        let mut z = [0.0; 2];
        m.logits(&[1], &mut z);
        assert!(z[0] > z[1], "{z:?}");
        m.logits(&[4], &mut z);
        assert!(z[1] > z[0], "{z:?}");
    }

    #[test]
    fn softmax_of_all_vetoed_is_uniform_not_nan() {
        let mut z = [f32::NEG_INFINITY; 3];
        softmax(&mut z);
        assert!(z.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-6));
    }
}
