//! Ordered mode with one hot key, against the local endpoint in this process: 1,000 cold keys
//! alone, then the same 1,000 cold keys interleaved with 12,000 records of one hot key. Prints
//! when the last cold record was acknowledged in each run (the ratio is the hot key's cost to
//! the others), the whole run's time, and the client's CPU per record.
//!
//! Run: `cargo bench --bench ordered`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;
use dis_local::{LocalConfig, LocalDis, StreamConfig};
use dis_records::{Credentials, DisClient, Producer, ProducerConfig, Record};

/// Sends `records` in ordered mode; returns when the last cold record was acknowledged, the
/// whole run's time and the CPU per record.
async fn run(
    dis: &LocalDis,
    records: Vec<Record>,
    buffer: usize,
) -> (Duration, Duration, Duration) {
    let client = DisClient::builder(dis.endpoint(), "p")
        .credentials(Credentials::token("t"))
        .build()
        .unwrap();
    let config = ProducerConfig::default()
        .with_order_by_key(true)
        .with_max_in_flight(8)
        .with_buffer(buffer, 64 * 1024 * 1024);
    let producer = Producer::new(client, "s", config).unwrap();
    let n = records.len() as u32;
    let start = Instant::now();
    let cpu = ProcessTime::now();
    let last_cold = Arc::new(Mutex::new(Duration::ZERO));
    let seen = last_cold.clone();
    let summary = producer
        .send_all(records, move |d| {
            if d.record.partition_key.as_deref() != Some("hot") {
                *seen.lock().unwrap() = start.elapsed();
            }
        })
        .await;
    assert_eq!(summary.acknowledged, u64::from(n));
    let cold = *last_cold.lock().unwrap();
    (cold, start.elapsed(), cpu.elapsed() / n)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dis = LocalDis::start(
            LocalConfig::default()
                .with_streams([StreamConfig::new("s", 4)])
                .with_retain(false),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let cold = |i: u64| Record::new(format!("cold-{i}")).with_partition_key(format!("c{i}"));
        let alone: Vec<Record> = (0..1000).map(cold).collect();
        let mixed: Vec<Record> = (0..13_000u64)
            .map(|i| {
                if i % 13 == 12 {
                    cold(i / 13)
                } else {
                    Record::new(format!("hot-{i}")).with_partition_key("hot")
                }
            })
            .collect();
        println!("| run | last cold record acknowledged | whole run | client CPU per record |");
        println!("| --- | --- | --- | --- |");
        let (c1, w1, cpu1) = run(&dis, alone, 10_000).await;
        println!("| 1,000 cold keys alone | {c1:.2?} | {w1:.2?} | {cpu1:.2?} |");
        let (c2, w2, cpu2) = run(&dis, mixed.clone(), 10_000).await;
        println!(
            "| the same beside 12,000 records of one hot key | {c2:.2?} | {w2:.2?} | {cpu2:.2?} |"
        );
        // A buffer of more records: no different, as the records waiting for their key are
        // capped by the buffer's bytes, not its record count.
        let (c3, w3, cpu3) = run(&dis, mixed, 20_000).await;
        println!("| the same, buffer of 20,000 records | {c3:.2?} | {w3:.2?} | {cpu3:.2?} |");
        println!(
            "\ncold keys' delay beside the hot key: {:.1}x (buffer 10,000), {:.1}x (buffer 20,000)",
            c2.as_secs_f64() / c1.as_secs_f64(),
            c3.as_secs_f64() / c1.as_secs_f64()
        );
    });
}
