//! `--format jsonl`: one JSON object per line, describing one record.

use base64::Engine as _;
use dis_records::Record;
use serde::Deserialize;

/// The fields a line may have; any other field is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    data: Option<String>,
    data_base64: Option<String>,
    partition_key: Option<String>,
    partition_id: Option<String>,
    explicit_hash_key: Option<String>,
}

/// The record a JSON line describes, or why it describes none.
pub fn record(line: &[u8]) -> Result<Record, String> {
    let line: Line = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let data = match (line.data, line.data_base64) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("data_base64: not Base64: {e}"))?,
        (Some(_), Some(_)) => return Err("both data and data_base64: give one".into()),
        (None, None) => return Err("no data: give data (text) or data_base64".into()),
    };
    let mut record = Record::new(data);
    if let Some(k) = line.partition_key {
        record = record.with_partition_key(k);
    }
    if let Some(p) = line.partition_id {
        record = record.with_partition_id(p);
    }
    if let Some(h) = line.explicit_hash_key {
        record = record.with_explicit_hash_key(h);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_and_every_mistake() {
        let r = record(br#"{"data":"hi","partition_key":"k","partition_id":"shardId-0000000001","explicit_hash_key":"7"}"#).unwrap();
        assert_eq!(&r.data[..], b"hi");
        assert_eq!(r.partition_key.as_deref(), Some("k"));
        assert_eq!(r.partition_id.as_deref(), Some("shardId-0000000001"));
        assert_eq!(r.explicit_hash_key.as_deref(), Some("7"));
        assert_eq!(
            &record(br#"{"data_base64":"AAEC"}"#).unwrap().data[..],
            [0, 1, 2]
        );
        for (line, says) in [
            (&br#"{"data":"a","data_base64":"AA=="}"#[..], "both"),
            (br#"{"partition_key":"k"}"#, "no data"),
            (br#"{"data_base64":"!!"}"#, "data_base64"),
            (br#"{"data":"a","extra":1}"#, "unknown field `extra`"),
            (br#"not json"#, "expected"),
            (br#"{"data":1}"#, "invalid type"),
        ] {
            let e = record(line).err().unwrap();
            assert!(e.contains(says), "{e}");
        }
    }
}
