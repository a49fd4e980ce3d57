//! Which gateway shards this process runs: `[discord] shards = "0-3"` with
//! `total_shards = 8` (or `run --shards 0-3 --total-shards 8`). Without them, one process runs
//! every shard, as Discord recommends (serenity's `start`).
//!
//! Discord sends a guild's events to shard `(guild_id >> 22) % total_shards`, and DMs to shard
//! 0, so processes with disjoint ranges that together cover `0..total` see every event once.

use std::ops::Range;

/// A range of shards, both ends included, out of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardRange {
    pub first: u32,
    pub last: u32,
    pub total: u32,
}

/// The most shards paymedic accepts in `total_shards` (Discord's large bots use thousands; a
/// support bot needs a handful).
pub const TOTAL_SHARDS_MAX: u32 = 4096;

impl ShardRange {
    /// Parses `"0-3"` (or a single `"2"`) out of `total`. Errors say what is wrong in the
    /// setting's own words.
    pub fn parse(range: &str, total: u32) -> Result<ShardRange, String> {
        if total == 0 || total > TOTAL_SHARDS_MAX {
            return Err(format!(
                "total_shards must be between 1 and {TOTAL_SHARDS_MAX}, not {total}"
            ));
        }
        let number = |s: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!("{range:?} is not a shard range: write FIRST-LAST, such as \"0-3\"")
            })
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(range)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!(
                "shards {range:?} runs backwards: the first shard comes first, such as \"{last}-{first}\""
            ));
        }
        if last >= total {
            return Err(format!(
                "shards {range:?} goes past total_shards = {total}: shards are numbered 0 to {}",
                total - 1
            ));
        }
        Ok(ShardRange { first, last, total })
    }

    /// How many shards this process runs.
    pub fn len(&self) -> u32 {
        self.last - self.first + 1
    }

    /// Never empty: a range holds at least its first shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The argument for serenity's `Client::start_shard_range`. Despite its `Range` type,
    /// serenity 0.12 starts shards `start` through `end` **inclusive** (it boots
    /// `end - start + 1` of them), so shards 0–3 are `0..3`, and the single shard 2 is the
    /// empty-looking `2..2`. Passing `first..last + 1` would start one shard too many, and
    /// two processes would then both run the shard between their ranges.
    pub fn serenity_range(&self) -> Range<u32> {
        self.first..self.last
    }

    /// Whether this range and another process's share a shard.
    pub fn overlaps(&self, other: &ShardRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// The shard Discord sends a guild's events to.
    pub fn shard_of(guild: u64, total: u32) -> u32 {
        ((guild >> 22) % u64::from(total.max(1))) as u32
    }

    /// Whether this process runs the shard that gets `guild`'s events (DMs: guild 0, shard 0).
    pub fn holds_guild(&self, guild: u64) -> bool {
        (self.first..=self.last).contains(&ShardRange::shard_of(guild, self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serenity 0.12's `start_connection` does with the range: it boots
    /// `end - start + 1` shards from `start` (copied from its source, so this test fails if the
    /// conversion above forgets that the end is inclusive).
    fn shards_serenity_boots(r: Range<u32>) -> Vec<u32> {
        let init = r.end - r.start + 1;
        (r.start..r.start + init).collect()
    }

    #[test]
    fn serenity_boots_exactly_the_configured_shards() {
        for (text, total, want) in [
            ("0-3", 8, vec![0, 1, 2, 3]),
            ("4-7", 8, vec![4, 5, 6, 7]),
            ("1-1", 2, vec![1]),
            ("0", 1, vec![0]),
            ("2", 3, vec![2]),
        ] {
            let r = ShardRange::parse(text, total).unwrap();
            assert_eq!(shards_serenity_boots(r.serenity_range()), want, "{text}");
            assert_eq!(r.len() as usize, want.len());
        }
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        for (text, total, says) in [
            ("0-8", 8, "goes past total_shards = 8"),
            ("8", 8, "goes past"),
            ("3-1", 8, "backwards"),
            ("a-b", 8, "not a shard range"),
            ("", 8, "not a shard range"),
            ("0-1-2", 8, "not a shard range"),
            ("0-1", 0, "total_shards must be between 1"),
            ("-1", 8, "not a shard range"),
        ] {
            let err = ShardRange::parse(text, total).unwrap_err();
            assert!(err.contains(says), "{text:?}/{total}: {err}");
        }
    }

    #[test]
    fn guilds_route_by_the_snowflake_timestamp() {
        // Discord's formula: (guild_id >> 22) % num_shards.
        let guild = 41771983423143937u64;
        assert_eq!(ShardRange::shard_of(guild, 2), ((guild >> 22) % 2) as u32);
        let a = ShardRange::parse("0-0", 2).unwrap();
        let b = ShardRange::parse("1-1", 2).unwrap();
        for g in [0u64, 1 << 22, 2 << 22, 3 << 22, guild, u64::MAX] {
            assert!(
                a.holds_guild(g) != b.holds_guild(g),
                "guild {g} on exactly one"
            );
        }
        assert!(a.holds_guild(0), "DMs go to shard 0");
        assert!(!a.overlaps(&b));
        assert!(ShardRange::parse("0-3", 8)
            .unwrap()
            .overlaps(&ShardRange::parse("3-5", 8).unwrap()));
    }
}
