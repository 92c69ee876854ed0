//! SendRecords in protobuf (`Content-Type: application/x-protobuf`), as Huawei's hand-written DIS
//! SDKs (Java `body.serialize.type=protobuf`, Python `bodySerializeType='protobuf'`) send it.
//!
//! dis-local's own copy of the messages, written from the Python SDK's generated `record_pb2`
//! (huaweicloud-sdk-python-dis 2.0.8, proto2, package-less `record.proto`): it shares nothing
//! with the client's messages, so that it can catch a client whose field numbers are wrong.
//!
//! Labels: every field is read as optional. Python's `record.proto` marks `streamName`,
//! `streamId` and `failedRecordCount` required, Java's marks the stream fields optional: a
//! request without any of them is decoded here (and then validated like a JSON request), and
//! an answer always carries `failedRecordCount`, so that Python's copy decodes it.

use bytes::Bytes;

/// The field numbers of `PutRecordsRequest`, for the decoder that walks its top-level fields
/// (`send::protobuf`); the attributes below say the same.
pub(crate) const STREAM_NAME_TAG: u32 = 1;
pub(crate) const RECORDS_TAG: u32 = 2;
pub(crate) const STREAM_ID_TAG: u32 = 30;

/// `PutRecordsRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsRequest {
    /// `streamName = 1` (required in Python's copy).
    #[prost(string, optional, tag = "1")]
    pub(crate) stream_name: Option<String>,
    /// `records = 2`.
    #[prost(message, repeated, tag = "2")]
    pub(crate) records: Vec<PutRecordsRequestEntry>,
    /// `streamId = 30` (required in Python's copy).
    #[prost(string, optional, tag = "30")]
    pub(crate) stream_id: Option<String>,
}

/// `PutRecordsRequestEntry`. `extendedInfo = 7` (a message) is skipped like any unknown field.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsRequestEntry {
    /// `data = 3`: the raw bytes (no Base64). Absent reads as empty, as protobuf readers do.
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub(crate) data: Option<Bytes>,
    /// `explicitHashKey = 4`.
    #[prost(string, optional, tag = "4")]
    pub(crate) explicit_hash_key: Option<String>,
    /// `partitionKey = 5`.
    #[prost(string, optional, tag = "5")]
    pub(crate) partition_key: Option<String>,
    /// `partitionId = 6`.
    #[prost(string, optional, tag = "6")]
    pub(crate) partition_id: Option<String>,
    /// `timestamp = 29` (milliseconds since the epoch): read, not used.
    #[prost(int64, optional, tag = "29")]
    pub(crate) timestamp: Option<i64>,
}

/// `PutRecordsResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsResult {
    /// `failedRecordCount = 21`: always written (required in Python's copy).
    #[prost(int32, optional, tag = "21")]
    pub(crate) failed_record_count: Option<i32>,
    /// `records = 22`.
    #[prost(message, repeated, tag = "22")]
    pub(crate) records: Vec<PutRecordsResultEntry>,
}

/// `PutRecordsResultEntry`: the partition is `shardId` here (`partition_id` in JSON).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PutRecordsResultEntry {
    /// `shardId = 23`.
    #[prost(string, optional, tag = "23")]
    pub(crate) shard_id: Option<String>,
    /// `sequenceNumber = 24`.
    #[prost(string, optional, tag = "24")]
    pub(crate) sequence_number: Option<String>,
    /// `errorCode = 25`.
    #[prost(string, optional, tag = "25")]
    pub(crate) error_code: Option<String>,
    /// `errorMessage = 26`.
    #[prost(string, optional, tag = "26")]
    pub(crate) error_message: Option<String>,
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
