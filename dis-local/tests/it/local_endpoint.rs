//! Tests of the local DIS endpoint (`dis_local`), speaking raw HTTP with reqwest to 127.0.0.1
//! only.

use crate::support;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES, Faults,
    LocalConfig, LocalDis, StoredRecord, StreamConfig, hash_partition_key, partition_for_hash,
};
use serde_json::{Value, json};
use support::{Env, client};

const MAX: u64 = i64::MAX as u64;
const AVG4: u64 = MAX / 4;

/// What these tests ask of the endpoint: a trait of this module, since the other modules of
/// this binary give `Env` methods of the same names.
trait Calls {
    async fn post(&self, body: &Value) -> (u16, Value);
    async fn get_records(&self, stream: &str) -> (u16, Value);
    fn stored(&self) -> Vec<StoredRecord>;
}

impl Calls for Env {
    /// POSTs a JSON value with a token and the Huawei SDK content type.
    async fn post(&self, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url())
            .header("X-Auth-Token", "test-token")
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .expect("send");
        status_json(resp).await
    }

    async fn get_records(&self, stream: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!(
                "{}/local/v1/streams/{stream}/records",
                self.dis.endpoint()
            ))
            .send()
            .await
            .expect("get");
        status_json(resp).await
    }

    fn stored(&self) -> Vec<StoredRecord> {
        self.dis.records("newstream").expect("newstream exists")
    }
}

async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(
        ct.as_deref(),
        Some("application/json"),
        "status {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

fn b64(data: &[u8]) -> String {
    B64.encode(data)
}

fn req(records: Vec<Value>) -> Value {
    json!({"stream_name": "newstream", "records": records})
}

fn rec(data: &str) -> Value {
    json!({"data": b64(data.as_bytes())})
}

/// Asserts a DIS error body `{"errorCode": code, "message": ...}`.
fn assert_dis_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["errorCode"], code, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

/// The partition index each result landed on (panics on a failed result).
fn partitions_of(body: &Value) -> Vec<u32> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let pid = r["partition_id"].as_str().expect("partition_id");
            pid.strip_prefix("shardId-").unwrap().parse().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn stores_and_answers_like_dis() {
    let env = Env::default().await;
    let got = env
        .post(&json!({"stream_name": "newstream", "records": [
            {"data": "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="},
            {"data": b64(b"second"), "partition_key": "user-1"},
            {"data": b64(b"third"), "partition_id": "shardId-0000000002", "timestamp": 1}
        ]}))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(
        got.1,
        json!({"failed_record_count": 0, "records": [
            {"partition_id": "shardId-0000000000", "sequence_number": "0"},
            {"partition_id": "shardId-0000000002", "sequence_number": "0"},
            {"partition_id": "shardId-0000000002", "sequence_number": "1"}
        ]})
    );
    let stored = env.stored();
    assert_eq!(stored.len(), 3);
    assert_eq!(&stored[0].data[..], b"11111111111111111111111111111111");
    assert_eq!(stored[0].partition_key, None);
    assert_eq!(stored[1].partition_id, "shardId-0000000002");
    assert_eq!(stored[1].sequence_number, "0");
    assert_eq!(&stored[1].data[..], b"second");
    assert_eq!(stored[1].partition_key.as_deref(), Some("user-1"));
    assert_eq!(&stored[2].data[..], b"third");
    let stats = env.dis.stats();
    assert_eq!(
        (
            stats.requests,
            stats.records_stored,
            stats.rejected_requests
        ),
        (1, 3, 0)
    );
}

#[tokio::test]
async fn answers_carry_a_request_id() {
    let env = Env::default().await;
    let resp = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "t")
        .json(&req(vec![rec("x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers().get("x-request-id").expect("x-request-id");
    assert!(!id.is_empty());
}

#[tokio::test]
async fn content_types() {
    let env = Env::default().await;
    for ct in [
        "application/json",
        "application/json;charset=UTF-8",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let resp = env
            .http
            .post(env.url())
            .header("X-Auth-Token", "t")
            .header("Content-Type", ct)
            .header("X-Project-Id", "0123456789abcdef")
            .header("X-Something-Else", "whatever")
            .body(serde_json::to_vec(&req(vec![rec("x")])).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{ct}");
    }
    for ct in [Some("text/plain"), Some("application/jsonx"), None] {
        let mut rb = env
            .http
            .post(env.url())
            .header("X-Auth-Token", "t")
            .body(serde_json::to_vec(&req(vec![rec("x")])).unwrap());
        if let Some(ct) = ct {
            rb = rb.header("Content-Type", ct);
        }
        let got = status_json(rb.send().await.unwrap()).await;
        assert_dis_error(&got, 400, "DIS.4200");
    }
    assert_eq!(env.stored().len(), 4);
}

#[tokio::test]
async fn token_auth() {
    let env = Env::default().await;
    let body = serde_json::to_vec(&req(vec![rec("x")])).unwrap();
    for token in [None, Some("")] {
        let mut rb = env
            .http
            .post(env.url())
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Some(t) = token {
            rb = rb.header("X-Auth-Token", t);
        }
        let (status, got) = status_json(rb.send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(got["error_code"], "APIGW.0301", "{got}");
        assert!(got["error_msg"].is_string());
        assert!(got.get("errorCode").is_none());
    }
    assert!(env.stored().is_empty());
    assert_eq!(env.dis.stats().rejected_requests, 2);

    // A fixed token: only that one passes, and it is never echoed.
    let env = Env::start(LocalConfig::default().with_token("s3cret-token")).await;
    let send = |t: &'static str| {
        env.http
            .post(env.url())
            .header("X-Auth-Token", t)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
    };
    let resp = send("wrong").await.unwrap();
    assert_eq!(resp.status(), 401);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("APIGW.0301") && !text.contains("s3cret"),
        "{text}"
    );
    assert_eq!(send("s3cret-token").await.unwrap().status(), 200);

    // Tokens switched off and no AK/SK: nothing passes.
    let env = Env::start(LocalConfig::default().with_accept_token(false)).await;
    let got = env.post(&req(vec![rec("x")])).await;
    assert_eq!(got.0, 401);
    assert_eq!(got.1["error_code"], "APIGW.0301");
}

#[tokio::test]
async fn malformed_bodies_are_dis_4200() {
    let env = Env::default().await;
    let raw = |body: &'static str| {
        env.http
            .post(env.url())
            .header("X-Auth-Token", "t")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        "",
        "not json",
        "{",
        "[]",
        "null",
        r#"{"records":[{"data":"eA=="}]}"#,
        r#"{"stream_name":"newstream"}"#,
        r#"{"stream_name":"newstream","records":{}}"#,
        r#"{"stream_name":"newstream","records":null}"#,
        r#"{"stream_name":7,"records":[{"data":"eA=="}]}"#,
        r#"{"stream_name":"newstream","records":[{}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":null}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":12}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","partition_id":3}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","explicit_hash_key":5}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","partition_key":["a"]}]}"#,
        // The spec types the optional fields `string`, not nullable.
        r#"{"stream_name":"newstream","stream_id":null,"records":[{"data":"eA=="}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","partition_id":null}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","partition_key":null}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA==","explicit_hash_key":null}]}"#,
        r#"{"stream_name":"","records":[{"data":"eA=="}]}"#,
        r#"{"stream_name":"newstream","records":[{"data":"eA=="}]} trailing"#,
    ] {
        let got = status_json(raw(body).await.unwrap()).await;
        assert_dis_error(&got, 400, "DIS.4200");
    }
    let long = "n".repeat(61);
    let got = env
        .post(&json!({"stream_name": long, "records": [rec("x")]}))
        .await;
    assert_dis_error(&got, 400, "DIS.4200");
    assert!(env.stored().is_empty());
}

#[tokio::test]
async fn streams_by_name_and_id() {
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("alpha", 2), StreamConfig::new("beta", 3)]),
    )
    .await;
    let got = env
        .post(&json!({"stream_name": "nope", "records": [rec("x")]}))
        .await;
    assert_dis_error(&got, 400, "DIS.4301");
    let got = env
        .post(&json!({"stream_name": "nope", "stream_id": "sid-unknown", "records": [rec("x")]}))
        .await;
    assert_dis_error(&got, 400, "DIS.4301");
    let got = env
        .post(&json!({"stream_name": "nope", "stream_id": "", "records": [rec("x")]}))
        .await;
    assert_dis_error(&got, 400, "DIS.4301");

    // Unknown name, known id: the id finds the stream.
    let beta_id = StreamConfig::new("beta", 3).stream_id();
    assert!(
        beta_id.starts_with("sid-") && beta_id.len() == 20,
        "{beta_id}"
    );
    let got = env
        .post(&json!({"stream_name": "nope", "stream_id": beta_id, "records": [rec("via id")]}))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    // A known name wins over any id.
    let got = env
        .post(&json!({"stream_name": "alpha", "stream_id": beta_id, "records": [rec("via name")]}))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let beta = env.dis.records("beta").unwrap();
    assert_eq!(beta.len(), 1);
    assert_eq!(&beta[0].data[..], b"via id");
    let alpha = env.dis.records("alpha").unwrap();
    assert_eq!(alpha.len(), 1);
    assert_eq!(&alpha[0].data[..], b"via name");
    assert!(env.dis.records("newstream").is_none());
}

#[tokio::test]
async fn empty_and_too_many_records() {
    let env = Env::start(LocalConfig::default().with_max_records_per_request(3)).await;
    let got = env.post(&req(vec![])).await;
    assert_dis_error(&got, 400, "DIS.4202");
    let got = env.post(&req(vec![rec("a"); 4])).await;
    assert_dis_error(&got, 400, "DIS.4200");
    assert!(
        got.1["message"].as_str().unwrap().contains('3'),
        "{}",
        got.1
    );
    assert_eq!(env.post(&req(vec![rec("a"); 3])).await.0, 200);

    // The default is 500.
    let env = Env::default().await;
    assert_eq!(env.post(&req(vec![rec("a"); 500])).await.0, 200);
    let got = env.post(&req(vec![rec("a"); 501])).await;
    assert_dis_error(&got, 400, "DIS.4200");
    assert_eq!(env.stored().len(), 500);
}

#[tokio::test]
async fn partition_id_errors() {
    let env = Env::default().await;
    for bad in [
        "",
        "shardId-1",
        "shardId-00000000001",
        "shardid-0000000001",
        "shard-0000000001",
        "-1",
        "1.0",
        "12345678901",
        "x",
    ] {
        let got = env
            .post(&req(vec![json!({"data": "eA==", "partition_id": bad})]))
            .await;
        assert_dis_error(&got, 400, "DIS.4201");
    }
    for absent in [
        "4",
        "shardId-0000000004",
        "9999999999",
        "shardId-9999999999",
    ] {
        let got = env
            .post(&req(vec![json!({"data": "eA==", "partition_id": absent})]))
            .await;
        assert_dis_error(&got, 400, "DIS.4302");
    }
    assert!(env.stored().is_empty());
}

#[tokio::test]
async fn explicit_hash_key_errors() {
    let env = Env::default().await;
    for bad in [
        "",
        "-1",
        "+1",
        "01",
        "1.5",
        "abc",
        "9223372036854775808",
        "18446744073709551616",
    ] {
        let got = env
            .post(&req(vec![
                json!({"data": "eA==", "explicit_hash_key": bad}),
            ]))
            .await;
        assert_dis_error(&got, 400, "DIS.4200");
    }
    assert!(env.stored().is_empty());
}

#[tokio::test]
async fn base64_and_size_limits() {
    let env = Env::default().await;
    for bad in [
        "eA",
        "eA=",
        "e===",
        "!!!!",
        "eA==eA==x",
        "ZGF0YQ",
        "ZGF0YQ==\n",
    ] {
        let got = env.post(&req(vec![json!({"data": bad})])).await;
        assert_dis_error(&got, 400, "DIS.4200");
    }
    // The empty payload is valid Base64.
    assert_eq!(env.post(&req(vec![json!({"data": ""})])).await.0, 200);

    // One record of 1 MiB + 1 raw bytes: 400 naming the limit.
    let big = vec![7u8; 1024 * 1024 + 1];
    let got = env.post(&req(vec![json!({"data": b64(&big)})])).await;
    assert_dis_error(&got, 400, "DIS.4200");
    assert!(
        got.1["message"].as_str().unwrap().contains("1048576"),
        "{}",
        got.1
    );

    // Two records of 600 kB: 1.2 MB of data > 1 MiB per request: 413 with a DIS body.
    let half = b64(&vec![1u8; 600_000]);
    let got = env
        .post(&req(vec![json!({"data": half}), json!({"data": half})]))
        .await;
    assert_dis_error(&got, 413, "DIS.4200");
    assert!(
        got.1["message"].as_str().unwrap().contains("1048576"),
        "{}",
        got.1
    );
    // Exactly at the limit passes; partition keys do not count.
    let key = "k".repeat(10_000);
    let got = env
        .post(&req(vec![
            json!({"data": b64(&vec![1u8; 524_288]), "partition_key": key}),
            json!({"data": b64(&vec![2u8; 524_288]), "partition_key": key}),
        ]))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(env.stored().len(), 3, "the empty record and the two halves");
}

#[tokio::test]
async fn configurable_request_limit() {
    let env = Env::start(
        LocalConfig::default()
            .with_max_request_bytes(5_000_000)
            .with_max_record_bytes(3_000_000),
    )
    .await;
    let got = env
        .post(&req(vec![json!({"data": b64(&vec![1u8; 2_500_000])}); 2]))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let got = env
        .post(&req(vec![json!({"data": b64(&vec![1u8; 2_600_000])}); 2]))
        .await;
    assert_dis_error(&got, 413, "DIS.4200");
}

#[tokio::test]
async fn body_over_the_hard_cap_is_413_and_the_server_stays_usable() {
    let env = Env::start(LocalConfig::default().with_max_body_bytes(10_000)).await;
    // With a Content-Length.
    let records: Vec<Value> = (0..100).map(|_| rec(&"x".repeat(100))).collect();
    let got = env.post(&req(records)).await;
    assert_dis_error(&got, 413, "DIS.4200");
    // Chunked, without a Content-Length.
    let body = serde_json::to_vec(&req((0..100).map(|_| rec(&"y".repeat(100))).collect())).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let resp = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "t")
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    let got = status_json(resp).await;
    assert_dis_error(&got, 413, "DIS.4200");
    assert!(env.stored().is_empty());
    // Still serving.
    assert_eq!(env.post(&req(vec![rec("small")])).await.0, 200);
    assert_eq!(env.stored().len(), 1);
    assert_eq!(env.dis.stats().rejected_requests, 2);
}

#[tokio::test]
async fn paths_and_methods() {
    let env = Env::default().await;
    let base = env.dis.endpoint();
    for (method, path, status) in [
        ("GET", "/v2/p/records", 405),
        ("PUT", "/v2/p/records", 405),
        ("POST", "/v2//records", 404),
        ("GET", "/v2/p/records/", 405),
        ("POST", "/v2/p/records//", 404),
        ("POST", "/v2/p/records/x", 404),
        ("POST", "/v2/p/streams", 404),
        ("POST", "/v1/p/records", 404),
        ("POST", "/", 404),
        ("POST", "/local/v1/streams/newstream/records", 405),
        ("GET", "/local/v1/nothing", 404),
    ] {
        let resp = env
            .http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("X-Auth-Token", "t")
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&req(vec![rec("x")])).unwrap())
            .send()
            .await
            .unwrap();
        if status == 405 {
            assert!(resp.headers().contains_key("allow"), "{method} {path}");
        }
        let got = status_json(resp).await;
        assert_eq!(got.0, status, "{method} {path}");
        assert!(
            got.1["errorCode"].as_str().unwrap().starts_with("DIS."),
            "{}",
            got.1
        );
    }
    // A trailing slash, as Huawei's hand-written SDKs post (DIS takes it).
    let resp = env
        .http
        .post(format!("{base}/v2/p/records/"))
        .header("X-Auth-Token", "t")
        .json(&req(vec![rec("slash")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Query strings are ignored on the SendRecords path.
    let resp = env
        .http
        .post(format!("{}?x=1", env.url()))
        .header("X-Auth-Token", "t")
        .json(&req(vec![rec("q")]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(env.stored().len(), 2);
    // Unknown stream on the read-back path.
    let got = env.get_records("nope").await;
    assert_dis_error(&got, 404, "DIS.4301");
}

#[tokio::test]
async fn a_request_is_all_or_nothing() {
    let env = Env::default().await;
    for bad in [
        json!({"data": "not base64!"}),
        json!({"data": "eA==", "partition_id": "7"}),
        json!({"data": "eA==", "partition_id": "bad"}),
        json!({"data": "eA==", "explicit_hash_key": "-3"}),
    ] {
        let got = env
            .post(&req(vec![rec("good"), rec("good too"), bad]))
            .await;
        assert_eq!(got.0, 400, "{}", got.1);
    }
    assert!(env.stored().is_empty());
    assert_eq!(env.dis.record_counts("newstream").unwrap(), vec![0; 4]);
    // Sequence numbers did not move either.
    let got = env
        .post(&req(vec![json!({"data": "eA==", "partition_id": "0"})]))
        .await;
    assert_eq!(got.1["records"][0]["sequence_number"], "0");
}

#[tokio::test]
async fn routing_by_partition_id() {
    let env = Env::default().await;
    let got = env
        .post(&req(vec![
            json!({"data": "eA==", "partition_id": "shardId-0000000002"}),
            json!({"data": "eA==", "partition_id": "3"}),
            json!({"data": "eA==", "partition_id": "0000000001"}),
            json!({"data": "eA==", "partition_id": "0"}),
            // partition_id wins over explicit_hash_key and partition_key.
            json!({"data": "eA==", "partition_id": "1", "explicit_hash_key": "0", "partition_key": "user-1"}),
        ]))
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(partitions_of(&got.1), vec![2, 3, 1, 0, 1]);
}

#[tokio::test]
async fn routing_by_explicit_hash_key() {
    let env = Env::default().await;
    let cases: Vec<(u64, u32)> = vec![
        (0, 0),
        (1, 0),
        (AVG4 - 1, 0),
        (AVG4, 0), // exactly on a boundary: below it (Java rule)
        (AVG4 + 1, 1),
        (2 * AVG4, 1),
        (2 * AVG4 + 1, 2),
        (3 * AVG4, 2),
        (3 * AVG4 + 1, 3),
        (4 * AVG4, 3),
        (MAX, 3), // i64::MAX: past 4 * AVG4, clamped to the last partition
    ];
    let records: Vec<Value> = cases
        .iter()
        .map(|(h, _)| json!({"data": "eA==", "explicit_hash_key": h.to_string()}))
        .collect();
    let got = env.post(&req(records)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let want: Vec<u32> = cases.iter().map(|c| c.1).collect();
    assert_eq!(partitions_of(&got.1), want);
    for (h, p) in &cases {
        assert_eq!(partition_for_hash(*h, 4), *p, "h={h}");
    }
    // explicit_hash_key wins over partition_key ("user-1" alone goes to 2).
    let got = env
        .post(&req(vec![
            json!({"data": "eA==", "explicit_hash_key": "0", "partition_key": "user-1"}),
        ]))
        .await;
    assert_eq!(partitions_of(&got.1), vec![0]);
    let stored = env.stored();
    let last = stored
        .iter()
        .find(|r| r.partition_key.as_deref() == Some("user-1"))
        .unwrap();
    assert_eq!(last.explicit_hash_key.as_deref(), Some("0"));
}

#[tokio::test]
async fn routing_by_partition_key() {
    let env = Env::start(LocalConfig::default().with_streams([
        StreamConfig::new("newstream", 4),
        StreamConfig::new("seven", 7),
    ]))
    .await;
    // Hand-computed once with Python:
    //   h = int.from_bytes(hashlib.md5(k.encode()).digest()[:8], "big") & (2**63 - 1)
    //   avg = (2**63 - 1) // p; i = h // avg; i -= (i > 0 and h % avg == 0)
    // "user-1": md5 d6d7705392bc7af6..., h = 6257593711501015798 -> 2 of 4
    // "user-2": md5 3d58ce20fe802793..., h = 4420509675368228755 -> 1 of 4
    // "a":      md5 0cc175b9c0f1b6a8..., h =  919145239626757800 -> 0 of 4
    // "设备-7": md5 f52e81a0380c9050..., h = 8443828876501356624 -> 3 of 4, 6 of 7
    assert_eq!(hash_partition_key("user-1"), 6_257_593_711_501_015_798);
    assert_eq!(hash_partition_key("设备-7"), 8_443_828_876_501_356_624);
    let keys = ["user-1", "user-2", "a", "设备-7", "order-42", "x\"y\\z"];
    let records: Vec<Value> = keys
        .iter()
        .map(|k| json!({"data": "eA==", "partition_key": k}))
        .collect();
    let got = env.post(&req(records)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let parts = partitions_of(&got.1);
    assert_eq!(&parts[..4], &[2, 1, 0, 3]);
    for (k, p) in keys.iter().zip(&parts) {
        assert_eq!(partition_for_hash(hash_partition_key(k), 4), *p, "{k}");
    }
    let got = env
        .post(&json!({"stream_name": "seven", "records": [{"data": "eA==", "partition_key": "设备-7"}]}))
        .await;
    assert_eq!(partitions_of(&got.1), vec![6]);
    // The same key always lands on the same partition; keys (with escapes) are kept.
    let got = env
        .post(&req(vec![
            json!({"data": "eA==", "partition_key": "x\"y\\z"});
            3
        ]))
        .await;
    assert_eq!(partitions_of(&got.1), vec![parts[5]; 3]);
    assert!(
        env.stored()
            .iter()
            .any(|r| r.partition_key.as_deref() == Some("x\"y\\z"))
    );
}

#[tokio::test]
async fn records_without_routing_are_spread_round_robin() {
    let env = Env::default().await;
    let got = env.post(&req(vec![rec("r"); 6])).await;
    assert_eq!(partitions_of(&got.1), vec![0, 1, 2, 3, 0, 1]);
    // The cursor is per stream and survives requests; an empty key counts as no key.
    let got = env
        .post(&req(vec![
            rec("r"),
            json!({"data": "eA==", "partition_key": ""}),
            json!({"data": "eA==", "partition_id": "0"}),
            rec("r"),
        ]))
        .await;
    assert_eq!(partitions_of(&got.1), vec![2, 3, 0, 0]);
}

#[tokio::test]
async fn sequence_numbers_grow_per_partition() {
    let env = Env::default().await;
    let mut next = [0u64; 4];
    for round in 0..5 {
        let records: Vec<Value> = (0..7)
            .map(|i| json!({"data": b64(format!("{round}-{i}").as_bytes()), "partition_id": ((round + i) % 3).to_string()}))
            .collect();
        let got = env.post(&req(records)).await;
        for r in got.1["records"].as_array().unwrap() {
            let p: usize = r["partition_id"].as_str().unwrap()[8..].parse().unwrap();
            let seq: u64 = r["sequence_number"].as_str().unwrap().parse().unwrap();
            assert_eq!(seq, next[p]);
            next[p] += 1;
        }
    }
    assert_eq!(next, [12, 12, 11, 0]);
    assert_eq!(
        env.dis.record_counts("newstream").unwrap(),
        vec![12, 12, 11, 0]
    );
}

#[tokio::test]
async fn read_back_order_and_content() {
    let env = Env::default().await;
    let got = env
        .post(&req(vec![
            json!({"data": b64(b"p3-a"), "partition_id": "3"}),
            json!({"data": b64(b"p1-a"), "partition_id": "1", "explicit_hash_key": "5"}),
            json!({"data": b64(&[0u8, 255, 1]), "partition_key": "a"}),
            json!({"data": b64(b"p3-b"), "partition_id": "shardId-0000000003"}),
            json!({"data": b64(b"p1-b"), "partition_id": "1"}),
        ]))
        .await;
    assert_eq!(got.0, 200);
    let (status, body) = env.get_records("newstream").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([
            {"partition_id": "shardId-0000000000", "sequence_number": "0", "data": "AP8B", "partition_key": "a"},
            {"partition_id": "shardId-0000000001", "sequence_number": "0", "data": b64(b"p1-a"), "explicit_hash_key": "5"},
            {"partition_id": "shardId-0000000001", "sequence_number": "1", "data": b64(b"p1-b")},
            {"partition_id": "shardId-0000000003", "sequence_number": "0", "data": b64(b"p3-a")},
            {"partition_id": "shardId-0000000003", "sequence_number": "1", "data": b64(b"p3-b")},
        ])
    );
    // The API returns the same, decoded.
    let stored = env.stored();
    let from_api: Vec<Value> = stored
        .iter()
        .map(|r| {
            let mut v = json!({"partition_id": r.partition_id, "sequence_number": r.sequence_number, "data": b64(&r.data)});
            if let Some(k) = &r.partition_key {
                v["partition_key"] = json!(k);
            }
            if let Some(h) = &r.explicit_hash_key {
                v["explicit_hash_key"] = json!(h);
            }
            v
        })
        .collect();
    assert_eq!(Value::Array(from_api), body);
    // The stream summary counts per partition.
    let resp = env
        .http
        .get(format!("{}/local/v1/streams/newstream", env.dis.endpoint()))
        .send()
        .await
        .unwrap();
    let (status, summary) = status_json(resp).await;
    assert_eq!(status, 200);
    assert_eq!(
        summary["stream_id"],
        StreamConfig::new("newstream", 4).stream_id()
    );
    let counts: Vec<u64> = summary["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["records"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 2, 0, 2]);
}

#[tokio::test]
async fn fail_records_fails_every_record_and_stores_none() {
    let env = Env::start(
        LocalConfig::default().with_faults(Faults::default().with_fail_records(1.0).with_seed(42)),
    )
    .await;
    let got = env.post(&req(vec![rec("a"); 5])).await;
    assert_eq!(got.0, 200);
    assert_eq!(got.1["failed_record_count"], 5);
    for r in got.1["records"].as_array().unwrap() {
        assert_eq!(r["error_code"], "DIS.4303");
        assert!(
            r["error_message"]
                .as_str()
                .unwrap()
                .contains("traffic control")
        );
        assert!(r.get("partition_id").is_none());
    }
    assert!(env.stored().is_empty());
    assert_eq!(env.dis.stats().records_failed, 5);
    assert_eq!(env.dis.stats().records_stored, 0);
}

#[tokio::test]
async fn fail_records_partially_is_seeded() {
    let env = Env::default().await;
    let faults = Faults::default().with_fail_records(0.5).with_seed(7);
    let mut patterns = Vec::new();
    for _ in 0..2 {
        env.dis.set_faults(faults);
        let got = env
            .post(&req(vec![json!({"data": "eA==", "partition_id": "0"}); 40]))
            .await;
        assert_eq!(got.0, 200);
        let pattern: Vec<bool> = got.1["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.get("error_code").is_some())
            .collect();
        let failed = pattern.iter().filter(|&&f| f).count();
        assert_eq!(got.1["failed_record_count"], failed);
        assert!(failed > 5 && failed < 35, "{failed} of 40");
        patterns.push(pattern);
    }
    assert_eq!(patterns[0], patterns[1], "same seed, same faults");
    let stored_ok = patterns.iter().flatten().filter(|&&f| !f).count();
    assert_eq!(env.stored().len(), stored_ok);
    // Sequence numbers stay contiguous although some records failed.
    let seqs: Vec<String> = env
        .stored()
        .iter()
        .map(|r| r.sequence_number.clone())
        .collect();
    let want: Vec<String> = (0..stored_ok).map(|i| i.to_string()).collect();
    assert_eq!(seqs, want);
    assert_eq!(env.dis.faults(), faults);
}

#[tokio::test]
async fn fail_requests_answers_5xx_or_429_and_stores_nothing() {
    let env = Env::start(
        LocalConfig::default().with_faults(Faults::default().with_fail_requests(1.0).with_seed(1)),
    )
    .await;
    let mut seen = HashSet::new();
    for _ in 0..30 {
        let (status, body) = env.post(&req(vec![rec("a")])).await;
        match status {
            500 => assert_eq!(body["errorCode"], "DIS.5000"),
            503 => assert!(body["errorCode"].as_str().unwrap().starts_with("DIS.5")),
            429 => assert!(body["error_code"].is_string() || body["errorCode"].is_string()),
            other => panic!("unexpected {other}: {body}"),
        }
        seen.insert(status);
    }
    assert_eq!(seen.len(), 3, "all three kinds appear: {seen:?}");
    assert!(env.stored().is_empty());
    assert_eq!(env.dis.stats().failed_requests, 30);
    env.dis.set_faults(Faults::default());
    assert_eq!(env.post(&req(vec![rec("a")])).await.0, 200);
}

/// Sends and expects the connection to close without an answer.
async fn expect_connection_error(env: &Env, body: &Value) {
    let err = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "t")
        .json(body)
        .send()
        .await
        .expect_err("the connection should close without an answer");
    assert!(err.status().is_none(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    // Connected, sent, and then the connection ended with no answer at all.
    assert!(err.is_request() && !err.is_connect(), "{err:?}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = source {
        chain.push_str(&format!("{e}: "));
        source = e.source();
    }
    assert!(
        chain.contains("connection closed before message completed") || chain.contains("reset"),
        "{chain}"
    );
}

#[tokio::test]
async fn drop_before_closes_without_storing() {
    let env = Env::start(
        LocalConfig::default().with_faults(Faults::default().with_drop_before(1.0).with_seed(3)),
    )
    .await;
    expect_connection_error(&env, &req(vec![rec("a"), rec("b")])).await;
    expect_connection_error(&env, &req(vec![rec("c")])).await;
    assert!(env.stored().is_empty());
    let stats = env.dis.stats();
    assert_eq!((stats.dropped_before, stats.records_stored), (2, 0));
    env.dis.set_faults(Faults::default());
    assert_eq!(env.post(&req(vec![rec("d")])).await.0, 200);
    assert_eq!(env.stored().len(), 1);
}

#[tokio::test]
async fn drop_after_stores_then_closes() {
    let env =
        Env::start(LocalConfig::default().with_faults(Faults::default().with_drop_after(1.0)))
            .await;
    expect_connection_error(&env, &req(vec![rec("a"), rec("b")])).await;
    let stored = env.stored();
    assert_eq!(stored.len(), 2);
    assert_eq!(env.dis.stats().dropped_after, 1);
    // A retry duplicates: that is the point of this fault.
    env.dis.set_faults(Faults::default());
    let got = env.post(&req(vec![rec("a"), rec("b")])).await;
    assert_eq!(got.0, 200);
    assert_eq!(env.stored().len(), 4);
}

#[tokio::test]
async fn delay_is_applied_after_storing() {
    let env =
        Env::start(LocalConfig::default().with_faults(Faults::default().with_delay_ms(300))).await;
    let t = Instant::now();
    assert_eq!(env.post(&req(vec![rec("slow")])).await.0, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // A client that gives up early still had its record stored.
    let err = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "t")
        .timeout(Duration::from_millis(100))
        .json(&req(vec![rec("timed out")]))
        .send()
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(env.stored().len(), 2);
}

#[tokio::test]
async fn without_retain_only_counts() {
    let env = Env::start(LocalConfig::default().with_retain(false)).await;
    for _ in 0..3 {
        let got = env.post(&req(vec![rec("payload"); 10])).await;
        assert_eq!(got.0, 200);
    }
    assert_eq!(env.stored(), Vec::<StoredRecord>::new());
    assert_eq!(env.get_records("newstream").await, (200, json!([])));
    assert_eq!(
        env.dis.record_counts("newstream").unwrap(),
        vec![8, 8, 7, 7]
    );
    let stats = env.dis.stats();
    assert_eq!((stats.requests, stats.records_stored), (3, 30));
    // Sequence numbers still advance.
    let got = env
        .post(&req(vec![json!({"data": "eA==", "partition_id": "0"})]))
        .await;
    assert_eq!(got.1["records"][0]["sequence_number"], "8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_get_unique_contiguous_sequence_numbers() {
    let env = Env::default().await;
    let url = env.url();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8u32 {
        let http = client();
        let url = url.clone();
        tasks.spawn(async move {
            let mut seen = Vec::new();
            for i in 0..50u32 {
                let records: Vec<Value> = (0..10u32)
                    .map(|j| {
                        let data = b64(format!("{t}/{i}/{j}").as_bytes());
                        match j % 3 {
                            0 => json!({"data": data}),
                            1 => json!({"data": data, "partition_key": format!("k{t}-{j}")}),
                            _ => json!({"data": data, "partition_id": (j % 4).to_string()}),
                        }
                    })
                    .collect();
                let resp = http
                    .post(&url)
                    .header("X-Auth-Token", "t")
                    .json(&req(records))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["failed_record_count"], 0);
                for r in body["records"].as_array().unwrap() {
                    seen.push((
                        r["partition_id"].as_str().unwrap().to_owned(),
                        r["sequence_number"]
                            .as_str()
                            .unwrap()
                            .parse::<u64>()
                            .unwrap(),
                    ));
                }
            }
            seen
        });
    }
    let mut per_partition: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    while let Some(seen) = tasks.join_next().await {
        for (p, s) in seen.unwrap() {
            per_partition.entry(p).or_default().push(s);
        }
    }
    let mut total = 0;
    for (p, mut seqs) in per_partition {
        seqs.sort_unstable();
        let n = seqs.len() as u64;
        assert_eq!(
            seqs,
            (0..n).collect::<Vec<_>>(),
            "{p}: unique and contiguous"
        );
        total += n;
    }
    assert_eq!(total, 8 * 50 * 10);
    let stored = env.stored();
    assert_eq!(stored.len(), 4000);
    // Every payload arrived exactly once.
    let payloads: HashSet<Vec<u8>> = stored.iter().map(|r| r.data.to_vec()).collect();
    assert_eq!(payloads.len(), 4000);
    assert_eq!(env.dis.stats().requests, 400);
}

#[tokio::test]
async fn keep_alive_requests_do_not_stall() {
    // Without TCP_NODELAY, small keep-alive answers stall ~40 ms each.
    let env = Env::default().await;
    let body = req(vec![rec("x")]);
    env.post(&body).await;
    let t = Instant::now();
    for _ in 0..50 {
        assert_eq!(env.post(&body).await.0, 200);
    }
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "50 sequential requests took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn stats_path() {
    let env = Env::default().await;
    env.post(&req(vec![rec("a"); 3])).await;
    env.post(&req(vec![])).await;
    let resp = env
        .http
        .get(format!("{}/local/v1/stats", env.dis.endpoint()))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["requests"], 2);
    assert_eq!(body["records_stored"], 3);
    assert_eq!(body["rejected_requests"], 1);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let env = Env::default().await;
    assert_eq!(env.post(&req(vec![rec("a")])).await.0, 200);
    let addr = env.dis.addr();
    assert!(env.dis.endpoint().starts_with("http://127.0.0.1:"));
    env.dis.shutdown().await;
    let err = client()
        .post(format!("http://{addr}/v2/p/records"))
        .header("X-Auth-Token", "t")
        .json(&req(vec![rec("a")]))
        .send()
        .await
        .expect_err("stopped");
    assert!(
        err.is_connect(),
        "the port no longer accepts connections: {err:?}"
    );
}

#[tokio::test]
async fn config_checks_and_redaction() {
    let config = LocalConfig::default()
        .with_token("tok-SECRET-1")
        .with_aksk("AKVISIBLE", "SK-SECRET-2");
    let debug = format!("{config:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(
        debug.contains("AKVISIBLE") && debug.contains("newstream"),
        "{debug}"
    );

    // The fields of the default configuration are private (checked in the crate's unit
    // tests); from outside, the defaults are the documented constants.
    assert_eq!(
        (
            DEFAULT_MAX_RECORD_BYTES,
            DEFAULT_MAX_REQUEST_BYTES,
            DEFAULT_MAX_RECORDS_PER_REQUEST
        ),
        (1024 * 1024, 1024 * 1024, 500)
    );

    assert_eq!(
        "newstream:4".parse::<StreamConfig>().unwrap(),
        StreamConfig::new("newstream", 4)
    );
    assert_eq!(
        "a:b:2".parse::<StreamConfig>().unwrap(),
        StreamConfig::new("a:b", 2)
    );
    for bad in ["newstream", "x:0", ":3", "x:-1", "x:", "x:four"] {
        assert!(bad.parse::<StreamConfig>().is_err(), "{bad}");
    }

    for streams in [
        vec![StreamConfig::new("dup", 1), StreamConfig::new("dup", 2)],
        vec![StreamConfig::new("zero", 0)],
        vec![StreamConfig::new("", 1)],
    ] {
        let err = LocalDis::start(
            LocalConfig::default().with_streams(streams),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect_err("invalid config");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

mod aksk {
    use super::*;
    use huaweicloud_sign::{self as sign, SignableRequest};
    use std::time::{SystemTime, UNIX_EPOCH};

    const AK: &str = "LOCALAKEXAMPLE";
    const SK: &str = "local-sk-SECRET-value";

    /// The pinned server clock: 2024-01-02T03:04:05Z.
    fn server_now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    async fn env(accept_token: bool) -> Env {
        Env::start(
            LocalConfig::default()
                .with_aksk(AK, SK)
                .with_accept_token(accept_token)
                .with_token("good-token")
                .with_clock(server_now),
        )
        .await
    }

    struct Signed {
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    /// Signs a SendRecords request like Huawei's SDK: Host, Content-Type, X-Project-Id and
    /// X-Sdk-Date are signed.
    fn signed(env: &Env, body: &Value, date: SystemTime, ak: &str, sk: &str) -> Signed {
        let body = serde_json::to_vec(body).unwrap();
        let mut headers = vec![
            (
                "Host".to_owned(),
                format!("127.0.0.1:{}", env.dis.addr().port()),
            ),
            (
                "Content-Type".to_owned(),
                "application/json;charset=UTF-8".to_owned(),
            ),
            ("X-Project-Id".to_owned(), "0123456789abcdef".to_owned()),
            ("X-Sdk-Date".to_owned(), sign::format_sdk_date(date)),
        ];
        let authorization = sign::sign(
            &SignableRequest {
                method: "POST",
                path: "/v2/0123456789abcdef/records",
                query: "",
                headers: headers.clone(),
                body: &body,
            },
            ak,
            sk,
        );
        headers.push(("Authorization".to_owned(), authorization));
        Signed { headers, body }
    }

    async fn send(env: &Env, s: Signed) -> (u16, Value) {
        let mut rb = env.http.post(env.url()).body(s.body);
        for (name, value) in s.headers {
            if name != "Host" {
                rb = rb.header(name, value);
            }
        }
        status_json(rb.send().await.unwrap()).await
    }

    fn assert_441(got: &(u16, Value), code: &str) {
        assert_dis_error(got, 441, code);
        let text = got.1.to_string();
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[tokio::test]
    async fn a_valid_signature_is_accepted() {
        let env = env(true).await;
        let s = signed(&env, &req(vec![rec("signed")]), server_now(), AK, SK);
        let got = send(&env, s).await;
        assert_eq!(got.0, 200, "{}", got.1);
        assert_eq!(&env.stored()[0].data[..], b"signed");
    }

    /// Huawei's Go v3 SDK signs only the headers it sets (`user-agent;x-project-id;
    /// x-sdk-date`), never `host`: only `x-sdk-date` must be signed, as Huawei's signing guide
    /// says.
    #[tokio::test]
    async fn a_signature_without_host_is_accepted() {
        let env = env(false).await;
        let body = serde_json::to_vec(&req(vec![rec("no host")])).unwrap();
        let mut headers = vec![
            (
                "User-Agent".to_owned(),
                "huaweicloud-usdk-go/3.0".to_owned(),
            ),
            ("X-Project-Id".to_owned(), "0123456789abcdef".to_owned()),
            ("X-Sdk-Date".to_owned(), sign::format_sdk_date(server_now())),
        ];
        let authorization = sign::sign(
            &SignableRequest {
                method: "POST",
                path: "/v2/0123456789abcdef/records",
                query: "",
                headers: headers.clone(),
                body: &body,
            },
            AK,
            SK,
        );
        assert!(
            authorization.contains("SignedHeaders=user-agent;x-project-id;x-sdk-date,"),
            "{authorization}"
        );
        headers.push(("Authorization".to_owned(), authorization));
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        let got = send(&env, Signed { headers, body }).await;
        assert_eq!(got.0, 200, "{}", got.1);
        assert_eq!(&env.stored()[0].data[..], b"no host");
    }

    #[tokio::test]
    async fn dates_within_15_minutes_pass_and_beyond_fail() {
        let env = env(true).await;
        let ok = [
            server_now() - Duration::from_secs(14 * 60),
            server_now() + Duration::from_secs(14 * 60),
            server_now() - Duration::from_secs(15 * 60),
        ];
        for date in ok {
            let got = send(&env, signed(&env, &req(vec![rec("x")]), date, AK, SK)).await;
            assert_eq!(got.0, 200, "{}", got.1);
        }
        let late = [
            server_now() - Duration::from_secs(16 * 60),
            server_now() + Duration::from_secs(16 * 60),
            SystemTime::now() + Duration::from_secs(86_400 * 365),
        ];
        for date in late {
            let got = send(&env, signed(&env, &req(vec![rec("x")]), date, AK, SK)).await;
            assert_441(&got, "DIS.4105");
        }
        assert_eq!(env.stored().len(), 3);
    }

    #[tokio::test]
    async fn bad_signatures_are_441() {
        let env = env(true).await;
        // Wrong secret key.
        let s = signed(&env, &req(vec![rec("x")]), server_now(), AK, "wrong-sk");
        assert_441(&send(&env, s).await, "DIS.4100");
        // Unknown access key.
        let s = signed(&env, &req(vec![rec("x")]), server_now(), "OTHERAK", SK);
        assert_441(&send(&env, s).await, "DIS.4107");
        // Body changed after signing.
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.body = serde_json::to_vec(&req(vec![rec("y")])).unwrap();
        assert_441(&send(&env, s).await, "DIS.4100");
        // A signed header changed after signing.
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.headers[2].1 = "another-project".into();
        assert_441(&send(&env, s).await, "DIS.4100");
        // Signed for another path.
        let body = req(vec![rec("x")]);
        let mut s = signed(&env, &body, server_now(), AK, SK);
        let resp = {
            let mut rb = env
                .http
                .post(format!("{}/v2/otherproject/records", env.dis.endpoint()))
                .body(std::mem::take(&mut s.body));
            for (name, value) in &s.headers {
                if name != "Host" {
                    rb = rb.header(name, value);
                }
            }
            rb.send().await.unwrap()
        };
        assert_441(&status_json(resp).await, "DIS.4100");
        // Unparseable Authorization header.
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.headers.last_mut().unwrap().1 = "SDK-HMAC-SHA256 nonsense".into();
        assert_441(&send(&env, s).await, "DIS.4102");
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.headers.last_mut().unwrap().1 = "Bearer abc".into();
        assert_441(&send(&env, s).await, "DIS.4102");
        // X-Sdk-Date missing or unparseable.
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.headers.retain(|(n, _)| n != "X-Sdk-Date");
        assert_441(&send(&env, s).await, "DIS.4103");
        let mut s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        s.headers[3].1 = "2024-01-02 03:04:05".into();
        assert_441(&send(&env, s).await, "DIS.4104");
        // x-sdk-date not among the signed headers.
        let s = signed(&env, &req(vec![rec("x")]), server_now(), AK, SK);
        let mut headers = s.headers.clone();
        let auth = headers.last_mut().unwrap();
        auth.1 = auth.1.replace(
            "SignedHeaders=content-type;host;x-project-id;x-sdk-date",
            "SignedHeaders=content-type;host;x-project-id",
        );
        assert!(!auth.1.contains("x-sdk-date"), "{}", auth.1);
        assert_441(
            &send(
                &env,
                Signed {
                    headers,
                    body: s.body,
                },
            )
            .await,
            "DIS.4110",
        );
        // Neither a signature nor a token.
        let got = status_json(
            env.http
                .post(env.url())
                .header("Content-Type", "application/json")
                .json(&req(vec![rec("x")]))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_441(&got, "DIS.4101");
        // A wrong token does not help.
        let got = status_json(
            env.http
                .post(env.url())
                .header("X-Auth-Token", "bad-token")
                .json(&req(vec![rec("x")]))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_441(&got, "DIS.4101");
        assert!(env.stored().is_empty());
        assert_eq!(env.dis.stats().rejected_requests, 12);
    }

    #[tokio::test]
    async fn tokens_are_accepted_only_when_configured() {
        let env_tokens = env(true).await;
        let send_token = |env: &Env| {
            env.http
                .post(env.url())
                .header("X-Auth-Token", "good-token")
                .json(&req(vec![rec("by token")]))
                .send()
        };
        assert_eq!(send_token(&env_tokens).await.unwrap().status(), 200);
        // A bad signature next to an acceptable token: the token wins.
        let mut s = signed(&env_tokens, &req(vec![rec("x")]), server_now(), AK, "wrong");
        s.headers.push(("X-Auth-Token".into(), "good-token".into()));
        assert_eq!(send(&env_tokens, s).await.0, 200);

        let env_signed_only = env(false).await;
        let got = status_json(send_token(&env_signed_only).await.unwrap()).await;
        assert_441(&got, "DIS.4101");
        let s = signed(&env_signed_only, &req(vec![rec("x")]), server_now(), AK, SK);
        assert_eq!(send(&env_signed_only, s).await.0, 200);
    }
}
