//! dis-local's partition routing pinned to a golden table: the partition of fixed partition
//! keys and hashes for fixed partition counts, computed once, independently, with the rule of
//! Huawei's Java producer (`PartitionKeyUtils`): MD5 of the key's UTF-8 bytes, the first 8
//! bytes big-endian `& i64::MAX`; then `hash / (i64::MAX / partitions)`, one down for a hash
//! exactly on a boundary, clamped to the last partition.
//!
//! The client (`dis-records`, `src/producer/partition.rs`) asserts the SAME table in its unit
//! test, so both implementations agree without either calling the other: change one copy, change
//! both.

use dis_local::{hash_partition_key, partition_for_hash};

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

/// (hash, its partition for each of `COUNTS`): both ends, hashes on a boundary (`i64::MAX / 7`,
/// `i64::MAX / 4`; `i64::MAX - 1` is `3 * (i64::MAX / 3)`) and just above one, and a hash above
/// `1024 * (i64::MAX / 1024)`, where the Java formula gives the out-of-range index 1024.
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
                partition_for_hash(hash_partition_key(key), count),
                partition,
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
        }
    }
}
