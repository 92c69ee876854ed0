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
    /// When it was created, where the filesystem says (statx).
    pub created: Option<SystemTime>,
    pub len: u64,
}

impl Sibling {
    /// True when this file came after `other`: created at or after it where both creation
    /// times are known (a rotation renames files without touching them), else modified at or
    /// after it. Timestamps are coarse (a few milliseconds): a tie counts as after, so that a
    /// file rotated in the same tick is read (at worst twice), never lost.
    pub fn after(&self, other: &Sibling) -> bool {
        match (self.created, other.created) {
            (Some(a), Some(b)) => a >= b,
            _ => self.modified >= other.modified,
        }
    }

    /// The order rotated files are read in: by creation (else modification), then the older
    /// of two numbered ones (`FILE.3` before `FILE.2`), then by name.
    pub fn age(&self) -> (SystemTime, std::cmp::Reverse<u64>, PathBuf) {
        let number = self
            .path
            .extension()
            .and_then(|e| e.to_str()?.parse::<u64>().ok())
            .unwrap_or(0);
        (
            self.created.unwrap_or(self.modified),
            std::cmp::Reverse(number),
            self.path.clone(),
        )
    }
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
        created: meta.created().ok(),
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
