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

/// Sent to the embedded endpoint when there is no input at all.
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
    /// Lines read but not handed in because the run was stopping (a signal): lost, unless a
    /// checkpoint keeps them for the next run.
    pub unsent: AtomicU64,
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
    /// True when a checkpoint reserves ahead of the lines handed in (`--checkpoint`).
    pub reserving: bool,
    /// Once the run stops, how long a record read may still wait for room in the buffer
    /// (`--drain-timeout`): what was read is delivered, unless the endpoint takes nothing.
    pub drain: std::time::Duration,
}

/// Where a line comes from.
pub struct Origin<'a> {
    /// The followed path's number (0 for files and stdin).
    pub source: usize,
    /// Its name in messages.
    pub name: &'a str,
    /// The partition key of its records (`--key-from path`).
    pub key: Option<&'a str>,
}

/// Why a sink stopped taking lines.
#[derive(Debug)]
pub struct Stopped;

/// Why a record was not handed in.
#[derive(Debug)]
pub enum Refused {
    /// The run is stopping (or the producer stopped).
    Stopped,
    /// It breaks a DIS limit.
    Invalid(String),
}

impl Sink {
    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The input of `source` moved on to `at` without a line.
    pub fn passed(&self, source: usize, at: Position) {
        self.tracker().passed(source, at);
    }

    /// One line from `origin`, ending at `end` (a position in its file; zeros for stdin).
    pub fn line(&self, origin: &Origin<'_>, line: Line, end: Position) -> Result<(), Stopped> {
        let source = origin.name;
        let (bytes, number) = match line {
            Line::TooLong {
                number, start, len, ..
            } => {
                eprintln!(
                    "{source}: line {number} at offset {start}: {len} bytes, over the {}-byte limit of a line: skipped",
                    max_line(self.format)
                );
                self.counts.too_long.fetch_add(1, Ordering::Relaxed);
                self.tracker().passed(origin.source, end);
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
                self.bad(origin, number, &e, end);
                return Ok(());
            }
        };
        if record.partition_key.is_none()
            && let Some(k) = origin.key.or(self.partition_key.as_deref())
        {
            record = record.with_partition_key(k.to_owned());
        }
        self.tracker().sending(origin.source, number, end);
        match self.record(record) {
            Ok(()) => Ok(()),
            Err(Refused::Invalid(error)) => {
                self.tracker().not_sent();
                self.bad(origin, number, &error, end);
                Ok(())
            }
            Err(Refused::Stopped) => {
                // Not handed in: the checkpoint (if any) stays before it, and it is read again.
                self.tracker().withdraw();
                if !self.reserving {
                    self.counts.unsent.fetch_add(1, Ordering::Relaxed);
                }
                Err(Stopped)
            }
        }
    }

    /// Hands `record` in; waits while the buffer is full, once the run stops for at most the
    /// drain time.
    pub fn record(&self, record: Record) -> Result<(), Refused> {
        let bytes = record.data.len() as u64;
        let sent = self.runtime.block_on(async {
            let given_up = async {
                crate::signals::stopped(&self.stop).await;
                tokio::time::sleep(self.drain).await;
            };
            tokio::select! {
                biased;
                sent = self.handle.send(record) => Some(sent),
                () = given_up => None,
            }
        });
        match sent {
            Some(Ok(())) => {
                self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
                Ok(())
            }
            Some(Err(SendError::Invalid { error, .. })) => Err(Refused::Invalid(error.to_string())),
            Some(Err(_)) | None => Err(Refused::Stopped),
        }
    }

    fn bad(&self, origin: &Origin<'_>, number: u64, error: &str, end: Position) {
        eprintln!("{}: line {number}: {error}: not sent", origin.name);
        self.counts.bad.fetch_add(1, Ordering::Relaxed);
        self.tracker().passed(origin.source, end);
    }

    /// Every line of `reader`, to its end; how many lines there were.
    pub fn all_lines(&self, name: &str, mut reader: impl BufRead) -> std::io::Result<u64> {
        let origin = Origin {
            source: 0,
            name,
            key: None,
        };
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
            let line = match lines.next(&mut reader) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(_) if self.stop.load(Ordering::Relaxed) => return Ok(read),
                Err(e) => return Err(e),
            };
            read += 1;
            let end = at(line.end());
            if self.line(&origin, line, end).is_err() {
                return Ok(read);
            }
        }
        if let Some(line) = lines.finish() {
            read += 1;
            let end = at(line.end());
            let _ = self.line(&origin, line, end);
        }
        Ok(read)
    }
}

/// Where lines come from without --follow.
pub enum Source {
    Stdin,
    /// A few sample records (for the embedded endpoint only, when there is no input at all).
    Samples,
    Files(Vec<(PathBuf, std::fs::File)>),
}

impl Source {
    /// Reads every line of every file in order (or of stdin) into `sink`.
    pub fn read_into(self, sink: &Sink) -> std::io::Result<()> {
        match self {
            Source::Stdin => sink
                .all_lines("stdin", StdinChunks::start(sink.stop.clone()))
                .map(drop),
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

/// Stdin read on a thread of its own, in chunks handed over a bounded channel, so that the
/// reader of lines can stop when the run does even while no input comes (the thread stays
/// blocked in its read; the process ends without it).
struct StdinChunks {
    chunks: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    stop: Arc<AtomicBool>,
    ended: bool,
}

impl StdinChunks {
    fn start(stop: Arc<AtomicBool>) -> StdinChunks {
        let (tx, chunks) = std::sync::mpsc::sync_channel(4);
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut buf = vec![0; 64 * 1024];
                match stdin.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        return;
                    }
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        StdinChunks {
            chunks,
            chunk: Vec::new(),
            at: 0,
            stop,
            ended: false,
        }
    }
}

impl std::io::Read for StdinChunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(buf.len());
            buf[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for StdinChunks {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        use std::sync::mpsc::RecvTimeoutError;
        while self.at >= self.chunk.len() && !self.ended {
            if self.stop.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("stopping"));
            }
            match self
                .chunks
                .recv_timeout(std::time::Duration::from_millis(50))
            {
                Ok(Ok(chunk)) if chunk.is_empty() => self.ended = true,
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
            }
        }
        Ok(&self.chunk[self.at.min(self.chunk.len())..])
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }
}
