//! KPL aggregated Kinesis records.
//!
//! The Kinesis Producer Library packs many *user records* into one Kinesis record:
//! 4 magic bytes `F3 89 9A C2`, then a protobuf `AggregatedRecord`, then the 16-byte MD5
//! of the protobuf bytes. A record without the magic is a plain record (one user record).
//!
//! * [`deaggregate`] turns one Kinesis record into its user records, with typed errors
//!   ([`KplError`]); a bad record fails alone and no input panics.
//! * [`Aggregator`] packs user records into aggregated records that stay within the
//!   Kinesis record limit (data plus partition key); [`aggregate`] does a whole batch and
//!   sends a lone user record as a plain record.

mod aggregate;
mod deaggregate;
mod proto;

pub use aggregate::{
    AggregateError, Aggregator, DEFAULT_MAX_RECORD_SIZE, KINESIS_MAX_RECORD_SIZE, KinesisRecord,
    MAX_PARTITION_KEY_CHARS, aggregate,
};
pub use deaggregate::{KplError, UserRecord, deaggregate, is_aggregated};

/// The 4 bytes that start every aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// Length of the MD5 trailer.
pub const DIGEST_LEN: usize = 16;
