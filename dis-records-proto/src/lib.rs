//! The protobuf messages of DIS SendRecords (`Content-Type: application/x-protobuf`), as Huawei's
//! hand-written DIS SDKs (Java `body.serialize.type=protobuf`, Python
//! `bodySerializeType='protobuf'`) send and read them, derived with prost: no `protoc` at build
//! time.
//!
//! Written from the Python SDK's generated `record_pb2` (huaweicloud-sdk-python-dis 2.0.8,
//! proto2, package-less `record.proto`); the repository's `openapi/dis-records.proto` documents
//! them and its `tests/it/protobuf_descriptors.rs` checks these messages against that file.
//!
//! Labels: every field is optional here. Python's `record.proto` marks `streamName`, `streamId`
//! and `failedRecordCount` required, Java's marks the stream fields optional: a reader takes a
//! message without any of them, and a writer that wants every copy to decode its bodies sets
//! all three.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use bytes::Bytes;

/// The field number of `PutRecordsRequest.streamName`, for a decoder that walks the message's
/// top-level fields (the attributes below say the same).
pub const STREAM_NAME_TAG: u32 = 1;
/// The field number of `PutRecordsRequest.records`.
pub const RECORDS_TAG: u32 = 2;
/// The field number of `PutRecordsRequest.streamId`.
pub const STREAM_ID_TAG: u32 = 30;
/// The field number of `PutRecordsResult.records`, for a reader that counts the entries of an
/// answer before decoding it.
pub const RESULT_RECORDS_TAG: u32 = 22;

/// `PutRecordsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRecordsRequest {
    /// `streamName = 1` (required in Python's copy).
    #[prost(string, optional, tag = "1")]
    pub stream_name: Option<String>,
    /// `records = 2`.
    #[prost(message, repeated, tag = "2")]
    pub records: Vec<PutRecordsRequestEntry>,
    /// `streamId = 30` (required in Python's copy).
    #[prost(string, optional, tag = "30")]
    pub stream_id: Option<String>,
}

/// `PutRecordsRequestEntry`. `extendedInfo = 7` (a message) is skipped like any unknown field.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRecordsRequestEntry {
    /// `data = 3`: the raw bytes (no Base64). Absent reads as empty, as protobuf readers do.
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub data: Option<Bytes>,
    /// `explicitHashKey = 4`.
    #[prost(string, optional, tag = "4")]
    pub explicit_hash_key: Option<String>,
    /// `partitionKey = 5`.
    #[prost(string, optional, tag = "5")]
    pub partition_key: Option<String>,
    /// `partitionId = 6`.
    #[prost(string, optional, tag = "6")]
    pub partition_id: Option<String>,
    /// `timestamp = 29` (milliseconds since the epoch): read, not used.
    #[prost(int64, optional, tag = "29")]
    pub timestamp: Option<i64>,
}

/// `PutRecordsResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRecordsResult {
    /// `failedRecordCount = 21`: always written (required in Python's copy).
    #[prost(int32, optional, tag = "21")]
    pub failed_record_count: Option<i32>,
    /// `records = 22`.
    #[prost(message, repeated, tag = "22")]
    pub records: Vec<PutRecordsResultEntry>,
}

/// `PutRecordsResultEntry`: the partition is `shardId` here (`partition_id` in JSON).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRecordsResultEntry {
    /// `shardId = 23`.
    #[prost(string, optional, tag = "23")]
    pub shard_id: Option<String>,
    /// `sequenceNumber = 24`.
    #[prost(string, optional, tag = "24")]
    pub sequence_number: Option<String>,
    /// `errorCode = 25`.
    #[prost(string, optional, tag = "25")]
    pub error_code: Option<String>,
    /// `errorMessage = 26`.
    #[prost(string, optional, tag = "26")]
    pub error_message: Option<String>,
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// Bytes written by the Python SDK's own `record_pb2` (protobuf 7.36.2, pure-Python):
    /// `PutRecordsRequest(streamName="s", streamId="", records=[{data: b"x"}])`.
    #[test]
    fn decodes_what_record_pb2_writes() {
        let wire = b"\n\x01s\x12\x03\x1a\x01x\xf2\x01\x00";
        let r = PutRecordsRequest::decode(&wire[..]).unwrap();
        assert_eq!(r.stream_name.as_deref(), Some("s"));
        assert_eq!(r.stream_id.as_deref(), Some(""));
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.records[0].data.as_deref(), Some(&b"x"[..]));
        assert_eq!(r.records[0].partition_key, None);
    }

    #[test]
    fn answer_always_carries_failed_record_count() {
        let answer = PutRecordsResult {
            failed_record_count: Some(0),
            records: vec![],
        };
        // Field 21, varint: key (21 << 3) | 0 = 168 = 0xa8 0x01, then the value 0.
        assert_eq!(answer.encode_to_vec(), vec![0xa8, 0x01, 0x00]);
    }
}
