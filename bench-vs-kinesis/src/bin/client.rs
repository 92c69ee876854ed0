//! One client's run against the sink: `client <dis-token|dis-aksk|kinesis> <endpoint>
//! <record bytes> <records>`. Payloads (and each client's record values) are built before the
//! clock; the timed span is sending them all, 500 records a request, 4 requests in flight, and
//! reading every answer. Prints one JSON line: records/s and the process's CPU (user + system,
//! `getrusage`) per record over the timed span.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use bytes::Bytes;
use futures_util::StreamExt;

const PER_REQUEST: usize = 500;
const IN_FLIGHT: usize = 4;

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn payloads(size: usize, n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let mut v = vec![0u8; size];
            for (j, b) in v.iter_mut().enumerate() {
                *b = ((i * 31 + j * 7) % 251) as u8;
            }
            Bytes::from(v)
        })
        .collect()
}

fn key(i: usize) -> String {
    format!("key-{}", i % 100)
}

async fn dis(endpoint: &str, aksk: bool, payloads: Vec<Bytes>) -> (usize, Duration, Duration) {
    use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record};
    let credentials = if aksk {
        Credentials::aksk("BENCHACCESSKEY", "bench-secret-key")
    } else {
        Credentials::token("bench-token")
    };
    let client = DisClient::builder(endpoint, "bench-project")
        .credentials(credentials)
        .build()
        .expect("client");
    let config = ProducerConfig::default()
        .with_max_in_flight(IN_FLIGHT)
        .with_linger(Duration::from_millis(5));
    let producer = Producer::new(client, "bench", config).expect("producer");
    let records: Vec<Record> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| Record::new(p).with_partition_key(key(i)))
        .collect();
    let n = records.len();
    let (start, cpu) = (Instant::now(), cpu_time());
    let summary = producer.send_all(records, |_| {}).await;
    let (wall, cpu) = (start.elapsed(), cpu_time() - cpu);
    assert_eq!(summary.acknowledged as usize, n, "{summary:?}");
    (n, wall, cpu)
}

async fn kinesis(endpoint: &str, payloads: Vec<Bytes>) -> (usize, Duration, Duration) {
    use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "BENCHACCESSKEY",
            "bench-secret-key",
            None,
            None,
            "bench",
        ))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    let client = aws_sdk_kinesis::Client::from_conf(config);
    let n = payloads.len();
    let entries: Vec<PutRecordsRequestEntry> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(p.to_vec()))
                .partition_key(key(i))
                .build()
                .expect("entry")
        })
        .collect();
    let mut chunks = Vec::new();
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        chunks.push(entries.by_ref().take(PER_REQUEST).collect::<Vec<_>>());
    }
    let (start, cpu) = (Instant::now(), cpu_time());
    let mut answers = futures_util::stream::iter(chunks)
        .map(|chunk| {
            client
                .put_records()
                .stream_name("bench")
                .set_records(Some(chunk))
                .send()
        })
        .buffer_unordered(IN_FLIGHT);
    let mut stored = 0;
    while let Some(answer) = answers.next().await {
        let answer = answer.expect("PutRecords");
        assert_eq!(answer.failed_record_count(), Some(0));
        stored += answer.records().len();
    }
    let (wall, cpu) = (start.elapsed(), cpu_time() - cpu);
    assert_eq!(stored, n);
    (n, wall, cpu)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, which, endpoint, size, records] = &args[..] else {
        eprintln!("usage: client <dis-token|dis-aksk|kinesis> <endpoint> <record bytes> <records>");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("record bytes");
    let records: usize = records.parse().expect("records");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (n, wall, cpu) = rt.block_on(async {
        // A warm-up of one request each way, outside the clock (connections, lazy statics).
        let warm = payloads(size, PER_REQUEST);
        let body = payloads(size, records);
        match which.as_str() {
            "dis-token" => {
                dis(endpoint, false, warm).await;
                dis(endpoint, false, body).await
            }
            "dis-aksk" => {
                dis(endpoint, true, warm).await;
                dis(endpoint, true, body).await
            }
            "kinesis" => {
                kinesis(endpoint, warm).await;
                kinesis(endpoint, body).await
            }
            other => panic!("unknown client {other}"),
        }
    });
    println!(
        "{{\"client\":\"{which}\",\"size\":{size},\"records\":{n},\"records_per_s\":{:.0},\"cpu_us_per_record\":{:.3}}}",
        n as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64
    );
}
