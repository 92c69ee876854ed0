//! Reads the answer to a body the producer wrote (`body.rs`): a 200 answer in JSON, parsed with
//! borrowed strings, or in protobuf; anything else through the same error mapping as the
//! generated client's answers.

use std::borrow::Cow;

use prost::Message as _;
use serde::Deserialize;

use crate::error::{Error, mapping};
use crate::ext::ResponseHead;
use crate::outcome::{EntryView, SendOutcome};
use crate::proto;

/// A result entry of a JSON answer, borrowing from the body where it can.
#[derive(Deserialize)]
struct JsonEntry<'a> {
    #[serde(borrow, default)]
    partition_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sequence_number: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_message: Option<Cow<'a, str>>,
}

/// A JSON `PutRecordsResult`.
#[derive(Deserialize)]
struct JsonAnswer<'a> {
    #[serde(default)]
    failed_record_count: Option<serde_json::Number>,
    #[serde(borrow)]
    records: Vec<JsonEntry<'a>>,
}

/// Reads the answer to a request of `sent` records: `status`, its `Content-Type` and body, and
/// the head the exec hook noted.
pub(crate) fn read(
    status: u16,
    content_type: &str,
    body: &[u8],
    sent: usize,
    head: ResponseHead,
) -> Result<SendOutcome, Error> {
    if let Some(message) = head.unreadable {
        return Err(mapping::unreadable(
            head.status,
            message,
            head.request_id,
            None,
        ));
    }
    if status != 200 {
        return Err(mapping::from_error_answer(status, body, head));
    }
    let request_id = head.request_id;
    if content_type.starts_with("application/x-protobuf") {
        let answer = proto::PutRecordsResult::decode(body).map_err(|e| {
            mapping::unreadable(
                Some(200),
                format!("the protobuf answer does not decode: {e}"),
                request_id.clone(),
                Some(std::sync::Arc::new(e)),
            )
        })?;
        let entries = answer.records.iter().map(|e| EntryView {
            partition_id: e.shard_id.as_deref(),
            sequence_number: e.sequence_number.as_deref(),
            error_code: e.error_code.as_deref(),
            error_message: e.error_message.as_deref(),
        });
        let count = answer.failed_record_count.map(i64::from);
        SendOutcome::from_entries(entries, answer.records.len(), count, sent, request_id)
    } else {
        let answer: JsonAnswer<'_> = serde_json::from_slice(body).map_err(|e| {
            mapping::unreadable(
                Some(200),
                format!("{e}; body starts: {}", mapping::snippet(body)),
                request_id.clone(),
                Some(std::sync::Arc::new(e)),
            )
        })?;
        let entries = answer.records.iter().map(|e| EntryView {
            partition_id: e.partition_id.as_deref(),
            sequence_number: e.sequence_number.as_deref(),
            error_code: e.error_code.as_deref(),
            error_message: e.error_message.as_deref(),
        });
        SendOutcome::from_entries(
            entries,
            answer.records.len(),
            answer
                .failed_record_count
                .map(|n| n.as_i64().unwrap_or(i64::MAX)),
            sent,
            request_id,
        )
    }
}
