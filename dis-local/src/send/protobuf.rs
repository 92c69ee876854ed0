//! SendRecords in protobuf (`Content-Type: application/x-protobuf`), as Huawei's hand-written
//! SDKs send it: the request decoded with prost's field decoders into the workspace's messages
//! (`dis-records-proto`; `data` slices the body, keys are owned strings), keeping at most the
//! record limit's worth of entries, and the 200 answer a prost `PutRecordsResult` with
//! `failedRecordCount` always written.

use bytes::{Buf as _, Bytes};
use dis_records_proto as proto;
use prost::DecodeError;
use prost::Message as _;
use prost::encoding::{DecodeContext, decode_key, message, skip_field, string};

use super::refusal::{Refusal, THROTTLED_CODE, THROTTLED_MESSAGE};
use super::validate::{Fields, SendEntry, SendRequest};
use crate::routing::shard_id;
use crate::store::{Outcome, Placed};

/// A decoded `PutRecordsRequest`: its stream fields, its first entries (at most the record
/// limit) and how many entries it has.
pub(super) struct Request {
    message: proto::PutRecordsRequest,
    count: usize,
}

/// Decodes a protobuf `PutRecordsRequest` (record data slices `body`, no copy), keeping at most
/// `keep` entries (the record limit): past it every entry is still decoded, so that a body
/// that does not decode is refused whatever its length, and counted, but dropped at once. A body of
/// millions of empty entries (two bytes each) costs no more than its size.
pub(super) fn parse(body: &Bytes, keep: usize) -> Result<Request, Refusal> {
    decode(body.clone(), keep).map_err(Refusal::invalid_body)
}

/// What `PutRecordsRequest::decode` does (the same fields, wire-type checks, error contexts and
/// recursion limit), with the entries past `keep` counted and dropped instead of kept.
fn decode(mut buf: Bytes, keep: usize) -> Result<Request, DecodeError> {
    const MESSAGE: &str = "PutRecordsRequest";
    let in_field = |field: &'static str| {
        move |mut e: DecodeError| {
            e.push(MESSAGE, field);
            e
        }
    };
    let mut message = proto::PutRecordsRequest::default();
    let mut count = 0usize;
    let ctx = DecodeContext::default();
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        match tag {
            proto::STREAM_NAME_TAG => {
                let name = message.stream_name.get_or_insert_with(String::new);
                string::merge(wire_type, name, &mut buf, ctx.clone())
                    .map_err(in_field("stream_name"))?;
            }
            proto::RECORDS_TAG => {
                let mut entry = proto::PutRecordsRequestEntry::default();
                message::merge(wire_type, &mut entry, &mut buf, ctx.clone())
                    .map_err(in_field("records"))?;
                count += 1;
                if message.records.len() < keep {
                    message.records.push(entry);
                }
            }
            proto::STREAM_ID_TAG => {
                let id = message.stream_id.get_or_insert_with(String::new);
                string::merge(wire_type, id, &mut buf, ctx.clone())
                    .map_err(in_field("stream_id"))?;
            }
            _ => skip_field(wire_type, tag, &mut buf, ctx.clone())?,
        }
    }
    Ok(Request { message, count })
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

impl SendRequest for Request {
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
        self.message.stream_name.as_deref().unwrap_or_default()
    }
    fn stream_id(&self) -> Option<&str> {
        self.message.stream_id.as_deref()
    }
    fn records(&self) -> &[proto::PutRecordsRequestEntry] {
        &self.message.records
    }
    fn record_count(&self) -> usize {
        self.count
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The prost-derived decoder, for comparison.
    fn derived(body: &[u8]) -> Result<proto::PutRecordsRequest, String> {
        proto::PutRecordsRequest::decode(body).map_err(|e| e.to_string())
    }

    fn walked(body: &[u8], keep: usize) -> Result<Request, String> {
        decode(Bytes::copy_from_slice(body), keep).map_err(|e| e.to_string())
    }

    fn entry(data: &[u8], key: Option<&str>) -> proto::PutRecordsRequestEntry {
        proto::PutRecordsRequestEntry {
            data: Some(Bytes::copy_from_slice(data)),
            partition_key: key.map(str::to_owned),
            timestamp: Some(7),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_what_the_derived_decoder_decodes() {
        let request = proto::PutRecordsRequest {
            stream_name: Some("s".into()),
            records: vec![
                entry(b"a", Some("k")),
                entry(b"", None),
                entry(b"xyz", None),
            ],
            stream_id: Some("sid".into()),
        };
        let mut body = request.encode_to_vec();
        // An unknown varint field and a second streamName (the last one wins).
        body.extend_from_slice(&[0x28, 0x05, 0x0a, 0x01, b't']);
        let want = derived(&body).unwrap();
        assert_eq!(want.stream_name.as_deref(), Some("t"));
        let got = walked(&body, 500).unwrap();
        assert_eq!(got.message, want);
        assert_eq!(got.count, 3);
        // Past `keep`, entries are counted, not kept.
        let got = walked(&body, 2).unwrap();
        assert_eq!(got.message.records, want.records[..2]);
        assert_eq!(got.count, 3);
        assert_eq!(walked(&[], 500).unwrap().count, 0);
    }

    #[test]
    fn refuses_what_the_derived_decoder_refuses_in_its_words() {
        let good = proto::PutRecordsRequest {
            stream_name: Some("s".into()),
            records: vec![entry(b"a", None)],
            stream_id: None,
        }
        .encode_to_vec();
        let mut bad_bodies = vec![
            good[..good.len() - 1].to_vec(), // truncated
            vec![0x0a, 0x01, 0xff],          // streamName not UTF-8
            vec![0x10, 0x01],                // records as a varint
            vec![0x12, 0x02, 0x1a, 0x05],    // an entry whose data overruns it
            vec![0xf2, 0x01, 0x01, 0xc3],    // streamId not UTF-8
            vec![0x0f],                      // wire type 7
        ];
        // An entry past `keep` that does not decode still refuses the body.
        let mut late = good.clone();
        late.extend_from_slice(&[0x12, 0x02, 0x1a, 0x05]);
        bad_bodies.push(late);
        for body in bad_bodies {
            let want = derived(&body).expect_err("the derived decoder refuses it");
            let got = walked(&body, 1).err().expect("refused");
            assert_eq!(got, want, "{body:?}");
        }
    }
}
