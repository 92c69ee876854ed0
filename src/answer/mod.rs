//! The one reader: turns an answer to SendRecords, from any path and in either format, into
//! per-record results. A 200 answer is read into the generated `types::PutRecordsResult`
//! (protobuf answers are converted into it), within bounds that live where the data is read:
//! more result entries than records sent stop the parse.

mod guard;

use std::sync::Arc;

use prost::Message as _;
use serde::Deserialize as _;

use self::guard::Guard;
use crate::error::{Cause, Error, mapping};
use crate::generated::types;
use crate::outcome::SendOutcome;
use crate::proto;
use crate::transport::{Answer, Cut};

/// Why a 200 answer could not be read: what to say, and the parser's error.
type Unreadable = (String, Option<Cause>);

/// Reads `answer`, the answer to a request of `sent` records.
pub(crate) fn read(answer: Answer, sent: usize) -> Result<SendOutcome, Error> {
    let request_id = answer.request_id();
    if let Some(Cut::TooLarge { cap }) = &answer.cut {
        return Err(mapping::unreadable(
            Some(answer.status.as_u16()),
            format!(
                "the answer is larger than {cap} bytes, the bound for this request; not read further"
            ),
            request_id,
            None,
        ));
    }
    if answer.status != reqwest::StatusCode::OK {
        return Err(mapping::from_error_answer(&answer));
    }
    let result = if is_protobuf(answer.content_type()) {
        protobuf(&answer.body, sent)
    } else {
        json(&answer.body, sent)
    };
    match result {
        Ok(result) => SendOutcome::from_result(result, sent, request_id),
        Err((message, source)) => Err(mapping::unreadable(Some(200), message, request_id, source)),
    }
}

/// True for the protobuf media type Huawei's SDKs use, whatever its parameters.
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-protobuf"))
}

fn too_many(sent: usize) -> Unreadable {
    (format!("more than {sent} results for {sent} records"), None)
}

/// A JSON `PutRecordsResult`, read into the generated type through the guard.
pub(crate) fn json(body: &[u8], sent: usize) -> Result<types::PutRecordsResult, Unreadable> {
    let guard = Guard::new(sent);
    let mut de = sonic_rs::Deserializer::from_slice(body);
    let parsed = types::PutRecordsResult::deserialize(guard.wrap(&mut de)).and_then(|result| {
        de.end()?;
        Ok(result)
    });
    match parsed {
        Ok(result) => {
            if let Some(value) = guard.out_of_range() {
                // DIS's count is an int32: one out of range is reported, and the entries decide.
                tracing::warn!(%value, "a number in the answer is out of its range (failed_record_count); the result entries decide");
            }
            Ok(result)
        }
        Err(_) if guard.overflowed() => Err(too_many(sent)),
        Err(e) => Err((
            format!("{e}; body starts: {}", mapping::snippet(body)),
            Some(Arc::new(e)),
        )),
    }
}

/// A protobuf `PutRecordsResult`: its entries counted first (a body of empty entries decodes to
/// 48 times its size), then decoded and converted into the generated type.
fn protobuf(body: &[u8], sent: usize) -> Result<types::PutRecordsResult, Unreadable> {
    let undecodable = |e: prost::DecodeError| {
        (
            format!("the protobuf answer does not decode: {e}"),
            Some(Arc::new(e) as Cause),
        )
    };
    if proto::result_entries(body).map_err(undecodable)? > sent {
        return Err(too_many(sent));
    }
    let answer = proto::PutRecordsResult::decode(body).map_err(undecodable)?;
    answer
        .try_into()
        .map_err(|e: types::error::ConversionError| {
            (
                format!("the protobuf answer holds a value the spec does not allow: {e}"),
                Some(Arc::new(e) as Cause),
            )
        })
}
