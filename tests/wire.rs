//! `data` on the wire: the raw-fragment serialization of `Base64Data` (the client's fast path)
//! must give exactly the JSON that serializing the Base64 text as a plain string gives, and
//! read back to the same bytes; outside the fast path any serializer sees a plain string.

use dis_records::ext::encode_data;
use dis_records::types::PutRecordsRequestEntry;
use dis_records::wire::{Base64Data, with_raw_json};
use proptest::prelude::*;

proptest! {
    #[test]
    fn raw_fragment_equals_plain_string_json(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let data = Base64Data::from(bytes.clone());
        let plain = serde_json::to_string(&encode_data(&bytes)).unwrap();
        prop_assert_eq!(&with_raw_json(|| serde_json::to_string(&data)).unwrap(), &plain);
        prop_assert_eq!(&serde_json::to_string(&data).unwrap(), &plain);
        // Inside a generated entry, through serde_json::Value, and back.
        let entry = PutRecordsRequestEntry {
            data,
            explicit_hash_key: None,
            partition_id: None,
            partition_key: Some("k\"\\\n".into()),
        };
        let text = with_raw_json(|| serde_json::to_string(&entry)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&value, &serde_json::to_value(&entry).unwrap());
        prop_assert_eq!(value["data"].as_str().unwrap(), encode_data(&bytes));
        let back: PutRecordsRequestEntry = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back.data.bytes()[..], &bytes[..]);
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
    assert!(!yaml.contains("RawValue"), "{yaml}");
}
