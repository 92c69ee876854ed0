//! The serializers (`body.rs`) against the generated types: JSON reads back into the same
//! request, its Base64 is the standard alphabet's, and protobuf decodes to the same records.

use base64::Engine as _;
use bytes::Bytes;
use proptest::prelude::*;
use prost::Message as _;

use crate::body::BodyFormat;
use crate::generated::types;
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
            // Across the Base64 writer's 3 KiB chunks.
            1 => proptest::collection::vec(any::<u8>(), 3000..7000),
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

fn request(stream: &str, records: &[Record]) -> types::PutRecordsRequest {
    let limits = Limits::COMMON
        .with_max_records_per_request(10_000)
        .with_max_request_bytes(64 * 1024 * 1024);
    request::build(stream, records, &limits).unwrap()
}

fn json(request: &types::PutRecordsRequest) -> Vec<u8> {
    let mut out = Vec::new();
    BodyFormat::Json.encode(request, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn json_reads_back_into_the_same_request(
        records in proptest::collection::vec(record(), 1..20),
        stream in "[a-zA-Z0-9_\\-\"\\\\]{1,60}",
    ) {
        let sent = request(&stream, &records);
        let body = json(&sent);
        // Byte for byte what serde_json writes for the generated request.
        prop_assert_eq!(&body, &serde_json::to_vec(&sent).unwrap());
        let back: types::PutRecordsRequest = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(back.stream_name.as_str(), stream.as_str());
        prop_assert_eq!(back.records.len(), records.len());
        for (e, r) in back.records.iter().zip(&records) {
            prop_assert_eq!(&e.data.0, &r.data);
            prop_assert_eq!(&e.partition_key, &r.partition_key);
            prop_assert_eq!(e.partition_id.as_deref(), r.partition_id.as_deref());
            prop_assert_eq!(e.explicit_hash_key.as_deref(), r.explicit_hash_key.as_ref());
        }
        // The Base64 text on the wire is the standard alphabet's, padded.
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for (e, r) in value["records"].as_array().unwrap().iter().zip(&records) {
            let expected = base64::engine::general_purpose::STANDARD.encode(&r.data);
            prop_assert_eq!(e["data"].as_str().unwrap(), expected.as_str());
        }
    }

    #[test]
    fn protobuf_decodes_to_the_same_records(records in proptest::collection::vec(record(), 1..20)) {
        let mut out = Vec::new();
        BodyFormat::Protobuf.encode(&request("s", &records), &mut out);
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
    let value: serde_json::Value = serde_json::from_slice(&json(&request("s", &records))).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(value["records"][0]["data"], b64.encode(&records[0].data));
    assert_eq!(value["records"][1]["data"], "");
}
