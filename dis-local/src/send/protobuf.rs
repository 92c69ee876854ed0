//! SendRecords in protobuf (`Content-Type: application/x-protobuf`), as Huawei's hand-written
//! SDKs send it: the request decoded with prost into dis-local's own messages
//! ([`crate::proto`]; `data` slices the body, keys are owned strings), and the 200 answer a
//! prost `PutRecordsResult` with `failedRecordCount` always written.

use bytes::Bytes;
use prost::Message as _;

use super::refusal::Refusal;
use super::validate::{Fields, SendEntry, SendRequest};
use super::{THROTTLED_CODE, THROTTLED_MESSAGE};
use crate::proto;
use crate::routing::shard_id;
use crate::store::{Outcome, Placed};

/// Decodes a protobuf `PutRecordsRequest` (record data slices `body`, no copy).
pub(super) fn parse(body: &Bytes) -> Result<proto::PutRecordsRequest, Refusal> {
    proto::PutRecordsRequest::decode(body.clone()).map_err(Refusal::invalid_body)
}

/// The 200 answer: a `PutRecordsResult`, per record `shardId` and `sequenceNumber`, or
/// `errorCode` and `errorMessage`.
pub(super) fn answer(outcome: &Outcome) -> Vec<u8> {
    let records = outcome
        .records()
        .map(|placed| match placed {
            Placed::Throttled => proto::PutRecordsResultEntry {
                error_code: Some(THROTTLED_CODE.to_owned()),
                error_message: Some(THROTTLED_MESSAGE.to_owned()),
                ..Default::default()
            },
            Placed::Stored {
                partition,
                sequence,
            } => proto::PutRecordsResultEntry {
                shard_id: Some(shard_id(partition)),
                sequence_number: Some(sequence.to_string()),
                ..Default::default()
            },
        })
        .collect();
    proto::PutRecordsResult {
        failed_record_count: Some(i32::try_from(outcome.not_stored()).unwrap_or(i32::MAX)),
        records,
    }
    .encode_to_vec()
}

impl SendRequest for proto::PutRecordsRequest {
    type Entry = proto::PutRecordsRequestEntry;
    const FIELDS: Fields = Fields {
        stream_name: "streamName",
        records: "records",
        data: "data",
        partition_id: "partitionId",
        explicit_hash_key: "explicitHashKey",
        decoded: "",
    };
    fn stream_name(&self) -> &str {
        self.stream_name.as_deref().unwrap_or_default()
    }
    fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_deref()
    }
    fn records(&self) -> &[proto::PutRecordsRequestEntry] {
        &self.records
    }
}

impl SendEntry for proto::PutRecordsRequestEntry {
    fn data_size(&self) -> Option<usize> {
        Some(self.data.as_ref().map_or(0, Bytes::len))
    }
    fn decode_into(&self, buf: &mut Vec<u8>) -> bool {
        if let Some(data) = &self.data {
            buf.extend_from_slice(data);
        }
        true
    }
    fn partition_id(&self) -> Option<&str> {
        self.partition_id.as_deref()
    }
    fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }
    fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_deref()
    }
}
