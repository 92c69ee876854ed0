//! `--follow FILE`: reads a growing file as `tail -F` does, through rename rotation (the old
//! file is read to its end, then the new one from its start) and truncation (read again from
//! the start), from a checkpoint when there is one; saves the checkpoint as lines are
//! acknowledged, and reserves ahead of what it sends, so that a restart knows which lines may
//! already be stored.

use std::fs::{self, File};
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::input::{Sink, max_line};
use crate::lines::LineReader;
use crate::tracker::Position;

/// How often the end of the file is looked at again.
const POLL: Duration = Duration::from_millis(50);
/// How often the checkpoint is saved while lines keep coming (when it moved).
const SAVE_EVERY: Duration = Duration::from_millis(100);
/// How far past the last line handed in a checkpoint reserves: a restart treats the lines up
/// to there as possibly stored. Larger means fewer checkpoint writes, more lines flagged.
pub const RESERVE_BYTES: u64 = 64 * 1024;

/// A file's identity.
fn identity(meta: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// The file open now.
struct Open {
    reader: BufReader<File>,
    lines: LineReader,
    dev: u64,
    ino: u64,
    name: String,
}

impl Open {
    fn at(path: &Path, file: File, offset: u64, max: usize) -> std::io::Result<Open> {
        let (dev, ino) = identity(&file.metadata()?);
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        reader.seek(SeekFrom::Start(offset))?;
        Ok(Open {
            reader,
            lines: LineReader::new(max, offset, 0),
            dev,
            ino,
            name: path.display().to_string(),
        })
    }

    fn position(&self, offset: u64) -> Position {
        Position {
            dev: self.dev,
            ino: self.ino,
            offset,
        }
    }
}

/// Finds, beside `path`, the file with identity (`dev`, `ino`): where a rotated file went.
fn find_rotated(path: &Path, dev: u64, ino: u64) -> Option<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let entries = fs::read_dir(dir.unwrap_or(Path::new("."))).ok()?;
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| fs::metadata(p).is_ok_and(|m| identity(&m) == (dev, ino)))
}

/// The follower of one file.
pub struct Follower {
    path: PathBuf,
    checkpoint: Option<Arc<Mutex<CheckpointFile>>>,
    max: usize,
}

impl Follower {
    pub fn new(path: PathBuf, checkpoint: Option<Arc<Mutex<CheckpointFile>>>, sink: &Sink) -> Self {
        Follower {
            path,
            checkpoint,
            max: max_line(sink.format),
        }
    }

    /// Where to start: the checkpointed file and offset when that file is still there (under
    /// its name or, rotated while we were away, beside it), else the start of FILE. Also the
    /// lines that may be stored already: (file, from, to) of the reserved range.
    fn start(&self, saved: Option<Checkpoint>) -> std::io::Result<(Open, bool)> {
        let Some(saved) = saved else {
            return Ok((
                Open::at(&self.path, File::open(&self.path)?, 0, self.max)?,
                false,
            ));
        };
        let s = saved.settled;
        let current = fs::metadata(&self.path).ok().map(|m| identity(&m));
        let path = if current == Some((s.dev, s.ino)) {
            Some(self.path.clone())
        } else {
            find_rotated(&self.path, s.dev, s.ino)
        };
        if let Some(path) = path {
            let file = File::open(&path)?;
            let len = file.metadata()?.len();
            if len >= s.offset {
                let rotated = path != self.path;
                eprintln!(
                    "{}: going on from the checkpoint at offset {}",
                    path.display(),
                    s.offset
                );
                return Ok((Open::at(&path, file, s.offset, self.max)?, rotated));
            }
            eprintln!(
                "{}: shorter than the checkpoint's offset {} (truncated): from the start",
                path.display(),
                s.offset
            );
            return Ok((Open::at(&path, file, 0, self.max)?, path != self.path));
        }
        eprintln!(
            "{}: the checkpointed file is gone: from the start of the current one",
            self.path.display()
        );
        Ok((
            Open::at(&self.path, File::open(&self.path)?, 0, self.max)?,
            false,
        ))
    }

    /// Follows until `sink.stop` is set or a record fails. Counts, before anything is sent,
    /// the lines that will be sent again although they may be stored (in the reserved range
    /// of the saved checkpoint); returns that count through `on_resend`.
    pub fn run(&self, sink: &Sink, on_resend: impl FnOnce(u64)) -> std::io::Result<()> {
        let saved = match &self.checkpoint {
            Some(c) => lock(c).load().map_err(std::io::Error::other)?,
            None => None,
        };
        let (mut open, mut rotated) = self.start(saved)?;
        let resend = saved.map_or(Ok(0), |c| count_reserved(&self.path, c))?;
        if resend > 0 {
            eprintln!(
                "possible duplicates: {resend} lines after the checkpoint may be stored already; they are sent again"
            );
        }
        on_resend(resend);
        let start = open.position(open.lines.offset());
        {
            let mut tracker = sink.tracker.lock().unwrap_or_else(|e| e.into_inner());
            if tracker.settled().is_none() {
                tracker.passed(start);
            }
        }
        let mut reserved = saved.map(|c| c.reserved).unwrap_or(start);
        let mut saved_at = Instant::now();
        loop {
            if sink.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if saved_at.elapsed() >= SAVE_EVERY {
                self.save(sink, None)?;
                saved_at = Instant::now();
            }
            if let Some(line) = open.lines.next(&mut open.reader)? {
                let end = open.position(line.end());
                if !(end.same_file(&reserved) && end.offset <= reserved.offset) {
                    reserved = open.position(line.end() + RESERVE_BYTES);
                    self.save(sink, Some(reserved))?;
                }
                if sink.line(&open.name, line, end).is_err() {
                    return Ok(());
                }
                continue;
            }
            // At the end of what is there: rotated, truncated, or not grown yet.
            let now = fs::metadata(&self.path).ok();
            let same = now
                .as_ref()
                .is_some_and(|m| identity(m) == (open.dev, open.ino));
            if rotated || (now.is_some() && !same) {
                // The old file is read to its end (written to since the read above?), its
                // last line even without a newline, then the new file.
                if let Some(line) = open.lines.next(&mut open.reader)? {
                    let end = open.position(line.end());
                    if sink.line(&open.name, line, end).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                if let Some(line) = open.lines.finish() {
                    let end = open.position(line.end());
                    if sink.line(&open.name, line, end).is_err() {
                        return Ok(());
                    }
                }
                match File::open(&self.path) {
                    Ok(file) => {
                        open = Open::at(&self.path, file, 0, self.max)?;
                        rotated = false;
                        eprintln!("{}: rotated; reading the new file", open.name);
                        sink.tracker
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .passed(open.position(0));
                    }
                    Err(_) => std::thread::sleep(POLL),
                }
                continue;
            }
            if let Some(m) = &now
                && same
                && m.len() < open.lines.offset()
            {
                eprintln!("{}: truncated; reading from the start", open.name);
                open.reader.seek(SeekFrom::Start(0))?;
                open.lines.restart(0);
                sink.tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .passed(open.position(0));
                continue;
            }
            self.save(sink, None)?;
            std::thread::sleep(POLL);
        }
    }

    /// Saves the checkpoint: the settled position, and `reserve` (else the last reservation).
    pub fn save(&self, sink: &Sink, reserve: Option<Position>) -> std::io::Result<()> {
        let Some(file) = &self.checkpoint else {
            return Ok(());
        };
        save(file, &sink.tracker, reserve)
    }
}

/// Saves the checkpoint each time `moved` says the settled position moved (several moves in a
/// row make one write), until every sender of `moved` is gone; a thread of its own, so the
/// producer never waits for the disk.
pub fn spawn_saver(
    file: Arc<Mutex<CheckpointFile>>,
    tracker: Arc<Mutex<crate::tracker::Tracker>>,
    moved: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || {
        while moved.recv().is_ok() {
            while moved.try_recv().is_ok() {}
            save(&file, &tracker, None)?;
        }
        Ok(())
    })
}

/// Saves the settled position of `tracker` and `reserve` (else the last reservation, at least
/// the settled position). The position is read with the file locked, so that saves from
/// several threads land in the order of the positions they hold.
pub fn save(
    file: &Mutex<CheckpointFile>,
    tracker: &Mutex<crate::tracker::Tracker>,
    reserve: Option<Position>,
) -> std::io::Result<()> {
    let mut file = lock(file);
    let settled = tracker.lock().unwrap_or_else(|e| e.into_inner()).settled();
    let Some(settled) = settled else {
        return Ok(());
    };
    let reserved = reserve
        .or_else(|| file.last().map(|c| c.reserved))
        .unwrap_or(settled);
    file.save(Checkpoint { settled, reserved })
}

fn lock(c: &Mutex<CheckpointFile>) -> std::sync::MutexGuard<'_, CheckpointFile> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lines that start in the reserved range of `c` (from its settled position to its
/// reservation): sent before the stop, maybe stored.
fn count_reserved(path: &Path, c: Checkpoint) -> std::io::Result<u64> {
    let (s, r) = (c.settled, c.reserved);
    let file_of = |p: Position| -> Option<PathBuf> {
        let current = fs::metadata(path).ok().map(|m| identity(&m));
        if current == Some((p.dev, p.ino)) {
            Some(path.to_owned())
        } else {
            find_rotated(path, p.dev, p.ino)
        }
    };
    let count = |file: &Path, from: u64, to: Option<u64>| -> std::io::Result<u64> {
        let mut f = BufReader::new(File::open(file)?);
        f.seek(SeekFrom::Start(from))?;
        // Only line ends are needed: no line is held.
        let mut lines = LineReader::new(0, from, 0);
        let mut n = 0;
        while let Some(line) = lines.next(&mut f)? {
            if to.is_some_and(|to| line.end() > to) {
                return Ok(n);
            }
            n += 1;
        }
        Ok(n)
    };
    let mut n = 0;
    if let Some(file) = file_of(s) {
        let to = r.same_file(&s).then_some(r.offset);
        n += count(&file, s.offset, to)?;
    }
    if !r.same_file(&s)
        && let Some(file) = file_of(r)
    {
        n += count(&file, 0, Some(r.offset))?;
    }
    Ok(n)
}
