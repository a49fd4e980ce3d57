//! Load policy, pure: the per-channel reply cap and the overload shedding rule.
//!
//! Time is an argument and nothing here locks, counts atomically or sends: the app holds a
//! [`ReplyCap`] behind its own mutex, and the Discord adapter's gate asks [`shed`] with the
//! number of events it has waiting.
//!
//! # The channel reply cap
//!
//! A raid (many accounts posting at once in one channel) would otherwise get one reply per
//! message: the bot would become a spam cannon. [`ReplyCap`] allows at most `per_window`
//! replies in any sliding window of [`CAP_WINDOW_MS`] in one channel. A message beyond the
//! cap is not answered (nor even classified: its member's conversation does not move), and
//! the first one of a raid asks for one notice to the moderators. Another notice for the same
//! channel comes only after it has been calm (nothing capped) for [`NOTICE_QUIET_MS`], so a
//! long raid gets one notice, not one per message.
//!
//! # Overload
//!
//! See [`shed`]: member messages beyond a bound of waiting events are dropped (and counted)
//! instead of queueing without end; button presses and commands have a lane of their own.

use crate::engine::dialogue::Timestamp;
use crate::engine::ids::ChannelId;
use std::collections::{HashMap, VecDeque};

/// The cap's sliding window.
pub const CAP_WINDOW_MS: u64 = 10_000;
/// A channel must be calm this long before the moderators are told about it again.
pub const NOTICE_QUIET_MS: u64 = 10 * 60_000;
/// Channels tracked at once. Beyond it the least recently answered channel is forgotten, so
/// memory is bounded whatever a raid spreads over (a forgotten channel starts a fresh window).
pub const CAP_CHANNELS_MAX: usize = 4096;
/// The most `channel_replies_per_10s` may be.
pub const CAP_PER_WINDOW_MAX: u32 = 1000;

/// What to do with a reply in a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapVerdict {
    /// Under the cap: answer (the reply is counted now; see [`ReplyCap::release`]).
    Send,
    /// Over the cap: don't answer.
    Drop,
    /// Over the cap, the first of a raid: don't answer, and tell the moderators once.
    DropAndNotify,
}

#[derive(Clone, Debug, Default)]
struct Window {
    /// When each reply in the window was counted, oldest first; at most `per_window`.
    sent: VecDeque<Timestamp>,
    /// The last message capped in this channel.
    last_capped: Option<Timestamp>,
}

impl Window {
    fn last_touch(&self) -> u64 {
        let sent = self.sent.back().map_or(0, |t| t.0);
        sent.max(self.last_capped.map_or(0, |t| t.0))
    }
}

/// At most `per_window` replies per channel in any [`CAP_WINDOW_MS`]; `per_window` 0 turns
/// the cap off.
#[derive(Clone, Debug)]
pub struct ReplyCap {
    per_window: u32,
    channels: HashMap<ChannelId, Window>,
}

impl ReplyCap {
    pub fn new(per_window: u32) -> ReplyCap {
        ReplyCap {
            per_window,
            channels: HashMap::new(),
        }
    }

    pub fn per_window(&self) -> u32 {
        self.per_window
    }

    /// Asks to reply in `channel` at `now`. [`CapVerdict::Send`] counts the reply at once, so
    /// replies decided concurrently can't overshoot; give it back with [`ReplyCap::release`]
    /// when nothing was said after all.
    pub fn reserve(&mut self, channel: ChannelId, now: Timestamp) -> CapVerdict {
        if self.per_window == 0 {
            return CapVerdict::Send;
        }
        if !self.channels.contains_key(&channel) && self.channels.len() >= CAP_CHANNELS_MAX {
            self.sweep(now);
            if self.channels.len() >= CAP_CHANNELS_MAX {
                self.forget_stalest();
            }
        }
        let cap = self.per_window as usize;
        let w = self.channels.entry(channel).or_default();
        while w
            .sent
            .front()
            .is_some_and(|t| now.0.saturating_sub(t.0) >= CAP_WINDOW_MS)
        {
            w.sent.pop_front();
        }
        if w.sent.len() < cap {
            w.sent.push_back(now);
            return CapVerdict::Send;
        }
        let calm = w
            .last_capped
            .is_none_or(|t| now.0.saturating_sub(t.0) >= NOTICE_QUIET_MS);
        w.last_capped = Some(now);
        if calm {
            CapVerdict::DropAndNotify
        } else {
            CapVerdict::Drop
        }
    }

    /// Gives back a reply [`ReplyCap::reserve`] counted at `at` that was never sent.
    pub fn release(&mut self, channel: ChannelId, at: Timestamp) {
        if let Some(w) = self.channels.get_mut(&channel) {
            if let Some(i) = w.sent.iter().rposition(|t| *t == at) {
                w.sent.remove(i);
            }
        }
    }

    /// Forgets channels with no reply in the window and no raid within the quiet period.
    pub fn sweep(&mut self, now: Timestamp) {
        self.channels.retain(|_, w| {
            let recent = w
                .sent
                .back()
                .is_some_and(|t| now.0.saturating_sub(t.0) < CAP_WINDOW_MS);
            let raided = w
                .last_capped
                .is_some_and(|t| now.0.saturating_sub(t.0) < NOTICE_QUIET_MS);
            recent || raided
        });
    }

    /// Channels tracked now.
    pub fn tracked(&self) -> usize {
        self.channels.len()
    }

    fn forget_stalest(&mut self) {
        if let Some(k) = self
            .channels
            .iter()
            .min_by_key(|(_, w)| w.last_touch())
            .map(|(k, _)| *k)
        {
            self.channels.remove(&k);
        }
    }
}

/// Which lane an event waits in at the adapter's gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// A member's message or edit: may be shed under overload.
    Message,
    /// A button press, modal or command: owner-initiated, with a 3-second deadline; its own
    /// lane, so a flood of messages never delays it.
    Interaction,
    /// Connection events (ready, guild data): never shed.
    Control,
}

/// The overload rule: an event arriving while `waiting` events of its lane are already
/// queued is shed (dropped, counted and logged, never answered) once the lane holds `max`.
/// Control events are never shed: the bot can't work without them, and they are few.
///
/// Nothing is said to a member whose message is shed: a reply is exactly the work the bot has
/// no room for, and in a raid it would add to the noise. A shed button press shows Discord's
/// own "This interaction failed", and the member can press again.
pub fn shed(lane: Lane, waiting: usize, max: usize) -> bool {
    match lane {
        Lane::Control => false,
        Lane::Message | Lane::Interaction => waiting >= max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const C: ChannelId = ChannelId(7);

    #[test]
    fn a_raid_gets_n_replies_a_window_and_one_notice() {
        let mut cap = ReplyCap::new(3);
        let v: Vec<_> = (0..10)
            .map(|i| cap.reserve(C, Timestamp(i * 100)))
            .collect();
        use CapVerdict::*;
        assert_eq!(
            v,
            [
                Send,
                Send,
                Send,
                DropAndNotify,
                Drop,
                Drop,
                Drop,
                Drop,
                Drop,
                Drop
            ]
        );
        // The window slides: 10 s after the first reply there is room for one more.
        assert_eq!(cap.reserve(C, Timestamp(CAP_WINDOW_MS)), Send);
        assert_eq!(cap.reserve(C, Timestamp(CAP_WINDOW_MS + 1)), Drop);
        // Another channel is not affected.
        assert_eq!(cap.reserve(ChannelId(8), Timestamp(900)), Send);
    }

    #[test]
    fn another_notice_only_after_a_calm_quiet_period() {
        let mut cap = ReplyCap::new(1);
        assert_eq!(cap.reserve(C, Timestamp(0)), CapVerdict::Send);
        assert_eq!(cap.reserve(C, Timestamp(1)), CapVerdict::DropAndNotify);
        // The raid goes on for an hour, a capped message every 5 minutes: no second notice.
        let mut t = 1;
        for _ in 0..12 {
            t += 5 * 60_000;
            cap.reserve(C, Timestamp(t));
            assert_eq!(cap.reserve(C, Timestamp(t + 1)), CapVerdict::Drop);
        }
        // Calm for the quiet period, then a new raid: one new notice.
        t += NOTICE_QUIET_MS + 1;
        assert_eq!(cap.reserve(C, Timestamp(t)), CapVerdict::Send);
        assert_eq!(cap.reserve(C, Timestamp(t + 1)), CapVerdict::DropAndNotify);
    }

    #[test]
    fn a_released_reply_frees_its_place_and_zero_is_off() {
        let mut cap = ReplyCap::new(1);
        assert_eq!(cap.reserve(C, Timestamp(5)), CapVerdict::Send);
        cap.release(C, Timestamp(5));
        assert_eq!(cap.reserve(C, Timestamp(6)), CapVerdict::Send);
        let mut off = ReplyCap::new(0);
        assert!((0..10_000).all(|i| off.reserve(C, Timestamp(i)) == CapVerdict::Send));
        assert_eq!(off.tracked(), 0);
    }

    #[test]
    fn tracked_channels_are_bounded() {
        let mut cap = ReplyCap::new(2);
        for c in 0..(CAP_CHANNELS_MAX as u64 * 2) {
            assert_eq!(cap.reserve(ChannelId(c), Timestamp(c)), CapVerdict::Send);
        }
        assert!(cap.tracked() <= CAP_CHANNELS_MAX);
        cap.sweep(Timestamp(1_000_000_000));
        assert_eq!(cap.tracked(), 0);
    }

    #[test]
    fn only_control_events_are_never_shed() {
        assert!(!shed(Lane::Message, 9, 10));
        assert!(shed(Lane::Message, 10, 10));
        assert!(shed(Lane::Interaction, 11, 10));
        assert!(!shed(Lane::Control, usize::MAX, 0));
    }

    proptest! {
        /// Whatever the arrival times (sorted, as a clock gives them), no window of
        /// CAP_WINDOW_MS ever holds more than `n` sent replies, a reply is refused only when
        /// the window is full, and notices are at most one per raid.
        #[test]
        fn no_window_ever_holds_more_than_the_cap(
            n in 1u32..8,
            mut times in proptest::collection::vec(0u64..60_000, 1..300),
            releases in proptest::collection::vec(any::<bool>(), 300),
        ) {
            times.sort_unstable();
            let mut cap = ReplyCap::new(n);
            let mut sent: Vec<u64> = Vec::new();
            let mut notices: Vec<u64> = Vec::new();
            for (i, &t) in times.iter().enumerate() {
                let in_window = sent.iter().filter(|&&s| t - s < CAP_WINDOW_MS).count();
                match cap.reserve(C, Timestamp(t)) {
                    CapVerdict::Send => {
                        prop_assert!(in_window < n as usize);
                        if releases[i] {
                            cap.release(C, Timestamp(t));
                        } else {
                            sent.push(t);
                        }
                    }
                    v => {
                        prop_assert_eq!(in_window, n as usize);
                        if v == CapVerdict::DropAndNotify {
                            notices.push(t);
                        }
                    }
                }
            }
            // 60 s of arrivals with a 10-minute quiet period: one notice at most.
            prop_assert!(notices.len() <= 1);
        }
    }
}
