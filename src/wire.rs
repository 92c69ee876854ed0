//! The wire form of a record's `data`: raw bytes that become Base64 only while the request
//! body is serialized (and are decoded while a body is read), so user code never sees Base64
//! and no encoded copy of a payload is kept in memory.

use std::cell::RefCell;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        BASE64.encode(&self.0)
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
    /// One encoding buffer per thread: serializing a record allocates nothing.
    static ENCODE_BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

impl Serialize for Base64Data {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ENCODE_BUF.with(|buf| match buf.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                BASE64.encode_string(&self.0, &mut buf);
                serializer.serialize_str(&buf)
            }
            // Re-entered (a serializer that serializes inside serialize_str): allocate.
            Err(_) => serializer.serialize_str(&self.to_base64()),
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
                BASE64
                    .decode(v)
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
