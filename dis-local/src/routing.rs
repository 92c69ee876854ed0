//! Partition choice: `partition_id` parsing, `explicit_hash_key` parsing, the partition-key hash
//! and the hash-to-partition mapping of Huawei's Java producer.

use md5::{Digest, Md5};

/// Largest hash value DIS accepts (Java `Long.MAX_VALUE`).
pub(crate) const MAX_HASH: u64 = i64::MAX as u64;

/// Maps a hash value (`0 ..= i64::MAX`) to a partition index, as Huawei's Java producer does
/// (`PartitionKeyUtils.calPartitionIndex`):
///
/// ```text
/// avg   = i64::MAX / partitions
/// index = hash / avg
/// if index > 0 && hash % avg == 0 { index -= 1 }   // a hash exactly on a boundary belongs below it
/// ```
///
/// So partition `k` owns the hashes `(k * avg, (k + 1) * avg]` (partition 0 also owns 0).
/// Because `i64::MAX` is rarely a multiple of `partitions`, the Java formula yields the
/// out-of-range index `partitions` for the few hashes above `partitions * avg`; this function
/// clamps those to the last partition. A hash above `i64::MAX` is treated as `i64::MAX`, and
/// `partitions == 0` is treated as 1 (the result is then always 0).
pub fn partition_for_hash(hash: u64, partitions: u32) -> u32 {
    let p = u64::from(partitions.max(1));
    let h = hash.min(MAX_HASH);
    let avg = MAX_HASH / p;
    let mut index = h / avg;
    if index > 0 && h.is_multiple_of(avg) {
        index -= 1;
    }
    // index <= p + 1 here, and p fits in u32, so the cast is lossless.
    index.min(p - 1) as u32
}

/// The hash of a partition key, as Huawei's Java producer computes it
/// (`PartitionKeyUtils.getHash`): MD5 of the key's UTF-8 bytes, the first 8 bytes of the digest
/// read as a big-endian integer, with the sign bit cleared (`& i64::MAX`).
pub fn hash_partition_key(key: &str) -> u64 {
    let digest = Md5::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) & MAX_HASH
}

/// Parses a `partition_id` in either form DIS accepts: `shardId-` followed by exactly 10
/// digits, or a bare decimal of 1 to 10 digits. Returns the partition index.
pub(crate) fn parse_partition_id(s: &str) -> Option<u64> {
    let digits = match s.strip_prefix("shardId-") {
        Some(rest) if rest.len() == 10 => rest,
        Some(_) => return None,
        None if (1..=10).contains(&s.len()) => s,
        None => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses an `explicit_hash_key`: a decimal integer in `0 ..= 9223372036854775807`, digits
/// only, without sign or leading zeros (the pattern of the OpenAPI spec).
pub(crate) fn parse_explicit_hash_key(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    (v <= MAX_HASH).then_some(v)
}

/// Appends `shardId-` and the index as 10 zero-padded digits (`shardId-0000000003`).
pub(crate) fn push_shard_id(out: &mut Vec<u8>, index: u32) {
    out.extend_from_slice(b"shardId-");
    let mut digits = [b'0'; 10];
    let mut n = index;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

/// The `shardId-NNNNNNNNNN` form of a partition index, as a `String`.
pub(crate) fn shard_id(index: u32) -> String {
    let mut v = Vec::with_capacity(18);
    push_shard_id(&mut v, index);
    // Only ASCII was written.
    String::from_utf8(v).unwrap_or_default()
}

/// Appends the decimal form of `n`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVG4: u64 = MAX_HASH / 4; // 2305843009213693951; i64::MAX = 4 * AVG4 + 3

    #[test]
    fn boundaries_of_four_partitions() {
        assert_eq!(AVG4, 2_305_843_009_213_693_951);
        assert_eq!(partition_for_hash(0, 4), 0);
        assert_eq!(partition_for_hash(1, 4), 0);
        assert_eq!(partition_for_hash(AVG4 - 1, 4), 0);
        assert_eq!(
            partition_for_hash(AVG4, 4),
            0,
            "exactly on a boundary belongs below"
        );
        assert_eq!(partition_for_hash(AVG4 + 1, 4), 1);
        assert_eq!(partition_for_hash(2 * AVG4, 4), 1);
        assert_eq!(partition_for_hash(2 * AVG4 + 1, 4), 2);
        assert_eq!(partition_for_hash(3 * AVG4, 4), 2);
        assert_eq!(partition_for_hash(3 * AVG4 + 1, 4), 3);
        assert_eq!(
            partition_for_hash(4 * AVG4, 4),
            3,
            "the Java rule lands on 4 - 1"
        );
        assert_eq!(
            partition_for_hash(4 * AVG4 + 1, 4),
            3,
            "clamped (Java would give 4)"
        );
        assert_eq!(
            partition_for_hash(MAX_HASH, 4),
            3,
            "clamped (Java would give 4)"
        );
        assert_eq!(
            partition_for_hash(u64::MAX, 4),
            3,
            "above i64::MAX saturates"
        );
    }

    #[test]
    fn one_and_zero_partitions() {
        for h in [0, 1, MAX_HASH / 2, MAX_HASH, u64::MAX] {
            assert_eq!(partition_for_hash(h, 1), 0);
            assert_eq!(partition_for_hash(h, 0), 0);
        }
    }

    #[test]
    fn three_partitions_tail() {
        let avg = MAX_HASH / 3; // i64::MAX = 3 * avg + 1
        assert_eq!(partition_for_hash(avg, 3), 0);
        assert_eq!(partition_for_hash(avg + 1, 3), 1);
        assert_eq!(partition_for_hash(3 * avg, 3), 2);
        assert_eq!(partition_for_hash(MAX_HASH, 3), 2);
    }

    #[test]
    fn many_partitions_stay_in_range() {
        for p in [2u32, 5, 7, 16, 100, 1000, u32::MAX] {
            for h in [0, 1, MAX_HASH / 3, MAX_HASH - 1, MAX_HASH] {
                assert!(partition_for_hash(h, p) < p, "h={h} p={p}");
            }
            // Monotonic in the hash.
            let mut last = 0;
            for i in 0..=64u64 {
                let h = MAX_HASH / 64 * i;
                let idx = partition_for_hash(h, p);
                assert!(idx >= last);
                last = idx;
            }
        }
    }

    #[test]
    fn md5_hash_of_keys() {
        // Computed once with Python:
        // int.from_bytes(hashlib.md5(k.encode()).digest()[:8], "big") & (2**63 - 1)
        assert_eq!(hash_partition_key("user-1"), 6_257_593_711_501_015_798); // d6d7705392bc7af6
        assert_eq!(hash_partition_key("user-2"), 4_420_509_675_368_228_755); // 3d58ce20fe802793
        assert_eq!(hash_partition_key("a"), 919_145_239_626_757_800); // 0cc175b9c0f1b6a8
        assert_eq!(hash_partition_key(""), 6_061_155_539_545_534_980); // d41d8cd98f00b204
        assert_eq!(hash_partition_key("设备-7"), 8_443_828_876_501_356_624); // f52e81a0380c9050
        assert_eq!(partition_for_hash(hash_partition_key("user-1"), 4), 2);
        assert_eq!(partition_for_hash(hash_partition_key("user-2"), 4), 1);
        assert_eq!(partition_for_hash(hash_partition_key("设备-7"), 7), 6);
    }

    #[test]
    fn partition_ids() {
        assert_eq!(parse_partition_id("shardId-0000000000"), Some(0));
        assert_eq!(parse_partition_id("shardId-0000000013"), Some(13));
        assert_eq!(
            parse_partition_id("shardId-9999999999"),
            Some(9_999_999_999)
        );
        assert_eq!(parse_partition_id("0"), Some(0));
        assert_eq!(parse_partition_id("0003"), Some(3));
        assert_eq!(parse_partition_id("9999999999"), Some(9_999_999_999));
        for bad in [
            "",
            "shardId-",
            "shardId-1",
            "shardId-00000000001",
            "shardid-0000000001",
            "shardId-00000000x1",
            "12345678901",
            "-1",
            "+1",
            " 1",
            "1.0",
            "abc",
        ] {
            assert_eq!(parse_partition_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn explicit_hash_keys() {
        assert_eq!(parse_explicit_hash_key("0"), Some(0));
        assert_eq!(parse_explicit_hash_key("42"), Some(42));
        assert_eq!(
            parse_explicit_hash_key("9223372036854775807"),
            Some(MAX_HASH)
        );
        for bad in [
            "",
            "9223372036854775808",
            "18446744073709551615",
            "99999999999999999999",
            "-1",
            "+1",
            "01",
            "00",
            "1e3",
            " 1",
            "abc",
        ] {
            assert_eq!(parse_explicit_hash_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(shard_id(0), "shardId-0000000000");
        assert_eq!(shard_id(3), "shardId-0000000003");
        assert_eq!(shard_id(u32::MAX), "shardId-4294967295");
        for n in [0u64, 7, 10, 1234567890, u64::MAX] {
            let mut v = Vec::new();
            push_u64(&mut v, n);
            assert_eq!(String::from_utf8(v).unwrap(), n.to_string());
        }
    }
}
