//! dis-local's partition routing pinned to a golden table: the partition of fixed partition
//! keys and hashes for fixed partition counts, computed once, independently, with the rule of
//! Huawei's Java producer (see `tests/data/partitions.rs`).
//!
//! The table is `tests/data/partitions.json` at the repository root, the one copy: the client
//! (`dis-records`, `src/producer/partition.rs`) asserts it in its unit tests, so both
//! implementations agree without either calling the other.

use dis_local::{hash_partition_key, partition_for_hash};

include!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/partitions.rs"
));

/// The golden table, as written in the repository.
fn table() -> GoldenTable {
    golden_table(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/partitions.json"
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
                partition_for_hash(hash_partition_key(key), count),
                partition,
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
        }
    }
}
