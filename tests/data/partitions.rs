// The golden partition table of `partitions.json` (beside this file), read the same way by the
// two crates that assert it: `include!`d by `src/producer/partition.rs`'s unit tests and by
// `dis-local/tests/it/partition_table.rs`, each handing in the file's text.
//
// The table: the partition of fixed partition keys and hashes for fixed partition counts,
// computed once, independently, with the rule of Huawei's Java producer
// (`PartitionKeyUtils`): MD5 of the key's UTF-8 bytes, the first 8 bytes big-endian
// `& i64::MAX`; then `hash / (i64::MAX / partitions)`, one down for a hash exactly on a
// boundary, clamped to the last partition. Its hashes: both ends, hashes on a boundary
// (`i64::MAX / 7`, `i64::MAX / 4`; `i64::MAX - 1` is `3 * (i64::MAX / 3)`) and just above one,
// and a hash above `1024 * (i64::MAX / 1024)`, where the Java formula gives the out-of-range
// index 1024.

/// The golden table.
struct GoldenTable {
    /// The partition counts of the table's columns.
    counts: Vec<u32>,
    /// (partition key, its hash, its partition for each of `counts`).
    keys: Vec<(String, u64, Vec<u32>)>,
    /// (hash, its partition for each of `counts`).
    hashes: Vec<(u64, Vec<u32>)>,
}

/// Reads `partitions.json`'s text; panics (failing the test) on anything but the whole table.
fn golden_table(json: &str) -> GoldenTable {
    let table: serde_json::Value = serde_json::from_str(json).expect("partitions.json is JSON");
    let numbers = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .expect("a list of numbers")
            .iter()
            .map(|n| u32::try_from(n.as_u64().expect("a number")).expect("a u32"))
            .collect()
    };
    let table = GoldenTable {
        counts: numbers(&table["counts"]),
        keys: table["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                (
                    k["key"].as_str().expect("key").to_owned(),
                    k["hash"].as_u64().expect("hash"),
                    numbers(&k["partitions"]),
                )
            })
            .collect(),
        hashes: table["hashes"]
            .as_array()
            .expect("hashes")
            .iter()
            .map(|h| (h["hash"].as_u64().expect("hash"), numbers(&h["partitions"])))
            .collect(),
    };
    // The whole table, every row as wide as the counts: a cut file fails here, not silently.
    assert_eq!(
        (table.counts.len(), table.keys.len(), table.hashes.len()),
        (9, 10, 9),
        "partitions.json"
    );
    assert!(
        table
            .keys
            .iter()
            .all(|(_, _, p)| p.len() == table.counts.len())
            && table
                .hashes
                .iter()
                .all(|(_, p)| p.len() == table.counts.len()),
        "partitions.json: a row is not as wide as the counts"
    );
    table
}
