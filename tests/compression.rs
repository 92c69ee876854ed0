//! Compressed request bodies (features `lz4`, `zstd`, `snappy`; CI runs this file with them):
//! what goes on the wire, that dis-local verifies the signature over the compressed bytes and
//! stores the records, and that a compressed answer is read within its bound.

mod support;

use std::net::SocketAddr;

use dis_local::{LocalConfig, LocalDis};
use dis_records::{
    BodyFormat, Compression, Credentials, DisClient, Error, Producer, ProducerConfig, Record,
    RecordResult,
};
use support::{CannedServer, response};

const AK: &str = "AKCOMPRESSION0000000";
const SK: &str = "sk-compression-secret";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const CODECS: [Compression; 3] = [Compression::Lz4, Compression::Zstd, Compression::Snappy];

/// Log lines of about 1 KiB with repeated keys: what compression is for.
fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let line = format!(
                r#"{{"level":"info","service":"checkout","host":"web-{}","message":"order {i} paid","padding":"{}"}}"#,
                i % 7,
                "x".repeat(900)
            );
            Record::new(line).with_partition_key(format!("k{}", i % 10))
        })
        .collect()
}

fn client(endpoint: &str, compression: Compression) -> DisClient {
    DisClient::builder(endpoint, PROJECT)
        .credentials(Credentials::aksk(AK, SK))
        .sign_every_body(true)
        .compression(compression)
        .build()
        .unwrap()
}

fn decompress(captured: &support::Captured) -> Vec<u8> {
    let encoding = captured
        .header("content-encoding")
        .expect("Content-Encoding");
    assert_eq!(captured.header("accept-encoding"), Some(encoding));
    match encoding {
        "lz4" => {
            let len: usize = captured
                .header("x-dis-lz4-content-length")
                .unwrap()
                .parse()
                .unwrap();
            lz4_flex::block::decompress(&captured.body, len).unwrap()
        }
        "zstd" => {
            let len: usize = captured
                .header("x-dis-zstd-content-length")
                .unwrap()
                .parse()
                .unwrap();
            let plain = zstd::bulk::decompress(&captured.body, len).unwrap();
            assert_eq!(plain.len(), len);
            plain
        }
        "snappy" => {
            assert_eq!(captured.header("x-dis-lz4-content-length"), None);
            snap::raw::Decoder::new()
                .decompress_vec(&captured.body)
                .unwrap()
        }
        other => panic!("Content-Encoding {other}"),
    }
}

#[tokio::test]
async fn the_wire_carries_the_compressed_body_and_its_headers() {
    let ok = r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"1"}]}"#;
    let server =
        CannedServer::start(move |_| response(200, &[("content-type", "application/json")], ok))
            .await;
    let plain = DisClient::builder(&server.endpoint, PROJECT)
        .build()
        .unwrap();
    plain.send("newstream", &records(1)).await.unwrap();
    for codec in CODECS {
        client(&server.endpoint, codec)
            .send("newstream", &records(1))
            .await
            .unwrap();
    }
    let captured = server.captured.lock().unwrap().clone();
    let uncompressed = &captured[0];
    assert_eq!(uncompressed.header("content-encoding"), None);
    for (codec, c) in CODECS.iter().zip(&captured[1..]) {
        assert_eq!(c.header("content-encoding"), codec.name());
        assert!(
            c.body.len() < uncompressed.body.len() / 2,
            "{codec:?}: {} bytes",
            c.body.len()
        );
        // The same JSON as without compression.
        assert_eq!(decompress(c), uncompressed.body, "{codec:?}");
        // The headers the signature covers include the encoding and the length.
        let authorization = c.header("authorization").unwrap();
        assert!(
            authorization.contains("content-encoding"),
            "{authorization}"
        );
    }
}

#[tokio::test]
async fn dis_local_verifies_the_signature_over_the_compressed_bytes_and_stores_the_records() {
    let config = LocalConfig::default().with_aksk(AK, SK);
    let dis = LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let sent = records(40);
    for codec in CODECS {
        for format in [BodyFormat::Json, BodyFormat::Protobuf] {
            // Through the producer, the pipeline's other user.
            let producer = Producer::new(
                client(&dis.endpoint(), codec),
                "newstream",
                ProducerConfig::default().with_body_format(format),
            )
            .unwrap();
            let summary = producer.send_all(sent.clone(), |_| {}).await;
            assert_eq!(
                summary.acknowledged,
                sent.len() as u64,
                "{codec:?} {format:?}"
            );
            assert_eq!(summary.failed, 0, "{codec:?} {format:?}");
        }
    }
    let mut stored: Vec<Vec<u8>> = dis
        .records("newstream")
        .unwrap()
        .into_iter()
        .map(|r| r.data.to_vec())
        .collect();
    let mut want: Vec<Vec<u8>> = sent
        .iter()
        .cycle()
        .take(sent.len() * 6)
        .map(|r| r.data.to_vec())
        .collect();
    stored.sort();
    want.sort();
    assert!(
        stored == want,
        "the stored records are not the records sent"
    );
}

#[tokio::test]
async fn a_compressed_body_with_the_wrong_signature_is_refused() {
    let config = LocalConfig::default().with_aksk(AK, SK);
    let dis = LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let wrong = DisClient::builder(dis.endpoint(), PROJECT)
        .credentials(Credentials::aksk(AK, "not-the-sk"))
        .compression(Compression::Lz4)
        .build()
        .unwrap();
    let err = wrong.send("newstream", &records(2)).await.unwrap_err();
    assert!(matches!(err, Error::Dis { status: 441, .. }), "{err}");
}

/// An lz4 answer, as DIS may send one to a request that accepts lz4: read within the answer's
/// bound; one claiming 10 GiB is not decompressed (the request may have been stored).
#[tokio::test]
async fn a_compressed_answer_is_read_within_its_bound() {
    let ok = br#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000003","sequence_number":"7"}]}"#;
    let block = lz4_flex::block::compress(ok);
    let answer = move |claim: String| {
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: lz4\r\nx-dis-lz4-content-length: {claim}\r\ncontent-length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        out.extend(&block);
        out
    };
    let honest = answer(ok.len().to_string());
    let server = CannedServer::start(move |_| honest.clone()).await;
    let outcome = client(&server.endpoint, Compression::Lz4)
        .send("newstream", &records(1))
        .await
        .unwrap();
    assert_eq!(
        outcome.results,
        vec![RecordResult::Stored {
            partition_id: "shardId-0000000003".parse().unwrap(),
            sequence_number: "7".parse().unwrap()
        }]
    );
    let bomb = answer((10u64 << 30).to_string());
    let server = CannedServer::start(move |_| bomb.clone()).await;
    let err = client(&server.endpoint, Compression::Lz4)
        .send("newstream", &records(1))
        .await
        .unwrap_err();
    assert!(err.maybe_duplicated(), "{err}");
}
