//! The answer's partition IDs and sequence numbers are checked without a regular expression
//! (`src/ids.rs`): these tests hold the hand-written checks to the spec's own patterns, run by
//! `regress` (the engine the generated newtypes use), on strings built to sit on both sides of
//! every bound.

use dis_records::{OPENAPI_SPEC, PartitionId, SequenceNumber};
use proptest::prelude::*;

const PARTITION_ID_PATTERN: &str = dis_records::PARTITION_ID_PATTERN;
const SEQUENCE_NUMBER_PATTERN: &str = dis_records::SEQUENCE_NUMBER_PATTERN;

/// The spec's answer entry (Table 6) still has these patterns: `build.rs` maps them to the
/// types (a changed pattern fails the build), and this says the constants are the same text.
#[test]
fn the_patterns_are_the_specs() {
    let entry = OPENAPI_SPEC
        .split("    PutRecordsResultEntry:\n")
        .nth(1)
        .expect("the spec has PutRecordsResultEntry");
    for pattern in [PARTITION_ID_PATTERN, SEQUENCE_NUMBER_PATTERN] {
        assert!(
            entry.contains(&format!("pattern: \"{pattern}\"")),
            "PutRecordsResultEntry has no property with pattern {pattern}"
        );
    }
}

fn matches(pattern: &str, s: &str) -> bool {
    regress::Regex::new(pattern).unwrap().find(s).is_some()
}

fn agree(s: &str) {
    assert_eq!(
        s.parse::<PartitionId>().is_ok(),
        matches(PARTITION_ID_PATTERN, s),
        "partition_id {s:?}"
    );
    assert_eq!(
        s.parse::<SequenceNumber>().is_ok(),
        matches(SEQUENCE_NUMBER_PATTERN, s),
        "sequence_number {s:?}"
    );
}

#[test]
fn the_bounds_agree_with_the_patterns() {
    let nines = |n: usize| "9".repeat(n);
    let mut cases = vec![
        String::new(),
        "shardId-".into(),
        "shardid-0000000001".into(),
        "ShardId-0000000001".into(),
        " 1".into(),
        "1 ".into(),
        "1\n".into(),
        "\n1".into(),
        "-1".into(),
        "+1".into(),
        "１".into(), // a full-width digit: not [0-9]
        "٣".into(),  // an Arabic-Indic digit
    ];
    for n in [0, 1, 9, 10, 11, 127, 128, 129, 200] {
        cases.push(nines(n));
        cases.push(format!("shardId-{}", nines(n)));
        cases.push(format!("shardId-{}x", nines(n)));
    }
    for s in &cases {
        agree(s);
    }
    // The answer's usual forms are taken.
    assert!("shardId-0000000003".parse::<PartitionId>().is_ok());
    assert!("3".parse::<PartitionId>().is_ok());
    assert!("00042".parse::<SequenceNumber>().is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn near_misses_agree_with_the_patterns(s in "(shardId-)?[0-9a]{0,12}|[0-9]{0,130}[ a\n]?|[shardI0-9\\-]{0,20}") {
        agree(&s);
    }

    #[test]
    fn any_text_agrees_with_the_patterns(s in ".{0,40}") {
        agree(&s);
    }

    #[test]
    fn a_valid_text_reads_back_the_same(digits in "[0-9]{1,128}") {
        let n: SequenceNumber = digits.parse().unwrap();
        prop_assert_eq!(n.as_str(), digits.as_str());
        let json = serde_json::to_string(&n).unwrap();
        let back: SequenceNumber = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, n);
    }
}
