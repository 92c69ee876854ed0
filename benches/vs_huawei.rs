//! Our producer's side of `scripts/bench-vs-huawei.sh`: N records of S bytes sent to a running
//! DIS endpoint with C requests in flight, timed, with the process's CPU over exactly that span.
//!
//! ```text
//! cargo bench --bench vs_huawei -- --endpoint http://127.0.0.1:PORT --records 200000 --size 100 --concurrency 4
//! ```
//!
//! - Payloads are generated before the clock (as the Python SDK's are): unique, each starting
//!   with its index in 12 digits, then `x` up to `--size` bytes (the same bytes as
//!   `scripts/bench_huawei_sdk.py` sends). Each record is a cheap reference to its payload.
//! - Before the clock, a warm-up run of `--warmup` other records (default: one full request per
//!   request in flight) opens the connections. It is reported as `warmup_records`, so that the
//!   caller can check the endpoint's counters exactly.
//! - Timed: `Producer::send_all` over every record, from the call until every record is handed
//!   back. Every record must be acknowledged.
//! - CPU: the process's CPU clock (the `cpu-time` crate), user + system time of the whole process
//!   (every thread: the Tokio workers included) just before and just after the timed call;
//!   `cpu_us_per_record` is that difference divided by the number of records. Linux reports it
//!   with microsecond resolution (not in clock ticks as `/proc/self/stat` does).
//!
//! Authentication: AK/SK (`SDK-HMAC-SHA256`), as the Python v3 SDK does.
//!
//! Output: one JSON line on stdout,
//! `{"records","size","seconds","records_per_s","cpu_us_per_record","body","concurrency","warmup_records"}`.
//!
//! Exit status: 0 measured; 3 the endpoint refused the warm-up requests with a 4xx answer
//! (it does not take this body format, for example: `unsupported: ...` on stderr, nothing
//! measured); 1 any other error, including any record not acknowledged.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use cpu_time::ProcessTime;
use dis_records::{
    BodyFormat, Credentials, Delivery, DisClient, Error, Failure, Producer, ProducerConfig, Record,
};

const UNSUPPORTED: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Body {
    Json,
    Protobuf,
}

/// Our producer sending pre-generated records to a DIS endpoint, timed, with its CPU per record.
#[derive(Parser, Debug)]
struct Args {
    /// Endpoint URL, e.g. http://127.0.0.1:PORT (a running dis-local).
    #[arg(long)]
    endpoint: String,
    /// Records sent in the timed run.
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Bytes per record.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Request body format.
    #[arg(long, value_enum, default_value_t = Body::Json)]
    body: Body,
    /// Records sent before the clock starts (default: 500 per request in flight).
    #[arg(long)]
    warmup: Option<u64>,
    /// Stream to send to.
    #[arg(long, default_value = "newstream")]
    stream: String,
    /// Project ID in the request path.
    #[arg(long, default_value = "bench-project")]
    project_id: String,
    /// Access key (AK/SK signing, as the Python v3 SDK does).
    #[arg(long, default_value = "BENCHACCESSKEY")]
    ak: String,
    /// Secret key.
    #[arg(long, default_value = "BENCHSECRETKEY")]
    sk: String,
    /// Send with this IAM token (`X-Auth-Token`) instead of signing with the AK/SK.
    #[arg(long)]
    token: Option<String>,
    /// Passed by `cargo bench` to every bench binary; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The same bytes as `payload()` in scripts/bench_huawei_sdk.py.
fn payload(i: u64, size: usize) -> Bytes {
    let mut d = format!("{i:012}").into_bytes();
    if d.len() < size {
        d.resize(size, b'x');
    }
    d.into()
}

/// Outcomes of one `send_all` (shared with its callback, which runs on the run's own task):
/// records acknowledged, and the first failure. Counting takes no lock.
#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    failed: AtomicU64,
    first_failure: Mutex<Option<Failure>>,
}

impl Tally {
    /// The callback that counts into `tally`.
    fn counter(tally: &Arc<Tally>) -> impl FnMut(Delivery) + Send + 'static {
        let tally = tally.clone();
        move |d| match d.result {
            Ok(_) => {
                tally.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                tally.first_failure.lock().unwrap().get_or_insert(failure);
            }
        }
    }

    fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn first_failure(&self) -> Option<Failure> {
        self.first_failure.lock().unwrap().take()
    }
}

/// True when the endpoint answered the request with a 4xx other than 429 (not retried): it
/// refuses this kind of request.
fn refused(failure: &Failure) -> bool {
    match failure {
        Failure::Request(e) => match **e {
            Error::Dis { status, .. } => (400..500).contains(&status) && status != 429,
            _ => false,
        },
        _ => false,
    }
}

fn run(args: &Args) -> Result<String, (u8, String)> {
    let fail = |m: String| (1u8, m);
    if args.records == 0 || args.size == 0 {
        return Err(fail("--records and --size must be at least 1".into()));
    }
    let format = match args.body {
        Body::Json => BodyFormat::Json,
        Body::Protobuf => BodyFormat::Protobuf,
    };
    let client = DisClient::builder(args.endpoint.as_str(), args.project_id.as_str())
        .credentials(match &args.token {
            Some(token) => Credentials::token(token.as_str()),
            None => Credentials::aksk(args.ak.as_str(), args.sk.as_str()),
        })
        .build()
        .map_err(|e| fail(format!("client: {e}")))?;
    let config = ProducerConfig::default()
        .with_max_in_flight(args.concurrency)
        .with_body_format(format);
    let producer =
        Producer::new(client, &args.stream, config).map_err(|e| fail(format!("producer: {e}")))?;

    // Before the clock: every payload, and the warm-up's (indices after the timed ones).
    let n = args.records;
    let warmup = args.warmup.unwrap_or(500 * args.concurrency as u64);
    let payloads: Vec<Bytes> = (0..n).map(|i| payload(i, args.size)).collect();
    let warmup_payloads: Vec<Bytes> = (n..n + warmup).map(|i| payload(i, args.size)).collect();

    let rt = tokio::runtime::Runtime::new().map_err(|e| fail(format!("runtime: {e}")))?;
    let warm = Arc::new(Tally::default());
    rt.block_on(producer.send_all(
        warmup_payloads.into_iter().map(Record::new),
        Tally::counter(&warm),
    ));
    if let Some(failure) = warm.first_failure() {
        return Err(if refused(&failure) && warm.acknowledged() == 0 {
            (
                UNSUPPORTED,
                format!("unsupported: the endpoint refused the first requests: {failure}"),
            )
        } else {
            fail(format!(
                "warm-up: {} of {warmup} records failed, the first: {failure}",
                warm.failed()
            ))
        });
    }

    let tally = Arc::new(Tally::default());
    let cpu0 = ProcessTime::now();
    let start = Instant::now();
    let summary = rt.block_on(producer.send_all(
        payloads.into_iter().map(Record::new),
        Tally::counter(&tally),
    ));
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu0.elapsed();

    if let Some(failure) = tally.first_failure() {
        return Err(fail(format!(
            "{} of {n} records failed, the first: {failure}",
            tally.failed()
        )));
    }
    if tally.acknowledged() != n || summary.acknowledged != n || summary.failed != 0 {
        return Err(fail(format!(
            "{} of {n} records acknowledged (summary: {summary:?})",
            tally.acknowledged()
        )));
    }
    Ok(serde_json::json!({
        "records": n,
        "size": args.size,
        "seconds": seconds,
        "records_per_s": n as f64 / seconds,
        "cpu_us_per_record": cpu.as_secs_f64() * 1e6 / n as f64,
        "body": args.body.to_possible_value().map(|v| v.get_name().to_owned()),
        "concurrency": args.concurrency,
        "warmup_records": warmup,
    })
    .to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("vs_huawei: {message}");
            ExitCode::from(code)
        }
    }
}
