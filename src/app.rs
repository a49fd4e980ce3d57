//! The one place that loads a member's session, runs the engine, saves the result and hands
//! the effects back. The Discord bot, the terminal chat and the tests all go through [`App`].

use crate::config::Config;
use crate::engine::checks::{self, AppVerdict, CheckError, ExpiryVerdict, LimitVerdict};
use crate::engine::content::StepId;
use crate::engine::dialogue::Outcome;
use crate::engine::sensitive;
use crate::engine::{Classification, Effect, Engine, Input, IntentId, Session, State, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whose conversation: a guild (0 for DMs and the terminal) and a user in it. Conversations are
/// per guild, so a member helped in one server starts fresh in another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    pub scope: u64,
    pub user: u64,
}

/// What one input produced.
#[derive(Debug)]
pub struct Turn<'a> {
    pub effects: Vec<Effect<'a>>,
    pub classification: Option<Classification>,
}

impl Turn<'_> {
    fn silent() -> Self {
        Turn {
            effects: Vec::new(),
            classification: None,
        }
    }
}

/// How often flows ended a given way, per intent and step.
pub type OutcomeCounts = BTreeMap<(IntentId, Option<StepId>, OutcomeKey), u64>;

/// [`Outcome`] with an order, for the counts table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutcomeKey {
    Fixed,
    Escalated,
    DeclinedHuman,
}

impl From<Outcome> for OutcomeKey {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Fixed => OutcomeKey::Fixed,
            Outcome::Escalated => OutcomeKey::Escalated,
            Outcome::DeclinedHuman => OutcomeKey::DeclinedHuman,
        }
    }
}

/// Whether a member's message should be answered, given the per-user cooldown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admit {
    /// Answer it.
    Yes,
    /// Too fast: send one gentle notice.
    Notice,
    /// Too fast, and already told: stay quiet.
    Drop,
}

#[derive(Clone, Copy, Debug)]
struct Pace {
    last_answered: Timestamp,
    noticed: bool,
}

pub struct App {
    pub engine: Engine,
    pub config: Config,
    /// Only sessions that are not idle are kept.
    sessions: Mutex<HashMap<UserKey, Session>>,
    outcomes: Mutex<OutcomeCounts>,
    pace: Mutex<HashMap<UserKey, Pace>>,
}

impl App {
    pub fn new(engine: Engine, config: Config) -> App {
        App {
            engine,
            config,
            sessions: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(BTreeMap::new()),
            pace: Mutex::new(HashMap::new()),
        }
    }

    /// The per-user cooldown, checked before a message is handled: within `cooldown_ms` of
    /// the last answer, a member gets one gentle notice and then silence until they slow down.
    ///
    /// `Yes` reserves the answer at once, so a burst handled concurrently still gets only one;
    /// call [`App::unanswered`] when the message turned out to need no reply, so chatter never
    /// starts a cooldown.
    fn admit(&self, user: UserKey, now: Timestamp) -> Admit {
        let mut pace = self.pace.lock().unwrap_or_else(|p| p.into_inner());
        match pace.get_mut(&user) {
            Some(p) if now.0.saturating_sub(p.last_answered.0) < self.config.cooldown_ms => {
                if std::mem::replace(&mut p.noticed, true) {
                    Admit::Drop
                } else {
                    Admit::Notice
                }
            }
            _ => {
                pace.insert(
                    user,
                    Pace {
                        last_answered: now,
                        noticed: false,
                    },
                );
                Admit::Yes
            }
        }
    }

    /// Gives back the reservation [`App::admit`] made at `now`: nothing was sent.
    fn unanswered(&self, user: UserKey, now: Timestamp) {
        let mut pace = self.pace.lock().unwrap_or_else(|p| p.into_inner());
        if pace
            .get(&user)
            .is_some_and(|p| p.last_answered == now && !p.noticed)
        {
            pace.remove(&user);
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<UserKey, Session>> {
        // A panic while holding the lock cannot leave a map half-updated (each update is one
        // insert or remove), so a poisoned lock is safe to keep using.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One input from one member, start to finish: the one turn boundary that the Discord bot,
    /// the terminal and the tests call. In this order:
    ///
    /// 1. the sensitive-data guard, on every message before anything else, so a card number is
    ///    flagged (and removed by the adapter) even for a member who is flooding or whose
    ///    ticket a human has;
    /// 2. hand-off silence: while a human has the member, the bot says nothing;
    /// 3. the per-member cooldown, for typed messages only (a button press answers a question
    ///    the bot asked, so it is never throttled);
    /// 4. the engine step, and saving its result.
    pub fn turn(&self, user: UserKey, input: Input<'_>, now: Timestamp) -> Turn<'_> {
        let Input::Text { text, .. } = input else {
            return self.handle(user, input, now);
        };
        if let Some(secret) = sensitive::kind(text) {
            return Turn {
                effects: vec![Effect::Sensitive(secret)],
                classification: None,
            };
        }
        if self.is_handed_off(user) {
            return Turn::silent();
        }
        match self.admit(user, now) {
            Admit::Yes => {}
            Admit::Notice => {
                return Turn {
                    effects: vec![Effect::Say(&self.engine.content.copy.slow_down)],
                    classification: None,
                }
            }
            Admit::Drop => return Turn::silent(),
        }
        let turn = self.handle(user, input, now);
        if turn.effects.is_empty() {
            // Nothing was said, so nothing starts the member's cooldown.
            self.unanswered(user, now);
        }
        turn
    }

    /// Runs the engine for one input, with no guard, silence or cooldown: [`App::turn`] is
    /// the entry point.
    fn handle(&self, user: UserKey, input: Input<'_>, now: Timestamp) -> Turn<'_> {
        let mut sessions = self.sessions();
        let session = sessions.remove(&user).unwrap_or_else(|| Session::new(now));
        let step = self.engine.step(session, input, now);
        if step.session.state != State::Idle {
            sessions.insert(user, step.session);
        }
        drop(sessions);
        let records: Vec<_> = step
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record {
                    intent,
                    step,
                    outcome,
                } => Some((*intent, *step, OutcomeKey::from(*outcome))),
                _ => None,
            })
            .collect();
        if !records.is_empty() {
            let mut counts = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
            for r in records {
                *counts.entry(r).or_default() += 1;
            }
        }
        Turn {
            effects: step.effects,
            classification: step.classification,
        }
    }

    /// The member's current session, if it is not idle.
    pub fn session(&self, user: UserKey) -> Option<Session> {
        self.sessions().get(&user).cloned()
    }

    /// Whether a human has this member's ticket (the bot must stay silent).
    pub fn is_handed_off(&self, user: UserKey) -> bool {
        matches!(
            self.session(user),
            Some(Session {
                state: State::HandedOff { .. },
                ..
            })
        )
    }

    /// Drops sessions that have gone idle (and cooldown entries long past); returns how many
    /// sessions were dropped.
    pub fn sweep(&self, now: Timestamp) -> usize {
        let cooldown = self.config.cooldown_ms;
        self.pace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, p| now.0.saturating_sub(p.last_answered.0) < cooldown);
        let mut sessions = self.sessions();
        let before = sessions.len();
        let keys: Vec<UserKey> = sessions.keys().copied().collect();
        for key in keys {
            if let Some(s) = sessions.remove(&key) {
                let step = self.engine.step(s, Input::Tick, now);
                if step.session.state != State::Idle {
                    sessions.insert(key, step.session);
                }
            }
        }
        before - sessions.len()
    }

    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    pub fn outcomes(&self) -> OutcomeCounts {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn check_limit(
        &self,
        purchase: &str,
        balance: &str,
        limit: &str,
    ) -> Result<LimitVerdict, CheckError> {
        checks::limit(purchase, balance, limit)
    }

    pub fn check_app(&self, platform: &str, version: &str) -> Result<AppVerdict, CheckError> {
        checks::app_version(platform, version, |p| self.config.app_versions(p))
    }

    pub fn check_expiry(
        &self,
        expiry: &str,
        today: (i32, u32),
    ) -> Result<ExpiryVerdict, CheckError> {
        checks::card_expiry(expiry, today.0, today.1)
    }

    pub fn check_status(&self) -> String {
        checks::status(self.config.status_notice.as_deref())
    }
}

/// The wall clock as engine time. Adapters call this; the engine never does.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Timestamp(ms)
}

/// Today's (year, month) in UTC, for the card expiry check.
pub fn today() -> (i32, u32) {
    let days = (now().0 / 86_400_000) as i64;
    let (y, m, _) = civil_from_days(days);
    (y, m)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gets_one_notice_then_silence_until_it_slows() {
        let app = App::new(Engine::embedded(), Config::default());
        let u = UserKey { scope: 1, user: 1 };
        let other = UserKey { scope: 1, user: 2 };
        let cd = app.config.cooldown_ms;
        assert_eq!(app.admit(u, Timestamp(0)), Admit::Yes);
        // Unanswered chatter starts no cooldown.
        app.unanswered(u, Timestamp(0));
        assert_eq!(app.admit(u, Timestamp(5)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(10)), Admit::Notice);
        for t in 11..30 {
            assert_eq!(app.admit(u, Timestamp(t)), Admit::Drop);
        }
        assert_eq!(app.admit(other, Timestamp(20)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(cd + 5)), Admit::Yes);
        assert_eq!(app.admit(u, Timestamp(cd + 6)), Admit::Notice);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
