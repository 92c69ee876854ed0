//! `dis-records send`: the run, from flags to exit code.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dis_records::{Delivery, Record, Summary};

use crate::checkpoint::CheckpointFile;
use crate::connect::{Target, connect};
use crate::exit::{CliError, Code};
use crate::follow::{self, Follower};
use crate::input::{Counts, Sink, Source};
use crate::progress::Progress;
use crate::send_args::SendArgs;
use crate::summary::Totals;
use crate::tracker::Tracker;

/// A generated payload of `size` bytes that is unique and starts with its index.
/// `--size` must hold the index (`{i:012}`): smaller payloads could not all be unique.
const MIN_GENERATED_SIZE: usize = 12;

fn generated(i: u64, size: usize) -> Vec<u8> {
    let mut data = format!("{i:012}").into_bytes();
    data.resize(size, b'x');
    data
}

/// What the delivery callback shares with the run.
struct Outcomes {
    per_record: bool,
    follow: bool,
    tracker: Arc<Mutex<Tracker>>,
    duplicates: AtomicU64,
    stop: Arc<AtomicBool>,
    /// With --checkpoint: told each time the settled position moves.
    moved: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
}

impl Outcomes {
    fn delivered(&self, d: Delivery) {
        let line = {
            let mut tracker = self.tracker.lock().unwrap_or_else(|e| e.into_inner());
            let before = tracker.settled();
            let line = tracker.delivered(d.id, d.result.is_ok());
            if tracker.settled() != before
                && let Some(moved) = &*self.moved.lock().unwrap_or_else(|e| e.into_inner())
            {
                let _ = moved.try_send(());
            }
            line
        };
        if d.maybe_duplicated() {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        let at = line.map(|n| format!(" (line {n})")).unwrap_or_default();
        match &d.result {
            Ok(ack) if self.per_record => println!(
                "record {}: partition {} sequence {}",
                d.id, ack.partition_id, ack.sequence_number
            ),
            Ok(_) => {}
            Err(e) => {
                if self.per_record || self.follow {
                    println!(
                        "record {}{at}: FAILED after {} attempt(s): {e}",
                        d.id, d.attempts
                    );
                }
                if self.follow && !self.stop.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "a record failed{at}: stopping; the checkpoint stays before it, a restart sends it again"
                    );
                }
            }
        }
    }
}

/// Runs `send`.
pub async fn run(args: SendArgs) -> Result<Code, CliError> {
    if args.generate.is_some() && args.size < MIN_GENERATED_SIZE {
        return Err(CliError::usage(format!(
            "--size {}: generated records hold their 12-digit index, so at least {MIN_GENERATED_SIZE} bytes",
            args.size
        )));
    }
    // Files first: one that cannot be opened is a usage error, before anything is sent.
    let mut files = Vec::new();
    for path in &args.files {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        files.push((path.clone(), file));
    }
    if let Some(path) = &args.follow
        && let Err(e) = std::fs::metadata(path)
    {
        return Err(CliError::usage(format!("--follow {}: {e}", path.display())));
    }
    if let Some(addr) = args.metrics_listen {
        crate::prometheus::serve(addr)?;
    }
    let Target { producer, local } = connect(&args).await?;
    let progress = Progress::start(producer.clone(), !args.json && !args.no_progress);
    let stop = Arc::new(AtomicBool::new(false));
    let tracker = Arc::new(Mutex::new(Tracker::new(None)));
    let checkpoint = args
        .checkpoint
        .as_deref()
        .map(|p| Arc::new(Mutex::new(CheckpointFile::new(p))));
    let (moved, saver) = match &checkpoint {
        Some(file) => {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let saver = follow::spawn_saver(file.clone(), tracker.clone(), rx);
            (Some(tx), Some(saver))
        }
        None => (None, None),
    };
    let outcomes = Arc::new(Outcomes {
        per_record: args.verbose || (args.generate.is_none() && args.follow.is_none()),
        follow: args.follow.is_some(),
        tracker,
        duplicates: AtomicU64::new(0),
        stop: stop.clone(),
        moved: Mutex::new(moved),
    });
    let counts = Arc::new(Counts::default());
    let started = Instant::now();

    let summary = if let Some(n) = args.generate {
        let size = args.size;
        counts
            .bytes
            .store(n.saturating_mul(size as u64), Ordering::Relaxed);
        let (keys, key) = (args.keys, args.partition_key.clone());
        let records = (0..n).map(move |i| {
            let mut record = Record::new(generated(i, size));
            if let Some(k) = &key {
                record = record.with_partition_key(k.clone());
            }
            match keys {
                Some(k) => record.with_partition_key(format!("key-{}", i % k.max(1))),
                None => record,
            }
        });
        let o = outcomes.clone();
        producer.send_all(records, move |d| o.delivered(d)).await
    } else {
        streamed(
            &args,
            &producer,
            files,
            &outcomes,
            &counts,
            stop,
            &checkpoint,
        )
        .await?
    };
    // Every outcome is in (and the last checkpoint saved): the saver ends.
    drop(
        outcomes
            .moved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(),
    );
    if let Some(saver) = saver {
        saver
            .join()
            .map_err(|_| CliError::run("the checkpoint saver panicked"))??;
    }
    progress.finish();

    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    let totals = Totals {
        sent: summary.sent,
        acknowledged: summary.acknowledged,
        failed: summary.failed,
        retries: summary.retries,
        throttled: summary.throttled,
        requests: summary.requests,
        bad_lines: counts.bad.load(Ordering::Relaxed),
        skipped_long_lines: counts.too_long.load(Ordering::Relaxed),
        possible_duplicates: outcomes.duplicates.load(Ordering::Relaxed),
        seconds,
        records_per_s: summary.sent as f64 / seconds,
        mb_per_s: counts.bytes.load(Ordering::Relaxed) as f64 / 1e6 / seconds,
    };
    eprintln!("{}", totals.line());
    if args.json {
        println!("{}", totals.json());
    }
    if let Some(server) = local {
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .ok();
    }
    let clean = totals.failed == 0 && totals.bad_lines == 0 && totals.skipped_long_lines == 0;
    Ok(if clean { Code::Ok } else { Code::Failed })
}

/// Lines of files, stdin or a followed file, streamed through a spawned producer.
async fn streamed(
    args: &SendArgs,
    producer: &dis_records::Producer,
    files: Vec<(std::path::PathBuf, std::fs::File)>,
    outcomes: &Arc<Outcomes>,
    counts: &Arc<Counts>,
    stop: Arc<AtomicBool>,
    checkpoint: &Option<Arc<Mutex<CheckpointFile>>>,
) -> Result<Summary, CliError> {
    let o = outcomes.clone();
    let handle = Arc::new(producer.clone().spawn(move |d| o.delivered(d)));
    let sink = Sink {
        runtime: tokio::runtime::Handle::current(),
        handle: handle.clone(),
        tracker: outcomes.tracker.clone(),
        format: args.format,
        partition_key: args.partition_key.clone(),
        counts: counts.clone(),
        stop: stop.clone(),
    };
    let reader = match &args.follow {
        Some(path) => {
            let follower = Follower::new(path.clone(), checkpoint.clone(), &sink);
            let (o, stream) = (outcomes.clone(), args.stream.clone());
            tokio::task::spawn_blocking(move || {
                follower.run(&sink, |resend| {
                    o.duplicates.fetch_add(resend, Ordering::Relaxed);
                    metrics::counter!(dis_records::metrics::POSSIBLE_DUPLICATES, "stream" => stream)
                        .increment(resend);
                })
            })
        }
        None => {
            let source = if !files.is_empty() {
                Source::Files(files)
            } else if !std::io::stdin().is_terminal() {
                Source::Stdin
            } else {
                Source::Samples
            };
            tokio::task::spawn_blocking(move || source.read_into(&sink))
        }
    };
    let mut reader = reader;
    let read = if args.follow.is_some() {
        tokio::select! {
            r = &mut reader => r,
            _ = dis_local::shutdown_signal() => {
                eprintln!("stopping: sending what was read, then saving the checkpoint");
                stop.store(true, Ordering::Relaxed);
                reader.await
            }
        }
    } else {
        reader.await
    };
    let read = read.map_err(|e| CliError::run(format!("the input reader ended: {e}")));
    let handle = Arc::into_inner(handle).expect("the reader has ended: the handle is ours");
    let summary = handle
        .close(Duration::from_secs(args.deadline_s.max(1)))
        .await;
    if let Some(file) = &checkpoint {
        follow::save(file, &outcomes.tracker, None)?;
    }
    // An input error is reported after what was read went out.
    read?.map_err(|e| CliError::run(format!("reading input: {e}")))?;
    Ok(summary)
}
