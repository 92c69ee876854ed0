//! The client against a loopback server that records what arrives: the seed's request on the
//! wire, response parsing, both error-body shapes, and validation that sends nothing.

use crate::support;

use dis_records::{Credentials, DisClient, Error, Limits, Record, RecordResult, ValidationError};
use serde_json::json;
use support::{CannedServer, json_response};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const OK_ONE: &str = r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"0"}]}"#;

fn client(endpoint: &str) -> DisClient {
    DisClient::builder(endpoint, PROJECT)
        .credentials(Credentials::token("token-secret-value"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn seed_example_goes_out_as_documented() {
    let server = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    // The seed's data "MTEx...MTE=" is Base64 of thirty-two ASCII '1's.
    let record = Record::new(vec![b'1'; 32]);
    let outcome = client(&server.endpoint)
        .send("newstream", &[record])
        .await
        .unwrap();

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/v2/{PROJECT}/records"));
    assert_eq!(req.header("x-auth-token"), Some("token-secret-value"));
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        req.json(),
        json!({
            "stream_name": "newstream",
            "records": [{"data": "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="}]
        })
    );
    assert_eq!(
        outcome.results,
        vec![RecordResult::Stored {
            partition_id: "shardId-0000000000".parse().unwrap(),
            sequence_number: "0".parse().unwrap()
        }]
    );
    assert_eq!(outcome.request_id.as_deref(), Some("req-0123"));
}

#[tokio::test]
async fn routing_fields_and_trailing_slash() {
    let server = CannedServer::start(|_| {
        json_response(
            200,
            r#"{"failed_record_count":0,"records":[
            {"partition_id":"shardId-0000000001","sequence_number":"5"},
            {"partition_id":"shardId-0000000002","sequence_number":"6"},
            {"partition_id":"shardId-0000000003","sequence_number":"7"}]}"#,
        )
    })
    .await;
    let client = client(&format!("{}/", server.endpoint));
    let records = [
        Record::new("a").with_partition_key("user-1"),
        Record::new(&b"b"[..]).with_partition_id("shardId-0000000002"),
        Record::new(vec![0u8, 255]).with_explicit_hash_key("9223372036854775807"),
    ];
    client.send("s", &records).await.unwrap();
    let req = &server.requests()[0];
    assert_eq!(
        req.path,
        format!("/v2/{PROJECT}/records"),
        "no // in the path"
    );
    assert_eq!(
        req.json()["records"],
        json!([
            {"data": "YQ==", "partition_key": "user-1"},
            {"data": "Yg==", "partition_id": "shardId-0000000002"},
            {"data": "AP8=", "explicit_hash_key": "9223372036854775807"},
        ])
    );
}

#[tokio::test]
async fn failed_records_are_paired_by_position() {
    let server = CannedServer::start(|_| {
        json_response(
            200,
            r#"{"failed_record_count":2,"records":[
            {"error_code":"DIS.4303","error_message":"Exceeded traffic control limit."},
            {"partition_id":"shardId-0000000000","sequence_number":"12"},
            {"error_code":"DIS.5000","error_message":"System error."}]}"#,
        )
    })
    .await;
    let records: Vec<Record> = ["r0", "r1", "r2"].into_iter().map(Record::new).collect();
    let outcome = client(&server.endpoint).send("s", &records).await.unwrap();
    assert_eq!(outcome.failed_record_count, 2);
    let pairs: Vec<_> = records.iter().zip(&outcome.results).collect();
    let again: Vec<&Record> = pairs
        .iter()
        .filter(|(_, r)| matches!(r, RecordResult::Failed { .. }))
        .map(|(record, _)| *record)
        .collect();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].data, &b"r0"[..]);
    assert_eq!(again[1].data, &b"r2"[..]);
    assert_eq!(pairs[1].0.data, &b"r1"[..]);
    assert!(matches!(pairs[1].1, RecordResult::Stored { .. }));
    assert_eq!(
        pairs[2].1,
        &RecordResult::Failed {
            code: "DIS.5000".into(),
            message: "System error.".into()
        }
    );
}

#[tokio::test]
async fn both_error_body_shapes_become_dis_errors() {
    let server = CannedServer::start(|req| {
        if req.json()["stream_name"] == "missing" {
            json_response(400, r#"{"errorCode":"DIS.4301","message":"Stream does not exist."}"#)
        } else {
            json_response(
                401,
                r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information."}"#,
            )
        }
    })
    .await;
    let c = client(&server.endpoint);
    let err = c.send("missing", &[Record::new("x")]).await.unwrap_err();
    match &err {
        Error::Dis {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(code.as_deref(), Some("DIS.4301"));
            assert_eq!(message, "Stream does not exist.");
            assert_eq!(request_id.as_deref(), Some("req-0123"));
        }
        other => panic!("expected Error::Dis, got {other:?}"),
    }
    assert!(err.to_string().contains("DIS.4301"), "{err}");
    assert!(err.to_string().contains("req-0123"), "{err}");

    let err = c.send("other", &[Record::new("x")]).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("APIGW.0301"));
    assert!(!err.to_string().contains("token-secret-value"));
}

#[tokio::test]
async fn non_json_error_bodies_keep_status_and_request_id() {
    let server = CannedServer::start(|req| {
        let status = if req.json()["stream_name"] == "a" {
            413
        } else {
            502
        };
        support::response(
            status,
            &[("content-type", "text/html"), ("x-request-id", "req-html")],
            "<html>Request Entity Too Large</html>",
        )
    })
    .await;
    let c = client(&server.endpoint);
    // 413 is listed in the spec (typed body expected, HTML arrives); 502 is not listed.
    for (stream, status) in [("a", 413), ("b", 502)] {
        let err = c.send(stream, &[Record::new("x")]).await.unwrap_err();
        match err {
            Error::Dis {
                status: s,
                code,
                message,
                request_id,
                ..
            } => {
                assert_eq!(s, status);
                assert_eq!(code, None);
                assert!(message.contains("Request Entity Too Large"), "{message}");
                assert_eq!(request_id.as_deref(), Some("req-html"));
            }
            other => panic!("expected Error::Dis for {status}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn wrong_result_count_is_an_unreadable_response() {
    let server = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    let err = client(&server.endpoint)
        .send("s", &[Record::new("a"), Record::new("b")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidResponse { status: Some(200), message, .. } if message.contains("1 results for 2 records")),
        "{err:?}"
    );
}

#[tokio::test]
async fn validation_rejects_before_sending_and_names_field_and_limit() {
    let server = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    let small = Limits::COMMON
        .with_max_record_bytes(10)
        .with_max_request_bytes(15)
        .with_max_records_per_request(3);
    let c = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::token("t"))
        .limits(small)
        .build()
        .unwrap();
    let x = || Record::new("x");
    let long_name = "s".repeat(61);
    let cases: Vec<(&str, Vec<Record>, ValidationError, &str)> = vec![
        (
            "",
            vec![x()],
            ValidationError::StreamNameEmpty,
            "stream_name",
        ),
        (
            &long_name,
            vec![x()],
            ValidationError::StreamNameTooLong { len: 61, max: 60 },
            "the limit is 60",
        ),
        (
            "s",
            vec![],
            ValidationError::NoRecords,
            "records: the list is empty",
        ),
        (
            "s",
            vec![x(), x(), x(), x()],
            ValidationError::TooManyRecords { count: 4, max: 3 },
            "the limit per request is 3",
        ),
        (
            "s",
            vec![x(), Record::new(vec![0u8; 11])],
            ValidationError::RecordTooLarge {
                index: 1,
                size: 11,
                max: 10,
            },
            "records[1].data: 11 bytes, the limit is 10",
        ),
        (
            "s",
            vec![Record::new(vec![0u8; 8]), Record::new(vec![0u8; 8])],
            ValidationError::RequestTooLarge { size: 16, max: 15 },
            "the limit is 15 bytes",
        ),
        (
            "s",
            vec![x(), x().with_explicit_hash_key("9223372036854775808")],
            ValidationError::ExplicitHashKey {
                index: 1,
                value: "9223372036854775808".into(),
            },
            "records[1].explicit_hash_key",
        ),
        (
            "s",
            vec![x().with_explicit_hash_key("-1")],
            ValidationError::ExplicitHashKey {
                index: 0,
                value: "-1".into(),
            },
            "0..=9223372036854775807",
        ),
        (
            "s",
            vec![x().with_partition_id("shardId-1")],
            ValidationError::PartitionId {
                index: 0,
                value: "shardId-1".into(),
            },
            "records[0].partition_id",
        ),
    ];
    for (stream, records, expected, text) in cases {
        let err = c.send(stream, &records).await.unwrap_err();
        match &err {
            Error::Invalid(v) => assert_eq!(v, &expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
        assert!(
            err.to_string().contains(text),
            "{err} should contain {text:?}"
        );
    }
    // 60 characters is allowed; both partition_id forms and the range ends pass.
    c.send(&"s".repeat(60), &[x()]).await.unwrap();
    for ok in [
        x().with_partition_id("7"),
        x().with_partition_id("shardId-0000000007"),
        x().with_explicit_hash_key("0"),
    ] {
        c.send("s", &[ok]).await.unwrap();
    }
    assert_eq!(
        server.requests().len(),
        4,
        "only the valid requests were sent"
    );
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_known_not_delivered() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&endpoint)
        .send("s", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { connect: true, .. }),
        "{err:?}"
    );
    assert!(!err.maybe_duplicated(), "a refused connection sent nothing");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the HTTP client's error is kept as the source"
    );
}

#[test]
fn debug_output_redacts_the_token() {
    let c = client("http://127.0.0.1:9");
    let text = format!("{c:?} {:?}", c.generated());
    assert!(!text.contains("token-secret-value"), "{text}");
    assert!(text.contains("REDACTED"), "{text}");
}

#[tokio::test]
async fn base64_happens_at_the_wire_and_round_trips() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use dis_records::generated::{Base64Data, types::PutRecordsRequestEntry};
    let bytes = vec![0u8, 1, 2, 254, 255];
    let server = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    client(&server.endpoint)
        .send("s", &[Record::new(bytes.clone())])
        .await
        .unwrap();
    // The user handed in bytes; Base64 appears only in the body on the wire.
    let json = server.requests()[0].json()["records"][0].clone();
    assert_eq!(json["data"], "AAEC/v8=");
    assert_eq!(B64.decode(json["data"].as_str().unwrap()).unwrap(), bytes);
    // Reading a body decodes it again; non-Base64 is a clear error.
    let back: PutRecordsRequestEntry = serde_json::from_value(json).unwrap();
    assert_eq!(back.data, Base64Data::from(bytes));
    let err = serde_json::from_str::<PutRecordsRequestEntry>(r#"{"data":"@@"}"#).unwrap_err();
    assert!(err.to_string().contains("not Base64"), "{err}");
}

#[tokio::test]
async fn unlisted_statuses_keep_a_dis_body_and_broken_error_bodies_keep_the_status() {
    let server = CannedServer::start(|req| {
        if req.json()["stream_name"] == "gateway" {
            support::response(
                502,
                &[("content-type", "application/json"), ("x-request-id", "req-502")],
                r#"{"errorCode":"DIS.5010","message":"Backend unavailable."}"#,
            )
        } else {
            // A 503 whose body never finishes: the body read fails (timeout).
            b"HTTP/1.1 503 X\r\ncontent-type: application/json\r\nretry-after: 2\r\nx-request-id: req-503\r\ncontent-length: 100\r\n\r\n{\"errorCode\"".to_vec()
        }
    })
    .await;
    let c = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::token("t"))
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let err = c.send("gateway", &[Record::new("x")]).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(502), Some("DIS.5010")),
        "{err:?}"
    );
    assert!(
        matches!(&err, Error::Dis { request_id: Some(id), .. } if id == "req-502"),
        "{err:?}"
    );
    let err = c.send("slow", &[Record::new("x")]).await.unwrap_err();
    match err {
        Error::Dis {
            status,
            retry_after,
            request_id,
            ..
        } => {
            assert_eq!(status, 503);
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(2)));
            assert_eq!(request_id.as_deref(), Some("req-503"));
        }
        other => panic!("expected Error::Dis 503, got {other:?}"),
    }
}
