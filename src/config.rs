//! Runtime settings from `config.toml` (see `config.example.toml` for every setting).
//!
//! The Discord token is deliberately not a setting: it comes only from `DISCORD_TOKEN`, so it
//! never ends up in a file that gets committed or pasted. Every error names the setting and
//! where it is.

use crate::engine::checks::{AppVersions, Platform, Version};
use crate::engine::content::Location;
use crate::engine::ids::{ChannelId, GuildId, RoleId};
use crate::engine::limits::CONFIG_BYTES_MAX;
use crate::engine::tickets::TicketSettings;
use crate::engine::{Engine, Thresholds};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A problem with the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Not `source`: thiserror would make the io::Error the cause, and `{:#}` would print
    // its text a second time.
    #[error("cannot read config {}: {}", path.display(), io_reason(reason))]
    Read { path: PathBuf, reason: io::Error },
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    #[error("{file}: setting `{setting}`: {message}")]
    Setting {
        file: String,
        setting: String,
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    discord: Option<RawDiscord>,
    #[serde(default)]
    bot: RawBot,
    #[serde(default)]
    classifier: RawClassifier,
    #[serde(default)]
    app_versions: BTreeMap<String, RawVersions>,
    #[serde(default)]
    status: RawStatus,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    tickets: RawTickets,
    #[serde(default)]
    scam: RawScam,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    web: RawWeb,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScam {
    delete: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    channel_replies_per_10s: Option<i64>,
    waiting_messages_max: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<PathBuf>,
    url: Option<String>,
    retention_days: Option<f64>,
    synchronous: Option<String>,
    leader_check_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTickets {
    log_channel: Option<ChannelId>,
    sla_minutes: Option<f64>,
    auto_close_hours: Option<f64>,
    reopen_days: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    #[serde(default)]
    guild_ids: Vec<GuildId>,
    #[serde(default)]
    support_channels: Vec<ChannelId>,
    #[serde(default)]
    moderator_roles: Vec<RoleId>,
    escalation_channel: Option<ChannelId>,
    support_role: Option<RoleId>,
    shards: Option<String>,
    total_shards: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    intents: Option<PathBuf>,
    cooldown_seconds: Option<f64>,
    idle_timeout_minutes: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassifier {
    threshold: Option<f32>,
    margin: Option<f32>,
    #[serde(default)]
    intent_thresholds: BTreeMap<Spanned<String>, f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersions {
    latest: String,
    minimum: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    notice: Option<String>,
    incident_intents: Option<Vec<String>>,
}

/// Discord-side settings (needed by `paymedic run` only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscordConfig {
    /// Guilds to register slash commands in; empty registers them globally.
    pub guild_ids: Vec<GuildId>,
    /// Channels where the bot answers free text without being mentioned.
    pub support_channels: Vec<ChannelId>,
    pub moderator_roles: Vec<RoleId>,
    pub escalation_channel: Option<ChannelId>,
    pub support_role: Option<RoleId>,
    /// `shards` and `total_shards`: the gateway shards this process runs. `None`: all of them.
    pub shards: Option<crate::discord::shards::ShardRange>,
}

/// The loaded settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub discord: Option<DiscordConfig>,
    pub intents_path: Option<PathBuf>,
    pub cooldown_ms: u64,
    pub idle_timeout_ms: u64,
    pub threshold: Option<f32>,
    pub margin: Option<f32>,
    pub intent_thresholds: BTreeMap<String, f32>,
    /// Where each key of `intent_thresholds` is written, for errors found once the content
    /// pack is known (an intent id that does not exist).
    pub intent_threshold_locations: BTreeMap<String, Location>,
    pub ios: AppVersions,
    pub android: AppVersions,
    /// `[status] notice`: the notice of the first incident. When the store has never had an
    /// incident, the app starts one with it (see `App::seed_incident`); after that it is
    /// ignored, and moderators use `/incident start` and `/incident end`.
    pub status_notice: Option<String>,
    /// `[status] incident_intents`: the intent ids an incident covers when `/incident start`
    /// names none. `None`: [`crate::engine::incident::DEFAULT_INTENTS`]. Checked against the
    /// content pack by [`Config::apply`].
    pub incident_intents: Option<Vec<String>>,
    /// `[store] path`: the SQLite database. `None`: `paymedic.db` next to the config file (or
    /// in the working directory when there is no config file).
    pub store_path: Option<PathBuf>,
    /// `[store] url`: a `postgres://` URL; selects PostgreSQL instead of `path`. The
    /// `PAYMEDIC_DATABASE_URL` environment variable, when set, takes its place (see
    /// [`Config::store_location`]), so a password need not be in a file.
    pub store_url: Option<String>,
    /// `[store] retention_days`: closed-ticket transcripts and idle sessions older than this
    /// are purged.
    pub retention_days: u32,
    /// `[store] leader_check_secs`: how often each process asks whether it leads (runs the
    /// scheduled jobs); with PostgreSQL, a dead leader's jobs move within this time.
    pub leader_check_ms: u64,
    /// `[store] synchronous`: "full" (default) or "normal".
    pub store_durability: crate::store::sqlite::Durability,
    /// `[tickets]` timers and reopen window.
    pub tickets: TicketSettings,
    /// `[tickets] log_channel`: where closed-ticket transcripts are posted.
    pub ticket_log_channel: Option<ChannelId>,
    /// `[scam] delete`: remove a message the scam shield flags (needs Manage Messages).
    /// Off by default: a flag is a suspicion, and the moderators decide.
    pub scam_delete: bool,
    /// `[limits]`: the per-channel reply cap and the overload bound.
    pub limits: Limits,
    /// `[web] listen`: where `run` serves the staff dashboard and `/metrics`; `None` (unset):
    /// no web server. Any address is taken as written, a non-loopback one included: it
    /// only ever comes from an explicit setting.
    pub web_listen: Option<std::net::SocketAddr>,
}

/// Where `paymedic web` listens when neither `--listen` nor `[web] listen` says.
pub const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:9187";

/// `[limits]`: how much the bot says in one channel, and how much it queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Replies allowed in one server channel in any 10 seconds; 0 turns the cap off. DMs are
    /// not capped (the per-member cooldown covers them).
    pub channel_replies_per_10s: u32,
    /// Member messages waiting to be handled beyond which new ones are shed.
    pub waiting_messages_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            channel_replies_per_10s: DEFAULT_CHANNEL_REPLIES,
            waiting_messages_max: DEFAULT_WAITING_MESSAGES,
        }
    }
}

/// `[limits] channel_replies_per_10s` when unset.
pub const DEFAULT_CHANNEL_REPLIES: u32 = 20;
/// `[limits] waiting_messages_max` when unset: at about 2 KB a waiting message, 2000 of them
/// hold a few MB, and the bot works through them in about 1.5 s.
pub const DEFAULT_WAITING_MESSAGES: usize = 2000;
/// The most `[limits] waiting_messages_max` may be.
const WAITING_MESSAGES_MAX: i64 = 100_000;

impl Default for Config {
    fn default() -> Self {
        Config::from_raw("(defaults)", "", RawConfig::default()).expect("defaults are valid")
    }
}

/// An I/O error in plain words, without the OS error number.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
    }
}

/// Reads a whole UTF-8 text file, refusing one of more than `max` bytes. The size is checked
/// before anything is read, and at most `max + 1` bytes are ever read (for files whose size
/// the metadata does not tell, such as pipes), so memory stays bounded whatever the file is.
pub fn read_text_capped(path: &Path, max: u64) -> io::Result<String> {
    let too_big = |what: String| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is {what}, over the limit of {}", bytes(max)),
        )
    };
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::from(io::ErrorKind::IsADirectory));
    }
    if meta.len() > max {
        return Err(too_big(bytes(meta.len())));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_big(format!("more than {} bytes", max)));
    }
    String::from_utf8(buf).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A byte count as people read it: "4 MiB (4194304 bytes)".
fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB ({n} bytes)", n >> 20)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB ({n} bytes)", n as f64 / f64::from(1 << 20))
    } else {
        format!("{n} bytes")
    }
}

/// The store's file name when `[store] path` is not set.
pub const DEFAULT_STORE_FILE: &str = "paymedic.db";

/// One week in milliseconds: the longest cooldown or idle timeout.
const WEEK_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

/// Versions used when the config names none. Deployments should set their own.
const DEFAULT_IOS: (&str, &str) = ("24.10.2", "23.0");
const DEFAULT_ANDROID: (&str, &str) = ("24.10.1", "23.0");

/// The environment variable that may hold the PostgreSQL URL instead of `[store] url`.
pub const DATABASE_URL_VAR: &str = "PAYMEDIC_DATABASE_URL";

impl Config {
    /// Where the bot's store is: `PAYMEDIC_DATABASE_URL` (given here as `env_url`) when set,
    /// else `[store] url`, else the SQLite file `[store] path` (default `paymedic.db`).
    pub fn store_location(&self, env_url: Option<&str>) -> Result<crate::store::Location, String> {
        use crate::store::Location;
        if let Some(url) = env_url.filter(|u| !u.trim().is_empty()) {
            return match Location::parse(url) {
                l @ Location::Postgres(_) => Ok(l),
                Location::Sqlite(_) => Err(format!(
                    "{DATABASE_URL_VAR} must be a postgres:// URL (unset it to use [store] path)"
                )),
            };
        }
        Ok(match &self.store_url {
            Some(url) => Location::Postgres(url.clone()),
            None => Location::Sqlite(
                self.store_path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE_FILE)),
            ),
        })
    }

    /// Loads a config file of at most [`CONFIG_BYTES_MAX`] bytes.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = read_text_capped(path, CONFIG_BYTES_MAX).map_err(|reason| ConfigError::Read {
            path: path.to_path_buf(),
            reason,
        })?;
        let mut config = Config::parse(&path.display().to_string(), &src)?;
        // Relative paths are relative to the config file, not the working directory, and the
        // store defaults to `paymedic.db` beside it.
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [&mut config.intents_path, &mut config.store_path] {
            if let Some(rel) = p.as_ref().filter(|p| p.is_relative()) {
                *p = Some(dir.join(rel));
            }
        }
        if config.store_path.is_none() {
            config.store_path = Some(dir.join(DEFAULT_STORE_FILE));
        }
        Ok(config)
    }

    pub fn parse(file: &str, src: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| ConfigError::Invalid {
            location: Location::of(file, src, e.span().map_or(0, |s| s.start)),
            message: e.message().trim().to_string(),
        })?;
        Config::from_raw(file, src, raw)
    }

    fn from_raw(file: &str, src: &str, raw: RawConfig) -> Result<Config, ConfigError> {
        let bad = |setting: &str, message: String| ConfigError::Setting {
            file: file.to_string(),
            setting: setting.to_string(),
            message,
        };
        // A duration, checked in the unit the setting is written in: 0 up to one week.
        let duration = |setting: &str,
                        v: Option<f64>,
                        default: f64,
                        unit: &str,
                        ms_per_unit: f64|
         -> Result<u64, ConfigError> {
            let v = v.unwrap_or(default);
            let max = WEEK_MS / ms_per_unit;
            if !(0.0..=max).contains(&v) {
                return Err(bad(
                    setting,
                    format!("{v} {unit} is out of range: allowed is 0 to {max} {unit} (one week)"),
                ));
            }
            Ok((v * ms_per_unit) as u64)
        };
        let cooldown_ms = duration(
            "bot.cooldown_seconds",
            raw.bot.cooldown_seconds,
            2.0,
            "seconds",
            1000.0,
        )?;
        let idle_timeout_ms = duration(
            "bot.idle_timeout_minutes",
            raw.bot.idle_timeout_minutes,
            15.0,
            "minutes",
            60_000.0,
        )?;
        if idle_timeout_ms == 0 {
            return Err(bad(
                "bot.idle_timeout_minutes",
                "must be more than zero".into(),
            ));
        }
        let unit = |setting: &str, v: Option<f32>| -> Result<Option<f32>, ConfigError> {
            match v {
                Some(x) if !(x > 0.0 && x < 1.0) => Err(bad(
                    setting,
                    format!("{x} must be between 0 and 1 (exclusive)"),
                )),
                other => Ok(other),
            }
        };
        let threshold = unit("classifier.threshold", raw.classifier.threshold)?;
        let margin = unit("classifier.margin", raw.classifier.margin)?;
        let mut intent_thresholds = BTreeMap::new();
        let mut intent_threshold_locations = BTreeMap::new();
        for (k, v) in &raw.classifier.intent_thresholds {
            unit(
                &format!("classifier.intent_thresholds.{}", k.get_ref()),
                Some(*v),
            )?;
            intent_thresholds.insert(k.get_ref().clone(), *v);
            intent_threshold_locations
                .insert(k.get_ref().clone(), Location::of(file, src, k.span().start));
        }
        let versions = |name: &str, default: (&str, &str)| -> Result<AppVersions, ConfigError> {
            let (latest, minimum) = match raw.app_versions.get(name) {
                Some(v) => (v.latest.as_str(), v.minimum.as_str()),
                None => default,
            };
            let parse = |which: &str, s: &str| {
                Version::parse(s)
                    .map_err(|e| bad(&format!("app_versions.{name}.{which}"), e.to_string()))
            };
            let v = AppVersions {
                latest: parse("latest", latest)?,
                minimum: parse("minimum", minimum)?,
            };
            if v.minimum > v.latest {
                return Err(bad(
                    &format!("app_versions.{name}.minimum"),
                    format!("{} is newer than latest {}", v.minimum, v.latest),
                ));
            }
            Ok(v)
        };
        let ios = versions("ios", DEFAULT_IOS)?;
        let android = versions("android", DEFAULT_ANDROID)?;
        if let Some(other) = raw
            .app_versions
            .keys()
            .find(|k| *k != "ios" && *k != "android")
        {
            return Err(bad(
                &format!("app_versions.{other}"),
                "only ios and android are known platforms".into(),
            ));
        }
        // Ticket timers: each checked in the unit it is written in, and more than zero once
        // in milliseconds too (1e-9 minutes is more than zero, but 0 ms would make every ticket
        // overdue at once).
        let span = |setting: &str, v: Option<f64>, default: f64, unit: &str, ms: f64, max: f64| {
            let v = v.unwrap_or(default);
            if !(v > 0.0 && v <= max) {
                return Err(bad(
                    setting,
                    format!(
                        "{v} {unit} is out of range: allowed is more than 0, up to {max} {unit}"
                    ),
                ));
            }
            let total = (v * ms) as u64;
            // (Retention is counted in days, `ms` 1: it is checked for whole days below.)
            if total == 0 && ms > 1.0 {
                return Err(bad(
                    setting,
                    format!("{v} {unit} is less than a millisecond"),
                ));
            }
            Ok(total)
        };
        let auto_close_ms = span(
            "tickets.auto_close_hours",
            raw.tickets.auto_close_hours,
            48.0,
            "hours",
            3_600_000.0,
            24.0 * 90.0,
        )?;
        let tickets = TicketSettings {
            sla_ms: span(
                "tickets.sla_minutes",
                raw.tickets.sla_minutes,
                15.0,
                "minutes",
                60_000.0,
                7.0 * 24.0 * 60.0,
            )?,
            auto_close_ms,
            // The warning goes out an hour before, or halfway for very short settings.
            warn_before_ms: (auto_close_ms / 2).min(3_600_000),
            reopen_ms: span(
                "tickets.reopen_days",
                raw.tickets.reopen_days,
                7.0,
                "days",
                86_400_000.0,
                365.0,
            )?,
        };
        let retention_days = span(
            "store.retention_days",
            raw.store.retention_days,
            90.0,
            "days",
            1.0,
            3650.0,
        )?;
        if retention_days as f64 != raw.store.retention_days.unwrap_or(90.0) {
            return Err(bad(
                "store.retention_days",
                "must be a whole number of days".into(),
            ));
        }
        let retention_days = retention_days as u32;
        let leader_check_ms = span(
            "store.leader_check_secs",
            raw.store.leader_check_secs,
            15.0,
            "seconds",
            1000.0,
            60.0,
        )?;
        let store_url = raw.store.url.filter(|u| !u.trim().is_empty());
        if let Some(url) = &store_url {
            if !matches!(
                crate::store::Location::parse(url),
                crate::store::Location::Postgres(_)
            ) {
                return Err(bad(
                    "store.url",
                    "must be a postgres:// URL (for an SQLite file, use store.path)".into(),
                ));
            }
            if raw.store.path.is_some() {
                return Err(bad(
                    "store.url",
                    "store.path is set too: keep one of them".into(),
                ));
            }
        }
        let store_durability = match raw.store.synchronous.as_deref() {
            None | Some("full") => crate::store::sqlite::Durability::Full,
            Some("normal") => crate::store::sqlite::Durability::Normal,
            Some(other) => {
                return Err(bad(
                    "store.synchronous",
                    format!("{other:?} is not a choice: use \"full\" or \"normal\""),
                ))
            }
        };
        let count = |setting: &str, v: Option<i64>, default: i64, min: i64, max: i64| {
            let v = v.unwrap_or(default);
            if !(min..=max).contains(&v) {
                return Err(bad(
                    setting,
                    format!("{v} is out of range: allowed is {min} to {max}"),
                ));
            }
            Ok(v)
        };
        let limits = Limits {
            channel_replies_per_10s: count(
                "limits.channel_replies_per_10s",
                raw.limits.channel_replies_per_10s,
                i64::from(DEFAULT_CHANNEL_REPLIES),
                0,
                i64::from(crate::engine::throttle::CAP_PER_WINDOW_MAX),
            )? as u32,
            waiting_messages_max: count(
                "limits.waiting_messages_max",
                raw.limits.waiting_messages_max,
                DEFAULT_WAITING_MESSAGES as i64,
                1,
                WAITING_MESSAGES_MAX,
            )? as usize,
        };
        let web_listen = match &raw.web.listen {
            None => None,
            Some(listen) => Some(listen.get_ref().trim().parse().map_err(|_| {
                ConfigError::Invalid {
                    location: Location::of(file, src, listen.span().start),
                    message: format!(
                        "setting web.listen: {:?} is not an address: write IP:PORT, such as \"{DEFAULT_WEB_LISTEN}\"",
                        listen.get_ref()
                    ),
                }
            })?),
        };
        let discord = match raw.discord {
            None => None,
            Some(d) => {
                let shards = match (d.shards.as_deref(), d.total_shards) {
                    (None, None) => None,
                    (Some(range), Some(total)) => Some(
                        crate::discord::shards::ShardRange::parse(range, total)
                            .map_err(|e| bad("discord.shards", e))?,
                    ),
                    (Some(_), None) => {
                        return Err(bad(
                            "discord.shards",
                            "needs discord.total_shards too (the shards of all processes together)"
                                .into(),
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(bad(
                            "discord.total_shards",
                            "needs discord.shards too (which of them this process runs, such as \"0-3\")"
                                .into(),
                        ))
                    }
                };
                Some(DiscordConfig {
                    guild_ids: d.guild_ids,
                    support_channels: d.support_channels,
                    moderator_roles: d.moderator_roles,
                    escalation_channel: d.escalation_channel,
                    support_role: d.support_role,
                    shards,
                })
            }
        };
        Ok(Config {
            discord,
            intents_path: raw.bot.intents,
            cooldown_ms,
            idle_timeout_ms,
            threshold,
            margin,
            intent_thresholds,
            intent_threshold_locations,
            ios,
            android,
            status_notice: raw.status.notice.filter(|n| !n.trim().is_empty()),
            incident_intents: raw.status.incident_intents,
            store_path: raw.store.path,
            store_url,
            retention_days,
            leader_check_ms,
            store_durability,
            tickets,
            ticket_log_channel: raw.tickets.log_channel,
            scam_delete: raw.scam.delete.unwrap_or(false),
            limits,
            web_listen,
        })
    }

    pub fn app_versions(&self, platform: Platform) -> AppVersions {
        match platform {
            Platform::Ios => self.ios.clone(),
            Platform::Android => self.android.clone(),
        }
    }

    /// Applies the config's idle timeout and classifier overrides to an engine.
    pub fn apply(&self, engine: &mut Engine) -> Result<(), ConfigError> {
        engine.settings.idle_timeout_ms = self.idle_timeout_ms;
        let mut t: Thresholds = engine.classifier.thresholds().clone();
        if let Some(default) = self.threshold {
            // A new default replaces the pack's default, but not the pack's per-intent values.
            for (i, intent) in engine.content.intents.iter().enumerate() {
                if intent.threshold == engine.content.threshold {
                    t.per_intent[i] = default;
                }
            }
        }
        if let Some(m) = self.margin {
            t.margin = m;
        }
        for (key, v) in &self.intent_thresholds {
            let id = engine.content.intent_by_key(key).ok_or_else(|| {
                let setting = format!("classifier.intent_thresholds.{key}");
                let message = "no intent has that id".to_string();
                match self.intent_threshold_locations.get(key) {
                    Some(location) => ConfigError::Invalid {
                        location: location.clone(),
                        message: format!("setting {setting}: {message}"),
                    },
                    None => ConfigError::Setting {
                        file: "config".into(),
                        setting,
                        message,
                    },
                }
            })?;
            t.per_intent[id.index()] = *v;
        }
        engine.classifier.set_thresholds(t);
        if let Some(keys) = &self.incident_intents {
            let list = keys.join(",");
            if keys.is_empty() {
                return Err(ConfigError::Setting {
                    file: "config".into(),
                    setting: "status.incident_intents".into(),
                    message: "needs at least one intent id (or leave it out for the default)"
                        .into(),
                });
            }
            crate::engine::incident::parse_intents(&engine.content, &list).map_err(|message| {
                ConfigError::Setting {
                    file: "config".into(),
                    setting: "status.incident_intents".into(),
                    message,
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_chosen_by_env_url_then_config_url_then_path() {
        use crate::store::Location;
        let pg = "postgres://bot:pw@db.internal:5432/paymedic";
        let c = Config::parse("c.toml", &format!("[store]\nurl = \"{pg}\"\n")).unwrap();
        assert_eq!(c.store_location(None), Ok(Location::Postgres(pg.into())));
        let env = "postgresql://other@db2/x";
        assert_eq!(
            c.store_location(Some(env)),
            Ok(Location::Postgres(env.into()))
        );
        let c = Config::parse("c.toml", "[store]\npath = \"x.db\"\n").unwrap();
        assert_eq!(
            c.store_location(None),
            Ok(Location::Sqlite(PathBuf::from("x.db")))
        );
        assert_eq!(c.store_location(Some("")), c.store_location(None));
        let err = c.store_location(Some("/var/lib/x.db")).unwrap_err();
        assert!(err.contains(DATABASE_URL_VAR), "{err}");
        // The URL's password never shows, in Display or Debug.
        let l = Location::parse(pg);
        for shown in [l.to_string(), format!("{l:?}")] {
            assert!(!shown.contains("pw"), "{shown}");
            assert!(shown.contains("db.internal:5432/paymedic"), "{shown}");
        }
    }

    #[test]
    fn shard_settings_are_checked_together() {
        let c = Config::parse("c.toml", "[discord]\nshards = \"2-3\"\ntotal_shards = 4\n").unwrap();
        let r = c.discord.unwrap().shards.unwrap();
        assert_eq!((r.first, r.last, r.total), (2, 3, 4));
        for (src, says) in [
            (
                "shards = \"0-4\"\ntotal_shards = 4",
                "goes past total_shards = 4",
            ),
            ("shards = \"0-1\"", "needs discord.total_shards"),
            ("total_shards = 2", "needs discord.shards"),
            ("shards = \"x\"\ntotal_shards = 2", "not a shard range"),
        ] {
            let err = Config::parse("c.toml", &format!("[discord]\n{src}\n")).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("discord.") && msg.contains(says),
                "{src}: {msg}"
            );
        }
        assert_eq!(
            Config::parse("c.toml", "[discord]\n")
                .unwrap()
                .discord
                .unwrap()
                .shards,
            None
        );
    }

    #[test]
    fn a_store_url_must_be_postgres_and_alone() {
        let err = Config::parse("c.toml", "[store]\nurl = \"mysql://x@y/z\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("store.url") && msg.contains("postgres://"),
            "{msg}"
        );
        assert!(!msg.contains("mysql://x@y/z"), "{msg}");
        let err = Config::parse(
            "c.toml",
            "[store]\npath = \"a.db\"\nurl = \"postgres://x@y/z\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("keep one of them"), "{err}");
    }

    #[test]
    fn empty_config_uses_defaults() {
        let c = Config::parse("c.toml", "").unwrap();
        assert_eq!(c.idle_timeout_ms, 15 * 60 * 1000);
        assert!(c.discord.is_none());
    }

    #[test]
    fn unknown_setting_names_line_and_column() {
        let err = Config::parse("c.toml", "[bot]\ncooldown_secs = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("c.toml:2:1"), "{msg}");
        assert!(msg.contains("cooldown_secs"), "{msg}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = Config::parse("c.toml", "[classifier]\nthreshold = 1.5\n").unwrap_err();
        assert!(err.to_string().contains("classifier.threshold"), "{err}");
        let err = Config::parse(
            "c.toml",
            "[app_versions.ios]\nlatest = \"abc\"\nminimum = \"1.0\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("app_versions.ios.latest"), "{err}");
    }

    #[test]
    fn durations_out_of_range_are_reported_in_their_own_unit() {
        let err = Config::parse("c.toml", "[bot]\nidle_timeout_minutes = 20000\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bot.idle_timeout_minutes"), "{msg}");
        assert!(msg.contains("20000 minutes is out of range"), "{msg}");
        assert!(msg.contains("0 to 10080 minutes"), "{msg}");
        assert!(!msg.contains("1200000"), "{msg}");
        let err = Config::parse("c.toml", "[bot]\ncooldown_seconds = -1\n").unwrap_err();
        assert!(err.to_string().contains("0 to 604800 seconds"), "{err}");
        let ok = Config::parse("c.toml", "[bot]\nidle_timeout_minutes = 10080\n").unwrap();
        assert_eq!(ok.idle_timeout_ms, 10080 * 60_000);
    }

    /// Found with the config fuzz target (`fuzz/fuzz_targets/config.rs`), whose invariant
    /// flagged `sla_minutes = 1e-9`: a ticket timer above zero but under a millisecond passed
    /// the "more than 0" check and became 0 ms, so every ticket was overdue and auto-closed at
    /// once.
    #[test]
    fn a_ticket_timer_under_a_millisecond_is_refused() {
        for setting in ["sla_minutes", "auto_close_hours", "reopen_days"] {
            let src = format!("[tickets]\n{setting} = 1e-9\n");
            let err = Config::parse("c.toml", &src).unwrap_err().to_string();
            assert!(err.contains(&format!("tickets.{setting}")), "{err}");
            assert!(err.contains("less than a millisecond"), "{err}");
        }
        let err = Config::parse("c.toml", "[store]\nretention_days = 0.5\n").unwrap_err();
        assert!(err.to_string().contains("whole number of days"), "{err}");
    }

    proptest::proptest! {
        /// Any accepted ticket timer is at least a millisecond, and the inactivity warning
        /// comes before the auto-close.
        #[test]
        fn accepted_ticket_timers_are_never_zero(
            setting in proptest::sample::select(vec!["sla_minutes", "auto_close_hours", "reopen_days"]),
            v in proptest::prop_oneof![0.0..1e-3f64, 1e-12..1e-6f64, 0.0..100.0f64],
        ) {
            if let Ok(c) = Config::parse("c.toml", &format!("[tickets]\n{setting} = {v:e}\n")) {
                let t = c.tickets;
                proptest::prop_assert!(t.sla_ms > 0 && t.auto_close_ms > 0 && t.reopen_ms > 0);
                proptest::prop_assert!(t.warn_before_ms < t.auto_close_ms);
            }
        }
    }

    #[test]
    fn limits_are_checked_with_the_setting_named() {
        let c = Config::parse("c.toml", "").unwrap();
        assert_eq!(c.limits, Limits::default());
        let c = Config::parse(
            "c.toml",
            "[limits]\nchannel_replies_per_10s = 0\nwaiting_messages_max = 50\n",
        )
        .unwrap();
        assert_eq!(c.limits.channel_replies_per_10s, 0);
        assert_eq!(c.limits.waiting_messages_max, 50);
        for (src, setting, range) in [
            (
                "channel_replies_per_10s = -1",
                "limits.channel_replies_per_10s",
                "0 to 1000",
            ),
            (
                "channel_replies_per_10s = 5000",
                "limits.channel_replies_per_10s",
                "0 to 1000",
            ),
            (
                "waiting_messages_max = 0",
                "limits.waiting_messages_max",
                "1 to 100000",
            ),
        ] {
            let err = Config::parse("c.toml", &format!("[limits]\n{src}\n")).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(setting) && msg.contains(range), "{msg}");
        }
        let err = Config::parse("c.toml", "[limits]\nchannel_replies_per_10s = 2.5\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:2:"), "{err}");
    }

    #[test]
    fn an_unknown_intent_threshold_names_the_file_line_and_column() {
        let src = "[bot]\ncooldown_seconds = 2\n\n[classifier.intent_thresholds]\ngreeting = 0.6\nnope = 0.7\n";
        let config = Config::parse("config.toml", src).unwrap();
        let mut engine = Engine::embedded();
        let err = config.apply(&mut engine).unwrap_err().to_string();
        assert_eq!(
            err,
            "config.toml:6:1: setting classifier.intent_thresholds.nope: no intent has that id"
        );
        let dotted = "[classifier]\nintent_thresholds.nope = 0.7\n";
        let config = Config::parse("c.toml", dotted).unwrap();
        let err = config.apply(&mut engine).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2:"), "{err}");
    }

    #[test]
    fn web_listen_is_off_by_default_and_a_bad_address_names_line_and_column() {
        assert_eq!(Config::parse("c.toml", "").unwrap().web_listen, None);
        let c = Config::parse("c.toml", "[web]\nlisten = \"127.0.0.1:9187\"\n").unwrap();
        assert_eq!(c.web_listen, Some("127.0.0.1:9187".parse().unwrap()));
        // Non-loopback is allowed when written explicitly.
        let c = Config::parse("c.toml", "[web]\nlisten = \"0.0.0.0:80\"\n").unwrap();
        assert_eq!(c.web_listen, Some("0.0.0.0:80".parse().unwrap()));
        for bad in ["localhost", "127.0.0.1", "127.0.0.1:99999", ""] {
            let src = format!("[bot]\ncooldown_seconds = 2\n[web]\nlisten = \"{bad}\"\n");
            let err = Config::parse("c.toml", &src).unwrap_err().to_string();
            assert!(err.starts_with("c.toml:4:10: setting web.listen"), "{err}");
            assert!(err.contains("is not an address"), "{err}");
        }
    }

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("paymedic-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_missing_config_says_so_once_and_plainly() {
        let path = std::env::temp_dir().join("paymedic-no-such-config.toml");
        let err = anyhow::Error::from(Config::load(&path).unwrap_err());
        let msg = format!("{err:#}");
        assert_eq!(
            msg,
            format!("cannot read config {}: no such file", path.display())
        );
    }

    #[test]
    fn an_oversized_config_is_refused_before_it_is_read() {
        let mut big = b"# padding\n".repeat((CONFIG_BYTES_MAX as usize) / 10 + 1);
        big.extend_from_slice(b"[bot]\n");
        let path = temp_file("big.toml", &big);
        let msg = Config::load(&path).unwrap_err().to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("over the limit of 1 MiB"), "{msg}");
        let path = temp_file("small.toml", b"[bot]\ncooldown_seconds = 3\n");
        assert_eq!(Config::load(&path).unwrap().cooldown_ms, 3000);
    }
}
