//! Input lines into the producer: each line (or JSON line) becomes a record and is handed in
//! as soon as it is read, so a line goes out within the linger time of its arrival; bad and
//! over-long lines are reported with their line number (and offset) and not sent.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dis_records::{ProducerHandle, Record, SendError};

use crate::jsonl;
use crate::lines::{Line, LineReader};
use crate::send_args::Format;
use crate::tracker::{Position, Tracker};

/// Sent when there is no input: stdin is a terminal or empty, and no file is given.
const SAMPLES: [&str; 4] = [
    "hello from dis-records",
    "{\"event\":\"login\",\"user\":\"u-1\"}",
    "{\"event\":\"click\",\"user\":\"u-2\"}",
    "data",
];

/// DIS's largest record: 1 MiB of data.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest line read: a record's data, or its JSON line (Base64 and the other fields).
pub fn max_line(format: Format) -> usize {
    match format {
        Format::Lines => MAX_RECORD_BYTES,
        Format::Jsonl => MAX_RECORD_BYTES / 3 * 4 + 64 * 1024,
    }
}

/// Counts of input: bytes handed in, lines not sent.
#[derive(Debug, Default)]
pub struct Counts {
    /// Record data handed to the producer, in bytes.
    pub bytes: AtomicU64,
    /// Lines that did not make a record (bad JSON, a broken limit).
    pub bad: AtomicU64,
    /// Lines over the longest line, skipped.
    pub too_long: AtomicU64,
}

/// Hands lines to the producer, from a thread of its own (reading may block).
pub struct Sink {
    pub runtime: tokio::runtime::Handle,
    pub handle: Arc<ProducerHandle>,
    pub tracker: Arc<Mutex<Tracker>>,
    pub format: Format,
    pub partition_key: Option<String>,
    pub counts: Arc<Counts>,
    /// Set when the run must stop (a signal, or a record failed in follow mode).
    pub stop: Arc<AtomicBool>,
}

/// Why a sink stopped taking lines.
#[derive(Debug)]
pub struct Stopped;

impl Sink {
    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One line from `source`, ending at `end` (a position in its file; zeros for stdin).
    pub fn line(&self, source: &str, line: Line, end: Position) -> Result<(), Stopped> {
        let (bytes, number) = match line {
            Line::TooLong {
                number, start, len, ..
            } => {
                eprintln!(
                    "{source}: line {number} at offset {start}: {len} bytes, over the {}-byte limit of a line: skipped",
                    max_line(self.format)
                );
                self.counts.too_long.fetch_add(1, Ordering::Relaxed);
                self.tracker().passed(end);
                return Ok(());
            }
            Line::Data { bytes, number, .. } => (bytes, number),
        };
        let record = match self.format {
            Format::Lines => Ok(Record::new(bytes)),
            Format::Jsonl => jsonl::record(&bytes),
        };
        let mut record = match record {
            Ok(record) => record,
            Err(e) => {
                self.bad(source, number, &e, end);
                return Ok(());
            }
        };
        if record.partition_key.is_none()
            && let Some(k) = &self.partition_key
        {
            record = record.with_partition_key(k.clone());
        }
        self.tracker().sending(number, end);
        let bytes = record.data.len() as u64;
        match self.runtime.block_on(self.handle.send(record)) {
            Ok(()) => {
                self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
                Ok(())
            }
            Err(SendError::Invalid { error, .. }) => {
                self.tracker().not_sent();
                self.bad(source, number, &error.to_string(), end);
                Ok(())
            }
            Err(_) => {
                self.tracker().not_sent();
                Err(Stopped)
            }
        }
    }

    fn bad(&self, source: &str, number: u64, error: &str, end: Position) {
        eprintln!("{source}: line {number}: {error}: not sent");
        self.counts.bad.fetch_add(1, Ordering::Relaxed);
        self.tracker().passed(end);
    }

    /// Every line of `reader`, to its end; how many lines there were.
    pub fn all_lines(&self, source: &str, mut reader: impl BufRead) -> std::io::Result<u64> {
        let mut lines = LineReader::new(max_line(self.format), 0, 0);
        let mut read = 0;
        let at = |offset| Position {
            offset,
            ..Position::default()
        };
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(read);
            }
            let Some(line) = lines.next(&mut reader)? else {
                break;
            };
            read += 1;
            let end = at(line.end());
            if self.line(source, line, end).is_err() {
                return Ok(read);
            }
        }
        if let Some(line) = lines.finish() {
            read += 1;
            let end = at(line.end());
            let _ = self.line(source, line, end);
        }
        Ok(read)
    }
}

/// Where lines come from without --follow.
pub enum Source {
    Stdin,
    /// A few sample records (stdin is a terminal and no file is given).
    Samples,
    Files(Vec<(PathBuf, std::fs::File)>),
}

impl Source {
    /// Reads every line of every file in order (or of stdin) into `sink`.
    pub fn read_into(self, sink: &Sink) -> std::io::Result<()> {
        match self {
            Source::Stdin => {
                let read = sink.all_lines("stdin", std::io::stdin().lock())?;
                // Empty stdin: the sample records, as with a terminal.
                if read == 0 {
                    sink.all_lines("samples", SAMPLES.join("\n").as_bytes())?;
                }
                Ok(())
            }
            Source::Samples => sink
                .all_lines("samples", SAMPLES.join("\n").as_bytes())
                .map(drop),
            Source::Files(files) => {
                for (path, file) in files {
                    let reader = std::io::BufReader::with_capacity(256 * 1024, file);
                    sink.all_lines(&path.display().to_string(), reader)?;
                }
                Ok(())
            }
        }
    }
}
