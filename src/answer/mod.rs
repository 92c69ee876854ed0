//! The one reader: turns an answer to SendRecords, from any path and in either format, into
//! per-record results. A 200 answer is read into the generated `types::PutRecordsResult`
//! (protobuf answers are converted into it), within bounds that live where the data is read:
//! more result entries than records sent stop the parse.
//!
//! The format of a 200 answer: protobuf when its `Content-Type` says so; and, as Huawei's Java
//! SDK reads it, protobuf for any answer to a protobuf request whose `Content-Type` does not
//! say JSON (none, `application/octet-stream`, ...). An answer labelled JSON is read as JSON,
//! and, to a protobuf request, as protobuf when it is not JSON (as Huawei's Python SDK tries
//! both).

mod guard;
mod refusal;

use std::sync::Arc;

use prost::Message as _;
use serde::Deserialize as _;

use self::guard::Guard;
use crate::error::{Cause, Error};
use crate::generated::types;
use crate::outcome::SendOutcome;
use crate::proto;
use crate::transport::{Answer, Cut};

/// Why a 200 answer could not be read: what to say, and the parser's error.
type Unreadable = (String, Option<Cause>);

/// Reads `answer`, the answer to a request of `sent` records, sent in protobuf when
/// `protobuf_request`.
pub(crate) fn read(
    answer: Answer,
    sent: usize,
    protobuf_request: bool,
) -> Result<SendOutcome, Error> {
    let request_id = answer.request_id();
    if let Some(Cut::TooLarge { cap }) = &answer.cut {
        return Err(refusal::unreadable(
            Some(answer.status.as_u16()),
            format!(
                "the answer is larger than {cap} bytes, the bound for this request; not read further"
            ),
            request_id,
            None,
        ));
    }
    if answer.status != reqwest::StatusCode::OK {
        return Err(refusal::from_error_answer(&answer));
    }
    let content_type = answer.content_type();
    let result = if is_protobuf(content_type) || (protobuf_request && !is_json(content_type)) {
        protobuf(&answer.body, sent)
    } else if protobuf_request {
        json(&answer.body, sent)
            .or_else(|as_json| protobuf(&answer.body, sent).map_err(|_| as_json))
    } else {
        json(&answer.body, sent)
    };
    match result {
        Ok(result) => SendOutcome::from_result(result, sent, request_id),
        Err((message, source)) => Err(refusal::unreadable(Some(200), message, request_id, source)),
    }
}

/// True for the protobuf media type Huawei's SDKs use, whatever its parameters.
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-protobuf"))
}

/// True for `application/json`, whatever its parameters.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
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
            format!("{e}; body starts: {}", refusal::snippet(body)),
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

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    use reqwest::{StatusCode, Version};

    use super::read;
    use crate::outcome::RecordResult;
    use crate::proto;
    use crate::transport::Answer;

    fn answer(content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        Answer {
            status: StatusCode::OK,
            headers,
            version: Version::HTTP_11,
            body,
            cut: None,
        }
    }

    /// A protobuf `PutRecordsResult` of two stored records.
    fn protobuf_body() -> Vec<u8> {
        let entry = |shard: &str, seq: &str| proto::PutRecordsResultEntry {
            shard_id: Some(shard.into()),
            sequence_number: Some(seq.into()),
            error_code: None,
            error_message: None,
        };
        proto::PutRecordsResult {
            failed_record_count: Some(0),
            records: vec![
                entry("shardId-0000000001", "7"),
                entry("shardId-0000000002", "8"),
            ],
        }
        .encode_to_vec()
    }

    const JSON_BODY: &str = r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000001","sequence_number":"7"},{"partition_id":"shardId-0000000002","sequence_number":"8"}]}"#;

    fn assert_both_stored(outcome: &crate::SendOutcome, what: &str) {
        let got: Vec<(String, String)> = outcome
            .results
            .iter()
            .map(|r| match r {
                RecordResult::Stored {
                    partition_id,
                    sequence_number,
                } => (partition_id.to_string(), sequence_number.to_string()),
                other => panic!("{what}: {other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("shardId-0000000001".into(), "7".into()),
                ("shardId-0000000002".into(), "8".into())
            ],
            "{what}"
        );
    }

    /// As Huawei's Java SDK: the answer to a protobuf request is protobuf whatever its
    /// `Content-Type` says, unless it says JSON.
    #[test]
    fn a_protobuf_answer_to_a_protobuf_request_is_read_whatever_its_content_type() {
        for ct in [
            Some("application/x-protobuf"),
            Some("application/x-protobuf; charset=utf-8"),
            Some("application/octet-stream"),
            Some("text/plain"),
            Some(""),
            None,
        ] {
            let outcome = read(answer(ct, protobuf_body()), 2, true)
                .unwrap_or_else(|e| panic!("{ct:?}: {e}"));
            assert_both_stored(&outcome, &format!("{ct:?}"));
        }
        // Labelled JSON, it is still read when it is protobuf (the Python SDK tries both).
        let outcome = read(answer(Some("application/json"), protobuf_body()), 2, true).unwrap();
        assert_both_stored(&outcome, "protobuf labelled JSON");
    }

    #[test]
    fn a_json_answer_to_a_protobuf_request_labelled_json_is_read_as_json() {
        let body = JSON_BODY.as_bytes().to_vec();
        let outcome = read(
            answer(Some("application/json;charset=UTF-8"), body),
            2,
            true,
        )
        .unwrap();
        assert_both_stored(&outcome, "JSON to a protobuf request");
    }

    /// To a JSON request, only a protobuf `Content-Type` makes an answer protobuf.
    #[test]
    fn an_answer_to_a_json_request_is_chosen_by_its_content_type() {
        let outcome = read(
            answer(Some("application/x-protobuf"), protobuf_body()),
            2,
            false,
        )
        .unwrap();
        assert_both_stored(&outcome, "protobuf labelled protobuf");
        for ct in [
            Some("application/json"),
            Some("application/octet-stream"),
            None,
        ] {
            let outcome = read(answer(ct, JSON_BODY.as_bytes().to_vec()), 2, false).unwrap();
            assert_both_stored(&outcome, &format!("JSON labelled {ct:?}"));
            let err = read(answer(ct, protobuf_body()), 2, false).unwrap_err();
            assert!(err.to_string().contains("200"), "{ct:?}: {err}");
        }
    }

    #[test]
    fn an_unreadable_answer_to_a_protobuf_request_is_an_error() {
        for ct in [
            Some("application/json"),
            Some("application/octet-stream"),
            None,
        ] {
            let err = read(answer(ct, b"{not json, not protobuf".to_vec()), 2, true).unwrap_err();
            assert!(err.to_string().contains("200"), "{ct:?}: {err}");
        }
    }
}
