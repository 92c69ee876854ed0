//! Producer benchmarks, each printed as a ratio against a baseline measured in the same run:
//! 1. records/s and MB/s to the local endpoint over loopback, next to plain reqwest posting
//!    pre-serialized bodies at the same concurrency (goal: ratio >= 0.8);
//! 2. client CPU per record for validate + Base64 + serialize, next to Base64-encoding the same
//!    bytes into a preallocated buffer (goal: ratio <= 1.5);
//! 3. peak RSS while streaming 1,000,000 records of 1 KiB, in a fresh process, next to
//!    100,000 records (goal: <= 64 MiB, independent of N);
//! 4. (1) again with the endpoint in its own process pinned to core 1 and the client pinned to
//!    core 0, so that neither takes CPU from the other; with the client's CPU per record, the
//!    producer's and raw reqwest's (the floor of this machine's HTTP).
//!
//! Run: `cargo bench --bench producer` (add `-- --quick` for a short run).

use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine as _;
use dis_local::{LocalConfig, LocalDis, StreamConfig};

use cpu_time::ProcessTime;
use dis_records::BodyFormat;
use dis_records::generated::{Base64Data, types};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record};

const BATCH: usize = 500;
const CONCURRENCY: usize = 4;

fn payload(i: u64, size: usize) -> Vec<u8> {
    let mut d = format!("{i:012}").into_bytes();
    d.resize(size, b'x');
    d
}

async fn server() -> LocalDis {
    let config = LocalConfig::default()
        .with_streams([StreamConfig::new("bench", 4)])
        .with_retain(false);
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn producer(endpoint: &str) -> Producer {
    let client = DisClient::builder(endpoint, "bench-project")
        .credentials(Credentials::token("bench"))
        .build()
        .unwrap();
    let config = ProducerConfig::default().with_max_in_flight(CONCURRENCY);
    Producer::new(client, "bench", config).unwrap()
}

/// The work the client does before serializing a request (`src/request.rs`), with the public
/// generated types: DIS's size limits, then the spec's newtypes check the stream name and the
/// patterns, and each record's bytes become its entry's `data` (Base64 comes when serializing).
fn build_body(stream: &str, records: &[Record]) -> types::PutRecordsRequest {
    const MIB: usize = 1024 * 1024;
    let total: usize = records.iter().map(|r| r.data.len()).sum();
    assert!(!records.is_empty() && records.len() <= 500 && total <= MIB);
    let records = records
        .iter()
        .map(|r| {
            assert!(r.data.len() <= MIB);
            types::PutRecordsRequestEntry {
                data: Base64Data(r.data.clone()),
                explicit_hash_key: r
                    .explicit_hash_key
                    .as_deref()
                    .map(|k| k.try_into().unwrap()),
                partition_id: r.partition_id.as_deref().map(|p| p.try_into().unwrap()),
                partition_key: r.partition_key.clone(),
            }
        })
        .collect();
    types::PutRecordsRequest {
        stream_name: stream.try_into().unwrap(),
        stream_id: None,
        records,
    }
}

/// Plain reqwest: the same records, bodies serialized before the clock starts. Returns the
/// wall time and this process's CPU time over the timed span, in seconds.
async fn baseline(endpoint: &str, n: u64, size: usize) -> (f64, f64) {
    let bodies: Vec<Vec<u8>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|ids| {
            let recs: Vec<Record> = ids.iter().map(|&i| Record::new(payload(i, size))).collect();
            serde_json::to_vec(&build_body("bench", &recs)).unwrap()
        })
        .collect();
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let url = format!("{endpoint}/v2/bench-project/records");
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, url, queue) = (http.clone(), url.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-auth-token", "bench")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success());
                    resp.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let cpu = cpu.elapsed().as_secs_f64();
    (start.elapsed().as_secs_f64(), cpu)
}

/// The producer, fed records whose payloads exist before the clock starts (as the baseline's
/// bodies do); each record is a cheap reference to its payload. Returns the wall time and this
/// process's CPU time over the timed span, in seconds.
async fn with_producer(endpoint: &str, payloads: &[bytes::Bytes]) -> (f64, f64) {
    let n = payloads.len() as u64;
    let p = producer(endpoint);
    // The run owns its input (it has a task of its own): references to the payloads.
    let payloads = payloads.to_vec();
    let (start, cpu) = (Instant::now(), ProcessTime::now());
    let summary = p
        .send_all(payloads.into_iter().map(Record::new), |_| {})
        .await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu.elapsed().as_secs_f64();
    assert_eq!(summary.acknowledged, n);
    (secs, cpu)
}

fn cpu_ratio(size: usize, rounds: usize) -> (f64, f64, f64, f64, f64) {
    let records: Vec<Record> = (0..BATCH as u64)
        .map(|i| Record::new(payload(i, size)))
        .collect();
    // Floor: Base64 of the same bytes into one preallocated buffer (base64 0.22, scalar).
    let mut buf = vec![0u8; BATCH * (size * 4 / 3 + 4)];
    let floor = time_per_record(rounds, || {
        let mut at = 0;
        for r in &records {
            at += base64::engine::general_purpose::STANDARD
                .encode_slice(&r.data, &mut buf[at..])
                .unwrap();
        }
        std::hint::black_box(&buf);
    });
    // The same with the SIMD encoder the client uses (base64-simd, detected at run time).
    let simd_floor = time_per_record(rounds, || {
        let mut at = 0;
        for r in &records {
            let out = base64_simd::Out::from_slice(&mut buf[at..]);
            at += base64_simd::STANDARD.encode(&r.data, out).len();
        }
        std::hint::black_box(&buf);
    });
    // What the producer does per try: serialize the generated request (serde, the spec's
    // types; entries checked at intake and lent to the request) into one buffer sized from the
    // estimate.
    let request = build_body("bench", &records);
    let mut out = Vec::new();
    let ours = time_per_record(rounds, || {
        out = Vec::with_capacity(BATCH * (size.div_ceil(3) * 4 + 96) + 512);
        BodyFormat::Json.encode(&request, &mut out);
        std::hint::black_box(&out);
    });
    // What `DisClient::send` does per call: check the records into the generated request,
    // then serialize it.
    let checked = time_per_record(rounds, || {
        let request = build_body("bench", &records);
        out = Vec::with_capacity(BATCH * (size.div_ceil(3) * 4 + 96) + 512);
        BodyFormat::Json.encode(&request, &mut out);
        std::hint::black_box(&out);
    });
    // Protobuf: the same records as raw bytes (no Base64 at all).
    let protobuf = time_per_record(rounds, || {
        out = Vec::with_capacity(BATCH * (size + 16) + 64);
        BodyFormat::Protobuf.encode(&request, &mut out);
        std::hint::black_box(&out);
    });
    (ours, checked, floor, simd_floor, protobuf)
}

/// Nanoseconds per record: the best of 5 runs of `rounds` batches.
fn time_per_record(rounds: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..rounds {
                f();
            }
            start.elapsed().as_nanos() as f64 / (rounds * BATCH) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child mode: stream `n` records of 1 KiB and print the peak RSS in KiB.
fn rss_child(n: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = server().await;
        let before = peak_rss_kib();
        // Payloads made on the fly: memory must not grow with n.
        let p = producer(&server.endpoint());
        let summary = p
            .send_all((0..n).map(|i| Record::new(payload(i, 1024))), |_| {})
            .await;
        assert_eq!(summary.acknowledged, n);
        println!("{before} {}", peak_rss_kib());
    });
}

fn rss_in_fresh_process(n: u64) -> (u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--rss-child", &n.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// One table row: producer vs raw reqwest to `endpoint`, after a warm-up, best of 3 each.
/// `client_cpu`: the endpoint is in another process, so this process's CPU is the client's
/// alone: print it per record too (the floor of this machine's HTTP, next to the producer's).
fn throughput_row(
    rt: &tokio::runtime::Runtime,
    endpoint: &str,
    size: usize,
    n: u64,
    client_cpu: bool,
) {
    let payloads: Vec<bytes::Bytes> = (0..n).map(|i| payload(i, size).into()).collect();
    let ((ours, ours_cpu), (raw, raw_cpu)) = rt.block_on(async {
        with_producer(endpoint, &payloads[..20_000]).await;
        baseline(endpoint, 20_000, size).await;
        let best = |a: (f64, f64), b: (f64, f64)| (a.0.min(b.0), a.1.min(b.1));
        let (mut ours, mut raw) = (
            (f64::INFINITY, f64::INFINITY),
            (f64::INFINITY, f64::INFINITY),
        );
        for _ in 0..3 {
            raw = best(raw, baseline(endpoint, n, size).await);
            ours = best(ours, with_producer(endpoint, &payloads).await);
        }
        (ours, raw)
    });
    let (ours_rps, raw_rps) = (n as f64 / ours, n as f64 / raw);
    let cpu = if client_cpu {
        let per = |s: f64| s * 1e6 / n as f64;
        format!(" {:.3} | {:.3} |", per(ours_cpu), per(raw_cpu))
    } else {
        String::new()
    };
    println!(
        "| {size} B | {ours_rps:.0} | {:.1} | {raw_rps:.0} | {:.2} |{cpu}",
        ours_rps * size as f64 / 1e6,
        ours_rps / raw_rps
    );
}

/// Child mode: serve the local endpoint, print its address, run until stdin closes.
fn server_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = server().await;
        println!("{}", s.endpoint());
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_line(&mut String::new());
        })
        .await
        .unwrap();
    });
}

/// Throughput with the endpoint in its own process on core 1 and this process on core 0, so
/// that client and server do not take CPU from each other (`taskset`, Linux only).
fn throughput_on_separate_cores(sizes: &[usize], n: u64) -> Option<()> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().ok()?;
    let mut child = Command::new("taskset")
        .args(["-c", "1"])
        .arg(&exe)
        .arg("--server-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let endpoint = line.trim().to_owned();
    let pinned = Command::new("taskset")
        .args(["-p", "-c", "0", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .ok()?;
    if !pinned.success() || endpoint.is_empty() {
        return None;
    }
    // Worker threads inherit this thread's affinity: core 0.
    let rt = tokio::runtime::Runtime::new().unwrap();
    for &size in sizes {
        throughput_row(&rt, &endpoint, size, n, true);
    }
    drop(child.stdin.take());
    let _ = child.wait();
    Some(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--rss-child") {
        rss_child(args[pos + 1].parse().unwrap());
        return;
    }
    if args.iter().any(|a| a == "--server-child") {
        server_child();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c
                .lines()
                .find_map(|l| l.strip_prefix("model name\t: ").map(str::to_owned)))
            .unwrap_or_default()
    );

    println!("\n1. throughput to the local endpoint (batch {BATCH}, concurrency {CONCURRENCY})");
    println!(
        "| record | producer rec/s | producer MB/s | raw reqwest rec/s | ratio (goal >= 0.8) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n: u64 = if quick { 50_000 } else { 200_000 };
    let local = rt.block_on(server());
    for size in [100usize, 1024] {
        throughput_row(&rt, &local.endpoint(), size, n, false);
    }
    drop(local);

    println!(
        "\n2. client CPU per record: the generated request serialized (Base64 included) vs Base64 alone"
    );
    println!(
        "| record | serialize ns/record | floor (base64 0.22) ns/record | ratio (goal <= 1.25) | check + build + serialize ns/record | ratio | SIMD floor (base64-simd) ns/record | protobuf body ns/record |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for size in [100usize, 1024] {
        let rounds = if quick { 50 } else { 400 };
        let (ours, checked, floor, simd_floor, protobuf) = cpu_ratio(size, rounds);
        println!(
            "| {size} B | {ours:.1} | {floor:.1} | {:.2} | {checked:.1} | {:.2} | {simd_floor:.1} | {protobuf:.1} |",
            ours / floor,
            checked / floor
        );
    }

    println!(
        "\n3. peak RSS streaming 1 KiB records (fresh process each; server in-process, not retaining)"
    );
    println!("| records | RSS before sending | peak RSS | goal |");
    println!("| --- | --- | --- | --- |");
    let counts: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[100_000, 1_000_000]
    };
    for &n in counts {
        let (before, peak) = rss_in_fresh_process(n);
        println!(
            "| {n} | {:.1} MiB | {:.1} MiB | <= 64 MiB |",
            before as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }

    // Last: it pins this process to one core.
    println!(
        "\n4. throughput with the endpoint in its own process on core 1, the client on core 0"
    );
    println!(
        "| record | producer rec/s | producer MB/s | raw reqwest rec/s | ratio (goal >= 0.8) | producer CPU us/record | raw reqwest CPU us/record |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    if throughput_on_separate_cores(&[100, 1024], n).is_none() {
        println!("(skipped: needs taskset and 2 cores)");
    }
}
