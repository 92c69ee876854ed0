//! Files credentials are read from (the profile file, pod identity's token file), bounded like
//! everything else read from a credential source: only a regular file (or a symlink to one) is
//! read, at most a given size, within [`READ_TIMEOUT`], and on a blocking thread, so that a
//! file that stalls (a FIFO, a hung network mount) never holds a runtime thread and the fetch's
//! own time bound still holds.

use std::fs::{File, FileType};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::provider::FetchError;

/// Longest reading a credential file may take (a local file of a few KiB).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a credential file gave no contents.
pub(crate) enum FileError {
    /// Nothing is at the path.
    Missing(std::io::Error),
    /// Anything else: the message names the file and the problem.
    Unusable(FetchError),
}

/// What a file that is not a regular file is, for errors.
fn kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The contents of the file at `path`, named `what` in errors: at most `max_bytes`, from a
/// regular file only (symlinks are followed). Its type is checked before it is opened, so
/// that opening never waits for a FIFO's writer, and again once it is open.
pub(crate) async fn read(path: &Path, max_bytes: u64, what: &str) -> Result<Vec<u8>, FileError> {
    let owned: PathBuf = path.to_owned();
    let name = what.to_owned();
    let task = tokio::task::spawn_blocking(move || read_blocking(&owned, max_bytes, &name));
    match tokio::time::timeout(READ_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(FileError::Unusable(FetchError::caused_by(
            format!("{what}: reading it failed"),
            Arc::new(e),
        ))),
        // The blocking thread is left to finish on its own; nothing waits for it.
        Err(_) => Err(FileError::Unusable(FetchError::new(format!(
            "{what}: not read within {} s",
            READ_TIMEOUT.as_secs()
        )))),
    }
}

fn read_blocking(path: &Path, max_bytes: u64, what: &str) -> Result<Vec<u8>, FileError> {
    let unreadable = |e: std::io::Error| {
        FileError::Unusable(FetchError::caused_by(
            format!("{what}: cannot be read"),
            Arc::new(e),
        ))
    };
    let not_regular = |file_type: FileType| {
        FileError::Unusable(FetchError::new(format!(
            "{what}: is {}, not a regular file; only a regular file (or a symlink to one) is read",
            kind(file_type)
        )))
    };
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing(e),
        _ => unreadable(e),
    })?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing(e),
        _ => unreadable(e),
    })?;
    // Replaced since it was looked at: what was opened is checked too.
    let metadata = file.metadata().map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > max_bytes {
        return Err(FileError::Unusable(FetchError::new(format!(
            "{what}: larger than {max_bytes} bytes"
        ))));
    }
    Ok(bytes)
}
