//! The producer's body writer (`body.rs`) against the generated, spec-exact serialization and
//! against protobuf decoding. (Here rather than in `body.rs`, which the benchmark compiles on
//! its own.)

use bytes::Bytes;
use proptest::prelude::*;

use prost::Message as _;

use crate::body::{BodyFormat, write};
use crate::proto;
use crate::record::Record;
use crate::request;
use crate::validate::Limits;

/// Keys with every awkward character: quotes, backslashes, control characters, any Unicode.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\"\\\u{0}\u{1f}\n\r\t\u{8}\u{c}\u{7f}\u{2028}\u{2029}😀é中".to_owned()),
        any::<String>(),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..300),
            1 => Just(Vec::new()),
        ],
        proptest::option::of(key()),
        proptest::option::of(prop_oneof![
            Just("0".to_owned()),
            Just("9223372036854775807".to_owned()),
            (0u64..=i64::MAX as u64).prop_map(|n| n.to_string()),
        ]),
        proptest::option::of(prop_oneof![
            Just("shardId-0000000001".to_owned()),
            (0u32..100).prop_map(|n| n.to_string()),
        ]),
    )
        .prop_map(|(data, key, hash, id)| {
            let mut r = Record::new(data);
            r.partition_key = key;
            r.explicit_hash_key = hash;
            r.partition_id = id;
            r
        })
}

/// The generated types' serde serialization of the same request.
fn generated_json(stream: &str, records: &[Record]) -> serde_json::Value {
    let limits = Limits::COMMON.with_max_records_per_request(10_000);
    let body = request::build(stream, records, &limits).unwrap();
    serde_json::to_value(&body).unwrap()
}

fn lean_json(stream: &str, records: &[Record]) -> serde_json::Value {
    let mut out = Vec::new();
    write(BodyFormat::Json, stream, records.iter(), &mut out);
    serde_json::from_slice(&out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn lean_json_equals_the_generated_serialization(
        records in proptest::collection::vec(record(), 1..20),
        stream in "[a-zA-Z0-9_\\-\"\\\\]{1,60}",
    ) {
        prop_assert_eq!(lean_json(&stream, &records), generated_json(&stream, &records));
    }

    #[test]
    fn protobuf_decodes_to_the_same_records(records in proptest::collection::vec(record(), 1..20)) {
        let mut out = Vec::new();
        write(BodyFormat::Protobuf, "s", records.iter(), &mut out);
        let back = proto::PutRecordsRequest::decode(&out[..]).unwrap();
        prop_assert_eq!(back.stream_name.as_deref(), Some("s"));
        prop_assert_eq!(back.stream_id.as_deref(), Some(""));
        prop_assert_eq!(back.records.len(), records.len());
        for (e, r) in back.records.iter().zip(&records) {
            prop_assert_eq!(e.data.as_ref(), Some(&r.data));
            prop_assert_eq!(&e.partition_key, &r.partition_key);
            prop_assert_eq!(&e.explicit_hash_key, &r.explicit_hash_key);
            prop_assert_eq!(&e.partition_id, &r.partition_id);
        }
    }
}

#[test]
fn one_mib_of_data_and_empty_data() {
    let records = [
        Record::new(Bytes::from(vec![0xffu8; 1024 * 1024])),
        Record::new(Bytes::new()),
    ];
    assert_eq!(lean_json("s", &records), generated_json("s", &records));
}
