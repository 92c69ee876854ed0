//! `dis-records send`: the run, from flags to exit code.

use std::io::{BufRead as _, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dis_records::{Delivery, ProducerHandle, Record, Summary};
use tokio::task::JoinHandle;

use crate::checkpoint::{self, CheckpointFile, SavedSource};
use crate::connect::{Target, connect};
use crate::exit::{CliError, Code};
use crate::follow::{self, Shipper};
use crate::input::{Counts, MAX_RECORD_BYTES, Sink, Source, max_line};
use crate::multiline::Rule;
use crate::progress::Progress;
use crate::rotated::Rotated;
use crate::send_args::{KeyFrom, SendArgs, StartAt};
use crate::signals::Stopped;
use crate::source::Settings;
use crate::summary::{Causes, Totals};
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
    /// `--json`: stdout carries JSON objects only (per-record ones with `--verbose`).
    json: bool,
    verbose: bool,
    tracker: Arc<Mutex<Tracker>>,
    duplicates: AtomicU64,
    causes: Mutex<Causes>,
    stop: Arc<AtomicBool>,
    /// With --checkpoint: told each time the settled position moves.
    moved: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
}

impl Outcomes {
    fn delivered(&self, d: Delivery) {
        let line = {
            let mut tracker = self.tracker.lock().unwrap_or_else(|e| e.into_inner());
            let before = tracker.moves();
            let line = tracker.delivered(d.id, d.result.is_ok());
            if tracker.moves() != before
                && let Some(moved) = &*self.moved.lock().unwrap_or_else(|e| e.into_inner())
            {
                let _ = moved.try_send(());
            }
            line
        };
        if d.maybe_duplicated() {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = &d.result {
            self.causes.lock().unwrap_or_else(|e| e.into_inner()).add(e);
        }
        if self.json && self.verbose {
            println!("{}", record_json(&d, line));
        }
        let at = line.map(|n| format!(" (line {n})")).unwrap_or_default();
        match &d.result {
            Ok(ack) if self.per_record && !self.json => println!(
                "record {}: partition {} sequence {}",
                d.id, ack.partition_id, ack.sequence_number
            ),
            Ok(_) => {}
            Err(e) => {
                if self.per_record || self.follow || self.json {
                    let text = format!(
                        "record {}{at}: FAILED after {} attempt(s): {e}",
                        d.id, d.attempts
                    );
                    if self.json {
                        eprintln!("{text}");
                    } else {
                        println!("{text}");
                    }
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

/// A record's outcome as the JSON object `--json --verbose` prints.
fn record_json(d: &Delivery, line: Option<u64>) -> String {
    let mut o = serde_json::json!({
        "type": "record",
        "record": d.id,
        "attempts": d.attempts,
    });
    if let Some(line) = line {
        o["line"] = line.into();
    }
    match &d.result {
        Ok(ack) => {
            o["status"] = "acknowledged".into();
            o["partition_id"] = ack.partition_id.as_str().into();
            o["sequence_number"] = ack.sequence_number.as_str().into();
        }
        Err(e) => {
            o["status"] = "failed".into();
            o["cause"] = crate::summary::cause_key(e).into();
            o["error"] = e.to_string().into();
        }
    }
    if d.maybe_duplicated() {
        o["possible_duplicate"] = true.into();
    }
    o.to_string()
}

/// Where the records come from.
enum Input {
    Generate(u64),
    Files(Vec<(PathBuf, std::fs::File)>),
    Follow,
    Stdin,
    /// The sample records, for the embedded endpoint when there is no input at all.
    Samples,
}

/// The input the flags describe, and whether the embedded endpoint receives it. Every error
/// is a usage error, found before anything is sent.
fn input(args: &SendArgs) -> Result<(Input, bool), CliError> {
    if args.local && args.endpoint.is_some() {
        return Err(CliError::usage(
            "--local sends to the embedded endpoint, but an endpoint is set (--endpoint or DIS_ENDPOINT): give one or the other",
        ));
    }
    let follow = !args.follow.is_empty();
    if !follow {
        for (given, flag) in [
            (args.checkpoint.is_some(), "--checkpoint"),
            (args.checkpoint_reset, "--checkpoint-reset"),
            (!args.rotated.is_empty(), "--rotated"),
            (args.multiline_start.is_some(), "--multiline-start"),
            (args.key_from.is_some(), "--key-from"),
        ] {
            if given {
                return Err(CliError::usage(format!(
                    "{flag} is for following files: add --follow FILE"
                )));
            }
        }
    }
    if args.checkpoint_reset && args.checkpoint.is_none() {
        return Err(CliError::usage(
            "--checkpoint-reset needs the --checkpoint it resets",
        ));
    }
    let configured = args.local || args.endpoint.is_some();
    let no_endpoint = |what: &str| {
        CliError::usage(format!(
            "{what}, but no endpoint: set --endpoint or DIS_ENDPOINT (a region such as cn-north-4, or a URL), or --local to send to the embedded endpoint, which keeps nothing after the run"
        ))
    };
    if let Some(n) = args.generate {
        if !configured {
            return Err(no_endpoint("--generate"));
        }
        return Ok((Input::Generate(n), args.local));
    }
    if follow {
        if !configured {
            return Err(no_endpoint("--follow"));
        }
        for pattern in &args.follow {
            let path = Path::new(pattern);
            if !crate::follow::is_glob(pattern) && path.is_dir() {
                return Err(CliError::usage(format!(
                    "--follow {pattern}: is a folder; follow its files with a glob, such as --follow '{}'",
                    path.join("*.log").display()
                )));
            }
            if crate::follow::is_glob(pattern) {
                glob::Pattern::new(pattern)
                    .map_err(|e| CliError::usage(format!("--follow {pattern:?}: {e}")))?;
            }
        }
        return Ok((Input::Follow, args.local));
    }
    if !args.files.is_empty() {
        if !configured {
            return Err(no_endpoint("input files given"));
        }
        // A file that cannot be opened is a usage error, before anything is sent.
        let mut files = Vec::new();
        for path in &args.files {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            files.push((path.clone(), file));
        }
        return Ok((Input::Files(files), args.local));
    }
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    // Empty stdin (`< /dev/null`, a grep that matched nothing) is no input: peeked at here,
    // kept in stdin's buffer for the reader.
    let empty = !terminal
        && stdin
            .lock()
            .fill_buf()
            .map(|b| b.is_empty())
            .unwrap_or(true);
    match (args.endpoint.is_some(), terminal || empty) {
        // No input at all and no endpoint: the sample records, to the embedded endpoint.
        (false, true) => Ok((Input::Samples, true)),
        (false, false) if args.local => Ok((Input::Stdin, true)),
        (false, false) => Err(no_endpoint("lines on stdin")),
        (true, _) => {
            if terminal {
                eprintln!("reading lines from the terminal (Ctrl-D ends)");
            }
            Ok((Input::Stdin, false))
        }
    }
}

/// The shipper's settings from the flags.
fn follow_settings(args: &SendArgs) -> Result<Settings, CliError> {
    let mut never = Vec::new();
    if let Some(c) = &args.checkpoint {
        let c = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        never.extend(crate::checkpoint::companions(&c));
        never.push(c);
    }
    let rotated = Rotated::new(&args.rotated, never);
    rotated.check().map_err(CliError::usage)?;
    let max = max_line(args.format);
    let multiline = match &args.multiline_start {
        None => None,
        Some(re) => Some(Rule {
            start: regex::bytes::Regex::new(re)
                .map_err(|e| CliError::usage(format!("--multiline-start {re:?}: {e}")))?,
            timeout: args.multiline_timeout,
            max,
        }),
    };
    Ok(Settings {
        rotated,
        rotate_wait: args.rotate_wait,
        max_line: max,
        multiline,
    })
}

/// Runs `send`.
pub async fn run(args: SendArgs) -> Result<Code, CliError> {
    check_generated_size(&args)?;
    let (input, embedded) = input(&args)?;
    if !embedded && let Some(flag) = args.embedded_only.first() {
        return Err(CliError::usage(format!(
            "{flag} is for the embedded endpoint (--local), but this run sends to {}: drop it",
            args.endpoint.as_deref().unwrap_or("an endpoint")
        )));
    }
    let settings = match input {
        Input::Follow => Some(follow_settings(&args)?),
        _ => None,
    };
    // Signals are taken from here on: the first stops the run gracefully.
    let stop = Arc::new(AtomicBool::new(false));
    let signal = crate::signals::watch(stop.clone())?;
    if let Some(addr) = args.metrics_listen {
        crate::prometheus::serve(addr).await?;
    }
    let Target {
        producer,
        local,
        endpoint,
        project_id,
    } = connect(&args, embedded).await?;
    let (checkpoint, saved) = open_checkpoint(&args, endpoint, project_id)?;
    let progress = Progress::start(
        producer.clone(),
        !args.json && !args.no_progress,
        checkpoint.as_ref().map(|c| follow::lock(c).saved_at()),
    );
    let tracker = Arc::new(Mutex::new(Tracker::new()));
    let (moved, saver) = match &checkpoint {
        Some(file) => {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            (
                Some(tx),
                Some(follow::spawn_saver(file.clone(), tracker.clone(), rx)),
            )
        }
        None => (None, None),
    };
    let outcomes = Arc::new(Outcomes {
        per_record: args.verbose || !matches!(input, Input::Generate(_) | Input::Follow),
        follow: matches!(input, Input::Follow),
        json: args.json,
        verbose: args.verbose,
        tracker,
        duplicates: AtomicU64::new(0),
        causes: Mutex::new(Causes::default()),
        stop: stop.clone(),
        moved: Mutex::new(moved),
    });
    let counts = Arc::new(Counts::default());
    let started = Instant::now();

    let reader = Reader {
        input,
        settings,
        saved,
        checkpoint: checkpoint.clone(),
    };
    let summary = streamed(
        &args,
        &producer,
        reader,
        &outcomes,
        &counts,
        stop,
        signal.clone(),
    )
    .await?;
    end_saver(&outcomes, saver)?;
    progress.finish();

    let stopped_by = signal.borrow().map(|(s, _)| s.name());
    let totals = totals(&summary, &counts, &outcomes, stopped_by, started);
    eprintln!("{}", totals.line());
    if args.json {
        println!("{}", totals.json());
    }
    if let Some(server) = local {
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .ok();
    }
    Ok(if totals.clean() {
        Code::Ok
    } else {
        Code::Failed
    })
}

/// `--size` of generated records: room for their 12-digit index, and within DIS's limit
/// (checked before a record is made: a size past it would fail every record, and a huge one
/// could not even be allocated).
fn check_generated_size(args: &SendArgs) -> Result<(), CliError> {
    if args.generate.is_some() && args.size < MIN_GENERATED_SIZE {
        return Err(CliError::usage(format!(
            "--size {}: generated records hold their 12-digit index, so at least {MIN_GENERATED_SIZE} bytes",
            args.size
        )));
    }
    if args.generate.is_some() && args.size > MAX_RECORD_BYTES {
        return Err(CliError::usage(format!(
            "--size {}: over DIS's limit of {MAX_RECORD_BYTES} bytes of data per record",
            args.size
        )));
    }
    Ok(())
}

/// With `--checkpoint`: the file, locked, read and bound to where this run sends, before
/// anything is sent, and the sources it saved.
#[allow(clippy::type_complexity)]
fn open_checkpoint(
    args: &SendArgs,
    endpoint: String,
    project: String,
) -> Result<(Option<Arc<Mutex<CheckpointFile>>>, Vec<SavedSource>), CliError> {
    let Some(path) = &args.checkpoint else {
        return Ok((None, Vec::new()));
    };
    let target = checkpoint::Target {
        endpoint,
        project,
        stream: args.stream.clone(),
    };
    let (file, saved) =
        CheckpointFile::open(path, target, args.checkpoint_reset).map_err(CliError::usage)?;
    Ok((Some(Arc::new(Mutex::new(file))), saved))
}

/// Every outcome is in (and the last checkpoint saved): the checkpoint saver, told so, ends.
fn end_saver(
    outcomes: &Outcomes,
    saver: Option<std::thread::JoinHandle<std::io::Result<()>>>,
) -> Result<(), CliError> {
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
    Ok(())
}

/// The run's totals, once every outcome is in.
fn totals(
    summary: &Summary,
    counts: &Counts,
    outcomes: &Outcomes,
    stopped_by: Option<&'static str>,
    started: Instant,
) -> Totals {
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    let causes = std::mem::take(&mut *outcomes.causes.lock().unwrap_or_else(|e| e.into_inner()));
    Totals {
        kind: "summary",
        sent: summary.sent,
        acknowledged: summary.acknowledged,
        failed: summary.failed,
        retries: summary.retries,
        throttled: summary.throttled,
        requests: summary.requests,
        bad_lines: counts.bad.load(Ordering::Relaxed),
        skipped_long_lines: counts.too_long.load(Ordering::Relaxed),
        unsent_lines: counts.unsent.load(Ordering::Relaxed),
        possible_duplicates: outcomes.duplicates.load(Ordering::Relaxed),
        failures: causes.into_map(),
        stopped_by,
        seconds,
        records_per_s: summary.sent as f64 / seconds,
        mb_per_s: counts.bytes.load(Ordering::Relaxed) as f64 / 1e6 / seconds,
    }
}

/// What `streamed` reads, and for followed files how.
struct Reader {
    input: Input,
    settings: Option<Settings>,
    saved: Vec<SavedSource>,
    checkpoint: Option<Arc<Mutex<CheckpointFile>>>,
}

/// Records generated, lines of files or stdin, or followed files, through a spawned producer;
/// closed once the input ends (within the records' deadline), or once a signal stopped the run
/// (within `--drain-timeout`).
async fn streamed(
    args: &SendArgs,
    producer: &dis_records::Producer,
    reader: Reader,
    outcomes: &Arc<Outcomes>,
    counts: &Arc<Counts>,
    stop: Arc<AtomicBool>,
    signal: tokio::sync::watch::Receiver<Option<(Stopped, tokio::time::Instant)>>,
) -> Result<Summary, CliError> {
    let o = outcomes.clone();
    let handle = Arc::new(producer.clone().spawn(move |d| o.delivered(d)));
    let checkpoint = reader.checkpoint.clone();
    let reading = start_reading(args, reader, &handle, outcomes, counts, stop);
    // The reader ends at the end of its input, or soon after a signal (it looks at `stop`
    // between lines, and a line waiting for room in the buffer is withdrawn).
    let read = reading.await;
    let read = read.map_err(|e| CliError::run(format!("the input reader ended: {e}")));
    let handle = Arc::into_inner(handle).expect("the reader has ended: the handle is ours");
    let summary = deliver_what_was_read(args, handle, signal).await;
    if let Some(file) = &checkpoint {
        follow::save(&mut follow::lock(file), &outcomes.tracker)?;
    }
    // An input error is reported after what was read went out.
    read?.map_err(|e| CliError::run(format!("reading input: {e}")))?;
    Ok(summary)
}

/// The task that reads the input into `handle`: the shipper for `--follow` and the line
/// readers (files, samples, stdin) on a blocking thread each, generated records on a task.
fn start_reading(
    args: &SendArgs,
    reader: Reader,
    handle: &Arc<ProducerHandle>,
    outcomes: &Arc<Outcomes>,
    counts: &Arc<Counts>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<std::io::Result<()>> {
    let Reader {
        input,
        settings,
        saved,
        checkpoint,
    } = reader;
    let sink = Sink {
        runtime: tokio::runtime::Handle::current(),
        handle: handle.clone(),
        tracker: outcomes.tracker.clone(),
        format: args.format,
        partition_key: args.partition_key.clone(),
        counts: counts.clone(),
        stop: stop.clone(),
        reserving: checkpoint.is_some(),
        drain: args.drain_timeout,
    };
    match (input, settings) {
        (Input::Follow, Some(settings)) => {
            let mut shipper = Shipper::new(
                args.follow.clone(),
                settings,
                saved,
                checkpoint,
                args.start_at == StartAt::End,
                args.key_from == Some(KeyFrom::Path),
            );
            let (o, stream) = (outcomes.clone(), args.stream.clone());
            tokio::task::spawn_blocking(move || {
                shipper.run(&sink, |resend| {
                    o.duplicates.fetch_add(resend, Ordering::Relaxed);
                    metrics::counter!(dis_records::metrics::POSSIBLE_DUPLICATES, "stream" => stream.clone())
                        .increment(resend);
                })
            })
        }
        (Input::Generate(n), _) => {
            // Generated records are handed in from a task, without a thread in between.
            drop(sink);
            tokio::spawn(generate(args, n, handle.clone(), stop, counts.clone()))
        }
        (input, _) => {
            let source = match input {
                Input::Files(files) => Source::Files(files),
                Input::Samples => Source::Samples,
                _ => Source::Stdin,
            };
            tokio::task::spawn_blocking(move || source.read_into(&sink))
        }
    }
}

/// Hands `n` generated records (`--size`, `--partition-key`, `--keys`) to `handle`, until the
/// run stops; once it stops, a record may wait for room for the drain time.
fn generate(
    args: &SendArgs,
    n: u64,
    handle: Arc<ProducerHandle>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> impl Future<Output = std::io::Result<()>> + use<> {
    let (size, keys, key, drain) = (
        args.size,
        args.keys,
        args.partition_key.clone(),
        args.drain_timeout,
    );
    async move {
        for i in 0..n {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut record = Record::new(generated(i, size));
            if let Some(k) = &key {
                record = record.with_partition_key(k.clone());
            }
            if let Some(k) = keys {
                record = record.with_partition_key(format!("key-{}", i % k.max(1)));
            }
            let bytes = record.data.len() as u64;
            // Once the run stops, a record may wait for room for the drain time.
            let sent = tokio::select! {
                biased;
                sent = handle.send(record) => sent.is_ok(),
                () = async {
                    crate::signals::stopped(&stop).await;
                    tokio::time::sleep(drain).await;
                } => false,
            };
            if !sent {
                counts.unsent.fetch_add(1, Ordering::Relaxed);
                break;
            }
            counts.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Once the input ended: what was read goes out within the records' deadline, unless a signal
/// comes meanwhile, which cuts it to `--drain-timeout` from the signal (what waited for room
/// in the buffer used some of it). Closes the producer and returns its summary.
async fn deliver_what_was_read(
    args: &SendArgs,
    handle: ProducerHandle,
    mut signal: tokio::sync::watch::Receiver<Option<(Stopped, tokio::time::Instant)>>,
) -> Summary {
    if signal.borrow_and_update().is_none() {
        tokio::select! {
            _ = handle.flush(args.deadline()) => {}
            _ = signal.changed() => {}
        }
    }
    let signalled = *signal.borrow();
    let within = match signalled {
        Some((_, at)) => {
            let left = args
                .drain_timeout
                .saturating_sub(at.elapsed())
                .max(Duration::from_millis(100));
            eprintln!(
                "delivering what was read, for at most {}",
                humantime::format_duration(Duration::from_millis(left.as_millis() as u64))
            );
            left
        }
        None => args.deadline(),
    };
    handle.close(within).await
}
