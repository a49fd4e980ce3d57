//! Runtime settings from `config.toml` (see `config.example.toml` for every setting).
//!
//! The Discord token is deliberately not a setting: it comes only from `DISCORD_TOKEN`, so it
//! never ends up in a file that gets committed or pasted. Every error names the setting and
//! where it is.

use crate::engine::checks::{AppVersions, Platform, Version};
use crate::engine::content::Location;
use crate::engine::{Engine, Thresholds};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem with the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    #[serde(default)]
    guild_ids: Vec<u64>,
    #[serde(default)]
    support_channels: Vec<u64>,
    #[serde(default)]
    moderator_roles: Vec<u64>,
    escalation_channel: Option<u64>,
    support_role: Option<u64>,
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
    intent_thresholds: BTreeMap<String, f32>,
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
}

/// Discord-side settings (needed by `paymedic run` only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscordConfig {
    /// Guilds to register slash commands in; empty registers them globally.
    pub guild_ids: Vec<u64>,
    /// Channels where the bot answers free text without being mentioned.
    pub support_channels: Vec<u64>,
    pub moderator_roles: Vec<u64>,
    pub escalation_channel: Option<u64>,
    pub support_role: Option<u64>,
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
    pub ios: AppVersions,
    pub android: AppVersions,
    pub status_notice: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_raw("(defaults)", RawConfig::default()).expect("defaults are valid")
    }
}

/// Versions used when the config names none. Deployments should set their own.
const DEFAULT_IOS: (&str, &str) = ("24.10.2", "23.0");
const DEFAULT_ANDROID: (&str, &str) = ("24.10.1", "23.0");

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&path.display().to_string(), &src)?;
        // A relative content path is relative to the config file, not the working directory.
        if let (Some(p), Some(dir)) = (&config.intents_path, path.parent()) {
            if p.is_relative() {
                config.intents_path = Some(dir.join(p));
            }
        }
        Ok(config)
    }

    pub fn parse(file: &str, src: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| ConfigError::Invalid {
            location: Location::of(file, src, e.span().map_or(0, |s| s.start)),
            message: e.message().trim().to_string(),
        })?;
        Config::from_raw(file, raw)
    }

    fn from_raw(file: &str, raw: RawConfig) -> Result<Config, ConfigError> {
        let bad = |setting: &str, message: String| ConfigError::Setting {
            file: file.to_string(),
            setting: setting.to_string(),
            message,
        };
        let seconds = |setting: &str, v: Option<f64>, default: f64| -> Result<u64, ConfigError> {
            let v = v.unwrap_or(default);
            if !(0.0..=86_400.0 * 7.0).contains(&v) {
                return Err(bad(setting, format!("{v} is out of range (0 to one week)")));
            }
            Ok((v * 1000.0) as u64)
        };
        let cooldown_ms = seconds("bot.cooldown_seconds", raw.bot.cooldown_seconds, 2.0)?;
        let idle_timeout_ms = seconds(
            "bot.idle_timeout_minutes",
            raw.bot.idle_timeout_minutes.map(|m| m * 60.0),
            15.0 * 60.0,
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
        for (k, v) in &raw.classifier.intent_thresholds {
            unit(&format!("classifier.intent_thresholds.{k}"), Some(*v))?;
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
        let discord = raw.discord.map(|d| DiscordConfig {
            guild_ids: d.guild_ids,
            support_channels: d.support_channels,
            moderator_roles: d.moderator_roles,
            escalation_channel: d.escalation_channel,
            support_role: d.support_role,
        });
        Ok(Config {
            discord,
            intents_path: raw.bot.intents,
            cooldown_ms,
            idle_timeout_ms,
            threshold,
            margin,
            intent_thresholds: raw.classifier.intent_thresholds,
            ios,
            android,
            status_notice: raw.status.notice.filter(|n| !n.trim().is_empty()),
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
            let id = engine
                .content
                .intent_by_key(key)
                .ok_or_else(|| ConfigError::Setting {
                    file: "config".into(),
                    setting: format!("classifier.intent_thresholds.{key}"),
                    message: "no intent has that id".into(),
                })?;
            t.per_intent[id.index()] = *v;
        }
        engine.classifier.set_thresholds(t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
