//! The wire form of a record's `data`: raw bytes that become Base64 only while the request
//! body is serialized (and are decoded while a body is read), so user code never sees Base64
//! and no encoded copy of a payload is kept in memory.

use std::cell::{Cell, RefCell};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Raw bytes carried as a Base64 string (`type: string, format: byte` in the spec).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Base64Data(pub Bytes);

impl Base64Data {
    /// The raw bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// Length of the raw bytes (what DIS limits count).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Base64 text, as it goes on the wire.
    pub fn to_base64(&self) -> String {
        crate::ext::encode_data(&self.0)
    }
}

impl From<Bytes> for Base64Data {
    fn from(b: Bytes) -> Self {
        Base64Data(b)
    }
}

impl From<Vec<u8>> for Base64Data {
    fn from(b: Vec<u8>) -> Self {
        Base64Data(Bytes::from(b))
    }
}

impl fmt::Debug for Base64Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Data({} bytes)", self.0.len())
    }
}

thread_local! {
    /// Set while this crate serializes a request body with serde_json (see [`with_raw_json`]).
    static RAW_JSON: Cell<bool> = const { Cell::new(false) };
    /// One buffer per thread for the quoted Base64 text: serializing a record allocates nothing.
    static QUOTED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` with the fast path of [`Base64Data`]'s serialization on. Only for serde_json:
/// the fast path hands serde_json a pre-quoted raw fragment (a `RawValue`), which other
/// serializers would render as a map. The client turns it on around its own requests.
pub fn with_raw_json<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            RAW_JSON.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(RAW_JSON.with(|c| c.replace(true)));
    f()
}

impl Serialize for Base64Data {
    /// Writes the Base64 text as a JSON string. Inside [`with_raw_json`], Base64's alphabet
    /// never needing escapes, the text goes out as a pre-quoted raw JSON fragment: serde_json
    /// then copies it instead of scanning every byte for escapes, which otherwise costs more
    /// than the encoding itself. Elsewhere it is a plain string, for any serializer.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !RAW_JSON.with(Cell::get) {
            return serializer.serialize_str(&self.to_base64());
        }
        QUOTED.with(|cell| {
            let Ok(mut quoted) = cell.try_borrow_mut() else {
                // Re-entered (a serializer calling back into this one): plain string.
                return serializer.serialize_str(&self.to_base64());
            };
            quoted.clear();
            quoted.push('"');
            BASE64.encode_string(&self.0, &mut quoted);
            quoted.push('"');
            // Parsing the fragment checks it (a fast scan); nothing is copied or allocated.
            let raw: &RawValue =
                serde_json::from_str(&quoted).map_err(serde::ser::Error::custom)?;
            raw.serialize(serializer)
        })
    }
}

impl<'de> Deserialize<'de> for Base64Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Base64Data;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Base64 string (standard alphabet, padded)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Data, E> {
                crate::ext::decode_data(v)
                    .map(Base64Data::from)
                    .map_err(|e| E::custom(format!("data is not Base64: {e}")))
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl schemars::JsonSchema for Base64Data {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Base64Data".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "byte",
            "contentEncoding": "base64"
        })
    }
}
