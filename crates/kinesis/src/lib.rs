//! The Kinesis transport of iot-crr's event path.
//!
//! * [`StreamLocation`] names a stream (`kinesis:REGION/STREAM`); [`client`] builds its
//!   client from the standard AWS configuration chain.
//! * [`Producer`] puts records with PutRecords: bounded batches, per-record retries
//!   with back-off, order kept per partition key, optional KPL aggregation (one
//!   partition key per aggregated record).
//! * [`Consumer`] reads every shard of a stream, parents before children across
//!   reshards, hands [`Batch`]es of one shard in order to a [`Handler`], and
//!   checkpoints in an [`iot_crr_state::StateStore`] only what the handler accepted.
//!   It is transport only: de-aggregating KPL records is the handler's job
//!   (`iot_crr_kpl::deaggregate`).
//! * [`KinesisError`] is every failure, classified for retries.
//!
//! # Delivery guarantees
//!
//! At least once, in order per shard (and so per partition key): a batch comes again
//! after a handler error or a crash before its checkpoint, and the producer's ordering
//! rule re-sends records after a partial PutRecords failure ([`Producer`]). The
//! consumer of the event path must be idempotent, which it is (versions and
//! tombstones in the state store).
//!
//! # moto (the emulator the integration tests run against) and AWS
//!
//! The code follows AWS's behaviour; where moto 5.2 differs, the consumer copes and
//! the tests say so:
//!
//! * **Closed shards never end in moto.** AWS answers GetRecords on a closed shard,
//!   once it is read to its end, without a `NextShardIterator`; moto always returns one.
//!   The consumer therefore also finishes a closed shard when GetRecords returns no
//!   records from a position at or past the shard's `EndingSequenceNumber` (which is
//!   sound on AWS too: no record of the shard is past its ending sequence number).
//! * **moto routes puts to closed shards.** After SplitShard or MergeShards, moto marks
//!   the parents closed but keeps routing new records to them (its hash-range lookup
//!   does not skip closed shards, and parents come first), re-numbers the parent's
//!   records from 1, and leaves the children empty; the parent's
//!   `EndingSequenceNumber` is its newest record and grows as records keep arriving.
//!   AWS routes new records to the children. Under moto, a consumer running across a
//!   reshard may therefore finish a parent before moto's late records land in it; the
//!   resharding tests stop the consumer around the reshard, and the child-start rules
//!   are unit-tested ([`shards`]).
//! * **Sequence numbers** are small per-shard counters in moto (`1`, `2`, ...) and
//!   56-digit numbers on AWS; both compare as decimal integers.
//! * **MillisBehindLatest** in moto is 0 whenever GetRecords returns no record, and
//!   otherwise the arrival-time difference to the shard's newest record; AWS measures
//!   against the tip of the shard. Both are 0 when caught up.
//! * **ListShards pagination**: moto pages only with a `MaxResults` below its default
//!   of 10,000 and wants the stream name with `NextToken`; AWS refuses the stream name
//!   with `NextToken`. The consumer sends what AWS wants (the default page size never
//!   makes moto page).
//! * **Shard iterators** do not expire in moto (AWS: after 5 minutes), and moto never
//!   throttles or fails single records of a PutRecords: the partial-failure paths are
//!   covered by unit tests with a fake PutRecords.

mod consumer;
mod error;
mod location;
mod producer;
pub mod shards;

pub use consumer::{
    Batch, ConsumeSummary, Consumer, ConsumerOptions, Handler, HandlerError, MAX_GET_RECORDS_LIMIT,
    Record,
};
pub use error::{EXPIRED_ITERATOR, KinesisError};
pub use location::{
    ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, SCHEME, StreamLocation, client, client_from_config,
};
pub use producer::{
    MAX_BYTES_PER_REQUEST, MAX_RECORDS_PER_REQUEST, OutRecord, Producer, ProducerOptions, PutReport,
};
pub use shards::{ShardInfo, ShardStart, StartPosition};

/// Re-exported so that callers need no direct dependency for the types in this API.
pub use aws_sdk_kinesis;
/// Re-exported: [`ProducerOptions::retry`] and [`ConsumerOptions::retry`] are of its
/// [`iot_crr_registry::RetryPolicy`], errors are classified by its
/// [`iot_crr_registry::ErrorClass`].
pub use iot_crr_registry::{ErrorClass, RetryPolicy};
