//! Aggregation: user records in, size-bounded aggregated Kinesis records out.

use std::collections::HashMap;

use md5::{Digest, Md5};
use prost::encoding::{encode_varint, encoded_len_varint};

use crate::{DIGEST_LEN, MAGIC};

/// The Kinesis limit on one record: data plus partition key, 1 MiB.
pub const KINESIS_MAX_RECORD_SIZE: usize = 1024 * 1024;

/// Default size bound of an aggregated record (data plus partition key): 1 KiB under the
/// Kinesis limit.
pub const DEFAULT_MAX_RECORD_SIZE: usize = KINESIS_MAX_RECORD_SIZE - 1024;

/// The Kinesis limit on a partition key, in Unicode scalar values.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Smallest accepted size bound (magic, MD5, and room for a tiny record).
const MIN_MAX_RECORD_SIZE: usize = 64;

// Protobuf keys (field number << 3 | wire type).
const KEY_PK_TABLE: u8 = 0x0A; // field 1, length-delimited
const KEY_EHK_TABLE: u8 = 0x12; // field 2, length-delimited
const KEY_RECORDS: u8 = 0x1A; // field 3, length-delimited
const KEY_PK_INDEX: u8 = 0x08; // Record field 1, varint
const KEY_EHK_INDEX: u8 = 0x10; // Record field 2, varint
const KEY_DATA: u8 = 0x1A; // Record field 3, length-delimited

/// One Kinesis record to put: aggregated, or plain when [`aggregate`] found a lone user record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisRecord {
    /// Partition key of the Kinesis record (that of its first user record).
    pub partition_key: String,
    /// Explicit hash key of the Kinesis record (that of its first user record, if any).
    pub explicit_hash_key: Option<String>,
    /// The record data (magic + protobuf + MD5, or the user data of a plain record).
    pub data: Vec<u8>,
    /// How many user records it carries.
    pub user_records: usize,
}

impl KinesisRecord {
    /// Size that counts against the Kinesis record limit: data plus partition key bytes.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Why a user record (or a size bound) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// The user record alone does not fit in one aggregated record.
    #[error(
        "user record too large: alone it makes a {size}-byte aggregated record (data plus partition key), the limit is {max}"
    )]
    RecordTooLarge {
        /// Size of an aggregated record holding only this user record.
        size: usize,
        /// The size bound.
        max: usize,
    },
    /// Kinesis refuses an empty partition key.
    #[error("partition key is empty")]
    EmptyPartitionKey,
    /// Kinesis refuses a partition key over 256 characters.
    #[error(
        "partition key has {chars} characters, Kinesis allows at most {MAX_PARTITION_KEY_CHARS}"
    )]
    PartitionKeyTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// An explicit hash key must be a decimal integer in 0..2^128.
    #[error("explicit hash key {key:?} is not a decimal integer in 0..2^128")]
    InvalidExplicitHashKey {
        /// The key.
        key: String,
    },
    /// The size bound is outside what Kinesis and the format allow.
    #[error(
        "maximum record size {max} is out of range ({MIN_MAX_RECORD_SIZE}..={KINESIS_MAX_RECORD_SIZE})"
    )]
    MaxSizeOutOfRange {
        /// The requested bound.
        max: usize,
    },
}

/// Packs user records into aggregated records of at most a given size (data plus partition
/// key), in order, with partition keys and explicit hash keys deduplicated in the tables.
#[derive(Debug)]
pub struct Aggregator {
    max_size: usize,
    plain_when_single: bool,
    pk_table: Vec<String>,
    pk_index: HashMap<String, u64>,
    /// Encoded size of the partition key table fields.
    pk_bytes: usize,
    ehk_table: Vec<String>,
    ehk_index: HashMap<String, u64>,
    ehk_bytes: usize,
    first_ehk: Option<String>,
    /// The encoded `records` fields (key, length, Record) in order.
    records: Vec<u8>,
    count: usize,
    /// Length of the last user record's data (the tail of `records`).
    last_data_len: usize,
}

impl Default for Aggregator {
    fn default() -> Self {
        Self::new()
    }
}

impl Aggregator {
    /// An aggregator bounded by [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> Self {
        Self {
            max_size: DEFAULT_MAX_RECORD_SIZE,
            plain_when_single: false,
            pk_table: Vec::new(),
            pk_index: HashMap::new(),
            pk_bytes: 0,
            ehk_table: Vec::new(),
            ehk_index: HashMap::new(),
            ehk_bytes: 0,
            first_ehk: None,
            records: Vec::new(),
            count: 0,
            last_data_len: 0,
        }
    }

    /// An aggregator bounded by `max_size` bytes per record (data plus partition key), at
    /// most [`KINESIS_MAX_RECORD_SIZE`].
    pub fn with_max_size(max_size: usize) -> Result<Self, AggregateError> {
        if !(MIN_MAX_RECORD_SIZE..=KINESIS_MAX_RECORD_SIZE).contains(&max_size) {
            return Err(AggregateError::MaxSizeOutOfRange { max: max_size });
        }
        Ok(Self {
            max_size,
            ..Self::new()
        })
    }

    /// Emit a record holding a single user record as a plain record (its data as is) rather
    /// than an aggregated one, unless its data starts with the KPL magic.
    pub fn plain_when_single(mut self, yes: bool) -> Self {
        self.plain_when_single = yes;
        self
    }

    /// The size bound.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of user records waiting.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no user record is waiting.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size (data plus partition key) of the aggregated record [`finish`](Self::finish)
    /// would produce now; 0 when empty.
    pub fn size(&self) -> usize {
        if self.count == 0 {
            return 0;
        }
        MAGIC.len() + self.body_len() + DIGEST_LEN + self.pk_table[0].len()
    }

    /// Adds a user record. When it does not fit in the current aggregated record, that record
    /// is returned (complete) and the user record starts the next one. A refused user record
    /// leaves the aggregator unchanged.
    pub fn add(
        &mut self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data: &[u8],
    ) -> Result<Option<KinesisRecord>, AggregateError> {
        validate_partition_key(partition_key)?;
        if let Some(ehk) = explicit_hash_key {
            validate_explicit_hash_key(ehk)?;
        }
        let alone = MAGIC.len()
            + DIGEST_LEN
            + partition_key.len()
            + table_entry_len(partition_key)
            + explicit_hash_key.map_or(0, table_entry_len)
            + record_entry_len(0, explicit_hash_key.map(|_| 0), data.len());
        if alone > self.max_size {
            return Err(AggregateError::RecordTooLarge {
                size: alone,
                max: self.max_size,
            });
        }
        // Look the keys up once; a flush empties the tables.
        let mut pk_known = self.pk_index.get(partition_key).copied();
        let mut ehk_known = explicit_hash_key.and_then(|k| self.ehk_index.get(k).copied());
        let out = if self.count > 0
            && self.size_with(pk_known, ehk_known, partition_key, explicit_hash_key, data)
                > self.max_size
        {
            pk_known = None;
            ehk_known = None;
            self.take()
        } else {
            None
        };
        self.push(pk_known, ehk_known, partition_key, explicit_hash_key, data);
        Ok(out)
    }

    /// Returns the waiting user records as one record (`None` when empty) and starts afresh.
    pub fn finish(&mut self) -> Option<KinesisRecord> {
        self.take()
    }

    fn body_len(&self) -> usize {
        self.pk_bytes + self.ehk_bytes + self.records.len()
    }

    /// Size of the current record with one more user record (`count > 0`); `pk_known` and
    /// `ehk_known` are the keys' indexes when already in the tables.
    fn size_with(
        &self,
        pk_known: Option<u64>,
        ehk_known: Option<u64>,
        pk: &str,
        ehk: Option<&str>,
        data: &[u8],
    ) -> usize {
        let (pk_index, pk_new) = match pk_known {
            Some(i) => (i, 0),
            None => (self.pk_table.len() as u64, table_entry_len(pk)),
        };
        let (ehk_index, ehk_new) = match ehk {
            None => (None, 0),
            Some(k) => match ehk_known {
                Some(i) => (Some(i), 0),
                None => (Some(self.ehk_table.len() as u64), table_entry_len(k)),
            },
        };
        self.size() + pk_new + ehk_new + record_entry_len(pk_index, ehk_index, data.len())
    }

    fn push(
        &mut self,
        pk_known: Option<u64>,
        ehk_known: Option<u64>,
        pk: &str,
        ehk: Option<&str>,
        data: &[u8],
    ) {
        let pk_index = match pk_known {
            Some(i) => i,
            None => {
                let i = self.pk_table.len() as u64;
                self.pk_table.push(pk.to_owned());
                self.pk_index.insert(pk.to_owned(), i);
                self.pk_bytes += table_entry_len(pk);
                i
            }
        };
        let ehk_index = ehk.map(|k| match ehk_known {
            Some(i) => i,
            None => {
                let i = self.ehk_table.len() as u64;
                self.ehk_table.push(k.to_owned());
                self.ehk_index.insert(k.to_owned(), i);
                self.ehk_bytes += table_entry_len(k);
                i
            }
        });
        if self.count == 0 {
            self.first_ehk = ehk.map(str::to_owned);
        }
        let inner = record_inner_len(pk_index, ehk_index, data.len());
        let buf = &mut self.records;
        buf.reserve(1 + encoded_len_varint(inner as u64) + inner);
        buf.push(KEY_RECORDS);
        encode_varint(inner as u64, buf);
        buf.push(KEY_PK_INDEX);
        encode_varint(pk_index, buf);
        if let Some(i) = ehk_index {
            buf.push(KEY_EHK_INDEX);
            encode_varint(i, buf);
        }
        buf.push(KEY_DATA);
        encode_varint(data.len() as u64, buf);
        buf.extend_from_slice(data);
        self.count += 1;
        self.last_data_len = data.len();
    }

    fn take(&mut self) -> Option<KinesisRecord> {
        if self.count == 0 {
            return None;
        }
        let partition_key = self.pk_table[0].clone();
        let explicit_hash_key = self.first_ehk.take();
        let user_records = self.count;
        let data = if self.plain_when_single
            && self.count == 1
            && !self.records[self.records.len() - self.last_data_len..].starts_with(&MAGIC)
        {
            self.records
                .split_off(self.records.len() - self.last_data_len)
        } else {
            let mut out = Vec::with_capacity(MAGIC.len() + self.body_len() + DIGEST_LEN);
            out.extend_from_slice(&MAGIC);
            for k in &self.pk_table {
                write_string_field(&mut out, KEY_PK_TABLE, k);
            }
            for k in &self.ehk_table {
                write_string_field(&mut out, KEY_EHK_TABLE, k);
            }
            out.extend_from_slice(&self.records);
            let digest = Md5::digest(&out[MAGIC.len()..]);
            out.extend_from_slice(&digest);
            out
        };
        self.pk_table.clear();
        self.pk_index.clear();
        self.pk_bytes = 0;
        self.ehk_table.clear();
        self.ehk_index.clear();
        self.ehk_bytes = 0;
        self.records.clear();
        self.count = 0;
        self.last_data_len = 0;
        Some(KinesisRecord {
            partition_key,
            explicit_hash_key,
            data,
            user_records,
        })
    }
}

/// Aggregates a batch of user records `(partition key, explicit hash key, data)` in order
/// into records of at most `max_size` bytes each (data plus partition key). A record that ends
/// up with a single user record is sent plain (unless its data starts with the KPL magic).
pub fn aggregate<'a, I>(records: I, max_size: usize) -> Result<Vec<KinesisRecord>, AggregateError>
where
    I: IntoIterator<Item = (&'a str, Option<&'a str>, &'a [u8])>,
{
    let mut agg = Aggregator::with_max_size(max_size)?.plain_when_single(true);
    let mut out = Vec::new();
    for (pk, ehk, data) in records {
        if let Some(done) = agg.add(pk, ehk, data)? {
            out.push(done);
        }
    }
    out.extend(agg.finish());
    Ok(out)
}

fn validate_partition_key(pk: &str) -> Result<(), AggregateError> {
    if pk.is_empty() {
        return Err(AggregateError::EmptyPartitionKey);
    }
    // Bytes bound characters from above: count only when it may matter.
    if pk.len() > MAX_PARTITION_KEY_CHARS {
        let chars = pk.chars().count();
        if chars > MAX_PARTITION_KEY_CHARS {
            return Err(AggregateError::PartitionKeyTooLong { chars });
        }
    }
    Ok(())
}

fn validate_explicit_hash_key(ehk: &str) -> Result<(), AggregateError> {
    let ok = !ehk.is_empty()
        && ehk.bytes().all(|b| b.is_ascii_digit())
        && (ehk == "0" || !ehk.starts_with('0'))
        && ehk.parse::<u128>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(AggregateError::InvalidExplicitHashKey {
            key: ehk.to_owned(),
        })
    }
}

/// Encoded length of a table entry (key, length, bytes).
fn table_entry_len(s: &str) -> usize {
    1 + encoded_len_varint(s.len() as u64) + s.len()
}

/// Encoded length of a `Record` message body.
fn record_inner_len(pk_index: u64, ehk_index: Option<u64>, data_len: usize) -> usize {
    1 + encoded_len_varint(pk_index)
        + ehk_index.map_or(0, |i| 1 + encoded_len_varint(i))
        + 1
        + encoded_len_varint(data_len as u64)
        + data_len
}

/// Encoded length of a `records` entry (key, length, Record).
fn record_entry_len(pk_index: u64, ehk_index: Option<u64>, data_len: usize) -> usize {
    let inner = record_inner_len(pk_index, ehk_index, data_len);
    1 + encoded_len_varint(inner as u64) + inner
}

fn write_string_field(out: &mut Vec<u8>, key: u8, s: &str) {
    out.push(key);
    encode_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}
