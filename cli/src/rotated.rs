//! Where a followed file goes when it is rotated: its siblings named by the `--rotated`
//! patterns (by default `FILE.1`, `FILE.2`, ..., `FILE-20261207`), regular files only, never a
//! compressed one (`.gz` and the like are not text to ship), never the checkpoint's own files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::fileid::FileId;

/// The patterns used when `--rotated` is not given: `{}` stands for the followed file's path.
pub const DEFAULT_PATTERNS: [&str; 2] = ["{}.[0-9]*", "{}-[0-9]*"];

/// Names of files that are compressed: rotated, but never read.
const COMPRESSED: [&str; 10] = [
    ".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z", ".br", ".7z", ".lzma",
];

/// The rotated-file patterns, and the paths never to take for a log.
#[derive(Clone, Debug)]
pub struct Rotated {
    patterns: Vec<String>,
    never: Vec<PathBuf>,
}

/// A file found beside a followed one, opened.
#[derive(Debug)]
pub struct Sibling {
    pub path: PathBuf,
    pub file: File,
    pub id: FileId,
    pub modified: SystemTime,
    pub len: u64,
}

impl Sibling {
    /// True when this rotated file came after `other`: last written later (a rotation
    /// renames without writing; a copy made by copytruncate is written before the file it
    /// copies is written again). Timestamps are coarse (a few milliseconds): on a tie their
    /// names tell where both say it (`FILE.1` after `FILE.2`, `FILE-20261208` after
    /// `FILE-20261207`), else the tie counts as after, so that a file rotated in the same tick
    /// is read (at worst twice), never lost.
    pub fn after(&self, other: &Sibling) -> bool {
        if self.modified != other.modified {
            return self.modified > other.modified;
        }
        if let (Some(a), Some(b)) = (rotation_number(&self.path), rotation_number(&other.path)) {
            return a < b;
        }
        if let (Some(a), Some(b)) = (dated(&self.path), dated(&other.path))
            && shape(&a) == shape(&b)
        {
            return a >= b;
        }
        true
    }

    /// The order rotated files are read in, oldest first: by last write, then the highest
    /// number, then by name (dates).
    pub fn age(&self) -> (SystemTime, std::cmp::Reverse<u64>, String) {
        (
            self.modified,
            std::cmp::Reverse(rotation_number(&self.path).unwrap_or(0)),
            dated(&self.path).unwrap_or_default(),
        )
    }
}

/// `N` of a name ending in `.N` (a rotation's number, not a date).
fn rotation_number(path: &Path) -> Option<u64> {
    let ext = path.extension()?.to_str()?;
    (ext.len() < 6 && ext.bytes().all(|b| b.is_ascii_digit()))
        .then(|| ext.parse().ok())
        .flatten()
}

/// A file name holding a date (eight digits or more in a row), to compare with another's.
fn dated(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let mut run = 0;
    for b in name.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 8 {
            return Some(name);
        }
    }
    None
}

/// A name with every digit made `0`: names of one scheme share it.
fn shape(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// True when `path` names a compressed file.
pub fn is_compressed(path: &Path) -> bool {
    let name = path.to_string_lossy();
    COMPRESSED.iter().any(|s| name.ends_with(s))
}

impl Rotated {
    /// `patterns` (`{}` for the followed file's path; none: [`DEFAULT_PATTERNS`]); `never`:
    /// paths that are not logs (the checkpoint and its lock and temporary files).
    pub fn new(patterns: &[String], never: Vec<PathBuf>) -> Rotated {
        let patterns = if patterns.is_empty() {
            DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect()
        } else {
            patterns.to_vec()
        };
        Rotated { patterns, never }
    }

    /// Checks each pattern is a glob.
    pub fn check(&self) -> Result<(), String> {
        for p in &self.patterns {
            glob::Pattern::new(&p.replace("{}", "x"))
                .map_err(|e| format!("--rotated {p:?}: {e}"))?;
        }
        Ok(())
    }

    /// The paths that are never logs.
    pub fn never(&self) -> &[PathBuf] {
        &self.never
    }

    /// True when `candidate` is named as a rotated file of `live`.
    pub fn is_sibling(&self, live: &Path, candidate: &Path) -> bool {
        let escaped = glob::Pattern::escape(&live.to_string_lossy());
        self.patterns.iter().any(|p| {
            // A pattern that starts with the file's path names only paths that start with it
            // (checked first: a glob has a hundred files, and this runs for each pair).
            let prefixed = candidate != live
                && candidate
                    .to_string_lossy()
                    .starts_with(&*live.to_string_lossy());
            (prefixed || !p.starts_with("{}"))
                && glob::Pattern::new(&p.replace("{}", &escaped))
                    .is_ok_and(|p| p.matches_path(candidate))
        })
    }

    /// The rotated siblings of `live` there are now (not `live` itself), opened, oldest first
    /// ([`Sibling::age`]).
    pub fn siblings(&self, live: &Path) -> Vec<Sibling> {
        // A followed symlink (Kubernetes' /var/log/containers) rotates where it points.
        let mut bases = vec![live.to_owned()];
        if let Ok(target) = fs::canonicalize(live)
            && target != live
        {
            bases.push(target);
        }
        let mut found: Vec<Sibling> = Vec::new();
        let globs = bases.iter().flat_map(|base| {
            let escaped = glob::Pattern::escape(&base.to_string_lossy());
            self.patterns.iter().map(move |p| p.replace("{}", &escaped))
        });
        for pattern in globs {
            let Ok(paths) = glob::glob(&pattern) else {
                continue;
            };
            for path in paths.flatten() {
                if bases.contains(&path)
                    || is_compressed(&path)
                    || self.never.contains(&path)
                    || found.iter().any(|s| s.path == path)
                {
                    continue;
                }
                if let Some(s) = open_regular(&path) {
                    found.push(s);
                }
            }
        }
        found.sort_by_key(Sibling::age);
        found
    }
}

/// `path` opened, when it is a regular file (through symlinks) that can be read.
pub fn open_regular(path: &Path) -> Option<Sibling> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let file = File::open(path).ok()?;
    let id = FileId::of(&file).ok()?;
    let meta = file.metadata().ok()?;
    Some(Sibling {
        path: path.to_owned(),
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        len: meta.len(),
        file,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_and_dated_siblings_but_never_compressed_or_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("dis-rotated-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for name in [
            "app.log",
            "app.log.1",
            "app.log.2.gz",
            "app.log-20261207",
            "app.log.ckpt",
            "app.log.1.ckpt",
            "other.log.1",
        ] {
            fs::write(dir.join(name), name).unwrap();
        }
        fs::create_dir(dir.join("app.log.3")).unwrap();
        let rotated = Rotated::new(&[], vec![dir.join("app.log.1.ckpt")]);
        let mut names: Vec<String> = rotated
            .siblings(&dir.join("app.log"))
            .into_iter()
            .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["app.log-20261207", "app.log.1"]);
        // Which came after which: by last write, on a tie by number or date.
        let at = |name: &str| open_regular(&dir.join(name)).unwrap();
        let (mut one, mut two) = (at("app.log.1"), at("app.log-20261207"));
        two.path = dir.join("app.log.2");
        assert!(one.after(&two) == (one.modified >= two.modified));
        two.modified = one.modified;
        assert!(
            one.after(&two) && !two.after(&one),
            "a tie: app.log.1 came after .2"
        );
        let (mut d7, mut d8) = (at("app.log-20261207"), at("app.log-20261207"));
        d8.path = dir.join("app.log-20261208");
        d8.modified = d7.modified;
        assert!(d8.after(&d7) && !d7.after(&d8));
        one.modified = SystemTime::UNIX_EPOCH;
        d7.modified = SystemTime::UNIX_EPOCH;
        assert!(
            !one.after(&two) && one.after(&d7),
            "no common scheme: a tie is after"
        );
        let mut all = [d8, two, one];
        all.sort_by_key(Sibling::age);
        let order: Vec<_> = all
            .iter()
            .map(|s| s.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(order, ["app.log.1", "app.log.2", "app.log-20261208"]);
        // A symlink to the log: the siblings of what it points to.
        std::os::unix::fs::symlink(dir.join("app.log"), dir.join("link.log")).unwrap();
        assert_eq!(rotated.siblings(&dir.join("link.log")).len(), 2);
        assert!(rotated.is_sibling(&dir.join("app.log"), &dir.join("app.log.1")));
        assert!(!rotated.is_sibling(&dir.join("app.log"), &dir.join("other.log.1")));
        assert!(!rotated.is_sibling(&dir.join("app.log"), &dir.join("app.log")));
        let custom = Rotated::new(&["{}.ckpt".into()], vec![]);
        assert_eq!(custom.siblings(&dir.join("app.log")).len(), 1);
        assert!(Rotated::new(&["[".into()], vec![]).check().is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
