//! `data` on the wire: `Base64Data` streams its Base64 text into the serializer, which must give
//! exactly the JSON that serializing the Base64 text as a plain string gives, read back to the
//! same bytes, and look the same to any serializer.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use dis_records::generated::Base64Data;
use dis_records::generated::types::PutRecordsRequestEntry;
use proptest::prelude::*;

proptest! {
    #[test]
    fn streamed_base64_equals_plain_string_json(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let data = Base64Data::from(bytes.clone());
        let plain = serde_json::to_string(&B64.encode(&bytes)).unwrap();
        prop_assert_eq!(&serde_json::to_string(&data).unwrap(), &plain);
        // Inside a generated entry, through serde_json::Value, and back.
        let entry = PutRecordsRequestEntry {
            data,
            explicit_hash_key: None,
            partition_id: None,
            partition_key: Some("k\"\\\n".into()),
        };
        let text = serde_json::to_string(&entry).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&value, &serde_json::to_value(&entry).unwrap());
        prop_assert_eq!(value["data"].as_str().unwrap(), B64.encode(&bytes));
        let back: PutRecordsRequestEntry = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back.data.0[..], &bytes[..]);
        prop_assert_eq!(back.partition_key.as_deref(), Some("k\"\\\n"));
    }
}

#[test]
fn other_serializers_see_a_plain_string() {
    let entry = PutRecordsRequestEntry {
        data: Base64Data::from(b"data".to_vec()),
        explicit_hash_key: None,
        partition_id: None,
        partition_key: None,
    };
    let yaml = serde_saphyr::to_string(&entry).unwrap();
    assert!(yaml.contains("data: ZGF0YQ=="), "{yaml}");
    let back: PutRecordsRequestEntry = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(&back.data.0[..], b"data");
}
