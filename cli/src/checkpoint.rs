//! The `--checkpoint` file: for each followed path, where it is settled, how far a run may have
//! sent past it, and the files seen at the path that are still to be read; and what it was
//! for (endpoint, project, stream), so that it is never applied to another stream. One shipper
//! at a time holds it (an advisory lock on `PATH.lock`, which names the holder's PID). Written
//! whole to a temporary file of its own, synced, renamed over the old one, and the folder
//! synced, so a kill or a crash at any moment leaves the old or the new checkpoint.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::fileid::FileId;
use crate::tracker::Position;

/// The format written; another is refused with what to do.
const VERSION: u32 = 2;
/// A checkpoint larger than this is not one (a few hundred bytes per followed file).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Where the records go: a checkpoint is only for the stream it was written for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub endpoint: String,
    pub project: String,
    pub stream: String,
}

/// One followed path, as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSource {
    /// The followed (live) path.
    pub path: PathBuf,
    /// Every line before this is acknowledged (or was skipped).
    pub settled: Position,
    /// No line past this was handed to the producer yet: lines between `settled` and here
    /// may be stored already, and count as possible duplicates when sent again.
    pub reserved: Position,
    /// Files seen at the path after the settled one, in the order they are read.
    #[serde(default)]
    pub pending: Vec<FileId>,
    /// When the settled file was last seen written (Unix nanoseconds): with the file gone,
    /// rotated files written after it are read.
    #[serde(default)]
    pub modified_ns: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    target: Target,
    sources: Vec<SavedSource>,
}

/// What the reader says of a followed path; the settled position comes from the tracker.
#[derive(Clone, Debug)]
pub struct Shape {
    pub path: PathBuf,
    pub reserved: Option<Position>,
    /// The files of the path from the oldest not yet settled, in reading order.
    pub chain: Vec<FileId>,
    pub modified_ns: u64,
}

/// The checkpoint at a path, locked for this run.
#[derive(Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    temp: PathBuf,
    target: Target,
    /// Index: the source number of the run.
    shapes: Vec<Option<Shape>>,
    /// Sources saved earlier that this run does not follow (kept as they were).
    carried: Vec<SavedSource>,
    last: Vec<u8>,
    /// When it last held every settled position (written, or found up to date): Unix
    /// milliseconds, for the metric of its age.
    saved_at: Arc<AtomicU64>,
    _lock: File,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The paths a checkpoint at `path` uses besides itself (never taken for logs).
pub fn companions(path: &Path) -> Vec<PathBuf> {
    vec![
        with_suffix(path, ".lock"),
        with_suffix(path, &format!(".tmp.{}", std::process::id())),
    ]
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

impl CheckpointFile {
    /// Locks, reads and checks the checkpoint at `path` for `target`, and proves it can be
    /// written (by writing it). `reset`: what it held is dropped. Every error names the path
    /// and what to do; nothing was sent yet.
    pub fn open(
        path: &Path,
        target: Target,
        reset: bool,
    ) -> Result<(CheckpointFile, Vec<SavedSource>), String> {
        let shown = path.display();
        if path.is_dir() {
            return Err(format!(
                "--checkpoint {shown}: is a folder; give a file path (it is created)"
            ));
        }
        let lock = lock(path)?;
        let saved = if reset { None } else { read(path)? };
        let sources = match saved {
            None => Vec::new(),
            Some(saved) if saved.target != target => {
                let t = &saved.target;
                return Err(format!(
                    "checkpoint {shown} was written for stream {:?} of project {:?} at {:?}; this run sends to stream {:?} of project {:?} at {:?}. Use another --checkpoint, or --checkpoint-reset to start over (the files are then read from --start-at)",
                    t.stream, t.project, t.endpoint, target.stream, target.project, target.endpoint
                ));
            }
            Some(saved) => saved.sources,
        };
        let mut file = CheckpointFile {
            path: path.to_owned(),
            temp: with_suffix(path, &format!(".tmp.{}", std::process::id())),
            target,
            shapes: Vec::new(),
            carried: sources.clone(),
            last: Vec::new(),
            saved_at: Arc::new(AtomicU64::new(now_ms())),
            _lock: lock,
        };
        file.write(&[])
            .map_err(|e| format!("checkpoint {shown}: cannot be written: {e}"))?;
        Ok((file, sources))
    }

    /// What the reader now says of source `index`.
    pub fn set_shape(&mut self, index: usize, shape: Shape) {
        if self.shapes.len() <= index {
            self.shapes.resize(index + 1, None);
        }
        self.carried.retain(|s| s.path != shape.path);
        self.shapes[index] = Some(shape);
    }

    /// When it last held every settled position, in Unix milliseconds (shared, read without
    /// the checkpoint's lock).
    pub fn saved_at(&self) -> Arc<AtomicU64> {
        self.saved_at.clone()
    }

    /// How many sources have a shape (source numbers below this).
    pub fn sources(&self) -> usize {
        self.shapes.len()
    }

    /// Saves every source's settled position (`settled[source]`) with its shape; nothing is
    /// written when nothing changed.
    pub fn save(&mut self, settled: &[Option<Position>]) -> io::Result<()> {
        self.write(settled).map_err(|e| {
            io::Error::new(e.kind(), format!("checkpoint {}: {e}", self.path.display()))
        })
    }

    fn write(&mut self, settled: &[Option<Position>]) -> io::Result<()> {
        let mut sources = Vec::new();
        for (shape, settled) in self.shapes.iter().zip(settled) {
            if let (Some(shape), Some(settled)) = (shape, settled) {
                sources.push(saved_source(shape, *settled));
            }
        }
        let followed = |p: &Path| sources.iter().any(|s: &SavedSource| s.path == p);
        let carried: Vec<SavedSource> = self
            .carried
            .iter()
            .filter(|s| !followed(&s.path))
            .cloned()
            .collect();
        sources.extend(carried);
        let saved = Saved {
            version: VERSION,
            target: self.target.clone(),
            sources,
        };
        let bytes = serde_json::to_vec(&saved).map_err(io::Error::other)?;
        if bytes == self.last {
            self.saved_at.store(now_ms(), Ordering::Relaxed);
            return Ok(());
        }
        let mut file = File::create(&self.temp)?;
        file.write_all(&bytes)?;
        file.sync_data()?;
        drop(file);
        fs::rename(&self.temp, &self.path)?;
        // The rename is durable only once the folder is.
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
        self.last = bytes;
        self.saved_at.store(now_ms(), Ordering::Relaxed);
        Ok(())
    }
}

/// A source as saved: its reservation never behind its settled position, and the files after
/// the settled one.
fn saved_source(shape: &Shape, settled: Position) -> SavedSource {
    let after = match shape
        .chain
        .iter()
        .position(|f| f.same_inode_as(&settled.file))
    {
        Some(i) => shape.chain[i + 1..].to_vec(),
        None => shape
            .chain
            .iter()
            .filter(|f| !f.same_inode_as(&settled.file))
            .copied()
            .collect(),
    };
    let ahead = |r: &Position| {
        if r.same_file(&settled) {
            r.offset > settled.offset
        } else {
            after.iter().any(|f| f.same_inode_as(&r.file))
        }
    };
    SavedSource {
        path: shape.path.clone(),
        settled,
        reserved: shape.reserved.filter(ahead).unwrap_or(settled),
        pending: after,
        modified_ns: shape.modified_ns,
    }
}

/// Takes the lock beside the checkpoint, or says who holds it.
fn lock(path: &Path) -> Result<File, String> {
    let lock_path = with_suffix(path, ".lock");
    let shown = path.display();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| format!("checkpoint {shown}: its lock {}: {e}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = (&file).take(32).read_to_string(&mut holder);
            let holder = holder.trim();
            let pid = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            return Err(format!(
                "checkpoint {shown} is in use by another shipper{pid}: one shipper per checkpoint; stop it, or give this one another --checkpoint"
            ));
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(format!(
                "checkpoint {shown}: locking {}: {e}",
                lock_path.display()
            ));
        }
    }
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .map_err(|e| format!("checkpoint {shown}: its lock {}: {e}", lock_path.display()))?;
    Ok(file)
}

/// The saved checkpoint; `None` when there is none yet.
fn read(path: &Path) -> Result<Option<Saved>, String> {
    let shown = path.display();
    let reset = "move it away, or --checkpoint-reset to start over";
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("checkpoint {shown}: {e}")),
    };
    let mut text = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("checkpoint {shown}: {e}"))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(format!(
            "checkpoint {shown}: over {MAX_BYTES} bytes, not a checkpoint: {reset}"
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("checkpoint {shown}: not a checkpoint ({e}): {reset}"))?;
    let version = value.get("version").and_then(|v| v.as_u64());
    if version != Some(u64::from(VERSION)) {
        return Err(format!(
            "checkpoint {shown}: written by another version of dis-records (format {}, this one reads {VERSION}): {reset}",
            version.map_or("1".into(), |v| v.to_string())
        ));
    }
    let saved: Saved = serde_json::from_value(value)
        .map_err(|e| format!("checkpoint {shown}: not a checkpoint ({e}): {reset}"))?;
    for s in &saved.sources {
        for p in [s.settled, s.reserved] {
            if i64::try_from(p.offset).is_err() {
                return Err(format!(
                    "checkpoint {shown}: offset {} of {} is past any file: {reset}",
                    p.offset,
                    s.path.display()
                ));
            }
        }
    }
    Ok(Some(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(stream: &str) -> Target {
        Target {
            endpoint: "http://127.0.0.1:1".into(),
            project: "p".into(),
            stream: stream.into(),
        }
    }

    fn at(ino: u64, offset: u64) -> Position {
        Position {
            file: FileId {
                dev: 1,
                ino,
                ..FileId::default()
            },
            offset,
        }
    }

    #[test]
    fn saved_loaded_locked_and_bound_to_its_stream() {
        let dir = std::env::temp_dir().join(format!("dis-ckpt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        let (mut file, saved) = CheckpointFile::open(&path, target("s"), false).unwrap();
        assert!(saved.is_empty());
        let second = CheckpointFile::open(&path, target("s"), false).unwrap_err();
        assert!(second.contains("in use by another shipper"), "{second}");
        assert!(
            second.contains(&format!("pid {}", std::process::id())),
            "{second}"
        );
        file.set_shape(
            0,
            Shape {
                path: "/logs/a.log".into(),
                reserved: Some(at(3, 9)),
                chain: vec![at(2, 0).file, at(3, 0).file, at(4, 0).file],
                modified_ns: 7,
            },
        );
        file.save(&[Some(at(2, 5))]).unwrap();
        drop(file);
        let (_file, saved) = CheckpointFile::open(&path, target("s"), false).unwrap();
        assert_eq!(
            saved,
            [SavedSource {
                path: "/logs/a.log".into(),
                settled: at(2, 5),
                reserved: at(3, 9),
                pending: vec![at(3, 0).file, at(4, 0).file],
                modified_ns: 7,
            }]
        );
        drop(_file);
        let other = CheckpointFile::open(&path, target("t"), false).unwrap_err();
        assert!(other.contains("--checkpoint-reset"), "{other}");
        let (_file, saved) = CheckpointFile::open(&path, target("t"), true).unwrap();
        assert!(saved.is_empty(), "reset");
        drop(_file);
        assert!(
            !dir.join(format!("c.json.tmp.{}", std::process::id()))
                .exists()
        );
        fs::write(&path, b"{garbage").unwrap();
        let bad = CheckpointFile::open(&path, target("t"), false).unwrap_err();
        assert!(
            bad.contains("c.json") && bad.contains("--checkpoint-reset"),
            "{bad}"
        );
        fs::write(&path, br#"{"settled":{"dev":1,"ino":2,"offset":3}}"#).unwrap();
        let old = CheckpointFile::open(&path, target("t"), false).unwrap_err();
        assert!(old.contains("another version"), "{old}");
        let folder = CheckpointFile::open(&dir, target("t"), false).unwrap_err();
        assert!(folder.contains("is a folder"), "{folder}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
