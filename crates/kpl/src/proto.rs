//! The protobuf messages of the KPL aggregation format (proto2), written by hand for prost.
//!
//! Decoding goes through prost; encoding is done field by field in `aggregate.rs`
//! (same wire format) so that the data is copied once.

/// `message AggregatedRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct AggregatedRecord {
    /// `repeated string partition_key_table = 1;`
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    /// `repeated string explicit_hash_key_table = 2;`
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    /// `repeated Record records = 3;`
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<Record>,
}

/// `message Record`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Record {
    /// `required uint64 partition_key_index = 1;`
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    /// `optional uint64 explicit_hash_key_index = 2;`
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    /// `required bytes data = 3;`
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    /// `repeated Tag tags = 4;` (decoded, not used)
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

/// `message Tag`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Tag {
    /// `required string key = 1;`
    #[prost(string, required, tag = "1")]
    pub key: String,
    /// `optional string value = 2;`
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}
