//! The thin layer the generated client is built with (see `build.rs`):
//! - Base64 helpers: the spec's `format: byte` strings become [`Base64Data`], raw bytes that
//!   turn into Base64 only while a body is written or read;
//! - [`Context`], the generated client's inner value: the credentials and the answer bounds its
//!   requests are sent with (`src/generated.rs` wires it into progenitor's hooks).
//!
//! Nothing here depends on the generated code.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::auth::Auth;
use crate::transport::AnswerLimits;

/// Raw bytes carried as a Base64 string (`type: string, format: byte` in the spec). User code
/// hands in and gets back bytes; the Base64 text exists only while a body is written or read.
/// Cloning shares the bytes (`Bytes`), it does not copy them.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Base64Data(pub Bytes);

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

/// The Base64 text of some bytes (standard alphabet, padded), written through a buffer on the
/// stack: no encoded copy of the payload is allocated. SIMD where the CPU has it
/// (`base64-simd` detects AVX2/SSE4.1/NEON at run time), scalar elsewhere.
struct Base64Text<'a>(&'a [u8]);

/// Input bytes encoded per chunk: a multiple of 3, so that padding comes only at the end.
const CHUNK: usize = 3 * 1024;

impl fmt::Display for Base64Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Uninitialized: the encoder writes before anything is read (zeroing 4 KiB per record
        // would cost more than encoding 100 bytes).
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); CHUNK / 3 * 4];
        for chunk in self.0.chunks(CHUNK) {
            let out = base64_simd::Out::from_uninit_slice(&mut buf);
            f.write_str(base64_simd::STANDARD.encode_as_str(chunk, out))?;
        }
        Ok(())
    }
}

impl Serialize for Base64Data {
    /// Writes the Base64 text as a string: up to 3 KiB of data encoded on the stack and handed
    /// over whole, more streamed through `collect_str` (which serde_json and sonic-rs implement
    /// without an intermediate `String`). Nothing is allocated.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.len() <= CHUNK {
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); CHUNK / 3 * 4];
            let out = base64_simd::Out::from_uninit_slice(&mut buf);
            serializer.serialize_str(base64_simd::STANDARD.encode_as_str(&self.0, out))
        } else {
            serializer.collect_str(&Base64Text(&self.0))
        }
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
                base64::engine::general_purpose::STANDARD
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

/// The generated client's inner value: the credentials put on every request (a sensitive
/// `X-Auth-Token`, or a fresh `SDK-HMAC-SHA256` signature per try), and the bounds within which
/// its answers are read. Its requests take the pipeline every SendRecords request takes, a 401
/// to a provider's credentials answered by one refresh and one resend.
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) auth: Arc<Auth>,
    pub(crate) limits: AnswerLimits,
}
