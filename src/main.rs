//! The `paymedic` command line. Thin: it parses arguments, loads things, and calls the library.

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use paymedic::app::{self, App};
use paymedic::config::Config;
use paymedic::engine::content::{self, IntentKind};
use paymedic::engine::nlu::Evidence;
use paymedic::engine::{Classification, Engine};
use paymedic::{eval, terminal};
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "paymedic", version, about = "A support bot for failed pay-later payments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Sources {
    /// Content pack to use instead of the built-in one.
    #[arg(long, value_name = "PATH")]
    intents: Option<PathBuf>,
    /// Settings file (thresholds, idle timeout, app versions, status notice).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Talk to the bot in the terminal (no Discord needed).
    Chat(Sources),
    /// Validate a content pack and print a summary.
    Check {
        #[arg(long, value_name = "PATH")]
        intents: Option<PathBuf>,
    },
    /// Classify one message per stdin line; print one JSON line each.
    Classify(Sources),
    /// Show why a message is classified the way it is.
    Explain {
        text: String,
        #[command(flatten)]
        sources: Sources,
    },
    /// Score the classifier on a labelled JSONL corpus at production thresholds.
    Eval {
        file: PathBuf,
        #[command(flatten)]
        sources: Sources,
        /// Also list every line the classifier got wrong.
        #[arg(long)]
        mistakes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { intents } => check(intents.as_deref()),
        Command::Chat(sources) => {
            let app = load_app(&sources)?;
            let stdin = io::stdin();
            let interactive = stdin.is_terminal();
            terminal::run(&app, stdin.lock(), io::stdout().lock(), interactive, app::now)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify(sources) => {
            let app = load_app(&sources)?;
            classify(&app.engine)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { text, sources } => {
            let app = load_app(&sources)?;
            explain(&app.engine, &text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { file, sources, mistakes } => {
            let app = load_app(&sources)?;
            let src = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let lines = match eval::parse_jsonl(&file.display().to_string(), &src, &app.engine) {
                Ok(l) => l,
                Err(errors) => {
                    for e in errors {
                        eprintln!("{e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            let report = eval::evaluate(&app.engine, &lines);
            print!("{report}");
            if mistakes {
                println!("\nmistakes (expected -> got):");
                for (text, want, got) in &report.mistakes {
                    let k = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
                    println!("  {} -> {}: {text}", k(want), k(got));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads a content pack, printing every error it has.
fn load_engine(path: Option<&Path>) -> anyhow::Result<Engine> {
    let (name, src) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p).with_context(|| format!("cannot read content pack {}", p.display()))?,
        ),
        None => (content::EMBEDDED_NAME.to_string(), content::EMBEDDED.to_string()),
    };
    match Engine::load(&name, &src) {
        Ok(e) => Ok(e),
        Err(errors) => {
            let n = errors.0.len();
            bail!("{errors}\n{name}: {n} error{}", if n == 1 { "" } else { "s" })
        }
    }
}

fn load_app(sources: &Sources) -> anyhow::Result<App> {
    let config = match &sources.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let path = sources.intents.clone().or_else(|| config.intents_path.clone());
    let mut engine = load_engine(path.as_deref())?;
    config.apply(&mut engine)?;
    Ok(App::new(engine, config))
}

fn check(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let name = path.map_or(content::EMBEDDED_NAME.to_string(), |p| p.display().to_string());
    let engine = match load_engine(path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let c = &engine.content;
    let examples: usize = c.intents.iter().map(|i| i.examples.len()).sum();
    let patterns: usize = c.intents.iter().map(|i| i.patterns.len()).sum();
    let negatives: usize = c.intents.iter().map(|i| i.negative_patterns.len()).sum();
    let flows = c.intents.iter().filter(|i| i.kind == IntentKind::Support).count();
    let steps: usize = c.intents.iter().map(|i| i.flow.len()).sum();
    let options: usize = c.intents.iter().flat_map(|i| &i.flow).map(|s| s.options.len()).sum();
    println!("{name}: ok");
    println!(
        "  {} intents, {examples} examples (+{} out of scope), {patterns} patterns, {negatives} negative patterns",
        c.intents.len(),
        c.out_of_scope.len()
    );
    println!(
        "  {flows} flows, {steps} steps, {options} options, {} lexicon entries, {} model features",
        c.lexicon.len(),
        engine.classifier.feature_count()
    );
    println!();
    println!("  {:<18} {:>8} {:>8} {:>8} {:>6}", "intent", "examples", "patterns", "negative", "steps");
    for i in &c.intents {
        println!(
            "  {:<18} {:>8} {:>8} {:>8} {:>6}",
            i.key,
            i.examples.len(),
            i.patterns.len(),
            i.negative_patterns.len(),
            i.flow.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn classify(engine: &Engine) -> anyhow::Result<()> {
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut buf = Vec::new();
    let mut input = stdin.lock();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        // A line that is not UTF-8 still gets an answer (its valid parts are classified).
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        let c = engine.classify(line);
        serde_json::to_writer(&mut out, &classification_json(engine, line, &c))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn round(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn classification_json(engine: &Engine, text: &str, c: &Classification) -> serde_json::Value {
    let content = &engine.content;
    let key = |i: paymedic::engine::IntentId| content.intent(i).key.clone();
    let mut evidence: Vec<String> = c.evidence.iter().map(|e| evidence_line(engine, e)).collect();
    if let Some(best) = c.best {
        let norm = engine.classifier.normalize(text);
        for (name, w) in engine.classifier.top_features(&norm, best, 3) {
            evidence.push(format!("{} feature {name} +{w:.3}", key(best)));
        }
    }
    serde_json::json!({
        "intent": c.intent.map(key),
        "confidence": round(c.confidence),
        "runner_up": c.runner_up.map(|(i, p)| serde_json::json!({"intent": key(i), "confidence": round(p)})),
        "evidence": evidence,
    })
}

fn evidence_line(engine: &Engine, e: &Evidence) -> String {
    let c = &engine.content;
    match *e {
        Evidence::Pattern { intent, pattern } => {
            let i = c.intent(intent);
            format!("{} pattern /{}/", i.key, i.patterns[pattern])
        }
        Evidence::Veto { intent, pattern } => {
            let i = c.intent(intent);
            format!("{} vetoed by /{}/", i.key, i.negative_patterns[pattern])
        }
    }
}

fn explain(engine: &Engine, text: &str) {
    let c = &engine.content;
    let norm = engine.classifier.normalize(text);
    let (class, probs) = engine.classifier.classify_normalized(&norm);
    let t = engine.classifier.thresholds();
    println!("text:        {text}");
    println!("normalized:  {norm}");
    if class.evidence.is_empty() {
        println!("patterns:    none fired");
    }
    for e in &class.evidence {
        println!("patterns:    {}", evidence_line(engine, e));
    }
    println!();
    println!("  {:<18} {:>8} {:>10}", "intent", "score", "threshold");
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|a, b| probs[*b].total_cmp(&probs[*a]));
    for i in order.into_iter().take(6) {
        if i == c.intents.len() {
            println!("  {:<18} {:>8.3} {:>10}", "(out of scope)", probs[i], "-");
        } else {
            println!("  {:<18} {:>8.3} {:>10.2}", c.intents[i].key, probs[i], t.per_intent[i]);
        }
    }
    println!();
    match class.best {
        Some(best) => {
            let runner = class.runner_up.map_or(0.0, |(_, p)| p);
            println!(
                "best:        {} at {:.3} (threshold {:.2}); runner-up {} at {:.3}; lead {:.3} (margin {:.2})",
                c.intent(best).key,
                class.confidence,
                t.per_intent[best.index()],
                class.runner_up.map_or("none".to_string(), |(i, _)| c.intent(i).key.clone()),
                runner,
                class.confidence - runner,
                t.margin
            );
            for (name, w) in engine.classifier.top_features(&norm, best, 6) {
                println!("             {name} +{w:.3}");
            }
        }
        None => println!("best:        none"),
    }
    match class.intent {
        Some(i) => println!("decision:    answer as {}", c.intent(i).key),
        None => println!("decision:    stay silent (out of scope)"),
    }
}
