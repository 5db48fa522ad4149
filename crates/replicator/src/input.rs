//! Where records come from: JSON Lines (a file or stdin) and Kinesis records (plain or
//! KPL-aggregated).

use std::io::BufRead;

use crate::InRecord;

/// Reads JSON Lines: one event per line; blank lines are skipped, a trailing `\r` is
/// dropped. Each record's origin is `NAME:LINE` (1-based). An I/O error
/// (or a line that is not UTF-8 text... which is still passed on as bytes and then
/// fails to decode as an event) ends the iteration with the error.
pub fn json_lines<R: BufRead>(
    mut reader: R,
    name: &str,
) -> impl Iterator<Item = std::io::Result<InRecord>> {
    let name = name.to_owned();
    let mut line_no = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        loop {
            if done {
                return None;
            }
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    done = true;
                    return None;
                }
                Ok(_) => {
                    line_no += 1;
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok(InRecord {
                        origin: format!("{name}:{line_no}"),
                        data: buf,
                    }));
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
    })
}

/// The partition key an event is written to a stream with: its first resource key
/// (`thing/sensor-1`), so that one resource's events stay in one shard, in order;
/// `no-resource` for an event about none (a failed API call). `None` when the event
/// does not decode (the writer picks a key; the applier dead-letters it).
pub fn partition_key(data: &[u8]) -> Option<String> {
    let e = iot_crr_events::decode(data).ok()?;
    Some(match e.keys.first() {
        Some(k) => k.to_string(),
        None => "no-resource".to_owned(),
    })
}

/// A Kinesis record that could not be split into events (a KPL record with a bad
/// checksum or a truncated message): the whole record is a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Its origin (`kinesis:STREAM/SHARD/SEQUENCE`), also its dead letter id.
    pub origin: String,
    /// Why.
    pub reason: String,
    /// The record's bytes.
    pub data: Vec<u8>,
}

/// The events of one Kinesis record: its user records when it is KPL-aggregated, else
/// the record itself. Each gets the origin `kinesis:STREAM/SHARD/SEQUENCE` (with
/// `:SUB` for the user records of an aggregate).
pub fn kinesis_records(
    stream: &str,
    shard: &str,
    sequence: &str,
    partition_key: &str,
    data: &[u8],
) -> Result<Vec<InRecord>, BadRecord> {
    let origin = format!("kinesis:{stream}/{shard}/{sequence}");
    if !iot_crr_kpl::is_aggregated(data) {
        return Ok(vec![InRecord {
            origin,
            data: data.to_vec(),
        }]);
    }
    match iot_crr_kpl::deaggregate(data, partition_key) {
        Ok(users) => Ok(users
            .into_iter()
            .enumerate()
            .map(|(i, u)| InRecord {
                origin: format!("{origin}:{i}"),
                data: u.data,
            })
            .collect()),
        Err(e) => Err(BadRecord {
            origin,
            reason: format!("cannot de-aggregate the KPL record: {e}"),
            data: data.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_and_number_from_one() {
        let text = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        let recs: Vec<_> = json_lines(&text[..], "in.jsonl")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].origin, "in.jsonl:1");
        assert_eq!(recs[0].data, b"{\"a\":1}");
        assert_eq!(recs[1].origin, "in.jsonl:4");
        assert_eq!(recs[1].data, b"{\"b\":2}");
    }

    #[test]
    fn partition_keys_are_resource_keys() {
        let thing = br#"{"eventType":"THING_EVENT","eventId":"e","timestamp":1,"operation":"DELETED","thingName":"pump-7","versionNumber":1}"#;
        assert_eq!(partition_key(thing).as_deref(), Some("thing/pump-7"));
        assert_eq!(partition_key(b"not json"), None);
    }

    #[test]
    fn plain_and_aggregated_kinesis_records() {
        let plain = kinesis_records("s", "shard-0", "42", "k", b"{}").unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].origin, "kinesis:s/shard-0/42");
        let agg = iot_crr_kpl::aggregate(
            [
                ("k1", None, &b"{\"x\":1}"[..]),
                ("k2", None, &b"{\"x\":2}"[..]),
            ],
            1 << 20,
        )
        .unwrap();
        assert_eq!(agg.len(), 1);
        let users =
            kinesis_records("s", "shard-0", "43", &agg[0].partition_key, &agg[0].data).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].origin, "kinesis:s/shard-0/43:1");
        assert_eq!(users[1].data, b"{\"x\":2}");
        let mut bad = agg[0].data.clone();
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        let e = kinesis_records("s", "shard-0", "44", "k", &bad).unwrap_err();
        assert!(e.reason.contains("KPL"), "{}", e.reason);
        assert_eq!(e.origin, "kinesis:s/shard-0/44");
    }
}
