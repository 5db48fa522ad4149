//! A DynamoDB [`StateStore`] for iot-crr's event path, for the Lambda deployment: many
//! concurrent invocations share one table, and every write that must never go
//! backwards is a conditional write.
//!
//! # The table
//!
//! One table (single-table design), made by [`create_table`] or by the deployment's
//! template:
//!
//! | what | value |
//! | --- | --- |
//! | partition key | `pk`, string ([`PARTITION_KEY`]) |
//! | sort key | `sk`, string ([`SORT_KEY`]) |
//! | local secondary index | `lsi1` ([`LSI_NAME`]): partition key `pk`, sort key `lsi1_sk` (string, [`LSI_SORT_KEY`]), projection `KEYS_ONLY` |
//! | billing | on demand (`PAY_PER_REQUEST`) |
//! | time to live | enabled on `expires_at` ([`TTL_ATTRIBUTE`]), epoch seconds |
//!
//! The items:
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | checkpoint | `checkpoint#STREAM` | `shard#SHARD` | `sequence` (S, as given), `sequence_order` (S, see below) |
//! | finished shard | `finished#STREAM` | `shard#SHARD` | none |
//! | applied version | `applied#KIND/NAME` | `applied` | `time_millis` (N), `deleted` (BOOL), `version` (N, when known), `expires_at` (N, tombstones only) |
//! | progress | `progress#NAME` | `applied` | `value` (S), `revision` (N) |
//! | dead letter | `deadletter` | `id#ID` | `lsi1_sk` (S: time, then id), `reason` (S), `raw` (B), `source` (S), `time_millis` (N) |
//!
//! `KIND` is the kind's snapshot name (`thing`, `thingGroup`, ...). The prefixes make
//! keys unambiguous and never empty (DynamoDB refuses an empty key attribute). Each
//! resource and each checkpoint is an item of its own, so writes spread over
//! partitions. All dead letters share one partition: one item per id (so that putting
//! a dead letter with an existing id replaces it in one `PutItem`), and the sparse local
//! secondary index orders them by time, then id (only dead letters carry `lsi1_sk`). A
//! local index is updated with its item (a strongly consistent query sees a put at
//! once, which a global index would not); its cost is DynamoDB's 10 GB limit on one
//! partition key's items, that is on all dead letters together.
//!
//! # Requests and IAM actions
//!
//! Each method is one request, or a bounded few, on the table (reads are strongly
//! consistent):
//!
//! | method | requests |
//! | --- | --- |
//! | `get_checkpoint`, `is_shard_finished`, `last_applied`, `is_tombstoned`, `get_progress` | `GetItem` |
//! | `put_checkpoint`, `record_applied`, `put_progress` | `PutItem` with a `ConditionExpression` |
//! | `finish_shard`, `put_dead_letter` | `PutItem` |
//! | `remove_dead_letter` | `DeleteItem` (condition: the item exists) |
//! | `list_dead_letters` | `Query` on `lsi1` (keys, pages of up to 100), `BatchGetItem` of those keys |
//! | `count_dead_letters` | `Query` on `lsi1` with `Select=COUNT` (one per 1 MB of index keys) |
//! | `purge_tombstones` | none (tombstones expire by TTL) |
//!
//! The store therefore needs `dynamodb:GetItem`, `dynamodb:PutItem`,
//! `dynamodb:DeleteItem`, `dynamodb:Query` and `dynamodb:BatchGetItem` on the table and
//! its indexes (`arn:...:table/NAME` and `arn:...:table/NAME/index/*`); [`create_table`]
//! also needs `dynamodb:CreateTable`, `dynamodb:DescribeTable` and
//! `dynamodb:UpdateTimeToLive`.
//!
//! # Never backwards: conditional writes
//!
//! `put_checkpoint` puts the checkpoint on the condition that no checkpoint exists or
//! that the stored `sequence_order` is below the new one. Kinesis sequence numbers are
//! 56-digit decimal integers; a DynamoDB number holds only 38 significant digits, so the
//! order is kept in a string compared byte-wise: the count of digits (leading zeros
//! dropped) as 20 digits, then the digits. A longer number is larger and at an equal
//! length digit order is numeric order, for any length.
//!
//! `record_applied` puts the change on one condition expression that is
//! [`Applied::supersedes`] written over the stored attributes (`:t`, `:v` the new
//! change's time and version; the comparisons for "a delete wins at an equal version
//! or time" are `<=` for a delete and `<` otherwise, chosen when the request is built):
//!
//! ```text
//! attribute_not_exists(pk)                        -- nothing stored
//! OR expires_at <= :now                           -- an expired tombstone (see below)
//! OR (deleted = true AND time_millis < :t)        -- rule 1: after a delete, time
//! OR (deleted = false AND (                       -- rules 2 and 3 (new version known)
//!       (attribute_exists(version) AND version < :v)
//!    OR (attribute_not_exists(version) AND time_millis < :t)))
//! OR (deleted = false AND time_millis < :t)       -- rule 3 (new version unknown)
//! ```
//!
//! A failed condition (`ConditionalCheckFailedException`) is the answer "not stored".
//! No read is needed and no retry loop: DynamoDB evaluates the condition and writes the
//! item atomically, so racing invocations cannot move a resource backwards.
//!
//! # Tombstones expire by TTL
//!
//! A delete's item carries `expires_at` = its time plus the retention
//! ([`DynamoStore::with_tombstone_retention_millis`], by default
//! [`DEFAULT_TOMBSTONE_RETENTION_MILLIS`]), in epoch seconds rounded up. DynamoDB's TTL
//! deletes it some time after (typically within days), so
//! [`StateStore::purge_tombstones`] does nothing and returns 0, as the trait allows.
//! Until TTL deletes it, an expired tombstone is treated as gone: `last_applied` and
//! `is_tombstoned` ignore it, and `record_applied` replaces it whatever the new change
//! (the `expires_at <= :now` above), as the other stores behave after a purge. An update
//! replaces the whole item, so a re-created resource's item has no `expires_at`.
//!
//! # Dead letters and the 400 KB item limit
//!
//! A DynamoDB item (with its local index entry) holds at most 400 KB. A dead letter whose
//! raw bytes would not fit is stored with them truncated, and its reason says so
//! (`[raw truncated to its first N of M bytes ...]`); a reason or source over 64 KiB is
//! truncated too. The put never fails for its size. An id longer than about 1,000 bytes is refused
//! by DynamoDB (a key attribute holds at most 1,024), as a [`StateError::Backend`].
//!
//! # Errors and retries
//!
//! Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`,
//! `RequestLimitExceeded`), 5xx answers and transient network errors are retried by the
//! SDK's standard retry mode (the client's own configuration: [`connect`] loads the
//! standard AWS configuration, where `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` apply).
//! What remains is a [`StateError::Backend`] naming the operation, or a
//! [`StateError::Corrupt`] for an item this build cannot read.
//!
//! # moto
//!
//! The tests run against moto's DynamoDB (5.2.1). Where it differs from AWS:
//! - A conditional write is not atomic: moto reads the item, evaluates the condition
//!   and writes without a lock while its server handles requests on many threads, so
//!   two racing writes can both pass (a lost update; the racing tests saw a resource
//!   end at version 39 of 40). `scripts/moto_server.py` serialises moto's DynamoDB
//!   requests, as AWS's conditional writes are atomic per item; the racing tests need
//!   it.
//! - A query on a local index with `KEYS_ONLY` projection and `Select=ALL_ATTRIBUTES`
//!   returns only the keys (AWS fetches the other attributes from the table). The store
//!   does not rely on that fetch either way: it queries the index for keys and reads the
//!   items with `BatchGetItem`.
//! - TTL is recorded (`DescribeTimeToLive` answers `ENABLED`) but moto never deletes an
//!   expired item; the store ignores expired tombstones itself, on AWS too.
//! - moto counts a binary attribute's size by its base64 text (4/3 of its bytes) and
//!   refuses items over 405,000 of its bytes, where AWS counts the bytes themselves and
//!   allows 400 KiB: the tests size dead letters for moto with
//!   [`DynamoStore::with_max_item_bytes`] (300 KiB).
//! - Table creation is immediate (`ACTIVE` at once); [`create_table`] waits for
//!   `ACTIVE` as AWS needs.

mod encode;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, Select, TableStatus,
    TimeToLiveSpecification,
};
use iot_crr_model::ResourceKey;
use iot_crr_state::{Applied, DeadLetter, Progress, Result, StateError, StateStore};

/// Re-exported so that callers need no direct dependency for the types in this API.
pub use aws_sdk_dynamodb;
pub use iot_crr_state::DEFAULT_TOMBSTONE_RETENTION_MILLIS;

use encode::{
    DEAD_LETTER_PK, SINGLE_SK, applied_pk, checkpoint_pk, dead_letter_id, dead_letter_order,
    dead_letter_sk, expired, expires_at, finished_pk, now_seconds, progress_pk, sequence_order,
    shard_sk,
};

/// The table's partition key (a string).
pub const PARTITION_KEY: &str = "pk";
/// The table's sort key (a string).
pub const SORT_KEY: &str = "sk";
/// The local secondary index that orders dead letters (partition key [`PARTITION_KEY`],
/// sort key [`LSI_SORT_KEY`], projection `KEYS_ONLY`).
pub const LSI_NAME: &str = "lsi1";
/// The sort key of [`LSI_NAME`] (a string; only dead letters carry it).
pub const LSI_SORT_KEY: &str = "lsi1_sk";
/// The attribute DynamoDB's time to live is enabled on: epoch seconds, set on
/// tombstones only.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The largest item DynamoDB stores, its local index entry included: 400 KB. The
/// default of [`DynamoStore::with_max_item_bytes`].
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Room kept below the item limit for DynamoDB's per-item and per-index overheads and
/// the truncation note.
const ITEM_MARGIN_BYTES: usize = 4 * 1024;
/// The most a dead letter's reason or source keeps.
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Keys read per page of a dead letter listing, and per `BatchGetItem` (its maximum).
const LIST_PAGE: usize = 100;
/// How many times a `BatchGetItem` is repeated for the keys it left unprocessed.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// Connecting to DynamoDB is bounded by this (by [`connect`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);
/// Each request attempt is bounded by this (by [`connect`]): the SDK sets no read
/// timeout by default.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Milliseconds since the epoch, now.
type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A [`StateStore`] in one DynamoDB table (see the crate documentation for its schema).
/// Cloning is cheap and shares the client.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention_millis: i64,
    max_item_bytes: usize,
    clock: Clock,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("retention_millis", &self.retention_millis)
            .finish_non_exhaustive()
    }
}

/// A DynamoDB client for `region` (when given; otherwise the configured one, such as
/// Lambda's `AWS_REGION`) from the standard AWS configuration chain (environment
/// variables, shared config and credentials files, SSO, web identity, container and
/// instance credentials), with `endpoint_url` (an emulator such as moto, or a VPC
/// endpoint) overriding it when given. Retries are the configuration's (standard mode
/// by default); each attempt is bounded by [`ATTEMPT_TIMEOUT`], connecting by
/// [`CONNECT_TIMEOUT`]. No call is made.
pub async fn connect_client(region: Option<&str>, endpoint_url: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build(),
    );
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    client_from_config(&loader.load().await, endpoint_url)
}

/// A DynamoDB client from an already loaded configuration (tests use static
/// credentials), with `endpoint_url` overriding the configuration's when given.
pub fn client_from_config(config: &SdkConfig, endpoint_url: Option<&str>) -> Client {
    let mut conf = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(e) = endpoint_url {
        conf = conf.endpoint_url(e);
    }
    Client::from_conf(conf.build())
}

/// A store on `table` with a client from [`connect_client`] (the standard AWS
/// configuration, `region` and `endpoint_url` overriding it when given) and the default
/// options. No call is made: the table must exist ([`create_table`]).
pub async fn connect(
    table: impl Into<String>,
    region: Option<&str>,
    endpoint_url: Option<&str>,
) -> DynamoStore {
    DynamoStore::new(connect_client(region, endpoint_url).await, table)
}

/// Creates `table` with the store's schema (see the crate documentation): on-demand
/// billing, the local index [`LSI_NAME`], then waits until it is `ACTIVE` (up to about
/// two minutes) and enables time to live on [`TTL_ATTRIBUTE`]. For tests and manual
/// setups; a deployment's template declares the same.
pub async fn create_table(client: &Client, table: &str) -> Result<()> {
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StateError::Backend(format!("DynamoDB CreateTable {table}: {e}")))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| StateError::Backend(format!("DynamoDB CreateTable {table}: {e}")))
    };
    let lsi = LocalSecondaryIndex::builder()
        .index_name(LSI_NAME)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(LSI_SORT_KEY, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| StateError::Backend(format!("DynamoDB CreateTable {table}: {e}")))?;
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(PARTITION_KEY)?)
        .attribute_definitions(string_attr(SORT_KEY)?)
        .attribute_definitions(string_attr(LSI_SORT_KEY)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .local_secondary_indexes(lsi)
        .send()
        .await
        .map_err(|e| backend("CreateTable", table, e))?;
    let mut active = false;
    for _ in 0..240 {
        let status = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| backend("DescribeTable", table, e))?
            .table
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !active {
        return Err(StateError::Backend(format!(
            "DynamoDB table {table} did not become ACTIVE"
        )));
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| StateError::Backend(format!("DynamoDB UpdateTimeToLive {table}: {e}")))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| backend("UpdateTimeToLive", table, e))?;
    Ok(())
}

/// A request's error as a [`StateError::Backend`] naming the operation and the table,
/// with the error's whole chain of causes.
fn backend<E, R>(op: &str, table: &str, e: SdkError<E, R>) -> StateError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: fmt::Debug,
{
    let cause = match (&e, e.code()) {
        // A service's answer: its error code and message (the rest is the raw response).
        (SdkError::ServiceError(_), Some(code)) => {
            format!("{code}: {}", e.message().unwrap_or("no message"))
        }
        // Construction, timeout, dispatch (network) and response errors: the causes.
        _ => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    };
    StateError::Backend(format!("DynamoDB {op} on table {table}: {cause}"))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

type Item = HashMap<String, AttributeValue>;

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        other => Err(corrupt(item, name, other)),
    }
}

fn get_n(item: &Item, name: &str) -> Result<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(item, name, item.get(name))),
        other => Err(corrupt(item, name, other)),
    }
}

fn get_opt_n(item: &Item, name: &str) -> Result<Option<i64>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(true)) => Ok(None),
        Some(_) => get_n(item, name).map(Some),
    }
}

fn get_bool(item: &Item, name: &str) -> Result<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        other => Err(corrupt(item, name, other)),
    }
}

fn corrupt(item: &Item, name: &str, value: Option<&AttributeValue>) -> StateError {
    let pk = item.get(PARTITION_KEY).and_then(|v| v.as_s().ok());
    let sk = item.get(SORT_KEY).and_then(|v| v.as_s().ok());
    StateError::Corrupt(format!(
        "DynamoDB item ({pk:?}, {sk:?}): attribute {name} is {value:?}"
    ))
}

/// The largest prefix of `text` of at most `max` bytes that ends on a character.
fn truncate_text(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// The dead letter as it fits one item of at most `max_item` bytes: its reason and
/// source at most [`MAX_TEXT_BYTES`], its raw bytes truncated to fit (with the reason
/// saying so).
fn fit_dead_letter(mut letter: DeadLetter, max_item: usize) -> DeadLetter {
    const NOTE: &str = " [truncated]";
    if truncate_text(&mut letter.reason, MAX_TEXT_BYTES) {
        letter.reason.push_str(NOTE);
    }
    if truncate_text(&mut letter.source, MAX_TEXT_BYTES) {
        letter.source.push_str(NOTE);
    }
    let sk = dead_letter_sk(&letter.id);
    let order = dead_letter_order(letter.time_millis, &letter.id);
    // The table's item: names and values (a number takes at most 21 bytes).
    let keys = PARTITION_KEY.len() + DEAD_LETTER_PK.len() + SORT_KEY.len() + sk.len();
    let item = keys
        + LSI_SORT_KEY.len()
        + order.len()
        + "reason".len()
        + letter.reason.len()
        + "source".len()
        + letter.source.len()
        + "time_millis".len()
        + 21
        + "raw".len();
    // The local index entry: the table's keys and the index's.
    let index = keys + LSI_SORT_KEY.len() + order.len();
    let room = max_item.saturating_sub(ITEM_MARGIN_BYTES + item + index);
    if letter.raw.len() > room {
        let total = letter.raw.len();
        letter.raw.truncate(room);
        letter.reason.push_str(&format!(
            " [raw truncated to its first {room} of {total} bytes: a DynamoDB item holds \
             at most {} KB]",
            max_item / 1024
        ));
    }
    letter
}

impl DynamoStore {
    /// A store on `table` (which must exist: [`create_table`]) through `client`, whose
    /// configuration decides the region, credentials and retries. Tombstones are kept
    /// [`DEFAULT_TOMBSTONE_RETENTION_MILLIS`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            retention_millis: DEFAULT_TOMBSTONE_RETENTION_MILLIS,
            max_item_bytes: MAX_ITEM_BYTES,
            clock: Arc::new(system_clock),
        }
    }

    /// Keeps tombstones `millis` after their delete's time (negative counts as 0): the
    /// `expires_at` written on a delete. Changing it affects deletes recorded from then
    /// on only.
    pub fn with_tombstone_retention_millis(mut self, millis: i64) -> Self {
        self.retention_millis = millis;
        self
    }

    /// Sizes dead letters to fit items of at most `bytes` (the item with its local index
    /// entry, counted as AWS does: attribute names and values, binary values by their
    /// bytes) instead of [`MAX_ITEM_BYTES`]. For emulators that count differently: moto
    /// counts a binary value by its base64 text, 4/3 of its bytes, and refuses items
    /// over 405,000 of its bytes, so 300 KiB suits it.
    pub fn with_max_item_bytes(mut self, bytes: usize) -> Self {
        self.max_item_bytes = bytes;
        self
    }

    /// Reads the time from `clock` (milliseconds since the epoch) instead of the
    /// system clock, to decide whether a tombstone has expired. For tests.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How long tombstones are kept, in milliseconds.
    pub fn tombstone_retention_millis(&self) -> i64 {
        self.retention_millis
    }

    fn err<E, R>(&self, op: &str, e: SdkError<E, R>) -> StateError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
        R: fmt::Debug,
    {
        backend(op, &self.table, e)
    }

    /// A strongly consistent `GetItem`.
    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("GetItem", e))?;
        Ok(out.item)
    }

    /// The applied item of `key`, unless it is an expired tombstone.
    async fn read_applied(&self, key: &ResourceKey) -> Result<Option<Applied>> {
        let Some(item) = self.get(applied_pk(key), SINGLE_SK.to_owned()).await? else {
            return Ok(None);
        };
        let applied = Applied {
            version: get_opt_n(&item, "version")?,
            time_millis: get_n(&item, "time_millis")?,
            deleted: get_bool(&item, "deleted")?,
        };
        if let Some(at) = get_opt_n(&item, TTL_ATTRIBUTE)?
            && expired(at, (self.clock)())
        {
            return Ok(None);
        }
        Ok(Some(applied))
    }

    /// Reads the items of `keys` (dead letters) with `BatchGetItem`, repeating it for
    /// the keys it leaves unprocessed.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>> {
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(LIST_PAGE) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| StateError::Backend(format!("DynamoDB BatchGetItem: {e}")))?;
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| self.err("BatchGetItem", e))?;
                if let Some(mut found) = out.responses
                    && let Some(got) = found.remove(&self.table)
                {
                    items.extend(got);
                }
                match out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty())
                {
                    None => break,
                    Some(rest) => {
                        attempt += 1;
                        if attempt >= BATCH_GET_ATTEMPTS {
                            return Err(StateError::Backend(format!(
                                "DynamoDB BatchGetItem on table {}: keys still unprocessed \
                                 after {attempt} attempts",
                                self.table
                            )));
                        }
                        tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
                        pending = rest;
                    }
                }
            }
        }
        Ok(items)
    }
}

fn is_conditional_failure(e: &SdkError<PutItemError, impl fmt::Debug>) -> bool {
    e.as_service_error()
        .is_some_and(PutItemError::is_conditional_check_failed_exception)
}

#[async_trait]
impl StateStore for DynamoStore {
    async fn get_checkpoint(&self, stream: &str, shard: &str) -> Result<Option<String>> {
        match self.get(checkpoint_pk(stream), shard_sk(shard)).await? {
            None => Ok(None),
            Some(item) => Ok(Some(get_s(&item, "sequence")?.to_owned())),
        }
    }

    async fn put_checkpoint(&self, stream: &str, shard: &str, sequence: &str) -> Result<bool> {
        let order = sequence_order(sequence)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(checkpoint_pk(stream)))
            .item(SORT_KEY, s(shard_sk(shard)))
            .item("sequence", s(sequence))
            .item("sequence_order", s(order.clone()))
            .condition_expression("attribute_not_exists(#pk) OR #o < :o")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#o", "sequence_order")
            .expression_attribute_values(":o", s(order))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(self.err("PutItem", e)),
        }
    }

    async fn finish_shard(&self, stream: &str, shard: &str) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(finished_pk(stream)))
            .item(SORT_KEY, s(shard_sk(shard)))
            .send()
            .await
            .map_err(|e| self.err("PutItem", e))?;
        Ok(())
    }

    async fn is_shard_finished(&self, stream: &str, shard: &str) -> Result<bool> {
        Ok(self
            .get(finished_pk(stream), shard_sk(shard))
            .await?
            .is_some())
    }

    async fn get_progress(&self, name: &str) -> Result<Option<Progress>> {
        match self.get(progress_pk(name), SINGLE_SK.to_owned()).await? {
            None => Ok(None),
            Some(item) => {
                let revision = get_n(&item, "revision")?;
                Ok(Some(Progress {
                    value: get_s(&item, "value")?.to_owned(),
                    revision: u64::try_from(revision)
                        .map_err(|_| corrupt(&item, "revision", item.get("revision")))?,
                }))
            }
        }
    }

    async fn put_progress(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<Option<u64>> {
        let revision = expected.unwrap_or(0) + 1;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(progress_pk(name)))
            .item(SORT_KEY, s(SINGLE_SK))
            .item("value", s(value))
            .item("revision", n(revision as i64));
        put = match expected {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY),
            Some(r) => put
                .condition_expression("#r = :r")
                .expression_attribute_names("#r", "revision")
                .expression_attribute_values(":r", n(r as i64)),
        };
        match put.send().await {
            Ok(_) => Ok(Some(revision)),
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(self.err("PutItem", e)),
        }
    }

    async fn last_applied(&self, key: &ResourceKey) -> Result<Option<Applied>> {
        self.read_applied(key).await
    }

    async fn record_applied(&self, key: &ResourceKey, applied: Applied) -> Result<bool> {
        // Applied::supersedes over the stored attributes (see the crate documentation).
        // "A delete wins at an equal version or time": `<=` for a delete.
        let lt = if applied.deleted { "<=" } else { "<" };
        let mut condition =
            String::from("attribute_not_exists(#pk) OR #e <= :now OR (#d = :true AND #t < :t) OR ");
        match applied.version {
            Some(_) => condition.push_str(&format!(
                "(#d = :false AND ((attribute_exists(#v) AND #v {lt} :v) \
                 OR (attribute_not_exists(#v) AND #t {lt} :t)))"
            )),
            None => condition.push_str(&format!("(#d = :false AND #t {lt} :t)")),
        }
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(applied_pk(key)))
            .item(SORT_KEY, s(SINGLE_SK))
            .item("time_millis", n(applied.time_millis))
            .item("deleted", AttributeValue::Bool(applied.deleted))
            .condition_expression(condition)
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#e", TTL_ATTRIBUTE)
            .expression_attribute_names("#d", "deleted")
            .expression_attribute_names("#t", "time_millis")
            .expression_attribute_values(":now", n(now_seconds((self.clock)())))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":t", n(applied.time_millis));
        if let Some(v) = applied.version {
            put = put
                .item("version", n(v))
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(v));
        }
        if applied.deleted {
            put = put.item(
                TTL_ATTRIBUTE,
                n(expires_at(applied.time_millis, self.retention_millis)),
            );
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(self.err("PutItem", e)),
        }
    }

    async fn is_tombstoned(&self, key: &ResourceKey, event_time_millis: i64) -> Result<bool> {
        Ok(self
            .read_applied(key)
            .await?
            .is_some_and(|a| a.deleted && event_time_millis <= a.time_millis))
    }

    /// Does nothing and returns 0: tombstones carry `expires_at` and DynamoDB's time to
    /// live deletes them; until then the store ignores expired ones.
    async fn purge_tombstones(&self, _older_than_millis: i64) -> Result<u64> {
        Ok(0)
    }

    async fn put_dead_letter(&self, letter: DeadLetter) -> Result<()> {
        let original = letter.raw.len();
        let letter = fit_dead_letter(letter, self.max_item_bytes);
        if letter.raw.len() < original {
            tracing::warn!(
                id = %letter.id,
                bytes = original,
                kept = letter.raw.len(),
                "dead letter too large for a DynamoDB item: raw bytes truncated"
            );
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PARTITION_KEY, s(DEAD_LETTER_PK))
            .item(SORT_KEY, s(dead_letter_sk(&letter.id)))
            .item(
                LSI_SORT_KEY,
                s(dead_letter_order(letter.time_millis, &letter.id)),
            )
            .item("reason", s(letter.reason))
            .item("raw", AttributeValue::B(Blob::new(letter.raw)))
            .item("source", s(letter.source))
            .item("time_millis", n(letter.time_millis))
            .send()
            .await
            .map_err(|e| self.err("PutItem", e))?;
        Ok(())
    }

    async fn list_dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        // The keys, oldest first, from the local index.
        let mut keys: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        while keys.len() < limit {
            let page = (limit - keys.len()).min(LIST_PAGE);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LSI_NAME)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_values(":pk", s(DEAD_LETTER_PK))
                .limit(i32::try_from(page).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let mut key = Item::new();
                for name in [PARTITION_KEY, SORT_KEY] {
                    let value = item
                        .get(name)
                        .cloned()
                        .ok_or_else(|| corrupt(&item, name, None))?;
                    key.insert(name.to_owned(), value);
                }
                keys.push(key);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        keys.truncate(limit);
        // The items; one removed meanwhile is left out, one replaced meanwhile is sorted
        // by its new time.
        let mut letters = Vec::with_capacity(keys.len());
        for item in self.batch_get(keys).await? {
            let sk = get_s(&item, SORT_KEY)?;
            let id =
                dead_letter_id(sk).ok_or_else(|| corrupt(&item, SORT_KEY, item.get(SORT_KEY)))?;
            let raw = match item.get("raw") {
                Some(AttributeValue::B(b)) => b.clone().into_inner(),
                other => return Err(corrupt(&item, "raw", other)),
            };
            letters.push(DeadLetter {
                id: id.to_owned(),
                reason: get_s(&item, "reason")?.to_owned(),
                raw,
                source: get_s(&item, "source")?.to_owned(),
                time_millis: get_n(&item, "time_millis")?,
            });
        }
        letters.sort_by(|a, b| (a.time_millis, &a.id).cmp(&(b.time_millis, &b.id)));
        Ok(letters)
    }

    async fn remove_dead_letter(&self, id: &str) -> Result<bool> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(DEAD_LETTER_PK))
            .key(SORT_KEY, s(dead_letter_sk(id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match delete {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.err("DeleteItem", e)),
        }
    }

    async fn count_dead_letters(&self) -> Result<u64> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LSI_NAME)
                .consistent_read(true)
                .select(Select::Count)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_values(":pk", s(DEAD_LETTER_PK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err("Query", e))?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(count),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(raw: usize, reason: &str) -> DeadLetter {
        DeadLetter {
            id: "49590338271490256608559692538361571095921575989136588898".into(),
            reason: reason.into(),
            raw: vec![7; raw],
            source: "kinesis:st/shardId-000000000000".into(),
            time_millis: 1_700_000_000_000,
        }
    }

    #[test]
    fn small_dead_letters_are_kept_whole() {
        let l = letter(300 * 1024, "bad");
        assert_eq!(fit_dead_letter(l.clone(), MAX_ITEM_BYTES), l);
    }

    #[test]
    fn large_dead_letters_are_truncated_saying_so() {
        let l = fit_dead_letter(letter(2 * 1024 * 1024, "bad"), MAX_ITEM_BYTES);
        assert!(
            l.raw.len() > 390 * 1024 && l.raw.len() < 400 * 1024,
            "{}",
            l.raw.len()
        );
        assert!(
            l.reason.starts_with("bad [raw truncated to its first "),
            "{}",
            l.reason
        );
        assert!(
            l.reason
                .ends_with("of 2097152 bytes: a DynamoDB item holds at most 400 KB]"),
            "{}",
            l.reason
        );
        // Huge texts are cut at a character boundary.
        let l = fit_dead_letter(letter(10, &"é".repeat(100 * 1024)), MAX_ITEM_BYTES);
        assert!(l.reason.len() <= MAX_TEXT_BYTES + 16);
        assert!(l.reason.ends_with("é [truncated]"));
        assert_eq!(l.raw.len(), 10);
    }
}
