//! The shard lineage: which shards may be read now, and where a shard starts.
//!
//! A reshard closes shards and opens children: SplitShard closes one parent and opens
//! two children (each with `ParentShardId`), MergeShards closes two and opens one
//! (with `ParentShardId` and `AdjacentParentShardId`). Records of one partition key
//! were in the parent before the reshard and are in a child after it, so a child is
//! read only once every parent it has is finished, or is no longer listed (its
//! records expired, or the stream never showed it to us).

use std::collections::HashSet;
use std::time::SystemTime;

use aws_sdk_kinesis::types::Shard;

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// Its id (`shardId-000000000000`).
    pub shard_id: String,
    /// The shard it was split from, or the first of the two it was merged from.
    pub parent_shard_id: Option<String>,
    /// The second shard it was merged from.
    pub adjacent_parent_shard_id: Option<String>,
    /// The first sequence number of its range.
    pub starting_sequence_number: Option<String>,
    /// The last sequence number of its range, once it is closed (split or merged);
    /// `None` while it is open.
    pub ending_sequence_number: Option<String>,
}

impl ShardInfo {
    /// An open shard without parents (for tests and examples).
    pub fn new(shard_id: impl Into<String>) -> Self {
        ShardInfo {
            shard_id: shard_id.into(),
            parent_shard_id: None,
            adjacent_parent_shard_id: None,
            starting_sequence_number: None,
            ending_sequence_number: None,
        }
    }

    /// The same shard with parents.
    pub fn with_parents(mut self, parent: &str, adjacent: Option<&str>) -> Self {
        self.parent_shard_id = Some(parent.to_owned());
        self.adjacent_parent_shard_id = adjacent.map(str::to_owned);
        self
    }

    /// The same shard, closed at `ending`.
    pub fn closed_at(mut self, ending: &str) -> Self {
        self.ending_sequence_number = Some(ending.to_owned());
        self
    }

    /// Its parents (none, one after a split, two after a merge).
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.parent_shard_id
            .iter()
            .chain(self.adjacent_parent_shard_id.iter())
            .map(String::as_str)
    }

    /// Whether it is closed (it has an ending sequence number).
    pub fn is_closed(&self) -> bool {
        self.ending_sequence_number.is_some()
    }
}

impl From<&Shard> for ShardInfo {
    fn from(s: &Shard) -> Self {
        let range = s.sequence_number_range();
        ShardInfo {
            shard_id: s.shard_id().to_owned(),
            parent_shard_id: s.parent_shard_id().map(str::to_owned),
            adjacent_parent_shard_id: s.adjacent_parent_shard_id().map(str::to_owned),
            starting_sequence_number: range.map(|r| r.starting_sequence_number().to_owned()),
            ending_sequence_number: range
                .and_then(|r| r.ending_sequence_number())
                .map(str::to_owned),
        }
    }
}

/// The shards of `shards` (one listing) that may be read now, in listing order: not
/// finished, not `started` already, and each parent finished or absent from the
/// listing.
pub fn startable_shards<'a>(
    shards: &'a [ShardInfo],
    finished: &HashSet<String>,
    started: &HashSet<String>,
) -> Vec<&'a ShardInfo> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    shards
        .iter()
        .filter(|s| !finished.contains(&s.shard_id) && !started.contains(&s.shard_id))
        .filter(|s| {
            s.parents()
                .all(|p| finished.contains(p) || !listed.contains(p))
        })
        .collect()
}

/// Where a consumer starts reading a stream's shards that have no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// At the oldest record still in the shard (everything the stream keeps).
    TrimHorizon,
    /// After the newest record: only records written from now on.
    Latest,
    /// At the first record that arrived at or after this time.
    AtTimestamp(SystemTime),
}

impl StartPosition {
    /// [`StartPosition::AtTimestamp`] at `millis` since the Unix epoch.
    pub fn at_millis(millis: u64) -> Self {
        StartPosition::AtTimestamp(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis),
        )
    }
}

/// Where one shard starts: its shard iterator type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardStart {
    /// `AFTER_SEQUENCE_NUMBER`: just after a checkpoint.
    After(String),
    /// A [`StartPosition`] (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`).
    At(StartPosition),
}

/// Where a shard starts: after its checkpoint when it has one, whatever the configured
/// start; at `TRIM_HORIZON` when one of its parents was read by this consumer
/// (`parent_read`: finished, or checkpointed), so that nothing written to it since the
/// reshard is lost (never `LATEST` there); otherwise at the `configured` start.
pub fn shard_start(
    checkpoint: Option<&str>,
    parent_read: bool,
    configured: StartPosition,
) -> ShardStart {
    match checkpoint {
        Some(seq) => ShardStart::After(seq.to_owned()),
        None if parent_read => ShardStart::At(StartPosition::TrimHorizon),
        None => ShardStart::At(configured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: Vec<&ShardInfo>) -> Vec<&str> {
        v.into_iter().map(|s| s.shard_id.as_str()).collect()
    }

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn children_wait_for_their_parents() {
        // 0 split into 1 and 2; 1 and 2 merged into 3; 4 is an unrelated open shard.
        let shards = vec![
            ShardInfo::new("0").closed_at("100"),
            ShardInfo::new("1").with_parents("0", None).closed_at("200"),
            ShardInfo::new("2").with_parents("0", None).closed_at("210"),
            ShardInfo::new("3").with_parents("1", Some("2")),
            ShardInfo::new("4"),
        ];
        let none = HashSet::new();
        assert_eq!(ids(startable_shards(&shards, &none, &none)), vec!["0", "4"]);
        // Started shards are not offered again.
        assert_eq!(
            ids(startable_shards(&shards, &none, &set(&["0", "4"]))),
            Vec::<&str>::new()
        );
        // The split's children once their parent is finished.
        assert_eq!(
            ids(startable_shards(&shards, &set(&["0"]), &set(&["4"]))),
            vec!["1", "2"]
        );
        // The merge's child needs both parents.
        assert_eq!(
            ids(startable_shards(
                &shards,
                &set(&["0", "1"]),
                &set(&["2", "4"])
            )),
            Vec::<&str>::new()
        );
        assert_eq!(
            ids(startable_shards(
                &shards,
                &set(&["0", "1", "2"]),
                &set(&["4"])
            )),
            vec!["3"]
        );
    }

    #[test]
    fn parents_no_longer_listed_do_not_block() {
        // The parent expired from the stream (or was never shown): the child starts.
        let shards = vec![
            ShardInfo::new("5").with_parents("gone", None),
            ShardInfo::new("6").with_parents("gone", Some("7")),
            ShardInfo::new("7").closed_at("9"),
        ];
        let none = HashSet::new();
        assert_eq!(ids(startable_shards(&shards, &none, &none)), vec!["5", "7"]);
        assert_eq!(
            ids(startable_shards(&shards, &set(&["7"]), &set(&["5"]))),
            vec!["6"]
        );
        // Finished shards are never offered.
        assert_eq!(
            ids(startable_shards(&shards, &set(&["5", "6", "7"]), &none)),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn start_positions() {
        let latest = StartPosition::Latest;
        assert_eq!(
            shard_start(Some("42"), true, latest),
            ShardStart::After("42".into())
        );
        assert_eq!(
            shard_start(Some("42"), false, latest),
            ShardStart::After("42".into())
        );
        assert_eq!(
            shard_start(None, true, latest),
            ShardStart::At(StartPosition::TrimHorizon)
        );
        assert_eq!(shard_start(None, false, latest), ShardStart::At(latest));
        let t = StartPosition::at_millis(1_700_000_000_000);
        assert_eq!(shard_start(None, false, t), ShardStart::At(t));
    }
}
