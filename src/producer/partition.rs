//! Which partition a record goes to, computed on the client as Huawei's Java producer does, so
//! that the producer can keep state (a send rate, the order of keys) per partition.

use md5::{Digest, Md5};

use crate::generated::types;

/// Largest hash value DIS accepts (Java `Long.MAX_VALUE`).
const MAX_HASH: u64 = i64::MAX as u64;

/// The hash of a partition key: MD5 of its UTF-8 bytes, the first 8 bytes read as a big-endian
/// integer, `& i64::MAX`.
fn hash_partition_key(key: &str) -> u64 {
    let digest = Md5::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) & MAX_HASH
}

/// The partition of a hash: `hash / (i64::MAX / partitions)`, one down for a hash exactly on a
/// boundary (as the Java producer), clamped to the last partition.
fn partition_for_hash(hash: u64, partitions: u32) -> u32 {
    let p = u64::from(partitions.max(1));
    let avg = MAX_HASH / p;
    let mut index = hash.min(MAX_HASH) / avg;
    if index > 0 && hash.is_multiple_of(avg) {
        index -= 1;
    }
    index.min(p - 1) as u32
}

/// The partition `entry` goes to in a stream of `partitions`: its `partition_id`, else its
/// `explicit_hash_key`, else the hash of its `partition_key`; `None` for a record with none of
/// them (DIS spreads those itself). Values that do not parse were refused by validation.
pub(crate) fn partition_of(entry: &types::PutRecordsRequestEntry, partitions: u32) -> Option<u32> {
    if let Some(id) = entry.partition_id.as_deref() {
        let digits = id.strip_prefix("shardId-").unwrap_or(id);
        return digits
            .parse::<u64>()
            .ok()
            .map(|i| i.min(u64::from(partitions.max(1) - 1)) as u32);
    }
    if let Some(hash) = entry.explicit_hash_key.as_deref() {
        return hash
            .parse::<u64>()
            .ok()
            .map(|h| partition_for_hash(h, partitions));
    }
    entry
        .partition_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| partition_for_hash(hash_partition_key(k), partitions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn partition_of(record: &Record, partitions: u32) -> Option<u32> {
        let entry = crate::request::entry(record, 0, &crate::Limits::default()).unwrap();
        super::partition_of(&entry, partitions)
    }

    #[test]
    fn the_java_producer_mapping() {
        // Boundaries of 4 partitions: partition k owns (k*avg, (k+1)*avg].
        let avg = MAX_HASH / 4;
        assert_eq!(partition_for_hash(0, 4), 0);
        assert_eq!(partition_for_hash(avg, 4), 0);
        assert_eq!(partition_for_hash(avg + 1, 4), 1);
        assert_eq!(partition_for_hash(MAX_HASH, 4), 3);
        assert_eq!(partition_for_hash(MAX_HASH, 1), 0);
        let r = |f: fn(Record) -> Record| f(Record::new("x"));
        assert_eq!(
            partition_of(&r(|r| r.with_partition_id("shardId-0000000002")), 4),
            Some(2)
        );
        assert_eq!(partition_of(&r(|r| r.with_partition_id("3")), 4), Some(3));
        assert_eq!(
            partition_of(&r(|r| r.with_explicit_hash_key("9223372036854775807")), 4),
            Some(3)
        );
        assert_eq!(partition_of(&Record::new("x"), 4), None);
        assert_eq!(
            partition_of(&Record::new("x").with_partition_key(""), 4),
            None,
            "an empty key is no key"
        );
    }

    // The golden table (`tests/data/partitions.json`, read by `tests/data/partitions.rs`):
    // partitions of fixed keys and hashes for fixed partition counts, computed once,
    // independently, with the Java producer's rule. dis-local asserts the same file against its
    // own implementation (`dis-local/tests/it/partition_table.rs`).
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/partitions.rs"
    ));

    /// The golden table, as written in the repository.
    fn table() -> GoldenTable {
        golden_table(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/partitions.json"
        )))
    }

    #[test]
    fn partition_keys_route_as_the_golden_table() {
        let GoldenTable { counts, keys, .. } = table();
        for (key, hash, partitions) in keys {
            let key = key.as_str();
            assert_eq!(hash_partition_key(key), hash, "hash of {key:?}");
            for (&count, partition) in counts.iter().zip(partitions) {
                assert_eq!(
                    partition_of(&Record::new("x").with_partition_key(key), count),
                    Some(partition),
                    "{key:?} among {count}"
                );
            }
        }
    }

    #[test]
    fn hashes_route_as_the_golden_table() {
        let GoldenTable { counts, hashes, .. } = table();
        for (hash, partitions) in hashes {
            for (&count, partition) in counts.iter().zip(partitions) {
                assert_eq!(
                    partition_for_hash(hash, count),
                    partition,
                    "{hash} among {count}"
                );
                assert_eq!(
                    partition_of(
                        &Record::new("x").with_explicit_hash_key(hash.to_string()),
                        count
                    ),
                    Some(partition),
                    "explicit hash key {hash} among {count}"
                );
            }
        }
    }
}
