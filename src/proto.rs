//! The protobuf messages of SendRecords, as Huawei's hand-written DIS SDKs (Java, Python) send
//! and read them (`Content-Type: application/x-protobuf`). Field numbers follow the Python SDK's
//! generated `record_pb2`; `openapi/dis-records.proto` is the reviewer's copy. Derived with
//! prost, so no `protoc` is needed to build.
//!
//! Huawei's copies differ in their labels (Java's marks the stream fields optional, Python's
//! marks `streamName`, `streamId` and `failedRecordCount` required): bodies written here always
//! carry all three, so that every copy decodes them.

/// `PutRecordsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsRequest {
    #[prost(string, optional, tag = "1")]
    pub(crate) stream_name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub(crate) records: Vec<PutRecordsRequestEntry>,
    #[prost(string, optional, tag = "30")]
    pub(crate) stream_id: Option<String>,
}

/// `PutRecordsRequestEntry`; `extendedInfo` (7) is not used.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsRequestEntry {
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub(crate) data: Option<bytes::Bytes>,
    #[prost(string, optional, tag = "4")]
    pub(crate) explicit_hash_key: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub(crate) partition_key: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub(crate) partition_id: Option<String>,
    #[prost(int64, optional, tag = "29")]
    pub(crate) timestamp: Option<i64>,
}

/// `PutRecordsResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsResult {
    #[prost(int32, optional, tag = "21")]
    pub(crate) failed_record_count: Option<i32>,
    #[prost(message, repeated, tag = "22")]
    pub(crate) records: Vec<PutRecordsResultEntry>,
}

/// `PutRecordsResultEntry`: the partition is called `shardId` here.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsResultEntry {
    #[prost(string, optional, tag = "23")]
    pub(crate) shard_id: Option<String>,
    #[prost(string, optional, tag = "24")]
    pub(crate) sequence_number: Option<String>,
    #[prost(string, optional, tag = "25")]
    pub(crate) error_code: Option<String>,
    #[prost(string, optional, tag = "26")]
    pub(crate) error_message: Option<String>,
}
