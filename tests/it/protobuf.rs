//! Protobuf bodies, checked against an independent copy of the messages (the field numbers of
//! Huawei's Python SDK `record_pb2`, written here again rather than taken from the crate): what
//! the producer sends decodes, and a protobuf answer is read back per record.

use crate::support;

use std::time::Duration;

use dis_records::{BodyFormat, Credentials, DisClient, Producer, ProducerConfig, Record};
use prost::Message;
use support::CannedServer;

#[derive(Clone, PartialEq, Message)]
struct PutRecordsRequest {
    #[prost(string, required, tag = "1")]
    stream_name: String,
    #[prost(message, repeated, tag = "2")]
    records: Vec<PutRecordsRequestEntry>,
    // Required in Python's copy: a body without it does not decode there.
    #[prost(string, required, tag = "30")]
    stream_id: String,
}

#[derive(Clone, PartialEq, Message)]
struct PutRecordsRequestEntry {
    #[prost(bytes = "vec", optional, tag = "3")]
    data: Option<Vec<u8>>,
    #[prost(string, optional, tag = "4")]
    explicit_hash_key: Option<String>,
    #[prost(string, optional, tag = "5")]
    partition_key: Option<String>,
    #[prost(string, optional, tag = "6")]
    partition_id: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct PutRecordsResult {
    #[prost(int32, required, tag = "21")]
    failed_record_count: i32,
    #[prost(message, repeated, tag = "22")]
    records: Vec<PutRecordsResultEntry>,
}

#[derive(Clone, PartialEq, Message)]
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

fn protobuf_answer(result: &PutRecordsResult) -> Vec<u8> {
    let body = result.encode_to_vec();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

#[tokio::test]
async fn the_producer_sends_protobuf_and_reads_protobuf_answers() {
    // Stores every record but refuses the first try of each even one with DIS.4303.
    let tries = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let server = CannedServer::start(move |req| {
        assert!(
            req.header("content-type")
                .unwrap()
                .starts_with("application/x-protobuf"),
            "{:?}",
            req.headers
        );
        let body = PutRecordsRequest::decode(&req.body[..]).expect("decodes with required fields");
        assert_eq!(body.stream_name, "s");
        assert_eq!(body.stream_id, "");
        let mut tries = tries.lock().unwrap();
        let records = body
            .records
            .iter()
            .map(|e| {
                let data = e.data.clone().unwrap();
                let i: u64 = std::str::from_utf8(&data).unwrap().parse().unwrap();
                if i.is_multiple_of(2) && tries.insert(i) {
                    PutRecordsResultEntry {
                        error_code: Some("DIS.4303".into()),
                        error_message: Some("Exceeded traffic control limit.".into()),
                        ..Default::default()
                    }
                } else {
                    PutRecordsResultEntry {
                        shard_id: Some("shardId-0000000003".into()),
                        sequence_number: Some(format!("{i}")),
                        ..Default::default()
                    }
                }
            })
            .collect::<Vec<_>>();
        let failed = records.iter().filter(|r| r.error_code.is_some()).count() as i32;
        protobuf_answer(&PutRecordsResult {
            failed_record_count: failed,
            records,
        })
    })
    .await;
    let client = DisClient::builder(&server.endpoint, "p")
        .credentials(Credentials::aksk("AKPROTO", "SKPROTO"))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let config = ProducerConfig::default()
        .with_body_format(BodyFormat::Protobuf)
        .with_retry(dis_records::RetryPolicy::default().with_backoff(
            Duration::from_millis(1),
            2.0,
            Duration::from_millis(5),
        ));
    let producer = Producer::new(client, "s", config).unwrap();
    let kept = support::Kept::default();
    let summary = producer
        .send_all(
            (0..1000u64).map(|i| {
                let r = Record::new(format!("{i}"));
                if i.is_multiple_of(3) {
                    r.with_partition_key(format!("key \"{i}\" ✓"))
                } else {
                    r
                }
            }),
            kept.sink(),
        )
        .await;
    let out = kept.take();
    assert_eq!(summary.acknowledged, 1000, "{summary:?}");
    for d in &out {
        let ack = d.result.as_ref().unwrap();
        assert_eq!(ack.partition_id, "shardId-0000000003");
        assert_eq!(ack.sequence_number, d.id.to_string());
        assert_eq!(d.attempts, if d.id.is_multiple_of(2) { 2 } else { 1 });
    }
    // Keys and data went as raw bytes; the body signed (its hash, no UNSIGNED-PAYLOAD), as
    // Huawei's hand-written DIS SDK signs it.
    let first = &server.requests()[0];
    assert_eq!(first.header("x-sdk-content-sha256"), None);
    let body = PutRecordsRequest::decode(&first.body[..]).unwrap();
    assert_eq!(
        body.records[0].partition_key.as_deref(),
        Some("key \"0\" ✓")
    );
    assert_eq!(body.records[0].data.as_deref(), Some(&b"0"[..]));
}
