//! `--follow PATH|GLOB` (repeatable): ships growing files as `tail -F` does, each followed path
//! a [`Source`] of its own, read in turns on one thread; files that come to match a glob are
//! picked up, one that is not there yet is waited for. Saves the checkpoint as lines are
//! acknowledged, and reserves ahead of what it hands in, so that a restart knows which lines
//! may already be stored.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checkpoint::{CheckpointFile, SavedSource};
use crate::input::Sink;
use crate::prometheus::FOLLOW_BYTES_BEHIND;
use crate::rotated::is_compressed;
use crate::source::{Settings, Source, Step};
use crate::tracker::Tracker;

/// How often the files are looked at again when nothing is new.
const POLL: Duration = Duration::from_millis(50);
/// How often the globs are matched again for new files.
const RESCAN: Duration = Duration::from_secs(1);
/// How often the bytes behind each file are measured.
const MEASURE: Duration = Duration::from_secs(1);
/// How often the checkpoint is saved while lines keep coming (when it moved).
const SAVE_EVERY: Duration = Duration::from_millis(100);
/// What one source reads in its turn before the next one's.
const TURN_BYTES: u64 = 64 * 1024;
/// How far past the next line handed in a checkpoint reserves: what a quarter of a second
/// reads at the rate of the last reservation, within 64 KiB and 1 MiB. A restart treats the
/// lines up to there as possibly stored: larger means fewer synced checkpoint writes, more
/// lines flagged.
const RESERVE_AHEAD: Duration = Duration::from_millis(250);
const RESERVE_BYTES: (u64, u64) = (64 * 1024, 1024 * 1024);

/// True when `pattern` is a glob rather than a path.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The shipper of every followed path.
pub struct Shipper {
    patterns: Vec<String>,
    sources: Vec<Source>,
    settings: Settings,
    saved: Vec<SavedSource>,
    checkpoint: Option<Arc<Mutex<CheckpointFile>>>,
    start_at_end: bool,
    key_from_path: bool,
    said_empty: HashSet<String>,
}

impl Shipper {
    /// Follows `patterns` (paths or globs), going on from `saved` (the checkpoint's sources);
    /// files with no saved position start at their end when `start_at_end`.
    pub fn new(
        patterns: Vec<String>,
        settings: Settings,
        saved: Vec<SavedSource>,
        checkpoint: Option<Arc<Mutex<CheckpointFile>>>,
        start_at_end: bool,
        key_from_path: bool,
    ) -> Shipper {
        Shipper {
            patterns,
            sources: Vec::new(),
            settings,
            saved,
            checkpoint,
            start_at_end,
            key_from_path,
            said_empty: HashSet::new(),
        }
    }

    /// The paths the patterns name now: a path whether or not it is there; a glob's regular,
    /// uncompressed files that are not the rotated files of another match.
    fn expand(&mut self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for pattern in &self.patterns {
            if !is_glob(pattern) {
                paths.push(absolute(Path::new(pattern)));
                continue;
            }
            let mut matched: Vec<PathBuf> = glob::glob(pattern)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|p| p.is_file() && !is_compressed(p))
                .map(|p| absolute(&p))
                .collect();
            let all = matched.clone();
            matched.retain(|m| {
                !all.iter()
                    .any(|live| live != m && self.settings.rotated.is_sibling(live, m))
            });
            if matched.is_empty() && self.said_empty.insert(pattern.clone()) {
                eprintln!("{pattern}: no file matches yet; waiting for one");
            }
            paths.extend(matched);
        }
        let never = self.settings.rotated.never();
        paths.retain(|p| !never.contains(p));
        paths.sort();
        paths.dedup();
        paths
    }

    /// Follows `path` too; the lines it will send again.
    fn add(&mut self, path: PathBuf, at_end: bool) -> std::io::Result<u64> {
        let key = self.key_from_path.then(|| path.display().to_string());
        let mut source = Source::new(self.sources.len(), path, key);
        let saved = self.saved.iter().find(|s| s.path == source.path);
        let resend = source.resume(saved, at_end, &self.settings)?;
        self.sources.push(source);
        Ok(resend)
    }

    /// Follows until `sink.stop` is set or a record fails. `on_resend` is told, before they
    /// are sent, how many lines will be sent again although they may be stored (those in the
    /// reserved range of the saved checkpoint).
    pub fn run(&mut self, sink: &Sink, mut on_resend: impl FnMut(u64)) -> std::io::Result<()> {
        let mut resend = 0;
        for path in self.expand() {
            resend += self.add(path, self.start_at_end)?;
        }
        self.resending(resend, &mut on_resend);
        let mut scanned = Instant::now();
        let mut saved_at = Instant::now();
        let mut measured: Option<Instant> = None;
        loop {
            if sink.stop.load(Ordering::Relaxed) {
                return self.save(sink);
            }
            if measured.is_none_or(|at| at.elapsed() >= MEASURE) {
                measured = Some(Instant::now());
                for source in &self.sources {
                    metrics::gauge!(FOLLOW_BYTES_BEHIND, "path" => source.path.display().to_string())
                        .set(source.behind() as f64);
                }
            }
            if scanned.elapsed() >= RESCAN {
                scanned = Instant::now();
                let mut resend = 0;
                for path in self.expand() {
                    if !self.sources.iter().any(|s| s.path == path) {
                        eprintln!("{}: found; following it", path.display());
                        resend += self.add(path, false)?;
                    }
                }
                self.resending(resend, &mut on_resend);
            }
            let mut busy = false;
            let mut reserve = false;
            for source in &mut self.sources {
                match source.step(sink, &self.settings, TURN_BYTES)? {
                    Step::Busy => busy = true,
                    Step::Idle => {}
                    Step::NeedsReserve => reserve = true,
                    Step::Stopped => return self.save(sink),
                }
            }
            if reserve {
                // One write reserves for every source: a hundred files cost one write a turn.
                for source in &mut self.sources {
                    source.reserve(RESERVE_AHEAD, RESERVE_BYTES);
                }
                self.save(sink)?;
                saved_at = Instant::now();
                continue;
            }
            if saved_at.elapsed() >= SAVE_EVERY {
                self.save(sink)?;
                saved_at = Instant::now();
            }
            if !busy {
                std::thread::sleep(POLL);
            }
        }
    }

    fn resending(&self, resend: u64, on_resend: &mut impl FnMut(u64)) {
        if resend > 0 {
            eprintln!(
                "possible duplicates: {resend} lines after the checkpoint may be stored already; they are sent again"
            );
            on_resend(resend);
        }
    }

    /// Saves the checkpoint: each source's shape, and the settled positions.
    fn save(&self, sink: &Sink) -> std::io::Result<()> {
        let Some(file) = &self.checkpoint else {
            return Ok(());
        };
        let mut file = lock(file);
        for source in &self.sources {
            file.set_shape(source.index, source.shape());
        }
        save(&mut file, &sink.tracker)
    }
}

/// `path` made absolute against the working folder (the checkpoint keys files by it).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Saves the checkpoint each time `moved` says a settled position moved (several moves in a
/// row make one write), until every sender of `moved` is gone; a thread of its own, so the
/// producer never waits for the disk.
pub fn spawn_saver(
    file: Arc<Mutex<CheckpointFile>>,
    tracker: Arc<Mutex<Tracker>>,
    moved: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || {
        while moved.recv().is_ok() {
            while moved.try_recv().is_ok() {}
            save(&mut lock(&file), &tracker)?;
        }
        Ok(())
    })
}

/// Saves `file` with the settled positions of `tracker`. The positions are read with the file
/// locked, so that saves from several threads land in the order of the positions they hold.
pub fn save(file: &mut CheckpointFile, tracker: &Mutex<Tracker>) -> std::io::Result<()> {
    let settled: Vec<_> = {
        let tracker = tracker.lock().unwrap_or_else(|e| e.into_inner());
        (0..file.sources()).map(|i| tracker.settled(i)).collect()
    };
    file.save(&settled)
}

/// The checkpoint, locked.
pub fn lock(c: &Mutex<CheckpointFile>) -> std::sync::MutexGuard<'_, CheckpointFile> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}
