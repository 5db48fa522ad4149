//! Keys and order-preserving encodings of the table's items (no I/O).

use iot_crr_model::ResourceKey;
use iot_crr_state::{Result, StateError};

/// The sort key of items that are alone in their partition (applied versions).
pub(crate) const SINGLE_SK: &str = "applied";

/// The partition key of a stream's checkpoints.
pub(crate) fn checkpoint_pk(stream: &str) -> String {
    format!("checkpoint#{stream}")
}

/// The partition key of a stream's finished shards.
pub(crate) fn finished_pk(stream: &str) -> String {
    format!("finished#{stream}")
}

/// The sort key of a shard (prefixed: a key attribute cannot be empty).
pub(crate) fn shard_sk(shard: &str) -> String {
    format!("shard#{shard}")
}

/// The partition key of a resource's applied version. A kind has no `/`, so the first
/// one separates kind and name.
pub(crate) fn applied_pk(key: &ResourceKey) -> String {
    format!("applied#{}/{}", key.kind.as_str(), key.name)
}

/// The partition key of a resumable job's progress (its sort key is [`SINGLE_SK`]).
pub(crate) fn progress_pk(name: &str) -> String {
    format!("progress#{name}")
}

/// The partition key of every dead letter.
pub(crate) const DEAD_LETTER_PK: &str = "deadletter";

/// The sort key of a dead letter: its id (prefixed: a key attribute cannot be empty).
pub(crate) fn dead_letter_sk(id: &str) -> String {
    format!("id#{id}")
}

/// The dead letter id in a sort key from [`dead_letter_sk`].
pub(crate) fn dead_letter_id(sk: &str) -> Option<&str> {
    sk.strip_prefix("id#")
}

/// The local index sort key of a dead letter: its time, then its id, so that the index
/// lists dead letters oldest first and by id at an equal time (as the other stores do).
///
/// The time is offset by 2^63 (its sign bit flipped) to a `u64` written with 20 digits,
/// so that string order is numeric order, negative times included. The id follows the
/// fixed-width time, so it only decides between equal times, by its UTF-8 bytes
/// (DynamoDB's string order, and Rust's).
pub(crate) fn dead_letter_order(time_millis: i64, id: &str) -> String {
    let biased = (time_millis as u64) ^ (1 << 63);
    format!("{biased:020}#{id}")
}

/// Validates a sequence number (non-empty, ASCII digits only) and returns it without
/// leading zeros (`"0"` for zero), as `iot_crr_state` does.
pub(crate) fn normalise_sequence(sequence: &str) -> Result<&str> {
    if sequence.is_empty() || !sequence.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StateError::InvalidSequence(sequence.to_owned()));
    }
    let trimmed = sequence.trim_start_matches('0');
    Ok(if trimmed.is_empty() { "0" } else { trimmed })
}

/// A sequence number as a string whose order (byte-wise, as DynamoDB compares strings in
/// a condition expression) is the numeric order of the sequence numbers, of any length:
/// the number of digits (without leading zeros) written with 20 digits, then the
/// digits. A longer number is larger; at an equal length, digit order is numeric order.
///
/// A DynamoDB number cannot do this: it holds 38 significant digits, and Kinesis
/// sequence numbers have 56 (up to 129 by the API's pattern).
pub(crate) fn sequence_order(sequence: &str) -> Result<String> {
    let digits = normalise_sequence(sequence)?;
    Ok(format!("{:020}{digits}", digits.len()))
}

/// Epoch seconds at which a tombstone of a delete at `time_millis` expires: the delete
/// time plus the retention, rounded up to a whole second (a tombstone is never kept less
/// than the retention).
pub(crate) fn expires_at(time_millis: i64, retention_millis: i64) -> i64 {
    let end = time_millis.saturating_add(retention_millis.max(0));
    end.div_euclid(1000) + i64::from(end.rem_euclid(1000) != 0)
}

/// Whether an item with TTL attribute `expires_at` (epoch seconds) has expired at
/// `now_millis`: its expiry second has begun. [`now_seconds`] gives the bound that
/// condition expressions use (`expires_at <= :now`), which agrees.
pub(crate) fn expired(expires_at: i64, now_millis: i64) -> bool {
    expires_at <= now_seconds(now_millis)
}

/// Epoch seconds at `now_millis`, rounded down.
pub(crate) fn now_seconds(now_millis: i64) -> i64 {
    now_millis.div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_order_is_numeric_order() {
        let seqs = [
            "0",
            "000",
            "7",
            "9",
            "10",
            "0010",
            "99999",
            "49590338271490256608559692538361571095921575989136588898",
            "49590338271490256608559692538361571095921575989136588899",
            "50000000000000000000000000000000000000000000000000000000",
            "100000000000000000000000000000000000000000000000000000000",
        ];
        for a in seqs {
            for b in seqs {
                let want = iot_crr_state::compare_sequence_numbers(a, b).unwrap();
                let got = sequence_order(a).unwrap().cmp(&sequence_order(b).unwrap());
                assert_eq!(got, want, "{a} vs {b}");
            }
        }
        assert!(sequence_order("").is_err());
        assert!(sequence_order("1e5").is_err());
        assert!(sequence_order("-1").is_err());
    }

    #[test]
    fn dead_letter_order_is_time_then_id() {
        let keys = [
            (i64::MIN, "z"),
            (-1_000, "a"),
            (-1, "b"),
            (0, ""),
            (0, "a"),
            (0, "a#"),
            (0, "ab"),
            (0, "b"),
            (9, "a"),
            (10, "a"),
            (i64::MAX, "a"),
        ];
        for (ta, ia) in keys {
            for (tb, ib) in keys {
                let want = (ta, ia).cmp(&(tb, ib));
                let got = dead_letter_order(ta, ia).cmp(&dead_letter_order(tb, ib));
                assert_eq!(got, want, "({ta}, {ia}) vs ({tb}, {ib})");
            }
        }
        assert_eq!(dead_letter_id(&dead_letter_sk("a#b")), Some("a#b"));
    }

    #[test]
    fn expiry_rounds_up_to_the_second() {
        assert_eq!(expires_at(0, 1_000), 1);
        assert_eq!(expires_at(1, 1_000), 2);
        assert_eq!(expires_at(-1_500, 0), -1);
        assert_eq!(expires_at(i64::MAX, 1_000), i64::MAX / 1000 + 1);
        assert!(!expired(2, 1_999));
        assert!(expired(2, 2_000));
        // A tombstone is kept at least the retention.
        for t in [0, 1, 999, 1_000, 1_001, 123_456] {
            let e = expires_at(t, 7_000);
            assert!(!expired(e, t + 6_999));
            assert!(expired(e, t + 8_000));
        }
        assert_eq!(now_seconds(-1), -1);
    }
}
