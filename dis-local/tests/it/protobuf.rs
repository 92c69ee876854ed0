//! SendRecords with protobuf bodies (`Content-Type: application/x-protobuf`), as Huawei's
//! hand-written SDKs send them, and the signatures of Huawei's hand-written Python SDK
//! (replayed from `huaweicloud-sign/tests/fixtures/handwritten_sdk_signatures.json`, which that
//! SDK wrote). Raw HTTP
//! with reqwest to 127.0.0.1 only.
//!
//! The messages below are this test's own, written from the Python SDK's `record_pb2` (field
//! numbers) with every field optional: they share nothing with the workspace's
//! `dis-records-proto`, which dis-local and the client both use.

use crate::support;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{Faults, LocalConfig, StreamConfig};
use huaweicloud_sign::{self as sign, SignableRequest};
use prost::Message as _;
use serde_json::{Value, json};
use support::Env;

#[derive(Clone, PartialEq, prost::Message)]
struct PutRecordsRequest {
    #[prost(string, optional, tag = "1")]
    stream_name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    records: Vec<PutRecordsRequestEntry>,
    #[prost(string, optional, tag = "30")]
    stream_id: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PutRecordsRequestEntry {
    #[prost(bytes = "vec", optional, tag = "3")]
    data: Option<Vec<u8>>,
    #[prost(string, optional, tag = "4")]
    explicit_hash_key: Option<String>,
    #[prost(string, optional, tag = "5")]
    partition_key: Option<String>,
    #[prost(string, optional, tag = "6")]
    partition_id: Option<String>,
    #[prost(message, optional, tag = "7")]
    extended_info: Option<ExtendedInfo>,
    #[prost(int64, optional, tag = "29")]
    timestamp: Option<i64>,
}

/// `PutRecordsRequestEntryExtendedInfo`: dis-local skips it.
#[derive(Clone, PartialEq, prost::Message)]
struct ExtendedInfo {
    #[prost(string, optional, tag = "8")]
    file_name: Option<String>,
    #[prost(string, optional, tag = "9")]
    deliver_data_id: Option<String>,
    #[prost(bool, optional, tag = "10")]
    end_flag: Option<bool>,
    #[prost(int64, optional, tag = "11")]
    seq_num: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PutRecordsResult {
    #[prost(int32, optional, tag = "21")]
    failed_record_count: Option<i32>,
    #[prost(message, repeated, tag = "22")]
    records: Vec<PutRecordsResultEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PutRecordsResultEntry {
    #[prost(string, optional, tag = "23")]
    shard_id: Option<String>,
    #[prost(string, optional, tag = "24")]
    sequence_number: Option<String>,
    #[prost(string, optional, tag = "25")]
    error_code: Option<String>,
    #[prost(string, optional, tag = "26")]
    error_message: Option<String>,
}

const PROTOBUF: &str = "application/x-protobuf; charset=utf-8";

/// An answer: status, `Content-Type`, body.
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    /// The 200 protobuf answer, decoded.
    fn result(&self) -> PutRecordsResult {
        assert_eq!(
            (self.status, self.content_type.as_deref()),
            (200, Some("application/x-protobuf")),
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        PutRecordsResult::decode(&self.body[..]).expect("a PutRecordsResult")
    }

    /// A JSON answer, decoded.
    fn json(&self) -> Value {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "status {}",
            self.status
        );
        serde_json::from_slice(&self.body).expect("JSON")
    }

    /// Asserts a JSON DIS error body with this status and code.
    fn assert_dis_error(&self, status: u16, code: &str) {
        let body = self.json();
        assert_eq!(
            (self.status, body["errorCode"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// What these tests ask of the endpoint: a trait of this module, since the other modules of
/// this binary give `Env` methods of the same names.
trait Calls {
    async fn send(&self, rb: reqwest::RequestBuilder) -> Answer;
    async fn post_bytes(&self, body: Vec<u8>) -> Answer;
    async fn post(&self, req: &PutRecordsRequest) -> Answer;
    async fn post_json(&self, body: &Value) -> Answer;
    async fn read_back(&self, stream: &str) -> Value;
}

impl Calls for Env {
    async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        let resp = rb.send().await.expect("send");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.bytes().await.expect("body").to_vec();
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// POSTs protobuf bytes with a token.
    async fn post_bytes(&self, body: Vec<u8>) -> Answer {
        self.send(
            self.http
                .post(self.url())
                .header("X-Auth-Token", "t")
                .header("Content-Type", PROTOBUF)
                .body(body),
        )
        .await
    }

    async fn post(&self, req: &PutRecordsRequest) -> Answer {
        self.post_bytes(req.encode_to_vec()).await
    }

    /// POSTs the same request in JSON, for comparison.
    async fn post_json(&self, body: &Value) -> Answer {
        self.send(
            self.http
                .post(self.url())
                .header("X-Auth-Token", "t")
                .json(body),
        )
        .await
    }

    async fn read_back(&self, stream: &str) -> Value {
        let resp = self
            .http
            .get(format!(
                "{}/local/v1/streams/{stream}/records",
                self.dis.endpoint()
            ))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("JSON")
    }
}

fn entry(data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry {
        data: Some(data.to_vec()),
        ..Default::default()
    }
}

/// A request as Huawei's Python SDK writes it: `streamId` present and empty.
fn request(stream: &str, records: Vec<PutRecordsRequestEntry>) -> PutRecordsRequest {
    PutRecordsRequest {
        stream_name: Some(stream.to_owned()),
        records,
        stream_id: Some(String::new()),
    }
}

fn ok_entry(shard: &str, seq: &str) -> PutRecordsResultEntry {
    PutRecordsResultEntry {
        shard_id: Some(shard.to_owned()),
        sequence_number: Some(seq.to_owned()),
        ..Default::default()
    }
}

#[tokio::test]
async fn protobuf_records_are_stored_and_answered_in_protobuf() {
    let env = Env::default().await;
    let binary: Vec<u8> = (0..=255).collect();
    let req = request(
        "newstream",
        vec![
            entry(&binary),
            PutRecordsRequestEntry {
                partition_key: Some("user-1".into()),
                timestamp: Some(1_700_000_000_000),
                ..entry(b"second")
            },
            PutRecordsRequestEntry {
                partition_id: Some("shardId-0000000002".into()),
                extended_info: Some(ExtendedInfo {
                    file_name: Some("f".into()),
                    deliver_data_id: Some("d".into()),
                    end_flag: Some(true),
                    seq_num: Some(3),
                }),
                ..entry(b"third")
            },
            PutRecordsRequestEntry {
                explicit_hash_key: Some("0".into()),
                ..entry(b"fourth")
            },
        ],
    );
    let got = env.post(&req).await;
    let result = got.result();
    assert_eq!(
        result,
        PutRecordsResult {
            failed_record_count: Some(0),
            records: vec![
                ok_entry("shardId-0000000000", "0"),
                // hash("user-1") falls in partition 2.
                ok_entry("shardId-0000000002", "0"),
                ok_entry("shardId-0000000002", "1"),
                ok_entry("shardId-0000000000", "1"),
            ],
        }
    );
    // The same layout as the JSON answer's: `failedRecordCount` first, even when 0.
    assert_eq!(&got.body[..3], &[0xa8, 0x01, 0x00]);

    let stored = env.dis.records("newstream").unwrap();
    assert_eq!(stored.len(), 4);
    // Partition 0 first, then partition 2.
    assert_eq!(&stored[0].data[..], &binary[..]);
    assert_eq!(&stored[1].data[..], b"fourth");
    assert_eq!(stored[1].explicit_hash_key.as_deref(), Some("0"));
    assert_eq!(&stored[2].data[..], b"second");
    assert_eq!(stored[2].partition_key.as_deref(), Some("user-1"));
    assert_eq!(&stored[3].data[..], b"third");
    assert_eq!(stored[3].partition_id, "shardId-0000000002");
    assert_eq!(stored[3].sequence_number, "1");

    // Read-back shows them like any others (Base64 in JSON).
    let back = env.read_back("newstream").await;
    assert_eq!(back[0]["data"], B64.encode(&binary));
    assert_eq!(back[0]["partition_id"], "shardId-0000000000");
    assert_eq!(back[0]["sequence_number"], "0");
    assert_eq!(back[1]["explicit_hash_key"], "0");
    assert_eq!(back[2]["partition_key"], "user-1");
    assert_eq!(back[3]["data"], B64.encode(b"third"));
    assert_eq!(back.as_array().unwrap().len(), 4);

    let stats = env.dis.stats();
    assert_eq!((stats.requests, stats.records_stored), (1, 4));
}

#[tokio::test]
async fn protobuf_and_json_mix_in_one_stream() {
    let env = Env::default().await;
    let id = |p: u32| Some(format!("shardId-{p:010}"));
    for (i, p) in [1u32, 1, 3].into_iter().enumerate() {
        let r = env
            .post(&request(
                "newstream",
                vec![PutRecordsRequestEntry {
                    partition_id: id(p),
                    ..entry(format!("pb-{i}").as_bytes())
                }],
            ))
            .await
            .result();
        let j = env
            .post_json(&json!({"stream_name": "newstream", "records": [
                {"data": B64.encode(format!("json-{i}")), "partition_id": id(p)}
            ]}))
            .await
            .json();
        assert_eq!(r.records[0].shard_id, id(p));
        assert_eq!(j["records"][0]["partition_id"], json!(id(p)));
    }
    let stored = env.dis.records("newstream").unwrap();
    let seen: Vec<(String, String, String)> = stored
        .iter()
        .map(|r| {
            (
                r.partition_id.clone(),
                r.sequence_number.clone(),
                String::from_utf8(r.data.to_vec()).unwrap(),
            )
        })
        .collect();
    let s = |p: &str, q: &str, d: &str| (p.to_owned(), q.to_owned(), d.to_owned());
    assert_eq!(
        seen,
        [
            s("shardId-0000000001", "0", "pb-0"),
            s("shardId-0000000001", "1", "json-0"),
            s("shardId-0000000001", "2", "pb-1"),
            s("shardId-0000000001", "3", "json-1"),
            s("shardId-0000000003", "0", "pb-2"),
            s("shardId-0000000003", "1", "json-2"),
        ]
    );
}

#[tokio::test]
async fn fields_that_python_requires_may_be_absent() {
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("newstream", 4), StreamConfig::new("b", 1)]),
    )
    .await;
    // No streamId (Java's copy leaves it out): fine.
    let no_id = PutRecordsRequest {
        stream_name: Some("b".into()),
        records: vec![entry(b"no stream id")],
        stream_id: None,
    };
    let got = env.post(&no_id).await.result();
    assert_eq!(got.failed_record_count, Some(0));
    // An unknown streamName with the stream's id: found by id, as in JSON.
    let by_id = PutRecordsRequest {
        stream_name: Some("unknown".into()),
        records: vec![entry(b"by id")],
        stream_id: Some(StreamConfig::new("b", 1).stream_id()),
    };
    assert_eq!(env.post(&by_id).await.result().failed_record_count, Some(0));
    // No streamName: refused like JSON's missing or empty stream_name.
    let no_name = PutRecordsRequest {
        stream_name: None,
        records: vec![entry(b"x")],
        stream_id: Some(StreamConfig::new("b", 1).stream_id()),
    };
    env.post(&no_name).await.assert_dis_error(400, "DIS.4200");
    // A record without data is an empty record (protobuf reads an absent field as empty).
    let no_data = request(
        "b",
        vec![PutRecordsRequestEntry {
            partition_key: Some("k".into()),
            ..Default::default()
        }],
    );
    assert_eq!(env.post(&no_data).await.result().records.len(), 1);
    let stored = env.dis.records("b").unwrap();
    let data: Vec<&[u8]> = stored.iter().map(|r| &r.data[..]).collect();
    assert_eq!(data, [&b"no stream id"[..], b"by id", b""]);
}

/// Each invalid request, in protobuf and in JSON: the same status and code.
#[tokio::test]
async fn validation_errors_have_the_json_codes() {
    let env = Env::start(
        LocalConfig::default()
            .with_max_record_bytes(10)
            .with_max_request_bytes(25)
            .with_max_records_per_request(3),
    )
    .await;
    let long_name = "s".repeat(61);
    let ok = || entry(b"x");
    type Case = (&'static str, PutRecordsRequest, Value, u16, &'static str);
    let pid = |p: &str| PutRecordsRequestEntry {
        partition_id: Some(p.into()),
        ..entry(b"x")
    };
    let ehk = |h: &str| PutRecordsRequestEntry {
        explicit_hash_key: Some(h.into()),
        ..entry(b"x")
    };
    let x = B64.encode(b"x");
    let cases: Vec<Case> = vec![
        (
            "empty records",
            request("newstream", vec![]),
            json!({"stream_name": "newstream", "records": []}),
            400,
            "DIS.4202",
        ),
        (
            "unknown stream",
            request("nope", vec![ok()]),
            json!({"stream_name": "nope", "records": [{"data": x}]}),
            400,
            "DIS.4301",
        ),
        (
            "empty stream name",
            request("", vec![ok()]),
            json!({"stream_name": "", "records": [{"data": x}]}),
            400,
            "DIS.4200",
        ),
        (
            "stream name of 61 characters",
            request(&long_name, vec![ok()]),
            json!({"stream_name": long_name, "records": [{"data": x}]}),
            400,
            "DIS.4200",
        ),
        (
            "too many records",
            request("newstream", vec![ok(), ok(), ok(), ok()]),
            json!({"stream_name": "newstream", "records": [{"data": x}, {"data": x}, {"data": x}, {"data": x}]}),
            400,
            "DIS.4200",
        ),
        (
            "record over max_record_bytes",
            request("newstream", vec![entry(&[7; 11])]),
            json!({"stream_name": "newstream", "records": [{"data": B64.encode([7; 11])}]}),
            400,
            "DIS.4200",
        ),
        (
            "request over max_request_bytes",
            request(
                "newstream",
                vec![entry(&[1; 10]), entry(&[2; 10]), entry(&[3; 10])],
            ),
            json!({"stream_name": "newstream", "records": [
                {"data": B64.encode([1; 10])}, {"data": B64.encode([2; 10])}, {"data": B64.encode([3; 10])}
            ]}),
            413,
            "DIS.4200",
        ),
        (
            "partition_id malformed",
            request("newstream", vec![pid("shard-1")]),
            json!({"stream_name": "newstream", "records": [{"data": x, "partition_id": "shard-1"}]}),
            400,
            "DIS.4201",
        ),
        (
            "partition_id past the partitions",
            request("newstream", vec![ok(), pid("shardId-0000000004")]),
            json!({"stream_name": "newstream", "records": [{"data": x}, {"data": x, "partition_id": "shardId-0000000004"}]}),
            400,
            "DIS.4302",
        ),
        (
            "explicit_hash_key negative",
            request("newstream", vec![ehk("-1")]),
            json!({"stream_name": "newstream", "records": [{"data": x, "explicit_hash_key": "-1"}]}),
            400,
            "DIS.4200",
        ),
        (
            "explicit_hash_key past i64::MAX",
            request("newstream", vec![ehk("9223372036854775808")]),
            json!({"stream_name": "newstream", "records": [{"data": x, "explicit_hash_key": "9223372036854775808"}]}),
            400,
            "DIS.4200",
        ),
    ];
    for (name, pb, js, status, code) in &cases {
        let got = env.post(pb).await;
        assert_eq!(got.status, *status, "protobuf, {name}");
        got.assert_dis_error(*status, code);
        let got = env.post_json(js).await;
        assert_eq!(got.status, *status, "json, {name}");
        got.assert_dis_error(*status, code);
    }
    // Bodies that are not a PutRecordsRequest: DIS.4200, as a body that is not JSON.
    let mut bad_utf8 = request("newstream", vec![ok()]).encode_to_vec();
    // streamName = 1, length 9, "newstream": make its first byte invalid UTF-8.
    assert_eq!(&bad_utf8[..3], b"\x0a\x09n");
    bad_utf8[2] = 0xff;
    for (name, body) in [
        (
            "truncated",
            request("newstream", vec![ok()]).encode_to_vec()[..5].to_vec(),
        ),
        ("invalid UTF-8 in streamName", bad_utf8),
        (
            "a JSON body",
            br#"{"stream_name":"newstream","records":[]}"#.to_vec(),
        ),
        ("a wrong wire type for records", vec![0x10, 0x01]),
    ] {
        let got = env.post_bytes(body).await;
        assert_eq!(got.status, 400, "{name}");
        got.assert_dis_error(400, "DIS.4200");
    }
    // Another content type.
    let got = env
        .send(
            env.http
                .post(env.url())
                .header("X-Auth-Token", "t")
                .header("Content-Type", "application/protobuf")
                .body(request("newstream", vec![ok()]).encode_to_vec()),
        )
        .await;
    got.assert_dis_error(400, "DIS.4200");
    assert!(env.dis.records("newstream").unwrap().is_empty());
    // An empty body is a valid, empty PutRecordsRequest: no streamName.
    env.post_bytes(Vec::new())
        .await
        .assert_dis_error(400, "DIS.4200");
}

#[tokio::test]
async fn limits_count_raw_bytes() {
    // 1 MiB records: at the limit in raw bytes (no Base64 growth to count).
    let env = Env::default().await;
    let big = vec![b'a'; 1024 * 1024];
    let got = env.post(&request("newstream", vec![entry(&big)])).await;
    assert_eq!(got.result().failed_record_count, Some(0));
    let over = vec![b'a'; 1024 * 1024 + 1];
    env.post(&request("newstream", vec![entry(&over)]))
        .await
        .assert_dis_error(400, "DIS.4200");
    let two = request("newstream", vec![entry(&big), entry(b"1")]);
    env.post(&two).await.assert_dis_error(413, "DIS.4200");
}

#[tokio::test]
async fn failed_records_are_dis_4303_entries_in_protobuf() {
    let env =
        Env::start(LocalConfig::default().with_faults(Faults::default().with_fail_records(1.0)))
            .await;
    let got = env
        .post(&request("newstream", vec![entry(b"a"), entry(b"b")]))
        .await
        .result();
    let failed = PutRecordsResultEntry {
        error_code: Some("DIS.4303".into()),
        error_message: Some("Exceeded traffic control limit.".into()),
        ..Default::default()
    };
    assert_eq!(
        got,
        PutRecordsResult {
            failed_record_count: Some(2),
            records: vec![failed.clone(), failed.clone()],
        }
    );
    assert!(env.dis.records("newstream").unwrap().is_empty());

    // Some fail, some are stored: the answer says which.
    env.dis
        .set_faults(Faults::default().with_fail_records(0.5).with_seed(3));
    let records: Vec<_> = (0..40).map(|i| entry(format!("r{i}").as_bytes())).collect();
    let got = env.post(&request("newstream", records)).await.result();
    let failures = got
        .records
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("DIS.4303"))
        .count();
    assert_eq!(got.failed_record_count, Some(failures as i32));
    assert!(failures > 0 && failures < 40, "{failures}");
    let stored = env.dis.records("newstream").unwrap();
    assert_eq!(stored.len(), 40 - failures);
    for r in got.records.iter().filter(|r| r.error_code.is_none()) {
        assert!(r.error_message.is_none());
        let shard = r.shard_id.as_deref().unwrap();
        let seq = r.sequence_number.as_deref().unwrap();
        assert!(
            stored
                .iter()
                .any(|s| s.partition_id == shard && s.sequence_number == seq)
        );
    }
    assert_eq!(env.dis.stats().records_failed, 2 + failures as u64);
}

#[tokio::test]
async fn failed_requests_answer_json() {
    let env = Env::start(
        LocalConfig::default().with_faults(Faults::default().with_fail_requests(1.0).with_seed(1)),
    )
    .await;
    for _ in 0..6 {
        let got = env.post(&request("newstream", vec![entry(b"x")])).await;
        assert!(matches!(got.status, 500 | 503 | 429), "{}", got.status);
        let body = got.json();
        assert!(
            body["errorCode"].is_string() || body["error_code"].is_string(),
            "{body}"
        );
    }
    assert!(env.dis.records("newstream").unwrap().is_empty());
}

#[tokio::test]
async fn trailing_slash_path() {
    let env = Env::default().await;
    let got = env
        .send(
            env.http
                .post(format!("{}/", env.url()))
                .header("X-Auth-Token", "t")
                .header("Content-Type", PROTOBUF)
                .body(request("newstream", vec![entry(b"slash")]).encode_to_vec()),
        )
        .await;
    assert_eq!(got.result().failed_record_count, Some(0));
    assert_eq!(&env.dis.records("newstream").unwrap()[0].data[..], b"slash");
}

/// Signed as Huawei's v3 signer signs a non-JSON body: `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`
/// is added and signed, and replaces the payload hash.
mod v3_signature {
    use super::*;

    const AK: &str = "PROTOAK";
    const SK: &str = "proto-SECRET-sk";

    fn server_now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    async fn env() -> Env {
        Env::start(
            LocalConfig::default()
                .with_aksk(AK, SK)
                .with_accept_token(false)
                .with_clock(server_now),
        )
        .await
    }

    fn signed(env: &Env, body: &[u8], sk: &str, unsigned_payload: bool) -> Vec<(String, String)> {
        let mut headers = vec![
            (
                "Host".to_owned(),
                format!("127.0.0.1:{}", env.dis.addr().port()),
            ),
            ("Content-Type".to_owned(), PROTOBUF.to_owned()),
            ("X-Project-Id".to_owned(), "0123456789abcdef".to_owned()),
            ("X-Sdk-Date".to_owned(), sign::format_sdk_date(server_now())),
        ];
        if unsigned_payload {
            headers.push((
                "X-Sdk-Content-Sha256".to_owned(),
                "UNSIGNED-PAYLOAD".to_owned(),
            ));
        }
        let authorization = sign::sign(
            &SignableRequest {
                method: "POST",
                path: "/v2/0123456789abcdef/records",
                query: "",
                headers: headers.clone(),
                body,
            },
            AK,
            sk,
        );
        headers.push(("Authorization".to_owned(), authorization));
        headers
    }

    async fn send(env: &Env, headers: &[(String, String)], body: Vec<u8>) -> Answer {
        let mut rb = env.http.post(env.url()).body(body);
        for (name, value) in headers {
            if name != "Host" {
                rb = rb.header(name, value);
            }
        }
        env.send(rb).await
    }

    #[tokio::test]
    async fn unsigned_payload_protobuf_requests_verify() {
        let env = env().await;
        let body = request("newstream", vec![entry(b"signed")]).encode_to_vec();
        let headers = signed(&env, &body, SK, true);
        assert!(headers.last().unwrap().1.contains(
            "SignedHeaders=content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date"
        ));
        let got = send(&env, &headers, body.clone()).await.result();
        assert_eq!(got.failed_record_count, Some(0));
        // UNSIGNED-PAYLOAD: the signature does not cover the body, so another body passes too.
        let other = request("newstream", vec![entry(b"other body")]).encode_to_vec();
        assert_eq!(
            send(&env, &headers, other)
                .await
                .result()
                .failed_record_count,
            Some(0)
        );
        let data: Vec<Vec<u8>> = env
            .dis
            .records("newstream")
            .unwrap()
            .iter()
            .map(|r| r.data.to_vec())
            .collect();
        assert_eq!(data.len(), 2);
        // Without the header, the body hash is signed (and checked).
        let headers = signed(&env, &body, SK, false);
        assert_eq!(
            send(&env, &headers, body.clone())
                .await
                .result()
                .failed_record_count,
            Some(0)
        );
        let tampered = request("newstream", vec![entry(b"tampered")]).encode_to_vec();
        send(&env, &headers, tampered)
            .await
            .assert_dis_error(441, "DIS.4100");
        // A wrong secret key: 441 DIS.4100, in JSON.
        let headers = signed(&env, &body, "wrong", true);
        send(&env, &headers, body.clone())
            .await
            .assert_dis_error(441, "DIS.4100");
        // The UNSIGNED-PAYLOAD header added after signing: the signature no longer matches.
        let mut headers = signed(&env, &body, SK, false);
        headers.push((
            "X-Sdk-Content-Sha256".to_owned(),
            "UNSIGNED-PAYLOAD".to_owned(),
        ));
        send(&env, &headers, body)
            .await
            .assert_dis_error(441, "DIS.4100");
        assert_eq!(env.dis.records("newstream").unwrap().len(), 3);
    }
}

/// Requests that Huawei's hand-written Python SDK signed and sent (captured by
/// `scripts/interop/huawei_sdk.py vectors`), replayed against dis-local's verifier.
mod handwritten_sdk {
    use super::*;

    const FIXTURE: &str =
        include_str!("../../../huaweicloud-sign/tests/fixtures/handwritten_sdk_signatures.json");

    struct Vector {
        name: String,
        signer: String,
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Vector {
        fn header(&self, name: &str) -> &str {
            &self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .unwrap_or_else(|| panic!("{}: no {name}", self.name))
                .1
        }

        /// The server clock at signing time.
        fn signed_at(&self) -> SystemTime {
            sign::parse_sdk_date(self.header("x-sdk-date")).expect("X-Sdk-Date")
        }
    }

    fn fixture() -> (Value, Vec<Vector>) {
        let all: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
        let vectors = all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Vector {
                name: v["name"].as_str().unwrap().to_owned(),
                signer: v["signer"].as_str().unwrap().to_owned(),
                method: v["method"].as_str().unwrap().to_owned(),
                target: v["target"].as_str().unwrap().to_owned(),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().to_owned(),
                            h[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect(),
                body: B64.decode(v["body_base64"].as_str().unwrap()).unwrap(),
            })
            .collect();
        (all, vectors)
    }

    async fn env(config: LocalConfig, at: SystemTime) -> Env {
        let config = config
            .with_streams([StreamConfig::new("newstream", 4)])
            .with_accept_token(false)
            .with_clock(move || at);
        Env::start(config).await
    }

    /// Sends the vector as captured (Host and Content-Length are the HTTP client's), with
    /// `edit` applied to its headers and body.
    async fn replay(
        env: &Env,
        v: &Vector,
        edit: impl FnOnce(&mut Vec<(String, String)>, &mut Vec<u8>),
    ) -> Answer {
        let (mut headers, mut body) = (v.headers.clone(), v.body.clone());
        edit(&mut headers, &mut body);
        let mut rb = env.http.request(
            v.method.parse().unwrap(),
            format!("{}{}", env.dis.endpoint(), v.target),
        );
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length") {
                rb = rb.header(name, value);
            }
        }
        env.send(rb.body(body)).await
    }

    fn set(headers: &mut [(String, String)], name: &str, value: String) {
        for h in headers
            .iter_mut()
            .filter(|h| h.0.eq_ignore_ascii_case(name))
        {
            h.1 = value.clone();
        }
    }

    #[test]
    fn the_fixture_has_both_schemes_and_both_bodies() {
        let (all, vectors) = fixture();
        assert!(
            all["sdk"]
                .as_str()
                .unwrap()
                .starts_with("huaweicloud-sdk-python-dis ")
        );
        let schemes: Vec<(&str, &str, &str)> = vectors
            .iter()
            .map(|v| {
                let auth = v.header("authorization");
                (
                    auth.split(' ').next().unwrap(),
                    v.signer.as_str(),
                    v.header("content-type").split(';').next().unwrap(),
                )
            })
            .collect();
        for want in [
            ("V11-HMAC-SHA256", "v11", "application/x-protobuf"),
            ("SDK-HMAC-SHA256", "sdk", "application/x-protobuf"),
            ("V11-HMAC-SHA256", "v11", "application/json"),
            ("SDK-HMAC-SHA256", "sdk", "application/json"),
        ] {
            assert!(schemes.contains(&want), "{want:?} in {schemes:?}");
        }
        assert!(vectors.iter().any(|v| v.target.contains('?')));
        assert!(vectors.iter().all(|v| v.target.contains("/records/")));
        assert!(
            vectors
                .iter()
                .all(|v| v.header("authorization").contains(" Credential="))
        );
    }

    #[tokio::test]
    async fn every_vector_verifies() {
        let (all, vectors) = fixture();
        let (ak, sk) = (all["ak"].as_str().unwrap(), all["sk"].as_str().unwrap());
        for v in &vectors {
            let env = env(LocalConfig::default().with_aksk(ak, sk), v.signed_at()).await;
            let got = replay(&env, v, |_, _| {}).await;
            if v.header("content-type")
                .starts_with("application/x-protobuf")
            {
                assert_eq!(got.result().failed_record_count, Some(0), "{}", v.name);
            } else {
                assert_eq!(got.status, 200, "{}: {:?}", v.name, got.json());
                assert_eq!(got.json()["failed_record_count"], 0, "{}", v.name);
            }
            let stored = env.dis.records("newstream").unwrap();
            assert!(!stored.is_empty(), "{}", v.name);
            if v.name.starts_with("put_records") {
                let mut data: Vec<&[u8]> = stored.iter().map(|r| &r.data[..]).collect();
                data.sort();
                assert_eq!(data, [&b"hello"[..], "ünïcødé €".as_bytes()], "{}", v.name);
            }
        }
    }

    #[tokio::test]
    async fn tampered_vectors_are_refused() {
        let (all, vectors) = fixture();
        let (ak, sk) = (all["ak"].as_str().unwrap(), all["sk"].as_str().unwrap());
        for v in &vectors {
            let at = v.signed_at();
            let env_ok = env(LocalConfig::default().with_aksk(ak, sk), at).await;
            // The body is signed (its SHA-256, no UNSIGNED-PAYLOAD): one byte changed fails.
            replay(&env_ok, v, |_, body| {
                let last = body.len() - 1;
                body[last] ^= 1;
            })
            .await
            .assert_dis_error(441, "DIS.4100");
            // Another X-Sdk-Date than the one signed.
            replay(&env_ok, v, |h, _| {
                let later = sign::format_sdk_date(at + Duration::from_secs(1));
                set(h, "x-sdk-date", later);
            })
            .await
            .assert_dis_error(441, "DIS.4100");
            // Another path than the one signed.
            let other = Vector {
                target: v.target.replace("interop-project", "other-project"),
                name: v.name.clone(),
                signer: v.signer.clone(),
                method: v.method.clone(),
                headers: v.headers.clone(),
                body: v.body.clone(),
            };
            replay(&env_ok, &other, |_, _| {})
                .await
                .assert_dis_error(441, "DIS.4100");
            // The other scheme's name on the same signature.
            replay(&env_ok, v, |h, _| {
                let auth = v.header("authorization");
                let swapped = if auth.starts_with("V11-") {
                    auth.replacen("V11-", "SDK-", 1)
                } else {
                    auth.replacen("SDK-", "V11-", 1)
                };
                set(h, "authorization", swapped);
            })
            .await
            .assert_dis_error(441, "DIS.4100");
            // Another region in the scope.
            replay(&env_ok, v, |h, _| {
                let auth = v
                    .header("authorization")
                    .replace("/cn-north-4/", "/cn-east-3/");
                set(h, "authorization", auth);
            })
            .await
            .assert_dis_error(441, "DIS.4100");
            assert!(env_ok.dis.records("newstream").unwrap().is_empty());

            // Another secret key, another access key, a clock 16 minutes later.
            let wrong_sk = env(LocalConfig::default().with_aksk(ak, "not-the-sk"), at).await;
            replay(&wrong_sk, v, |_, _| {})
                .await
                .assert_dis_error(441, "DIS.4100");
            let wrong_ak = env(LocalConfig::default().with_aksk("OTHERAK", sk), at).await;
            replay(&wrong_ak, v, |_, _| {})
                .await
                .assert_dis_error(441, "DIS.4107");
            let late = env(
                LocalConfig::default().with_aksk(ak, sk),
                at + Duration::from_secs(16 * 60),
            )
            .await;
            replay(&late, v, |_, _| {})
                .await
                .assert_dis_error(441, "DIS.4105");
        }
    }

    #[tokio::test]
    async fn accept_any_signature_takes_them_unverified() {
        let (_, vectors) = fixture();
        for v in &vectors {
            // No AK/SK at all, and a clock far from the signing time.
            let env = env(
                LocalConfig::default().with_accept_any_signature(true),
                SystemTime::now(),
            )
            .await;
            let got = replay(&env, v, |_, _| {}).await;
            assert_eq!(got.status, 200, "{}", v.name);
            // A wrong signature is accepted too.
            let got = replay(&env, v, |h, _| {
                let auth = v.header("authorization");
                let (head, _) = auth.rsplit_once("Signature=").unwrap();
                set(h, "authorization", format!("{head}Signature=00"));
            })
            .await;
            assert_eq!(got.status, 200, "{}", v.name);
        }
    }
}

mod accept_any_signature {
    use super::*;

    async fn post(env: &Env, authorization: Option<&str>, token: Option<&str>) -> Answer {
        let mut rb = env
            .http
            .post(env.url())
            .header("Content-Type", PROTOBUF)
            .body(request("newstream", vec![entry(b"x")]).encode_to_vec());
        if let Some(a) = authorization {
            rb = rb.header("Authorization", a);
        }
        if let Some(t) = token {
            rb = rb.header("X-Auth-Token", t);
        }
        env.send(rb).await
    }

    #[tokio::test]
    async fn well_formed_headers_pass_others_are_441() {
        let env = Env::start(
            LocalConfig::default()
                .with_accept_any_signature(true)
                .with_accept_token(false),
        )
        .await;
        for good in [
            "SDK-HMAC-SHA256 Access=ANY, SignedHeaders=host;x-sdk-date, Signature=00",
            "SDK-HMAC-SHA256 Credential=ANY/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "V11-HMAC-SHA256 Credential=ANY/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab",
            "NEW-SCHEME Credential=x, SignedHeaders=a, Signature=b",
        ] {
            assert_eq!(
                post(&env, Some(good), None).await.result().records.len(),
                1,
                "{good}"
            );
        }
        for bad in [
            "Bearer abc",
            "SDK-HMAC-SHA256 nonsense",
            "SDK-HMAC-SHA256 Access=ANY, Signature=00",
        ] {
            post(&env, Some(bad), None)
                .await
                .assert_dis_error(441, "DIS.4102");
        }
        post(&env, None, Some("a token"))
            .await
            .assert_dis_error(441, "DIS.4101");
        assert_eq!(env.dis.records("newstream").unwrap().len(), 4);
    }

    #[tokio::test]
    async fn tokens_still_work_and_aksk_is_not_checked() {
        let env = Env::start(
            LocalConfig::default()
                .with_accept_any_signature(true)
                .with_aksk("AK", "SK"),
        )
        .await;
        assert_eq!(post(&env, None, Some("tok")).await.status, 200);
        let other_ak = "V11-HMAC-SHA256 Credential=NOTAK/20240102/r/dis/sdk_request, SignedHeaders=host, Signature=ab";
        assert_eq!(post(&env, Some(other_ak), None).await.status, 200);
        // Off (the default): the same header is verified, and refused.
        let strict = Env::start(
            LocalConfig::default()
                .with_aksk("AK", "SK")
                .with_accept_token(false),
        )
        .await;
        post(&strict, Some(other_ak), None)
            .await
            .assert_dis_error(441, "DIS.4107");
    }
}
