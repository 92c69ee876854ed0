#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod auth;
pub mod error;
pub mod ext;
mod generated;
pub mod hooks;
pub mod producer;
pub mod sign;
pub mod validate;
pub mod wire;

pub use auth::Credentials;
pub use error::{Error, ValidationError};
pub use ext::{DisClient, DisClientBuilder, Record, RecordResult, SendOutcome};
pub use generated::{Client, types};
pub use producer::{Delivery, Producer, ProducerConfig, RetryPolicy, Summary};
pub use validate::Limits;

/// The OpenAPI document the client is generated from, as written in `openapi/dis-records.yaml`.
pub const OPENAPI_SPEC: &str = include_str!("../openapi/dis-records.yaml");

/// The spec's `components` (schemas, responses, parameters, security schemes) as JSON, with
/// every constraint. The `schemars::JsonSchema` derived on the generated types loses
/// `maxLength` and `pattern` of the validating newtypes; export these instead when the
/// constraints matter.
pub const COMPONENTS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/components.json"));
