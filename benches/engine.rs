//! Criterion benchmarks for the engine: classification, content load + compile, a turn, and
//! the sensitive-data scanner (the guard's `kind` and `redact`).
//!
//! Run: `cargo bench --bench engine`. Figures are quoted in the README with the machine.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paymedic::app::{App, UserKey};
use paymedic::config::Config;
use paymedic::engine::content::{EMBEDDED, EMBEDDED_NAME};
use paymedic::engine::{Engine, Input, Timestamp};
use paymedic::engine::{GuildId, MemberId};

const CORPUS: &str = include_str!("../tests/data/corpus.jsonl");

fn corpus_texts() -> Vec<String> {
    CORPUS
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

fn classify(c: &mut Criterion) {
    let engine = Engine::embedded();
    let texts = corpus_texts();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function(BenchmarkId::new("corpus", texts.len()), |b| {
        b.iter(|| {
            for t in &texts {
                black_box(engine.classify(black_box(t)));
            }
        })
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("content");
    g.sample_size(20);
    g.bench_function("load_and_compile", |b| {
        b.iter(|| Engine::load(EMBEDDED_NAME, black_box(EMBEDDED)).unwrap())
    });
    g.finish();
}

fn turn(c: &mut Criterion) {
    let app = App::new(Engine::embedded(), Config::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut user = 0u64;
    c.bench_function("turn/new_message_and_reply", |b| {
        b.iter(|| {
            user += 1;
            let key = UserKey::new(GuildId(1), MemberId(user));
            rt.block_on(async {
                let t = app
                    .turn(
                        key,
                        Input::Text {
                            text: "klarna declined my order at asos, why??",
                            addressed: false,
                        },
                        Timestamp(0),
                    )
                    .await
                    .unwrap();
                black_box(t.effects.len());
                app.turn(key, Input::Reset, Timestamp(1)).await.unwrap();
            })
        })
    });
}

/// The scam shield per message, over the corpus (ordinary support talk: the common case) and
/// over scams (which run to the end of the rules, or stop at the first hit).
fn scam(c: &mut Criterion) {
    let engine = Engine::embedded();
    let texts = corpus_texts();
    let scams: Vec<String> = include_str!("../tests/data/scam.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["scam"] == serde_json::Value::Bool(true))
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    let mut g = c.benchmark_group("scam");
    for (name, set) in [("corpus", &texts), ("scams", &scams)] {
        g.throughput(Throughput::Elements(set.len() as u64));
        g.bench_function(BenchmarkId::new(name, set.len()), |b| {
            b.iter(|| {
                for t in set {
                    black_box(engine.content.scam.check(black_box(t)));
                }
            })
        });
    }
    g.finish();
}

/// The secrets guard and the redactor, per message: over the labelled corpus (ordinary support
/// talk, the common case) and over messages that hold a card, an IBAN, an email or a phone.
fn sensitive(c: &mut Criterion) {
    use paymedic::engine::sensitive::{kind, redact};
    let texts = corpus_texts();
    let secrets = [
        "my card 4111 1111 1111 1111 exp 08/27 keeps failing",
        "4111 1111-1111.1111 why declined",
        "refund to DE89 3704 0044 0532 0130 00 please",
        "mail me at anna.k@example.com or call +49 151 23456789",
        "paid €1.240,50 on 12/05/2024 at 14:30, app 24.10.2, order 1234567890123",
    ];
    let mut g = c.benchmark_group("sensitive");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function(BenchmarkId::new("kind/corpus", texts.len()), |b| {
        b.iter(|| {
            for t in &texts {
                black_box(kind(black_box(t)));
            }
        })
    });
    g.bench_function(BenchmarkId::new("redact/corpus", texts.len()), |b| {
        b.iter(|| {
            for t in &texts {
                black_box(redact(black_box(t)));
            }
        })
    });
    g.throughput(Throughput::Elements(secrets.len() as u64));
    g.bench_function(BenchmarkId::new("redact/secrets", secrets.len()), |b| {
        b.iter(|| {
            for t in &secrets {
                black_box(redact(black_box(t)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, classify, load, turn, sensitive, scam);
criterion_main!(benches);
