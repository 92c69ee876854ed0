//! The `--checkpoint` file: where a followed file is settled, and how far a run may have sent
//! past it. Written whole to a temporary file, synced, then renamed over the old one, so a
//! kill at any moment leaves the old or the new checkpoint, never a mix.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tracker::Position;

/// What the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Every line before this is acknowledged (or was skipped).
    pub settled: Position,
    /// No line after this was handed to the producer yet: lines between `settled` and here
    /// may be stored already, and count as possible duplicates when sent again.
    pub reserved: Position,
}

/// The checkpoint file at a path.
#[derive(Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    temp: PathBuf,
    last: Option<Checkpoint>,
}

impl CheckpointFile {
    pub fn new(path: &Path) -> CheckpointFile {
        let mut temp = path.as_os_str().to_owned();
        temp.push(".tmp");
        CheckpointFile {
            path: path.to_owned(),
            temp: temp.into(),
            last: None,
        }
    }

    /// The saved checkpoint; `None` when there is no file yet.
    pub fn load(&mut self) -> Result<Option<Checkpoint>, String> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("checkpoint {}: {e}", self.path.display())),
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&text)
            .map_err(|e| format!("checkpoint {}: {e}", self.path.display()))?;
        self.last = Some(checkpoint);
        Ok(Some(checkpoint))
    }

    /// The last checkpoint loaded or saved.
    pub fn last(&self) -> Option<Checkpoint> {
        self.last
    }

    /// Saves `checkpoint` (nothing to do when it is the one saved last).
    pub fn save(&mut self, checkpoint: Checkpoint) -> std::io::Result<()> {
        if self.last == Some(checkpoint) {
            return Ok(());
        }
        let mut file = fs::File::create(&self.temp)?;
        file.write_all(&serde_json::to_vec(&checkpoint).map_err(std::io::Error::other)?)?;
        file.sync_data()?;
        drop(file);
        fs::rename(&self.temp, &self.path)?;
        self.last = Some(checkpoint);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_loaded_and_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("dis-ckpt-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        let mut file = CheckpointFile::new(&path);
        assert_eq!(file.load().unwrap(), None);
        let at = |offset| Position {
            dev: 1,
            ino: 2,
            offset,
        };
        let c = Checkpoint {
            settled: at(5),
            reserved: at(9),
        };
        file.save(c).unwrap();
        assert_eq!(CheckpointFile::new(&path).load().unwrap(), Some(c));
        assert!(!dir.join("c.json.tmp").exists());
        fs::write(&path, b"{garbage").unwrap();
        assert!(
            CheckpointFile::new(&path)
                .load()
                .unwrap_err()
                .contains("c.json")
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
