//! Careless callers and greedy clients: requests that are valid HTTP and cheap to send, but
//! that could make an endpoint hold much more memory than they carry, or stall its writers.
//!
//! - bodies of empty protobuf or JSON entries, far more than the record limit, are refused
//!   without building every entry;
//! - under write quotas, a stored record does not keep the rest of its request alive;
//! - the read-back (`GET /local/v1/streams/{s}/records`) comes in bounded pages, and neither it
//!   nor [`LocalDis::records`] holds the stream's lock while serializing;
//! - a stream's partition count is bounded.
//!
//! Memory is the peak RSS (`VmHWM`) or the RSS (`VmRSS`) of a `dis-local` child process, as in
//! `tests/hostile.rs`. Everything speaks to 127.0.0.1 only. The tests run one at a time
//! (`SERIAL`): the timed ones must not compete with the heavy ones for the CPU, and their time
//! bounds are generous (several times what the code needs, a fraction of what it took before).

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_local::{LocalConfig, LocalDis, StartError, StreamConfig};
use serde_json::{Value, json};
use support::binary::Binary;
use support::{Env, client};
use tokio::sync::Mutex;
use tokio::time::Instant;

static SERIAL: Mutex<()> = Mutex::const_new(());

const SECOND: Duration = Duration::from_secs(1);
const MIB: u64 = 1024;

/// POSTs `body` with this `Content-Type`; the status and the body.
async fn post(
    http: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let resp = http
        .post(url)
        .header("X-Auth-Token", "t")
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let (status, bytes) = post(
        http,
        url,
        "application/json",
        serde_json::to_vec(body).unwrap(),
    )
    .await;
    (status, serde_json::from_slice(&bytes).expect("JSON answer"))
}

/// A GET: the status, the headers and the body as JSON.
async fn get(http: &reqwest::Client, url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = http.get(url).send().await.expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{url}: {status}, not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
    });
    (status, headers, body)
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// A protobuf `PutRecordsRequest` of stream `newstream` padded with empty entries
/// (`records = 2`, length 0: two bytes each) to `len` bytes.
fn protobuf_empty_entries(len: usize) -> Vec<u8> {
    let mut body = vec![0x0a, 9];
    body.extend_from_slice(b"newstream");
    while body.len() + 2 <= len {
        body.extend_from_slice(&[0x12, 0x00]);
    }
    body
}

/// A JSON `PutRecordsRequest` of stream `newstream` with empty records (`{"data":""}`, 12 bytes
/// each) up to about `len` bytes.
fn json_empty_entries(len: usize) -> Vec<u8> {
    let mut body = br#"{"stream_name":"newstream","records":[{"data":""}"#.to_vec();
    while body.len() + 14 <= len {
        body.extend_from_slice(br#",{"data":""}"#);
    }
    body.extend_from_slice(b"]}");
    body
}

/// The bodies of one test: one alone, then `AT_ONCE` at once (19 bodies near the body cap fill
/// the default 64 MiB budget of buffered bodies). Prints and returns the growth of the peak RSS
/// after each.
async fn peak_growth_of_bodies(content_type: &str, body: Vec<u8>) -> (u64, u64) {
    const AT_ONCE: usize = 19;
    let dis = Binary::start(&[]).await;
    let http = client();
    let url = dis.url();
    let (hwm0, rss0) = dis.rss_kib();
    println!("dis-local at start: VmHWM {hwm0} KiB, VmRSS {rss0} KiB");
    let entries = if content_type.contains("protobuf") {
        (body.len() - 11) / 2
    } else {
        body.windows(8).filter(|w| w == br#"{"data":"#).count()
    };
    let check = |status: u16, answer: &[u8]| {
        let answer: Value = serde_json::from_slice(answer).expect("a JSON error answer");
        assert_eq!((status, &answer["errorCode"]), (400, &json!("DIS.4200")));
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{entries} records; at most 500 records")),
            "{message}"
        );
    };
    let t0 = Instant::now();
    let (status, answer) = post(&http, &url, content_type, body.clone()).await;
    check(status, &answer);
    let (hwm1, _) = dis.rss_kib();
    println!(
        "one {content_type} body of {} bytes ({entries} entries) refused in {:?}: VmHWM {hwm1} KiB (+{} MiB)",
        body.len(),
        t0.elapsed(),
        (hwm1 - hwm0) / MIB
    );
    let t0 = Instant::now();
    let answers = futures_util::future::join_all((0..AT_ONCE).map(|_| {
        let (http, url, body) = (&http, &url, body.clone());
        async move { post(http, url, content_type, body).await }
    }))
    .await;
    for (status, answer) in answers {
        check(status, &answer);
    }
    let (hwm2, rss2) = dis.rss_kib();
    println!(
        "{AT_ONCE} at once refused in {:?}: VmHWM {hwm2} KiB (+{} MiB), VmRSS {rss2} KiB",
        t0.elapsed(),
        (hwm2 - hwm0) / MIB
    );
    (hwm1 - hwm0, hwm2 - hwm0)
}

/// A protobuf body of empty entries near the body cap (3.4 MB, 1.7 million entries) costs about
/// its size: the record count is checked before the entries are built (building every entry
/// would cost +197 MiB for one such body, 465 MiB for 19 at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_of_empty_entries_cost_about_their_size() {
    let _serial = SERIAL.lock().await;
    let body = protobuf_empty_entries(LocalConfig::default().body_cap() - 16);
    let (one, many) = peak_growth_of_bodies("application/x-protobuf", body).await;
    assert!(one < 16 * MIB, "one body: peak RSS +{one} KiB");
    assert!(many < 112 * MIB, "19 bodies at once: peak RSS +{many} KiB");
}

/// The same with JSON (`{"data":""}` 280,000 times; building every entry would cost +29 MiB
/// for one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_of_empty_entries_cost_about_their_size() {
    let _serial = SERIAL.lock().await;
    let body = json_empty_entries(LocalConfig::default().body_cap() - 16);
    let (one, many) = peak_growth_of_bodies("application/json", body).await;
    assert!(one < 16 * MIB, "one body: peak RSS +{one} KiB");
    assert!(many < 112 * MIB, "19 bodies at once: peak RSS +{many} KiB");
}

/// The refusal of too many records is the answer it was, in the same order of checks: a bad
/// stream first, a body that does not decode (even past the limit) is a body error, and the
/// count is the whole count.
#[tokio::test]
async fn too_many_records_is_answered_as_before() {
    let _serial = SERIAL.lock().await;
    let env = Env::default().await;
    let url = env.url();
    let pb = "application/x-protobuf";
    let message = |answer: &[u8]| -> (String, String) {
        let v: Value = serde_json::from_slice(answer).unwrap();
        (
            v["errorCode"].as_str().unwrap().to_owned(),
            v["message"].as_str().unwrap().to_owned(),
        )
    };
    // 501 entries.
    let body = protobuf_empty_entries(11 + 2 * 501);
    let (status, answer) = post(&env.http, &url, pb, body.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(
        message(&answer),
        (
            "DIS.4200".into(),
            "Invalid request: 501 records; at most 500 records per request.".into()
        )
    );
    // Exactly 500 empty records are stored.
    let (status, _) = post(&env.http, &url, pb, protobuf_empty_entries(11 + 2 * 500)).await;
    assert_eq!(status, 200);
    assert_eq!(env.dis.records("newstream").unwrap().len(), 500);
    // An unknown stream is told before the count.
    let mut other = body.clone();
    other[2..11].copy_from_slice(b"nostreamX");
    let (status, answer) = post(&env.http, &url, pb, other).await;
    assert_eq!((status, message(&answer).0), (400, "DIS.4301".into()));
    // An entry that does not decode, past the limit: the body is refused as a body.
    let mut broken = body.clone();
    broken.extend_from_slice(&[0x12, 0x02, 0x1a, 0x05]);
    let (status, answer) = post(&env.http, &url, pb, broken).await;
    assert_eq!(status, 400);
    let (code, text) = message(&answer);
    assert_eq!(code, "DIS.4200");
    assert!(text.starts_with("Invalid request body: "), "{text}");
    // The same in JSON: the count, the stream first, a mistyped entry past the limit.
    let records = vec![json!({"data": ""}); 501];
    let (status, answer) = post_json(
        &env.http,
        &url,
        &json!({"stream_name": "newstream", "records": records}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["message"],
        "Invalid request: 501 records; at most 500 records per request."
    );
    let (_, answer) = post_json(
        &env.http,
        &url,
        &json!({"records": records, "stream_name": "nostream"}),
    )
    .await;
    assert_eq!(answer["errorCode"], "DIS.4301");
    let mut mistyped = records.clone();
    mistyped.push(json!({"data": 5}));
    let (status, answer) = post_json(
        &env.http,
        &url,
        &json!({"stream_name": "newstream", "records": mistyped}),
    )
    .await;
    assert_eq!(status, 400);
    let text = answer["message"].as_str().unwrap();
    assert!(text.starts_with("Invalid request body: "), "{text}");
    // Missing, duplicate and null fields are still refused as the derived reader did.
    for (body, wanted) in [
        (
            json!({"stream_name": "newstream"}),
            "missing field `records`",
        ),
        (
            json!({"records": [{"data": ""}]}),
            "missing field `stream_name`",
        ),
        (
            json!({"stream_name": "newstream", "stream_id": null, "records": [{"data": ""}]}),
            "invalid type: null, expected a string",
        ),
    ] {
        let (status, answer) = post_json(&env.http, &url, &body).await;
        let text = answer["message"].as_str().unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(text.contains(wanted), "{body}: {text}");
    }
    let (status, bytes) = post(
        &env.http,
        &url,
        "application/json",
        br#"{"stream_name":"newstream","stream_name":"newstream","records":[{"data":""}]}"#
            .to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        String::from_utf8_lossy(&bytes).contains("duplicate field `stream_name`"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    // Unknown fields are ignored; stored records are unchanged.
    let (status, _) = post_json(
        &env.http,
        &url,
        &json!({"x": {"y": [1, 2]}, "stream_name": "newstream", "records": [{"data": "YQ==", "z": 1}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(env.dis.records("newstream").unwrap().len(), 501);
}

/// Under quotas a stored record does not keep its whole request buffer alive: 200 requests of
/// one 1-byte record (stored) and one 600 KiB record (throttled) would otherwise take the RSS
/// from 8 MiB to 132 MiB, for 200 stored bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_record_does_not_keep_its_request_alive() {
    let _serial = SERIAL.lock().await;
    const REQUESTS: usize = 200;
    // At scale 0.5 a partition takes 500 records and 524,288 bytes a second: each 1-byte record
    // fits, a 600 KiB record never does.
    let dis = Binary::start(&["--stream", "s:1", "--quotas", "--quota-scale", "0.5"]).await;
    let http = client();
    let url = dis.url();
    let (hwm0, rss0) = dis.rss_kib();
    println!("dis-local at start: VmHWM {hwm0} KiB, VmRSS {rss0} KiB");
    let big = B64.encode(vec![b'x'; 600 * 1024]);
    let t0 = Instant::now();
    for i in 0..REQUESTS {
        let body = json!({"stream_name": "s", "records": [
            {"data": B64.encode([i as u8])},
            {"data": big},
        ]});
        let (status, answer) = post_json(&http, &url, &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["failed_record_count"], 1, "{answer}");
        assert_eq!(answer["records"][1]["error_code"], "DIS.4303", "{answer}");
    }
    let (hwm, rss) = dis.rss_kib();
    println!(
        "{REQUESTS} requests of [1 byte stored + 600 KiB throttled] in {:?}: VmRSS {rss} KiB (+{} MiB), VmHWM {hwm} KiB",
        t0.elapsed(),
        (rss.saturating_sub(rss0)) / MIB
    );
    let (status, _, stream) = get(&http, &format!("{}/local/v1/streams/s", dis.endpoint())).await;
    assert_eq!(status, 200);
    assert_eq!(stream["partitions"][0]["records"], REQUESTS);
    assert_eq!(stream["partitions"][0]["throttled"], REQUESTS);
    let (_, _, stored) = get(
        &http,
        &format!("{}/local/v1/streams/s/records", dis.endpoint()),
    )
    .await;
    let stored = stored.as_array().unwrap();
    assert_eq!(stored.len(), REQUESTS);
    for (i, record) in stored.iter().enumerate() {
        assert_eq!(record["data"], B64.encode([i as u8]));
        assert_eq!(record["sequence_number"], i.to_string());
    }
    assert!(
        rss.saturating_sub(rss0) < 40 * MIB,
        "RSS +{} KiB for {REQUESTS} stored bytes",
        rss.saturating_sub(rss0)
    );
}

/// Reads a stream back page by page, following `X-Next-From` (a single page when the server
/// does not page); the records read.
async fn read_all(http: &reqwest::Client, endpoint: &str, stream: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let url = match &from {
            None => format!("{endpoint}/local/v1/streams/{stream}/records"),
            Some(f) => format!("{endpoint}/local/v1/streams/{stream}/records?from={f}"),
        };
        let (status, headers, page) = get(http, &url).await;
        assert_eq!(status, 200, "{page}");
        records.extend(page.as_array().unwrap().iter().cloned());
        match header(&headers, "x-next-from") {
            Some(next) => from = Some(next.to_owned()),
            None => return records,
        }
    }
}

/// A writer that sends one small record at a time to partition `partition` of `stream` until
/// stopped; the longest answer time and the number of records sent.
fn writer(
    url: String,
    stream: &'static str,
    partition: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Duration, usize)> {
    tokio::spawn(async move {
        let http = client();
        let mut longest = Duration::ZERO;
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let (status, answer) = post_json(
                &http,
                &url,
                &json!({"stream_name": stream, "records": [{"data": "YQ==", "partition_id": partition}]}),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            longest = longest.max(t.elapsed());
            sent += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (longest, sent)
    })
}

/// 8 readers that page through the same 48 MiB stored at once cost a bounded amount, and
/// writes are not held up (the bound, 1 s, is loose: the readers in this process parse 8 times
/// 64 MiB of JSON on the same CPUs). Read back in one piece, 48 MiB would cost +126 MiB, 8 at
/// once 192 to 660 MiB, and stall a concurrent write by seconds (the async workers busy
/// serializing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_read_back_is_bounded_and_does_not_stall_writers() {
    let _serial = SERIAL.lock().await;
    const READERS: usize = 8;
    const RECORD: usize = 256 * 1024;
    const RECORDS: usize = 192; // 48 MiB
    let dis = Binary::start(&["--stream", "big:4"]).await;
    let http = client();
    let url = dis.url();
    for batch in 0..RECORDS / 4 {
        let records: Vec<Value> = (0..4)
            .map(|i| json!({"data": B64.encode(vec![(batch * 4 + i) as u8; RECORD]), "partition_id": i.to_string()}))
            .collect();
        let (status, answer) = post_json(
            &http,
            &url,
            &json!({"stream_name": "big", "records": records}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let (hwm0, rss0) = dis.rss_kib();
    println!("dis-local with 48 MiB stored: VmHWM {hwm0} KiB, VmRSS {rss0} KiB");

    let stop = Arc::new(AtomicBool::new(false));
    // The writer writes to the last partition: the positions of the others do not move.
    let writing = writer(url.clone(), "big", "3", stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let endpoint = dis.endpoint();
    let read =
        futures_util::future::join_all((0..READERS).map(|_| read_all(&http, &endpoint, "big")))
            .await;
    let elapsed = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (longest, sent) = writing.await.unwrap();
    let (hwm, rss) = dis.rss_kib();
    println!(
        "{READERS} readers of 48 MiB at once in {elapsed:?}: VmHWM {hwm} KiB (+{} MiB), VmRSS {rss} KiB; \
         {sent} writes meanwhile, the longest {longest:?}",
        (hwm - hwm0) / MIB
    );
    for records in &read {
        assert!(records.len() >= RECORDS, "{} records read", records.len());
        // Partition 0's records first, in arrival order.
        let first = &records[0];
        assert_eq!(first["partition_id"], "shardId-0000000000");
        assert_eq!(
            B64.decode(first["data"].as_str().unwrap()).unwrap().len(),
            RECORD
        );
        assert_eq!(records[RECORDS / 4]["partition_id"], "shardId-0000000001");
    }
    assert!(
        hwm - hwm0 < 96 * MIB,
        "peak RSS +{} KiB for {READERS} readers",
        hwm - hwm0
    );
    assert!(
        longest < SECOND,
        "a write took {longest:?} during the read-backs"
    );
}

/// With 1,000,000 records stored, a snapshot (`LocalDis::records`) and the read-back take
/// long enough (about 0.5 s) that holding the stream's lock all along would stall writes
/// (0.3 s): they do not hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_records_read_back_does_not_stall_writers() {
    let _serial = SERIAL.lock().await;
    const RECORDS: usize = 1_000_000;
    const PER_REQUEST: usize = 10_000;
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 4)])
            .with_max_records_per_request(PER_REQUEST),
    )
    .await;
    let url = env.url();
    let t0 = Instant::now();
    let body = serde_json::to_vec(&json!({
        "stream_name": "s",
        "records": vec![json!({"data": "YQ=="}); PER_REQUEST],
    }))
    .unwrap();
    for _ in 0..RECORDS / PER_REQUEST {
        let (status, _) = post(&env.http, &url, "application/json", body.clone()).await;
        assert_eq!(status, 200);
    }
    println!("{RECORDS} records stored in {:?}", t0.elapsed());

    // The library snapshot, on this thread, while a writer writes.
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(url.clone(), "s", "3", stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let stored = tokio::task::block_in_place(|| env.dis.records("s").unwrap());
    let snapshot = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let (longest, sent) = writing.await.unwrap();
    println!(
        "LocalDis::records of {} records in {snapshot:?}; {sent} writes meanwhile, the longest {longest:?}",
        stored.len()
    );
    assert!(stored.len() >= RECORDS, "{} records", stored.len());
    assert_eq!(&stored[RECORDS - 1].data[..], b"a");
    drop(stored);
    let longest_in_snapshot = longest;

    // The read-back path without parameters: one bounded page.
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(url.clone(), "s", "3", stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let (status, headers, page) = get(
        &env.http,
        &format!("{}/local/v1/streams/s/records", env.dis.endpoint()),
    )
    .await;
    let read = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let (longest, sent) = writing.await.unwrap();
    println!(
        "GET .../records of {RECORDS}: {} records in {read:?}; {sent} writes meanwhile, the longest {longest:?}",
        page.as_array().map_or(0, Vec::len)
    );
    assert_eq!(status, 200);
    assert!(
        longest < 150 * Duration::from_millis(1),
        "a write took {longest:?} during the read-back (and {longest_in_snapshot:?} during LocalDis::records)"
    );
    assert_eq!(page.as_array().unwrap().len(), 10_000);
    assert_eq!(header(&headers, "x-next-from"), Some("10000"));
    let total: usize = header(&headers, "x-total-records")
        .unwrap()
        .parse()
        .unwrap();
    assert!(total >= RECORDS, "{total}");
    assert!(
        longest_in_snapshot < 150 * Duration::from_millis(1),
        "a write took {longest_in_snapshot:?} during LocalDis::records"
    );
}

/// The read-back's paging: `from`, `limit` (default 10,000, at most 100,000), `partition`,
/// a page cut at 4 MiB of data, `X-Next-From` and `X-Total-Records`; bad parameters are 400
/// (a bad `partition` with SendRecords' codes).
#[tokio::test]
async fn read_back_pages() {
    let _serial = SERIAL.lock().await;
    let env = Env::start(LocalConfig::default().with_streams([StreamConfig::new("s", 3)])).await;
    let url = env.url();
    // 30 records, 10 per partition, data "r{i}" in arrival order.
    for i in 0..30 {
        let (status, _) = post_json(
            &env.http,
            &url,
            &json!({"stream_name": "s", "records": [{"data": B64.encode(format!("r{i}")), "partition_id": (i % 3).to_string()}]}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let base = format!("{}/local/v1/streams/s/records", env.dis.endpoint());
    let data =
        |v: &Value| String::from_utf8(B64.decode(v["data"].as_str().unwrap()).unwrap()).unwrap();
    let datas = |page: &Value| {
        page.as_array()
            .unwrap()
            .iter()
            .map(data)
            .collect::<Vec<_>>()
    };

    // Everything: one page, no X-Next-From.
    let (status, headers, all) = get(&env.http, &base).await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 30);
    assert_eq!(header(&headers, "x-next-from"), None);
    assert_eq!(header(&headers, "x-total-records"), Some("30"));
    let everything = datas(&all);
    assert_eq!(everything[..3], ["r0", "r3", "r6"]);
    assert_eq!(everything[10..12], ["r1", "r4"]);

    // Pages of 7 give the same records in the same order.
    let mut paged = Vec::new();
    let mut from = 0;
    loop {
        let (status, headers, page) = get(&env.http, &format!("{base}?from={from}&limit=7")).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "x-total-records"), Some("30"));
        paged.extend(datas(&page));
        match header(&headers, "x-next-from") {
            Some(next) => {
                assert_eq!(page.as_array().unwrap().len(), 7);
                from = next.parse().unwrap();
            }
            None => break,
        }
    }
    assert_eq!(paged, everything);
    assert_eq!(from, 28);

    // One partition: `from` is then a sequence number there.
    let (status, headers, page) = get(
        &env.http,
        &format!("{base}?partition=shardId-0000000002&from=8"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(datas(&page), ["r26", "r29"]);
    assert_eq!(page[0]["sequence_number"], "8");
    assert_eq!(header(&headers, "x-total-records"), Some("10"));
    assert_eq!(header(&headers, "x-next-from"), None);
    let (_, headers, page) = get(&env.http, &format!("{base}?partition=1&limit=2")).await;
    assert_eq!(datas(&page), ["r1", "r4"]);
    assert_eq!(header(&headers, "x-next-from"), Some("2"));

    // Past the end: an empty page.
    let (status, headers, page) = get(&env.http, &format!("{base}?from=30")).await;
    assert_eq!((status, page), (200, json!([])));
    assert_eq!(header(&headers, "x-next-from"), None);

    // The largest limit is accepted; bad parameters are refused.
    let (status, _, _) = get(&env.http, &format!("{base}?limit=100000")).await;
    assert_eq!(status, 200);
    for (query, code) in [
        ("limit=0", "DIS.4200"),
        ("limit=100001", "DIS.4200"),
        ("limit=x", "DIS.4200"),
        ("from=-1", "DIS.4200"),
        ("from=", "DIS.4200"),
        ("partition=shardId-1", "DIS.4201"),
        ("partition=3", "DIS.4302"),
    ] {
        let (status, _, answer) = get(&env.http, &format!("{base}?{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["errorCode"], code, "{query}: {answer}");
    }

    // A page ends before the record that would take its data past 4 MiB (at least one record).
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 1)])
            .with_max_request_bytes(5 * 1024 * 1024),
    )
    .await;
    let big = B64.encode(vec![b'x'; 1024 * 1024]);
    let records = vec![json!({"data": big}); 5];
    let (status, _) = post_json(
        &env.http,
        &env.url(),
        &json!({"stream_name": "s", "records": records}),
    )
    .await;
    assert_eq!(status, 200);
    let base = format!("{}/local/v1/streams/s/records", env.dis.endpoint());
    let (_, headers, page) = get(&env.http, &base).await;
    assert_eq!(page.as_array().unwrap().len(), 4);
    assert_eq!(header(&headers, "x-next-from"), Some("4"));
    let (_, headers, page) = get(&env.http, &format!("{base}?from=4")).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(header(&headers, "x-next-from"), None);
}

/// A stream has at most 100 partitions here: `s:4000000000` is refused when parsed (starting
/// it would abort the process: "memory allocation of 160000000000 bytes failed").
#[tokio::test]
async fn partition_count_is_bounded() {
    let _serial = SERIAL.lock().await;
    let err = "s:4000000000".parse::<StreamConfig>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid stream \"s:4000000000\": PARTITIONS must be at most 100"
    );
    assert!("s:101".parse::<StreamConfig>().is_err());
    assert_eq!(
        "s:100".parse::<StreamConfig>().unwrap(),
        StreamConfig::new("s", 100)
    );

    // From the library: a configuration error, nothing bound.
    let config = LocalConfig::default().with_streams([StreamConfig::new("s", 101)]);
    match LocalDis::start(config, "127.0.0.1:0".parse().unwrap()).await {
        Err(StartError::Config(e)) => {
            assert_eq!(
                format!("{e:?}"),
                r#"TooManyPartitions { stream: "s", partitions: 101, max: 100 }"#
            );
            assert_eq!(
                e.to_string(),
                "stream \"s\" has 101 partitions; at most 100 are served"
            );
        }
        other => panic!("{other:?}"),
    }
    let dis = LocalDis::start(
        LocalConfig::default().with_streams([StreamConfig::new("s", 100)]),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(dis.record_counts("s").unwrap().len(), 100);
    dis.shutdown().await;

    // From the command line: clap's usage error (exit status 2) with the reason.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dis-local"))
        .args(["--listen", "127.0.0.1:0", "--stream", "s:4000000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dis-local");
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > 20 * SECOND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dis-local --stream s:4000000000 still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    println!("dis-local --stream s:4000000000: {status}, stderr {stderr:?}");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("PARTITIONS must be at most 100"),
        "{stderr}"
    );
}
