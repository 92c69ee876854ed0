//! The protobuf messages of SendRecords, as Huawei's hand-written DIS SDKs (Java, Python) send
//! and read them (`Content-Type: application/x-protobuf`), and their conversions from and into
//! the generated types: protobuf is another serializer of the same request, not another
//! request. The messages are the workspace's `dis-records-proto` (dis-local uses the same):
//! field numbers of the Python SDK's generated `record_pb2` and `openapi/dis-records.proto`;
//! `tests/it/protobuf_descriptors.rs` compiles that file and checks these messages against it.
//! Derived with prost, so no `protoc` is needed to build.
//!
//! Huawei's copies differ in their labels (Java's marks the stream fields optional, Python's
//! marks `streamName`, `streamId` and `failedRecordCount` required): bodies written here always
//! carry all three, so that every copy decodes them.

#[cfg(test)]
pub(crate) use dis_records_proto::PutRecordsResultEntry;
use dis_records_proto::RESULT_RECORDS_TAG;
pub(crate) use dis_records_proto::{PutRecordsRequest, PutRecordsRequestEntry, PutRecordsResult};

impl From<&crate::generated::types::PutRecordsRequest> for PutRecordsRequest {
    fn from(request: &crate::generated::types::PutRecordsRequest) -> Self {
        PutRecordsRequest {
            stream_name: Some(request.stream_name.to_string()),
            records: request
                .records
                .iter()
                .map(|e| PutRecordsRequestEntry {
                    // A reference count, not a copy of the payload.
                    data: Some(e.data.0.clone()),
                    explicit_hash_key: e.explicit_hash_key.as_ref().map(|k| k.to_string()),
                    partition_key: e.partition_key.clone(),
                    partition_id: e.partition_id.as_ref().map(|p| p.to_string()),
                    timestamp: None,
                })
                .collect(),
            // Python's copy of the message marks streamId required: always present, empty when
            // the stream is named.
            stream_id: Some(request.stream_id.clone().unwrap_or_default()),
        }
    }
}

/// A value the spec's pattern refuses, as the generated types' error.
fn unallowed(e: crate::ids::IdError) -> crate::generated::types::error::ConversionError {
    e.to_string().into()
}

// `..Default::default()`: a field the spec adds to the answer (none of protobuf's) stays empty
// rather than breaking the build (tests/regeneration.rs adds one).
#[allow(clippy::needless_update)]
impl TryFrom<PutRecordsResult> for crate::generated::types::PutRecordsResult {
    type Error = crate::generated::types::error::ConversionError;

    /// Fails on a value the spec does not allow (a partition id or sequence number of another
    /// form), as the JSON reader does.
    fn try_from(result: PutRecordsResult) -> Result<Self, Self::Error> {
        let records = result
            .records
            .into_iter()
            .map(|e| {
                Ok(crate::generated::types::PutRecordsResultEntry {
                    partition_id: e
                        .shard_id
                        .map(TryInto::try_into)
                        .transpose()
                        .map_err(unallowed)?,
                    sequence_number: e
                        .sequence_number
                        .map(TryInto::try_into)
                        .transpose()
                        .map_err(unallowed)?,
                    error_code: e.error_code,
                    error_message: e.error_message,
                    ..Default::default()
                })
            })
            .collect::<Result<_, Self::Error>>()?;
        Ok(crate::generated::types::PutRecordsResult {
            failed_record_count: result.failed_record_count,
            records,
            ..Default::default()
        })
    }
}

/// Counts the result entries of an encoded `PutRecordsResult` without decoding them.
pub(crate) fn result_entries(mut body: &[u8]) -> Result<usize, prost::DecodeError> {
    use prost::encoding::{DecodeContext, WireType, decode_key, skip_field};
    let mut entries = 0usize;
    while !body.is_empty() {
        let (tag, wire_type) = decode_key(&mut body)?;
        if tag == RESULT_RECORDS_TAG && wire_type == WireType::LengthDelimited {
            entries += 1;
        }
        skip_field(wire_type, tag, &mut body, DecodeContext::default())?;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn result_entries_are_counted_by_their_field_number() {
        let result = PutRecordsResult {
            failed_record_count: Some(1),
            records: vec![PutRecordsResultEntry::default(); 3],
        };
        assert_eq!(result_entries(&result.encode_to_vec()).unwrap(), 3);
        assert_eq!(result_entries(&[]).unwrap(), 0);
        assert!(result_entries(&[0xff]).is_err());
    }
}
