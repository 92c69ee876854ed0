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

    // The golden table: partitions of fixed keys and hashes for fixed partition counts,
    // computed once, independently, with the Java producer's rule (MD5, the first 8 bytes
    // big-endian `& i64::MAX`, `hash / (i64::MAX / partitions)`, one down on a boundary,
    // clamped). dis-local asserts the SAME table against its own implementation
    // (`dis-local/tests/partition_table.rs`): change one copy, change both.

    /// The partition counts of the tables' columns.
    const COUNTS: [u32; 9] = [1, 2, 3, 4, 5, 7, 16, 100, 1024];

    /// (partition key, its hash, its partition for each of `COUNTS`).
    const KEYS: [(&str, u64, [u32; 9]); 10] = [
        ("a", 919145239626757800, [0, 0, 0, 0, 0, 0, 1, 9, 102]),
        ("0", 5750288053043553775, [0, 1, 1, 2, 3, 4, 9, 62, 638]),
        (
            "user-1",
            6257593711501015798,
            [0, 1, 2, 2, 3, 4, 10, 67, 694],
        ),
        ("key-0", 3765725613963475589, [0, 0, 1, 1, 2, 2, 6, 40, 418]),
        ("key-7", 4800275849173445951, [0, 1, 1, 2, 2, 3, 8, 52, 532]),
        (
            "Key-7",
            6348472678130941908,
            [0, 1, 2, 2, 3, 4, 11, 68, 704],
        ),
        ("中文", 2862813971408079674, [0, 0, 0, 1, 1, 2, 4, 31, 317]),
        ("😀", 3027240025427372656, [0, 0, 0, 1, 1, 2, 5, 32, 336]),
        (
            "orders/2024-01-02",
            2783745966200603634,
            [0, 0, 0, 1, 1, 2, 4, 30, 309],
        ),
        (
            "a fairly long partition key with spaces and punctuation: !?",
            8064064748117352916,
            [0, 1, 2, 3, 4, 6, 13, 87, 895],
        ),
    ];

    /// (hash, its partition for each of `COUNTS`): both ends, hashes on a boundary
    /// (`i64::MAX / 7`, `i64::MAX / 4`; `i64::MAX - 1` is `3 * (i64::MAX / 3)`) and just above
    /// one, and a hash above `1024 * (i64::MAX / 1024)`, where the Java formula gives the
    /// out-of-range index 1024.
    const HASHES: [(u64, [u32; 9]); 9] = [
        (0, [0, 0, 0, 0, 0, 0, 0, 0, 0]),
        (1, [0, 0, 0, 0, 0, 0, 0, 0, 0]),
        (1317624576693539401, [0, 0, 0, 0, 0, 0, 2, 14, 146]),
        (1317624576693539402, [0, 0, 0, 0, 0, 1, 2, 14, 146]),
        (2305843009213693951, [0, 0, 0, 0, 1, 1, 4, 25, 256]),
        (2305843009213693952, [0, 0, 0, 1, 1, 1, 4, 25, 256]),
        (9223372036854774785, [0, 1, 2, 3, 4, 6, 15, 99, 1023]),
        (9223372036854775806, [0, 1, 2, 3, 4, 6, 15, 99, 1023]),
        (9223372036854775807, [0, 1, 2, 3, 4, 6, 15, 99, 1023]),
    ];

    #[test]
    fn partition_keys_route_as_the_golden_table() {
        for (key, hash, partitions) in KEYS {
            assert_eq!(hash_partition_key(key), hash, "hash of {key:?}");
            for (count, partition) in COUNTS.into_iter().zip(partitions) {
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
        for (hash, partitions) in HASHES {
            for (count, partition) in COUNTS.into_iter().zip(partitions) {
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
