//! A followed file's identity: its device and inode, and a fingerprint of its first bytes. An
//! inode alone is not enough: a file deleted and created again often gets the old inode back,
//! and a file beside the log may hold an inode that once was the log's. The fingerprint tells a
//! new file, or one truncated and written again, from the one that was read.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// How many leading bytes the fingerprint covers once a file has them.
pub const FINGERPRINT_BYTES: u64 = 1024;

/// Who a file is: (device, inode) and the SHA-256 of its first `head_len` bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    /// The bytes the fingerprint covers: the file's length while it is shorter than
    /// [`FINGERPRINT_BYTES`].
    pub head_len: u64,
    /// The first 16 bytes of the SHA-256 of those bytes, in hex.
    #[serde(with = "hex_u128")]
    pub head: u128,
}

impl FileId {
    /// The identity of an open file, its fingerprint read from it.
    pub fn of(file: &File) -> io::Result<FileId> {
        let meta = file.metadata()?;
        let head_len = meta.len().min(FINGERPRINT_BYTES);
        Ok(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            head_len,
            head: fingerprint(file, head_len)?.unwrap_or_default(),
        })
    }

    /// True when `meta` is of this file's inode.
    pub fn same_inode(&self, meta: &Metadata) -> bool {
        (meta.dev(), meta.ino()) == (self.dev, self.ino)
    }

    /// True when `other` has this file's inode (their fingerprints may differ).
    pub fn same_inode_as(&self, other: &FileId) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }

    /// True when `file` starts with the bytes this fingerprint covers (whatever its inode):
    /// the same content, or a copy of it.
    pub fn head_matches(&self, file: &File) -> io::Result<bool> {
        Ok(fingerprint(file, self.head_len)? == Some(self.head))
    }

    /// True when `file` is this file: the same inode, starting with the same bytes.
    pub fn is(&self, file: &File) -> io::Result<bool> {
        Ok(self.same_inode(&file.metadata()?) && self.head_matches(file)?)
    }

    /// This identity with its fingerprint over more bytes, when `file` (this file) has grown
    /// past what it covers.
    pub fn grown(&self, file: &File, len: u64) -> io::Result<FileId> {
        if self.head_len >= FINGERPRINT_BYTES || len <= self.head_len {
            return Ok(*self);
        }
        FileId::of(file)
    }
}

/// The fingerprint of the first `len` bytes of `file`; `None` when it has fewer.
fn fingerprint(file: &File, len: u64) -> io::Result<Option<u128>> {
    let mut buf = [0u8; FINGERPRINT_BYTES as usize];
    let want = len.min(FINGERPRINT_BYTES) as usize;
    let mut got = 0;
    while got < want {
        match file.read_at(&mut buf[got..want], got as u64) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let digest = Sha256::digest(&buf[..want]);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    Ok(Some(u128::from_be_bytes(first)))
}

/// The fingerprint as 32 hex digits in the checkpoint (JSON numbers lose u128s in many
/// readers).
mod hex_u128 {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:032x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text = String::deserialize(d)?;
        u128::from_str_radix(&text, 16).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_file_is_its_inode_and_its_first_bytes() {
        let dir = std::env::temp_dir().join(format!("dis-fileid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"first line\n").unwrap();
        let r = File::open(&path).unwrap();
        let id = FileId::of(&r).unwrap();
        assert_eq!(id.head_len, 11);
        assert!(id.is(&r).unwrap());
        f.write_all(&vec![b'x'; 2000]).unwrap();
        assert!(id.is(&r).unwrap(), "grown, the head is the same");
        let grown = id.grown(&r, 2011).unwrap();
        assert_eq!(grown.head_len, FINGERPRINT_BYTES);
        assert!(grown.is(&r).unwrap());
        // Truncated and written again: same inode, other bytes.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(b"other line\n").unwrap();
        assert!(!id.is(&r).unwrap());
        assert!(!grown.is(&r).unwrap(), "shorter than its fingerprint");
        let json = serde_json::to_string(&grown).unwrap();
        assert_eq!(serde_json::from_str::<FileId>(&json).unwrap(), grown);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
