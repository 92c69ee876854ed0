//! The spec's `partition_id` and `sequence_number` strings, as the generated types hold them
//! (`build.rs` maps the two patterns here): checked without a regular expression and kept
//! inline, so that reading an answer allocates nothing per record. A regular expression match
//! (`regress`, which allocates per match) and two `String`s per field were half of the
//! producer's CPU per 100-byte record.
//!
//! The checks are the spec's patterns, written out; `tests/it/ids.rs` runs them against the
//! patterns themselves, read from `openapi/dis-records.yaml`. A changed pattern no longer maps
//! here, the generated fields get a different type, and the build fails where they are read.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The spec's pattern of a partition ID.
pub const PARTITION_ID_PATTERN: &str = "^(shardId-[0-9]{10}|[0-9]{1,10})$";
/// The spec's pattern of a sequence number.
pub const SEQUENCE_NUMBER_PATTERN: &str = "^[0-9]{1,128}$";

/// Why a string is not a partition ID or a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} doesn't match pattern \"{pattern}\"")]
pub struct IdError {
    what: &'static str,
    pattern: &'static str,
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $pattern:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(CompactString);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok($name(CompactString::new(s)))
                } else {
                    Err(IdError { what: $what, pattern: $pattern })
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into_string()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == other.as_str()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0.as_str(), f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// From the answer's text in place (no `String` first), checked.
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "a string matching {}", $pattern)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(V)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

id_type!(
    /// A partition ID: `shardId-` and 10 digits, or 1 to 10 digits
    /// ([`PARTITION_ID_PATTERN`]). Derefs to `str`.
    PartitionId,
    "partition_id",
    PARTITION_ID_PATTERN,
    |s| {
        s.strip_prefix("shardId-")
            .map_or(digits(s, 1, 10), |n| digits(n, 10, 10))
    }
);

id_type!(
    /// A sequence number: 1 to 128 decimal digits ([`SEQUENCE_NUMBER_PATTERN`]). Derefs to
    /// `str`; up to 24 digits are held without a heap allocation.
    SequenceNumber,
    "sequence_number",
    SEQUENCE_NUMBER_PATTERN,
    |s| digits(s, 1, 128)
);
