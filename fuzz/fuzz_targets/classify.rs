//! Normalize and classify arbitrary text with the shipped pack (compiled and trained once).
//!
//! Checks the normalized form (words of letters and digits, single spaces, no space at either
//! end), that classifying the text equals classifying its normalized form, and that the
//! classification is well formed: probabilities finite and in [0, 1] summing to 1, ids in
//! range, an answered intent is the best one, the runner-up scores no higher, and evidence
//! points at real patterns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paymedic::engine::nlu::Evidence;
use paymedic::engine::Engine;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::embedded);

fuzz_target!(|text: &str| {
    let e = &*ENGINE;
    let n = e.content.intents.len();
    let norm = e.classifier.normalize(text);
    assert!(!norm.starts_with(' ') && !norm.ends_with(' '), "{norm:?}");
    assert!(!norm.contains("  "), "{norm:?}");
    assert!(
        norm.chars().all(|c| c == ' ' || c.is_alphanumeric()),
        "{text:?} -> {norm:?}"
    );

    let c = e.classify(text);
    let (c2, p) = e.classifier.classify_normalized(&norm);
    assert_eq!(
        c, c2,
        "classify(text) differs from classify_normalized(normalize(text))"
    );
    assert_eq!(p.len(), n + 1);
    assert!(
        p.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
        "{p:?}"
    );
    let sum: f32 = p.iter().sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");
    assert!(c.confidence.is_finite() && (0.0..=1.0).contains(&c.confidence));
    if let Some(i) = c.intent {
        assert_eq!(c.best, Some(i), "answered intent is not the best one");
        assert!(i.index() < n);
        assert!(c.confidence > 0.0);
    }
    if let Some(b) = c.best {
        assert!(b.index() < n);
        assert_eq!(p[b.index()], c.confidence);
    }
    if let Some((r, pr)) = c.runner_up {
        assert!(r.index() < n && Some(r) != c.best);
        assert!(
            pr <= c.confidence,
            "runner-up {pr} above best {}",
            c.confidence
        );
    }
    if norm.is_empty() {
        assert_eq!(c.intent, None);
    }
    for ev in &c.evidence {
        match *ev {
            Evidence::Pattern { intent, pattern } => {
                assert!(pattern < e.content.intent(intent).patterns.len())
            }
            Evidence::Veto { intent, pattern } => {
                assert!(pattern < e.content.intent(intent).negative_patterns.len());
                assert_ne!(c.intent, Some(intent), "a vetoed intent answered");
            }
        }
    }
});
