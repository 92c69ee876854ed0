//! Compressed SendRecords bodies, as Huawei's Java SDK sends them (`Content-Encoding: lz4 |
//! zstd | snappy`, the uncompressed length in `x-dis-lz4-content-length` /
//! `x-dis-zstd-content-length`): accepted and stored; compression bombs refused without the
//! endpoint's memory growing. Memory is the peak RSS (`VmHWM`) of a `dis-local` child process.
//! Everything speaks to 127.0.0.1 only.

mod support;

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::LocalConfig;
use serde_json::{Value, json};
use support::binary::Binary;
use support::{Env, client};
use tokio::sync::Mutex;

/// The RSS tests run one at a time, so that one's allocations do not show in the other's.
static SERIAL: Mutex<()> = Mutex::const_new(());

const GIB: u64 = 1024 * 1024 * 1024;

/// A SendRecords body of `n` JSON log lines of about 1 KiB.
fn body(n: usize) -> Vec<u8> {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let line = format!(
                r#"{{"level":"info","service":"checkout","host":"web-{}","message":"order {i} paid","padding":"{}"}}"#,
                i % 7,
                "x".repeat(900)
            );
            json!({ "data": B64.encode(line), "partition_key": format!("k{i}") })
        })
        .collect();
    serde_json::to_vec(&json!({ "stream_name": "newstream", "records": records })).unwrap()
}

/// POSTs `body` as JSON with these extra headers; the status and the answer.
async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-auth-token", "t");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.body(body).send().await.expect("an answer");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("JSON answer: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

fn lz4(plain: &[u8]) -> (Headers, Vec<u8>) {
    let headers = vec![
        ("content-encoding", "lz4".to_owned()),
        ("x-dis-lz4-content-length", plain.len().to_string()),
    ];
    (headers, lz4_flex::block::compress(plain))
}

fn zstd(plain: &[u8]) -> (Headers, Vec<u8>) {
    let headers = vec![
        ("content-encoding", "zstd".to_owned()),
        ("x-dis-zstd-content-length", plain.len().to_string()),
    ];
    let frame =
        ruzstd::encoding::compress_to_vec(plain, ruzstd::encoding::CompressionLevel::Fastest);
    (headers, frame)
}

fn snappy(plain: &[u8]) -> (Headers, Vec<u8>) {
    let headers = vec![("content-encoding", "snappy".to_owned())];
    (
        headers,
        snap::raw::Encoder::new().compress_vec(plain).unwrap(),
    )
}

/// Extra request headers.
type Headers = Vec<(&'static str, String)>;
type Codec = fn(&[u8]) -> (Headers, Vec<u8>);
const CODECS: [(&str, Codec); 3] = [("lz4", lz4), ("zstd", zstd), ("snappy", snappy)];

#[tokio::test]
async fn compressed_bodies_are_stored_as_their_records() {
    let env = Env::default().await;
    let plain = body(50);
    let want: Vec<Value> = serde_json::from_slice::<Value>(&plain).unwrap()["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].clone())
        .collect();
    for (name, codec) in CODECS {
        let (headers, compressed) = codec(&plain);
        assert!(
            compressed.len() < plain.len() / 4,
            "{name}: {} bytes",
            compressed.len()
        );
        let (status, answer) = post(&env.http, &env.url(), &headers, compressed).await;
        assert_eq!(
            (status, &answer["failed_record_count"]),
            (200, &json!(0)),
            "{name}: {answer}"
        );
    }
    // The stream keeps records by partition: compare them sorted, each sent three times.
    let mut stored: Vec<Value> = env
        .dis
        .records("newstream")
        .unwrap()
        .iter()
        .map(|r| json!(B64.encode(&r.data)))
        .collect();
    let mut want: Vec<Value> = want.iter().cycle().take(3 * want.len()).cloned().collect();
    let key = |v: &Value| v.as_str().unwrap().to_owned();
    stored.sort_by_key(key);
    want.sort_by_key(key);
    assert!(
        stored == want,
        "the stored records are not the records sent"
    );
}

#[tokio::test]
async fn broken_or_unknown_encodings_are_refused_naming_the_header() {
    let env = Env::default().await;
    let plain = body(3);
    let (_, lz4_block) = lz4(&plain);
    let cases: Vec<(Headers, Vec<u8>, u16, &str)> = vec![
        (
            vec![("content-encoding", "gzip".into())],
            plain.clone(),
            400,
            "Content-Encoding \"gzip\" is not supported",
        ),
        (
            vec![("content-encoding", "lz4".into())],
            lz4_block.clone(),
            400,
            "x-dis-lz4-content-length",
        ),
        (
            vec![
                ("content-encoding", "lz4".into()),
                ("x-dis-lz4-content-length", "ten".into()),
            ],
            lz4_block.clone(),
            400,
            "x-dis-lz4-content-length must be a non-negative integer",
        ),
        (
            // Expands past the length it declares: refused when the buffer is full.
            vec![
                ("content-encoding", "lz4".into()),
                ("x-dis-lz4-content-length", "100".into()),
            ],
            lz4_block.clone(),
            413,
            "expands past the 100 bytes it declares",
        ),
        (
            vec![
                ("content-encoding", "lz4".into()),
                ("x-dis-lz4-content-length", (plain.len() + 10).to_string()),
            ],
            lz4_block,
            400,
            "not the",
        ),
        (
            vec![("content-encoding", "zstd".into())],
            b"not a zstd frame".to_vec(),
            400,
            "Content-Encoding zstd",
        ),
    ];
    for (headers, body, status, says) in cases {
        let (got, answer) = post(&env.http, &env.url(), &headers, body).await;
        let message = answer["message"].as_str().unwrap_or_default();
        assert_eq!(got, status, "{headers:?}: {answer}");
        assert_eq!(answer["errorCode"], "DIS.4200", "{answer}");
        assert!(message.contains(says), "{headers:?}: {message}");
    }
    assert!(env.dis.records("newstream").unwrap().is_empty());
}

/// A Zstandard frame of RLE blocks (4 bytes each, 128 KiB out) that expands to `bytes`, with no
/// content size in its header.
fn zstd_rle_frame(bytes: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 * 1024;
    let mut frame = 0xFD2F_B528u32.to_le_bytes().to_vec();
    // Frame header descriptor: no content size, no checksum, no dictionary; a 128 KiB window.
    frame.extend([0x00, 7 << 3]);
    let blocks = bytes.div_ceil(BLOCK);
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let size = BLOCK.min(bytes - i * BLOCK) as u32;
        let header = last | (1 << 1) | (size << 3); // RLE block
        frame.extend(&header.to_le_bytes()[..3]);
        frame.push(b'{');
    }
    frame
}

#[test]
fn the_rle_frame_expands_as_built() {
    let frame = zstd_rle_frame(1024 * 1024 + 5);
    let mut out = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(&frame[..])
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out.len(), 1024 * 1024 + 5);
}

/// The bombs: 1 KiB bodies claiming 10 GiB (each codec's way of declaring a length), a 1 KiB
/// zstd body expanding to 32 MiB while it declares 1 KiB (the format's most per block: 1 KiB
/// cannot hold more), and a 320 KiB zstd body (under the body cap) expanding to 10 GiB with no
/// declared length. Each is refused with a 413, and the endpoint's peak RSS does not grow by
/// more than the body cap (3.2 MiB by default): the output never exceeds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_bombs_are_refused_without_the_memory() {
    let _serial = SERIAL.lock().await;
    let dis = Binary::start(&[]).await;
    let http = client();
    let url = dis.url();
    let cap_kib = LocalConfig::default().body_cap() as u64 / 1024;
    // Warm up: one genuine compressed request of each codec, so that what the bombs would add
    // is not the endpoint's first allocations.
    let plain = body(100);
    for (name, codec) in CODECS {
        let (headers, compressed) = codec(&plain);
        let (status, answer) = post(&http, &url, &headers, compressed).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let (hwm0, rss0) = dis.rss_kib();
    println!("after the warm-up: VmHWM {hwm0} KiB, VmRSS {rss0} KiB; body cap {cap_kib} KiB");

    let ten_gib = (10 * GIB).to_string();
    let kib = vec![b'A'; 1024];
    // Snappy's preamble: the length as a varint (10 GiB), then literals.
    let mut snappy_claim = Vec::new();
    let mut v = 10 * GIB;
    while v >= 0x80 {
        snappy_claim.push((v as u8) | 0x80);
        v >>= 7;
    }
    snappy_claim.push(v as u8);
    snappy_claim.extend(&kib[..1024 - snappy_claim.len()]);
    let one_kib_rle = zstd_rle_frame(32 * 1024 * 1024);
    assert!(one_kib_rle.len() <= 1030, "{}", one_kib_rle.len());
    let big_rle = zstd_rle_frame(10 * GIB);
    let bombs: Vec<(&str, Headers, Vec<u8>, &str)> = vec![
        (
            "lz4 claiming 10 GiB",
            vec![
                ("content-encoding", "lz4".into()),
                ("x-dis-lz4-content-length", ten_gib.clone()),
            ],
            kib.clone(),
            "declares 10737418240 bytes",
        ),
        (
            "zstd claiming 10 GiB",
            vec![
                ("content-encoding", "zstd".into()),
                ("x-dis-zstd-content-length", ten_gib.clone()),
            ],
            kib.clone(),
            "declares 10737418240 bytes",
        ),
        (
            "snappy claiming 10 GiB",
            vec![("content-encoding", "snappy".into())],
            snappy_claim,
            "declares 10737418240 bytes",
        ),
        (
            "1 KiB of zstd expanding to 32 MiB, declaring 1 KiB",
            vec![
                ("content-encoding", "zstd".into()),
                ("x-dis-zstd-content-length", "1024".into()),
            ],
            one_kib_rle,
            "expands past the 1024 bytes it declares",
        ),
        (
            "320 KiB of zstd expanding to 10 GiB, declaring nothing",
            vec![("content-encoding", "zstd".into())],
            big_rle,
            "expands past this endpoint's limit",
        ),
    ];
    for (what, headers, body, says) in bombs {
        let sent = body.len();
        let t0 = std::time::Instant::now();
        let (status, answer) = post(&http, &url, &headers, body).await;
        let (hwm, rss) = dis.rss_kib();
        println!(
            "{what} ({sent} bytes sent): {status} in {:?}; VmHWM {hwm} KiB (+{} KiB), VmRSS {rss} KiB",
            t0.elapsed(),
            hwm - hwm0
        );
        assert_eq!(
            (status, &answer["errorCode"]),
            (413, &json!("DIS.4200")),
            "{what}: {answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
        assert!(
            hwm - hwm0 <= cap_kib + 1024,
            "{what}: the peak RSS grew by {} KiB, more than the body cap ({cap_kib} KiB)",
            hwm - hwm0
        );
    }
}
