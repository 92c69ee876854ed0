//! Compressed bodies against plain JSON and protobuf, in the same run: bytes on the wire and
//! client CPU per record, for each codec (`lz4`, `zstd`, `snappy`) and each body format.
//!
//! The corpus is generated here: JSON log lines of 1 KiB with repeated keys (timestamps, levels,
//! services, hosts, trace ids, paths, statuses) and a free text of words, numbers and ids drawn
//! per line; 10 partition keys. The producer sends it to
//! dis-local running in a child process (which decompresses and stores), through a proxy in that
//! child that counts the bytes the client sends (headers included). Client CPU is this process's
//! user + system time (the process's CPU clock) over the whole run: validation, Base64 (JSON),
//! serializing, compressing, HTTP. Each row: the median of `ROUNDS` runs, with the spread (min-max).
//!
//! Run: `cargo bench --bench codecs --features lz4,zstd,snappy` (add `-- --quick` for a short
//! run).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use dis_local::{LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    BodyFormat, Compression, Credentials, DisClient, Producer, ProducerConfig, Record,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUNDS: usize = 3;
const LINE: usize = 1024;

/// Log line `i`: about 1 KiB of JSON whose keys, and many values, repeat from line to line.
fn log_line(i: u64) -> Vec<u8> {
    const LEVELS: [&str; 4] = ["info", "info", "warn", "error"];
    const PATHS: [&str; 5] = [
        "/api/v1/orders",
        "/api/v1/orders/{id}/pay",
        "/api/v1/cart",
        "/api/v1/users/{id}",
        "/healthz",
    ];
    const STATUSES: [u16; 5] = [200, 200, 201, 404, 500];
    let trace = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut line = format!(
        concat!(
            r#"{{"timestamp":"2026-11-30T20:{:02}:{:02}.{:03}Z","level":"{}","service":"checkout","#,
            r#""host":"web-{}.cn-north-4.internal","trace_id":"{:016x}","span_id":"{:08x}","#,
            r#""user_id":"u-{}","method":"POST","path":"{}","status":{},"latency_ms":{},"#,
            r#""bytes_in":{},"bytes_out":{},"user_agent":"Mozilla/5.0 (X11; Linux x86_64) checkout-client/3.4.1","#,
            r#""message":"request handled","attributes":{{"region":"cn-north-4","az":"az{}","#,
            r#""retry":{},"cache":"{}","feature_flags":["new-cart","fast-pay"]}},"detail":""#
        ),
        (i / 60) % 60,
        i % 60,
        (i * 37) % 1000,
        LEVELS[i as usize % 4],
        i % 16,
        trace,
        trace >> 32,
        (i * 7919) % 100_000,
        PATHS[i as usize % 5],
        STATUSES[i as usize % 5],
        (i * 13) % 900,
        (i * 101) % 4096,
        (i * 53) % 65536,
        i % 3,
        i % 2,
        ["hit", "miss"][i as usize % 2],
    );
    // The free text: words of a small vocabulary, numbers and ids, drawn per line (a log's
    // messages repeat words, not whole sentences).
    const WORDS: [&str; 48] = [
        "order",
        "payment",
        "cart",
        "item",
        "user",
        "session",
        "token",
        "retry",
        "timeout",
        "cache",
        "miss",
        "hit",
        "db",
        "query",
        "rows",
        "took",
        "ms",
        "upstream",
        "inventory",
        "reserved",
        "released",
        "charged",
        "refund",
        "coupon",
        "applied",
        "rejected",
        "queue",
        "enqueued",
        "worker",
        "picked",
        "shipment",
        "created",
        "address",
        "validated",
        "warehouse",
        "sku",
        "price",
        "currency",
        "CNY",
        "tax",
        "computed",
        "fraud",
        "score",
        "low",
        "high",
        "lock",
        "acquired",
        "released",
    ];
    let mut state = trace | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while line.len() < LINE - 2 {
        let r = next();
        match r % 8 {
            0 => line.push_str(&format!(" {}", r % 100_000)),
            1 => line.push_str(&format!(" id={:x}", r >> 20)),
            _ => {
                line.push(' ');
                line.push_str(WORDS[(r >> 8) as usize % WORDS.len()]);
            }
        }
    }
    line.truncate(LINE - 2);
    line.push_str("\"}");
    line.into_bytes()
}

fn corpus(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| Record::new(log_line(i)).with_partition_key(format!("key-{}", i % 10)))
        .collect()
}

/// Child mode: dis-local behind a proxy that counts the bytes clients send. Prints the proxy's
/// address; then, for each line read from stdin, the bytes counted since the last line.
fn sink_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = LocalConfig::default()
            .with_streams([StreamConfig::new("bench", 4)])
            .with_retain(false);
        let dis = LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let upstream: SocketAddr = dis
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let (mut client_rx, mut client_tx) = client.into_split();
                    let (mut server_rx, mut server_tx) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = client_rx.read(&mut buf).await {
                            if n == 0 || server_tx.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        let _ = server_tx.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                        let _ = client_tx.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        let lines = tokio::task::spawn_blocking(move || {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                println!("{}", sent.swap(0, Ordering::Relaxed));
            }
        });
        lines.await.unwrap();
    });
}

/// The child: its proxy's endpoint, and a way to read the bytes it counted.
struct Sink {
    child: std::process::Child,
    endpoint: String,
    out: BufReader<std::process::ChildStdout>,
}

impl Sink {
    fn start() -> Sink {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--sink-child")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut endpoint = String::new();
        out.read_line(&mut endpoint).unwrap();
        Sink {
            child,
            endpoint: endpoint.trim().to_owned(),
            out,
        }
    }

    /// Bytes the clients sent since the last call.
    fn take_bytes(&mut self) -> u64 {
        writeln!(self.child.stdin.as_mut().unwrap()).unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// One run: records/s, client CPU per record (µs), wire bytes per record.
fn run(
    rt: &tokio::runtime::Runtime,
    sink: &mut Sink,
    records: &[Record],
    format: BodyFormat,
    compression: Compression,
) -> (f64, f64, f64) {
    sink.take_bytes();
    let n = records.len() as f64;
    let (cpu, secs) = rt.block_on(async {
        let client = DisClient::builder(&sink.endpoint, "bench-project")
            .credentials(Credentials::token("bench"))
            .compression(compression)
            .build()
            .unwrap();
        let config = ProducerConfig::default()
            .with_body_format(format)
            .with_max_in_flight(4);
        let producer = Producer::new(client, "bench", config).unwrap();
        let records = records.to_vec();
        let (cpu0, t0) = (ProcessTime::now(), Instant::now());
        let summary = producer.send_all(records, |_| {}).await;
        let (cpu, secs) = (cpu0.elapsed(), t0.elapsed().as_secs_f64());
        assert_eq!(summary.failed, 0, "{format:?} {compression:?}");
        (cpu, secs)
    });
    // The client's connections closed with it: the proxy has counted everything it sent.
    std::thread::sleep(Duration::from_millis(200));
    let bytes = sink.take_bytes();
    (n / secs, cpu.as_secs_f64() * 1e6 / n, bytes as f64 / n)
}

fn median_spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    if std::env::args().any(|a| a == "--sink-child") {
        sink_child();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 5_000 } else { 20_000 };
    let records = corpus(n);
    let mut sink = Sink::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rows = [
        ("JSON", BodyFormat::Json, Compression::None),
        ("JSON + lz4", BodyFormat::Json, Compression::Lz4),
        ("JSON + zstd", BodyFormat::Json, Compression::Zstd),
        ("JSON + snappy", BodyFormat::Json, Compression::Snappy),
        ("protobuf", BodyFormat::Protobuf, Compression::None),
        ("protobuf + lz4", BodyFormat::Protobuf, Compression::Lz4),
        ("protobuf + zstd", BodyFormat::Protobuf, Compression::Zstd),
        (
            "protobuf + snappy",
            BodyFormat::Protobuf,
            Compression::Snappy,
        ),
    ];
    // Warm-up: connections, allocator, the child's stream.
    run(
        &rt,
        &mut sink,
        &records[..1000],
        BodyFormat::Json,
        Compression::None,
    );
    println!(
        "{n} records of {LINE} B (JSON log lines, 10 keys), 500 per request, 4 in flight, token auth; \
         dis-local in a child process; median of {ROUNDS} runs (min-max); {} cores; ratios against plain JSON in this run",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| body | wire bytes/record | of JSON's | client CPU/record (µs) | of JSON's | records/s |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut json = None;
    for (label, format, compression) in rows {
        let runs: Vec<_> = (0..ROUNDS)
            .map(|_| run(&rt, &mut sink, &records, format, compression))
            .collect();
        let (rps, rps_lo, rps_hi) = median_spread(runs.iter().map(|r| r.0).collect());
        let (cpu, cpu_lo, cpu_hi) = median_spread(runs.iter().map(|r| r.1).collect());
        let (wire, ..) = median_spread(runs.iter().map(|r| r.2).collect());
        let (json_wire, json_cpu) = *json.get_or_insert((wire, cpu));
        println!(
            "| {label} | {wire:.0} | {:.2} | {cpu:.2} ({cpu_lo:.2}-{cpu_hi:.2}) | {:.2} | {rps:.0} ({rps_lo:.0}-{rps_hi:.0}) |",
            wire / json_wire,
            cpu / json_cpu
        );
    }
}
