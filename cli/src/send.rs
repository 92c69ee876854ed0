//! `dis-records send`: the run, from flags to exit code.

use std::io::{BufRead as _, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dis_records::{Delivery, Record, Summary};

use crate::checkpoint::{self, CheckpointFile, SavedSource};
use crate::connect::{Target, connect};
use crate::exit::{CliError, Code};
use crate::follow::{self, Shipper};
use crate::input::{Counts, MAX_RECORD_BYTES, Sink, Source, max_line};
use crate::multiline::Rule;
use crate::progress::Progress;
use crate::rotated::Rotated;
use crate::send_args::{KeyFrom, SendArgs, StartAt};
use crate::source::Settings;
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
    if args.generate.is_some() && args.size < MIN_GENERATED_SIZE {
        return Err(CliError::usage(format!(
            "--size {}: generated records hold their 12-digit index, so at least {MIN_GENERATED_SIZE} bytes",
            args.size
        )));
    }
    // Checked before a record is made: a size past DIS's limit would fail every record, and a
    // huge one could not even be allocated.
    if args.generate.is_some() && args.size > MAX_RECORD_BYTES {
        return Err(CliError::usage(format!(
            "--size {}: over DIS's limit of {MAX_RECORD_BYTES} bytes of data per record",
            args.size
        )));
    }
    let (input, embedded) = input(&args)?;
    let settings = match input {
        Input::Follow => Some(follow_settings(&args)?),
        _ => None,
    };
    if let Some(addr) = args.metrics_listen {
        crate::prometheus::serve(addr)?;
    }
    let Target {
        producer,
        local,
        endpoint,
        project_id,
    } = connect(&args, embedded).await?;
    // The checkpoint: locked, read and bound to where this run sends, before anything is sent.
    let (checkpoint, saved) = match &args.checkpoint {
        Some(path) => {
            let target = checkpoint::Target {
                endpoint,
                project: project_id,
                stream: args.stream.clone(),
            };
            let (file, saved) = CheckpointFile::open(path, target, args.checkpoint_reset)
                .map_err(CliError::usage)?;
            (Some(Arc::new(Mutex::new(file))), saved)
        }
        None => (None, Vec::new()),
    };
    let progress = Progress::start(producer.clone(), !args.json && !args.no_progress);
    let stop = Arc::new(AtomicBool::new(false));
    let tracker = Arc::new(Mutex::new(Tracker::new()));
    let (moved, saver) = match &checkpoint {
        Some(file) => {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let saver = follow::spawn_saver(file.clone(), tracker.clone(), rx);
            (Some(tx), Some(saver))
        }
        None => (None, None),
    };
    let following = matches!(input, Input::Follow);
    let outcomes = Arc::new(Outcomes {
        per_record: args.verbose || !matches!(input, Input::Generate(_) | Input::Follow),
        follow: following,
        tracker,
        duplicates: AtomicU64::new(0),
        stop: stop.clone(),
        moved: Mutex::new(moved),
    });
    let counts = Arc::new(Counts::default());
    let started = Instant::now();

    let summary = if let Input::Generate(n) = input {
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
        let reader = Reader {
            input,
            settings,
            saved,
            checkpoint: checkpoint.clone(),
        };
        streamed(&args, &producer, reader, &outcomes, &counts, stop).await?
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

/// What `streamed` reads, and for followed files how.
struct Reader {
    input: Input,
    settings: Option<Settings>,
    saved: Vec<SavedSource>,
    checkpoint: Option<Arc<Mutex<CheckpointFile>>>,
}

/// Lines of files, stdin or followed files, streamed through a spawned producer.
async fn streamed(
    args: &SendArgs,
    producer: &dis_records::Producer,
    reader: Reader,
    outcomes: &Arc<Outcomes>,
    counts: &Arc<Counts>,
    stop: Arc<AtomicBool>,
) -> Result<Summary, CliError> {
    let o = outcomes.clone();
    let handle = Arc::new(producer.clone().spawn(move |d| o.delivered(d)));
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
    };
    let following = matches!(input, Input::Follow);
    let mut reader = match (input, settings) {
        (Input::Follow, Some(settings)) => {
            let mut shipper = Shipper::new(
                args.follow.clone(),
                settings,
                saved,
                checkpoint.clone(),
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
        (input, _) => {
            let source = match input {
                Input::Files(files) => Source::Files(files),
                Input::Samples => Source::Samples,
                _ => Source::Stdin,
            };
            tokio::task::spawn_blocking(move || source.read_into(&sink))
        }
    };
    let read = if following {
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
        follow::save(&mut follow::lock(file), &outcomes.tracker)?;
    }
    // An input error is reported after what was read went out.
    read?.map_err(|e| CliError::run(format!("reading input: {e}")))?;
    Ok(summary)
}
