//! The `paymedic` command line. Thin: it parses arguments, loads things, and calls the library.

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand};
use paymedic::app::{self, App};
use paymedic::config::{io_reason, read_text_capped, Config};
use paymedic::engine::content::{self, IntentKind};
use paymedic::engine::limits::{CONTENT_PACK_BYTES_MAX, CORPUS_BYTES_MAX, INPUT_LINE_BYTES_MAX};
use paymedic::engine::{sensitive, Classification, Engine};
use paymedic::store::{Location, TicketFilter};
use paymedic::{eval, explain, terminal};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The content pack used when neither `--intents` nor the config names one and this file
/// exists in the working directory; otherwise the built-in pack is used.
const LOCAL_PACK: &str = "./intents.toml";

#[derive(Parser)]
#[command(
    name = "paymedic",
    version,
    about = "A support bot for failed pay-later payments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Sources {
    /// Content pack to use [default: the config's bot.intents, else ./intents.toml if it
    /// exists, else the built-in pack]
    #[arg(long, value_name = "PATH")]
    intents: Option<PathBuf>,
    /// Settings file (thresholds, idle timeout, app versions, status notice).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Talk to the bot in the terminal (no Discord needed). /help lists the commands,
    /// including the moderator's /mod commands for the whole ticket life.
    Chat {
        #[command(flatten)]
        sources: Sources,
        /// Keep conversations and tickets in this SQLite file (or postgres:// URL), so the
        /// session survives a restart [default: in memory, forgotten on exit]
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Option<Location>,
    },
    /// Read the ticket store offline: list tickets, show one, or export its transcript.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
    /// Register the slash commands with Discord and exit (no gateway connection). The process
    /// running shard 0 registers them at start-up too; with several processes, the others
    /// never do. The token comes only from DISCORD_TOKEN.
    Register {
        /// Settings file (see config.example.toml): discord.guild_ids decides where.
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// Content pack whose topics /troubleshoot offers [default: as for run]
        #[arg(long, value_name = "PATH")]
        intents: Option<PathBuf>,
    },
    /// Run the Discord bot. The token comes only from the DISCORD_TOKEN environment variable.
    Run {
        /// Settings file (see config.example.toml).
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// Content pack to use [default: the config's bot.intents, else ./intents.toml if
        /// it exists, else the built-in pack]
        #[arg(long, value_name = "PATH")]
        intents: Option<PathBuf>,
        /// The gateway shards this process runs, such as 0-3 (both ends included), out of
        /// --total-shards [default: the config's discord.shards, else every shard]
        #[arg(long, value_name = "FIRST-LAST", requires = "total_shards")]
        shards: Option<String>,
        /// How many shards all processes run together (with --shards).
        #[arg(long, value_name = "N", requires = "shards")]
        total_shards: Option<u32>,
    },
    /// Serve the staff dashboard and /metrics alone (no Discord), reading a database without
    /// changing it. The token comes only from PAYMEDIC_DASHBOARD_TOKEN; without it every page
    /// answers 401.
    Web {
        /// The database to read: the bot's SQLite file or postgres:// URL. It must exist: it
        /// is never created, migrated or written.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Location,
        /// Address to listen on [default: the config's web.listen, else 127.0.0.1:9187]
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        #[command(flatten)]
        sources: Sources,
        /// Also accept GET /login?token=... (logs in and redirects), for scripts driving a
        /// browser that can't send a header, such as scripts/dashboard-screenshot.sh.
        #[arg(long, hide = true)]
        allow_token_link: bool,
    },
    /// Validate a content pack and print a summary.
    Check {
        /// Content pack to check [default: ./intents.toml if it exists, else the built-in
        /// pack]
        #[arg(long, value_name = "PATH")]
        intents: Option<PathBuf>,
    },
    /// Classify one message per stdin line; print one JSON line each.
    Classify(Sources),
    /// Show why a message is classified the way it is.
    Explain {
        /// The message to classify, as a member would type it (quote it).
        text: String,
        #[command(flatten)]
        sources: Sources,
    },
    /// What the bot did over a window, from its database: messages, deflection and fix rate
    /// per intent, flow funnels, unanswered questions grouped, tickets, volume by hour.
    Report {
        /// The bot's database: its SQLite file or postgres:// URL. It must exist.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Location,
        /// The window, ending now.
        #[arg(long, value_name = "WINDOW", default_value = "7d",
              value_parser = clap::builder::PossibleValuesParser::new(["24h", "7d", "30d"]))]
        since: String,
        /// Print the report as JSON instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        sources: Sources,
    },
    /// Score the classifier (or the scam shield) on a labelled JSONL file at production
    /// thresholds.
    Eval {
        /// Labelled corpus: one JSON object per line, {"text": ..., "intent": "id" or null};
        /// or a scam set, {"text": ..., "scam": true|false, "kind": ...}, scored on the shield.
        file: PathBuf,
        #[command(flatten)]
        sources: Sources,
        /// Also list every line the classifier got wrong.
        #[arg(long)]
        mistakes: bool,
    },
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// Every ticket, newest first, with status, age, claimer and topic.
    List {
        /// The bot's database: its SQLite file or postgres:// URL.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Location,
    },
    /// One ticket: its packet and what happened in its thread, as it stands now.
    Show {
        /// The ticket number.
        n: i64,
        /// The bot's database: its SQLite file or postgres:// URL.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Location,
    },
    /// One ticket's transcript as kept at close (Markdown), on stdout.
    Export {
        /// The ticket number.
        n: i64,
        /// The bot's database: its SQLite file or postgres:// URL.
        #[arg(long, value_name = "PATH|URL", value_parser = parse_location)]
        db: Location,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // Whoever reads the output stopped reading (`| head`): a normal way to stop.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say(format_args!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Writes one line to stderr. Unlike `eprintln!`, never panics when stderr is gone.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Register { config, intents } => register(&config, intents),
        Command::Run {
            config,
            intents,
            shards,
            total_shards,
        } => {
            let shards = match (shards, total_shards) {
                (Some(range), Some(total)) => Some(
                    paymedic::discord::shards::ShardRange::parse(&range, total)
                        .map_err(|e| anyhow::anyhow!("--shards: {e}"))?,
                ),
                _ => None,
            };
            run_bot(&config, intents, shards)
        }
        Command::Check { intents } => check(intents.as_deref()),
        Command::Web {
            db,
            listen,
            sources,
            allow_token_link,
        } => web(&db, listen, &sources, allow_token_link),
        Command::Chat { sources, db } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut app = load_app(&sources)?;
                if let Some(location) = &db {
                    let durability = app.config().store_durability;
                    app = app.into_store(paymedic::store::open(location, durability).await?);
                }
                // One person at a keyboard, or a piped script: the flood guard is for busy
                // channels and would only answer a scripted transcript with "slow down".
                // (Kept across `/mod reload`.)
                let mut source = app.source().cloned().unwrap_or_default();
                source.adjust = Some(terminal::no_cooldown);
                terminal::no_cooldown(app.config_mut());
                app.set_source(source);
                let stdin = io::stdin();
                let interactive = stdin.is_terminal();
                terminal::run(
                    &app,
                    stdin.lock(),
                    io::stdout().lock(),
                    interactive,
                    app::now,
                )
                .await?;
                anyhow::Ok(ExitCode::SUCCESS)
            })
        }
        Command::Tickets { command } => tickets(command),
        Command::Report {
            db,
            since,
            json,
            sources,
        } => report(&db, &since, json, &sources),
        Command::Classify(sources) => {
            let app = load_app(&sources)?;
            classify(app.engine())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { text, sources } => {
            let app = load_app(&sources)?;
            let mut out = io::stdout().lock();
            out.write_all(explain::explain(app.engine(), &text).as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            file,
            sources,
            mistakes,
        } => {
            let app = load_app(&sources)?;
            let src = read_text_capped(&file, CORPUS_BYTES_MAX)
                .map_err(|e| anyhow!("cannot read corpus {}: {}", file.display(), io_reason(&e)))?;
            if eval::is_scam_set(&src) {
                return eval_scam(app.engine(), &file, &src, mistakes);
            }
            let lines = match eval::parse_jsonl(&file.display().to_string(), &src, app.engine()) {
                Ok(l) => l,
                Err(errors) => {
                    for e in errors {
                        say(format_args!("{e}"));
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            let report = eval::evaluate(app.engine(), &lines);
            let mut out = io::BufWriter::new(io::stdout().lock());
            write!(out, "{report}")?;
            if mistakes {
                writeln!(out, "\nmistakes (expected -> got):")?;
                for (text, want, got) in &report.mistakes {
                    let k = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
                    writeln!(out, "  {} -> {}: {text}", k(want), k(got))?;
                }
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs to stderr, every line redacted.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("paymedic=info,warn")),
        )
        // Every line redacted: our own lines carry no member text, but a dependency's may
        // (serenity logs a gateway payload it cannot parse).
        .with_writer(paymedic::logging::Redacting(io::stderr))
        // Colours only on a terminal: a log file or journal would get the raw escapes.
        .with_ansi(io::stderr().is_terminal())
        .init();
}

/// The dashboard token from [`paymedic::web::TOKEN_VAR`]; `None` when unset or blank (the
/// dashboard is then off). Never printed or logged.
fn dashboard_token() -> Option<String> {
    std::env::var(paymedic::web::TOKEN_VAR)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Binds the dashboard's address, naming it when that fails.
async fn bind_web(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the dashboard listens beyond this machine, as web.listen says: put TLS in front of it");
    }
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow!(
            "cannot listen on {addr} for the dashboard: {}",
            io_reason(&e)
        )
    })
}

/// `paymedic web`: the dashboard alone, read-only over a database.
fn web(
    db: &Location,
    listen: Option<std::net::SocketAddr>,
    sources: &Sources,
    token_link: bool,
) -> anyhow::Result<ExitCode> {
    init_logging();
    let app = load_app(sources)?;
    let addr = match listen.or(app.config().web_listen) {
        Some(a) => a,
        None => paymedic::config::DEFAULT_WEB_LISTEN.parse()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = paymedic::store::open_read_only(db).await?;
        let app = Arc::new(app.into_store(store.clone()));
        let listener = bind_web(addr).await?;
        // This process's own metrics: the open-tickets gauge from the shared store (the
        // message counters live in the bot's process, on its own /metrics).
        let metrics = paymedic::metrics::install();
        tokio::spawn(paymedic::metrics::upkeep(metrics.clone()));
        tokio::spawn(count_open_tickets(app.clone()));
        let state = paymedic::web::WebState::new(
            store,
            paymedic::web::app_engine(app),
            dashboard_token().as_deref(),
        )
        .with_token_link(token_link)
        .with_metrics(Arc::new(move || metrics.render()));
        paymedic::web::serve(listener, state, shutdown_signal()).await?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// The token, only from the environment.
fn discord_token() -> anyhow::Result<String> {
    match std::env::var("DISCORD_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => bail!("the DISCORD_TOKEN environment variable is not set: paymedic reads the bot token only from there"),
    }
}

/// `DISCORD_API_BASE`: another Discord API (a shared rate-limit proxy, or the tests' fake).
fn api_base() -> Option<String> {
    let base = std::env::var("DISCORD_API_BASE")
        .ok()
        .filter(|b| !b.is_empty());
    if let Some(base) = &base {
        tracing::warn!(%base, "DISCORD_API_BASE is set: talking to that API, with serenity's ratelimiter off");
    }
    base
}

fn register(config_path: &Path, intents: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    init_logging();
    let app = load_app(&Sources {
        intents,
        config: Some(config_path.to_path_buf()),
    })?;
    let Some(discord) = app.config().discord.clone() else {
        bail!(
            "{}: setting `discord` is missing: add a [discord] section (see config.example.toml)",
            config_path.display()
        );
    };
    let token = discord_token()?;
    let api_base = api_base();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(paymedic::discord::register(
        &app, &discord, &token, api_base,
    )) {
        Ok(n) => {
            let place = if discord.guild_ids.is_empty() {
                "globally".to_string()
            } else {
                format!("in {} guild(s)", discord.guild_ids.len())
            };
            println!("registered {n} commands {place}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            say(format_args!("error: {e}"));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn run_bot(
    config_path: &Path,
    intents: Option<PathBuf>,
    shards: Option<paymedic::discord::shards::ShardRange>,
) -> anyhow::Result<ExitCode> {
    init_logging();
    let app = load_app(&Sources {
        intents,
        config: Some(config_path.to_path_buf()),
    })?;
    let Some(mut discord) = app.config().discord.clone() else {
        bail!(
            "{}: setting `discord` is missing: add a [discord] section (see config.example.toml)",
            config_path.display()
        );
    };
    if shards.is_some() {
        // The command line wins over discord.shards and total_shards.
        discord.shards = shards;
    }
    if discord.escalation_channel.is_none() {
        bail!(
            "{}: setting `discord.escalation_channel` is missing: \"Talk to a human\" needs a channel to post in",
            config_path.display()
        );
    }
    // The token is read here and handed to serenity; it is never printed or logged.
    let token = discord_token()?;
    let api_base = api_base();
    paymedic::discord::limit_malloc_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        // The store opens before anything connects: a bad path, a read-only directory or a
        // damaged database stops start-up with the file's name, not the first message.
        let env_url = std::env::var(paymedic::config::DATABASE_URL_VAR).ok();
        let location = app
            .config()
            .store_location(env_url.as_deref())
            .map_err(anyhow::Error::msg)?;
        let store = paymedic::store::open(&location, app.config().store_durability).await?;
        tracing::info!(store = %location, backend = store.name(), "store open");
        hold_shards(&*store, discord.shards).await?;
        let app = Arc::new(app.into_store(store));
        // One stop signal for the bot and the dashboard: Ctrl-C or SIGTERM stops both, and
        // the dashboard also stops when the bot ends on its own (a failed connection).
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        // Metrics from the start: the recorder, its upkeep, and the open-tickets gauge from
        // the store (then every minute, whatever another process or a restart did).
        let metrics = paymedic::metrics::install();
        tokio::spawn(paymedic::metrics::upkeep(metrics.clone()));
        tokio::spawn(count_open_tickets(app.clone()));
        #[cfg(unix)]
        tokio::spawn(paymedic::reload::on_hangup(app.clone())?);
        let web = match app.config().web_listen {
            // Bound before connecting to Discord: a taken port stops start-up with its name.
            Some(addr) => {
                let listener = bind_web(addr).await?;
                let state = paymedic::web::WebState::new(
                    app.store().clone(),
                    paymedic::web::app_engine(app.clone()),
                    dashboard_token().as_deref(),
                )
                .with_metrics(Arc::new(move || metrics.render()));
                Some(tokio::spawn(paymedic::web::serve(
                    listener,
                    state,
                    stopped(),
                )))
            }
            None => None,
        };
        let signal = {
            let stop_tx = stop_tx.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                let _ = stop_tx.send(true);
            })
        };
        let result = paymedic::discord::run(app.clone(), discord, token, api_base, stopped()).await;
        let _ = stop_tx.send(true);
        signal.abort();
        if let Some(web) = web {
            match web.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the dashboard stopped with an error"),
                Err(e) => tracing::warn!(error = %e, "the dashboard task failed"),
            }
        }
        anyhow::Ok(result)
    })?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            say(format_args!("error: {e}"));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Takes this process's shards in the store (PostgreSQL: advisory locks; nothing to take for
/// SQLite). Shards another process holds are refused, after waiting [`SHARD_WAIT`] for a
/// process being restarted to let go of them.
async fn hold_shards(
    store: &dyn paymedic::store::Store,
    shards: Option<paymedic::discord::shards::ShardRange>,
) -> anyhow::Result<()> {
    let span = shards.map(|r| paymedic::store::ShardSpan {
        first: r.first,
        last: r.last,
        total: r.total,
    });
    let started = std::time::Instant::now();
    loop {
        match store.hold_shards(span).await {
            Ok(()) => return Ok(()),
            Err(e @ paymedic::store::StoreError::ShardsTaken { .. })
                if started.elapsed() < SHARD_WAIT =>
            {
                tracing::warn!(error = %e, "waiting for the shards to come free");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How long start-up waits for shards another process holds (a restart's old process, whose
/// connection the database has not dropped yet) before it refuses them.
const SHARD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps the open-tickets gauge right: at start-up, then every minute (each change in this
/// process updates it too).
async fn count_open_tickets(app: Arc<App>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut failures = paymedic::discord::retry::JobFailures::new("count open tickets");
    loop {
        every.tick().await;
        failures.check(app.count_open_tickets().await);
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The content pack to load: the one named (by `--intents`, then by the config), else
/// [`LOCAL_PACK`] if it exists, else `None` for the built-in pack. Says which on stderr.
fn choose_pack(named: Option<&Path>) -> Option<PathBuf> {
    let local = Path::new(LOCAL_PACK);
    let path = match named {
        Some(p) => Some(p.to_path_buf()),
        None => local.exists().then(|| local.to_path_buf()),
    };
    match &path {
        Some(p) => say(format_args!("using content pack {}", p.display())),
        None => say(format_args!("using the built-in content pack")),
    }
    path
}

/// Loads a content pack (of at most [`CONTENT_PACK_BYTES_MAX`] bytes), reporting every error
/// it has.
fn load_engine(path: Option<&Path>) -> anyhow::Result<Engine> {
    let (name, src) = match path {
        Some(p) => (
            p.display().to_string(),
            read_text_capped(p, CONTENT_PACK_BYTES_MAX).map_err(|e| {
                anyhow!(
                    "cannot read content pack {}: {}",
                    p.display(),
                    io_reason(&e)
                )
            })?,
        ),
        None => (
            content::EMBEDDED_NAME.to_string(),
            content::EMBEDDED.to_string(),
        ),
    };
    match Engine::load(&name, &src) {
        Ok(e) => Ok(e),
        Err(errors) => {
            let n = errors.0.len();
            bail!(
                "{errors}\n{name}: {n} error{}",
                if n == 1 { "" } else { "s" }
            )
        }
    }
}

fn load_app(sources: &Sources) -> anyhow::Result<App> {
    let config = match &sources.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let named = sources
        .intents
        .clone()
        .or_else(|| config.intents_path.clone());
    let path = choose_pack(named.as_deref());
    let mut engine = load_engine(path.as_deref())?;
    config.apply(&mut engine)?;
    let mut app = App::new(engine, config);
    app.set_source(paymedic::reload::Source {
        pack: path,
        config: sources.config.clone(),
        adjust: None,
    });
    Ok(app)
}

fn check(named: Option<&Path>) -> anyhow::Result<ExitCode> {
    let path = choose_pack(named);
    let name = path
        .as_deref()
        .map_or(content::EMBEDDED_NAME.to_string(), |p| {
            p.display().to_string()
        });
    let engine = match load_engine(path.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            say(format_args!("{e:#}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let c = &engine.content;
    let examples: usize = c.intents.iter().map(|i| i.examples.len()).sum();
    let patterns: usize = c.intents.iter().map(|i| i.patterns.len()).sum();
    let negatives: usize = c.intents.iter().map(|i| i.negative_patterns.len()).sum();
    let flows = c
        .intents
        .iter()
        .filter(|i| i.kind == IntentKind::Support)
        .count();
    let steps: usize = c.intents.iter().map(|i| i.flow.len()).sum();
    let options: usize = c
        .intents
        .iter()
        .flat_map(|i| &i.flow)
        .map(|s| s.options.len())
        .sum();
    writeln!(out, "{name}: ok")?;
    writeln!(
        out,

        "  {} intents, {examples} examples (+{} out of scope), {patterns} patterns, {negatives} negative patterns",
        c.intents.len(),
        c.out_of_scope.len()
    )?;
    writeln!(
        out,
        "  {flows} flows, {steps} steps, {options} options, {} lexicon entries, {} model features",
        c.lexicon.len(),
        engine.classifier.feature_count()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  {:<18} {:>8} {:>8} {:>8} {:>6}",
        "intent", "examples", "patterns", "negative", "steps"
    )?;
    for i in &c.intents {
        writeln!(
            out,
            "  {:<18} {:>8} {:>8} {:>8} {:>6}",
            i.key,
            i.examples.len(),
            i.patterns.len(),
            i.negative_patterns.len(),
            i.flow.len()
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Classifies stdin line by line. Only the first [`INPUT_LINE_BYTES_MAX`] bytes of a line are
/// kept (the classifier reads far less), so memory stays bounded on any input.
fn classify(engine: &Engine) -> anyhow::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut buf = Vec::new();
    let mut input = io::stdin().lock();
    while terminal::read_line_capped(&mut input, &mut buf, INPUT_LINE_BYTES_MAX)?.is_some() {
        // A line that is not UTF-8 still gets an answer (its valid parts are classified).
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches('\r');
        // Classified redacted, so no feature name in the evidence can carry a secret's digits.
        let secret = sensitive::kind(line);
        let line = sensitive::redact(line);
        let c = engine.classify(&line);
        let mut json = classification_json(engine, &line, &c);
        json["sensitive"] = serde_json::json!(secret.map(|s| match s {
            sensitive::Secret::CardNumber => "card_number",
            sensitive::Secret::Code => "code",
            sensitive::Secret::Password => "password",
        }));
        // What the scam shield would do with the line in a support channel.
        json["scam"] = match engine.content.scam.check(&line) {
            Some(f) => {
                serde_json::json!({"rule": f.rule, "kind": f.kind.key(), "reason": f.reason})
            }
            None => serde_json::Value::Null,
        };
        serde_json::to_writer(&mut out, &json).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// `eval` over a scam set: the shield's recall and false alarms.
fn eval_scam(engine: &Engine, file: &Path, src: &str, mistakes: bool) -> anyhow::Result<ExitCode> {
    let lines = match eval::parse_scam_jsonl(&file.display().to_string(), src) {
        Ok(l) => l,
        Err(errors) => {
            for e in errors {
                say(format_args!("{e}"));
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = eval::evaluate_scam(engine, &lines);
    let mut out = io::BufWriter::new(io::stdout().lock());
    write!(out, "{report}")?;
    if mistakes {
        writeln!(out, "\nmissed scams (labelled kind):")?;
        for (text, kind) in &report.missed {
            writeln!(out, "  {}: {text}", kind.as_deref().unwrap_or("-"))?;
        }
        writeln!(out, "\nfalse alarms (rule):")?;
        for (text, rule) in &report.false_flags {
            writeln!(out, "  {rule}: {text}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn round(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn classification_json(engine: &Engine, text: &str, c: &Classification) -> serde_json::Value {
    let content = &engine.content;
    let key = |i: paymedic::engine::IntentId| content.intent(i).key.clone();
    let mut evidence: Vec<String> = c
        .evidence
        .iter()
        .map(|e| explain::evidence_line(engine, e))
        .collect();
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

/// `paymedic report`: the dashboard's figures in the terminal, or as JSON. Reads the store
/// beside a running bot (WAL); never creates a database.
fn report(db: &Location, since: &str, json: bool, sources: &Sources) -> anyhow::Result<ExitCode> {
    use paymedic::engine::insight::Window;
    // clap only lets the listed values through.
    let Some(window) = Window::parse(since) else {
        bail!("--since {since}: expected 24h, 7d or 30d");
    };
    if !db.exists() {
        bail!("{db}: no such database (give the bot's [store] path or url)");
    }
    let app = load_app(sources)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let store = paymedic::store::open_read_only(db).await?;
        paymedic::insight::load_report(&*store, app.engine(), window, app::now()).await
    })?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &report).map_err(io::Error::from)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", paymedic::insight::render_text(&report, window))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `paymedic tickets …`: reads the store offline (the bot may be running: SQLite's WAL lets a
/// reader in beside it).
fn tickets(command: TicketsCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = match &command {
            TicketsCommand::List { db }
            | TicketsCommand::Show { db, .. }
            | TicketsCommand::Export { db, .. } => db,
        };
        if !db.exists() {
            bail!("{db}: no such database");
        }
        let store = paymedic::store::open_read_only(db).await?;
        let mut out = io::BufWriter::new(io::stdout().lock());
        let now = app::now();
        match command {
            TicketsCommand::List { .. } => {
                let all = store.tickets(&TicketFilter::default()).await?;
                if all.is_empty() {
                    writeln!(out, "no tickets")?;
                }
                for t in all {
                    let age_h = now.0.saturating_sub(t.opened_at.0) as f64 / 3_600_000.0;
                    writeln!(
                        out,
                        "#{:<5} {:<8} member {:<20} {:>7.1} h  claimed by {:<20} {}",
                        t.id,
                        t.status.as_str(),
                        t.member,
                        age_h,
                        t.claimed_by.map_or("nobody".to_string(), |m| m.to_string()),
                        t.packet.intent_title.as_deref().unwrap_or("(no topic)")
                    )?;
                }
            }
            TicketsCommand::Show { n, .. } | TicketsCommand::Export { n, .. } => {
                let export = matches!(command, TicketsCommand::Export { .. });
                let id = paymedic::engine::TicketId(n);
                let Some(t) = store.ticket(id).await? else {
                    bail!("{db}: there is no ticket #{n}");
                };
                // `export` gives the transcript as it was kept at close; `show` the ticket as
                // it stands, with anything after the close (the rating).
                let text = match (&t.transcript, export) {
                    (Some(text), true) => text.clone(),
                    _ => t.transcript_text(&store.events(id).await?),
                };
                write!(out, "{}", terminal::visible(&text))?;
            }
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `--db PATH|URL`: a postgres:// URL, or a file path.
fn parse_location(s: &str) -> Result<Location, String> {
    if s.trim().is_empty() {
        return Err("give a file path or a postgres:// URL".into());
    }
    Ok(Location::parse(s))
}
