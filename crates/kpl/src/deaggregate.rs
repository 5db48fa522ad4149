//! De-aggregation: one Kinesis record in, its user records out.

use md5::{Digest, Md5};
use prost::Message;

use crate::proto::AggregatedRecord;
use crate::{DIGEST_LEN, MAGIC};

/// One user record taken out of a Kinesis record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Partition key: from the aggregated record's table, or the Kinesis record's own key for
    /// a plain record.
    pub partition_key: String,
    /// Explicit hash key, when the user record has one.
    pub explicit_hash_key: Option<String>,
    /// The user data.
    pub data: Vec<u8>,
    /// Index of the user record in its Kinesis record (the sub-sequence number); 0 for a plain
    /// record.
    pub sub_sequence_number: u64,
    /// Whether the Kinesis record was an aggregated record.
    pub aggregated: bool,
}

/// Why a Kinesis record that starts with the KPL magic cannot be de-aggregated.
#[derive(Debug, thiserror::Error)]
pub enum KplError {
    /// The record has the magic but not room for it and the MD5 trailer.
    #[error(
        "aggregated record too short: {len} bytes, at least {} needed (4 magic bytes + 16 MD5 bytes)",
        MAGIC.len() + DIGEST_LEN
    )]
    TooShort {
        /// Length of the record.
        len: usize,
    },
    /// The MD5 trailer does not match the protobuf bytes.
    #[error(
        "aggregated record has a bad MD5 checksum: expected {expected} (MD5 of the protobuf bytes), found {found} (trailer)"
    )]
    BadChecksum {
        /// MD5 of the protobuf bytes, hex.
        expected: String,
        /// The trailer, hex.
        found: String,
    },
    /// The protobuf bytes do not decode (truncated or corrupt message, invalid UTF-8 key).
    #[error("aggregated record protobuf cannot be decoded (truncated or corrupt): {0}")]
    Decode(#[from] prost::DecodeError),
    /// A user record names a partition key beyond the table.
    #[error(
        "user record {record}: partition key index {index} out of range (the table has {table_len} keys)"
    )]
    PartitionKeyIndexOutOfRange {
        /// Index of the user record.
        record: usize,
        /// The index it names.
        index: u64,
        /// Length of the partition key table.
        table_len: usize,
    },
    /// A user record names an explicit hash key beyond the table.
    #[error(
        "user record {record}: explicit hash key index {index} out of range (the table has {table_len} keys)"
    )]
    ExplicitHashKeyIndexOutOfRange {
        /// Index of the user record.
        record: usize,
        /// The index it names.
        index: u64,
        /// Length of the explicit hash key table.
        table_len: usize,
    },
}

/// Whether `data` starts with the KPL magic (and so must be de-aggregated).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// De-aggregates one Kinesis record with partition key `partition_key`.
///
/// A plain record (no magic) is one user record with `partition_key`. An aggregated record
/// yields its user records in order, each with its partition key, its explicit hash key when
/// it has one, and its index. The whole record fails if any part of it is bad; nothing is
/// returned half-decoded.
pub fn deaggregate(data: &[u8], partition_key: &str) -> Result<Vec<UserRecord>, KplError> {
    if !is_aggregated(data) {
        return Ok(vec![UserRecord {
            partition_key: partition_key.to_owned(),
            explicit_hash_key: None,
            data: data.to_vec(),
            sub_sequence_number: 0,
            aggregated: false,
        }]);
    }
    if data.len() < MAGIC.len() + DIGEST_LEN {
        return Err(KplError::TooShort { len: data.len() });
    }
    let (body, trailer) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_LEN);
    let computed = Md5::digest(body);
    if computed.as_slice() != trailer {
        return Err(KplError::BadChecksum {
            expected: hex(&computed),
            found: hex(trailer),
        });
    }
    let message = AggregatedRecord::decode(body)?;
    let pks = &message.partition_key_table;
    let ehks = &message.explicit_hash_key_table;
    let mut out = Vec::with_capacity(message.records.len());
    for (i, record) in message.records.into_iter().enumerate() {
        let pk = usize::try_from(record.partition_key_index)
            .ok()
            .and_then(|index| pks.get(index))
            .ok_or(KplError::PartitionKeyIndexOutOfRange {
                record: i,
                index: record.partition_key_index,
                table_len: pks.len(),
            })?;
        let ehk = match record.explicit_hash_key_index {
            None => None,
            Some(index) => Some(
                usize::try_from(index)
                    .ok()
                    .and_then(|index| ehks.get(index))
                    .ok_or(KplError::ExplicitHashKeyIndexOutOfRange {
                        record: i,
                        index,
                        table_len: ehks.len(),
                    })?
                    .clone(),
            ),
        };
        out.push(UserRecord {
            partition_key: pk.clone(),
            explicit_hash_key: ehk,
            data: record.data,
            sub_sequence_number: i as u64,
            aggregated: true,
        });
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}
