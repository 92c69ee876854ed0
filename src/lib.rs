#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(test)]
mod alloc_tests;
mod answer;
mod auth;
mod body;
#[cfg(test)]
mod body_tests;
mod client;
mod compression;
mod credentials;
mod endpoint;
mod error;
mod ext;
pub mod generated;
mod ids;
mod outcome;
mod producer;
mod proto;
mod record;
mod request;
mod transport;
mod validate;

pub use crate::{
    body::BodyFormat,
    client::{DisClient, DisClientBuilder},
    compression::Compression,
    credentials::Credentials,
    error::{ConfigError, Error, RequestError, ValidationError},
    ids::{IdError, PARTITION_ID_PATTERN, PartitionId, SEQUENCE_NUMBER_PATTERN, SequenceNumber},
    outcome::{RecordResult, SendOutcome},
    producer::{
        Producer,
        config::{ProducerConfig, RetryPolicy},
        delivery::{Ack, Delivery, Failure, LastError, Summary},
        handle::{ProducerHandle, SendError},
        pacing::{Pacing, StreamKind},
        stats::ProducerStats,
    },
    record::Record,
    validate::Limits,
};

/// The names of the metrics dis-records reports through the
/// [`metrics`](https://docs.rs/metrics) facade (install any exporter to receive them; with none
/// installed they cost one branch per update).
pub mod metrics {
    pub use crate::producer::metrics::{
        BUFFERED_RECORDS, CREDENTIAL_REFRESHES, IN_FLIGHT_RECORDS, OLDEST_BUFFERED_AGE,
        POSSIBLE_DUPLICATES, RECORDS_ACKNOWLEDGED, RECORDS_FAILED, RECORDS_SENT, RECORDS_THROTTLED,
        REQUEST_DURATION, REQUESTS, describe,
    };
}

/// The OpenAPI document the client is generated from, as written in `openapi/dis-records.yaml`.
pub const OPENAPI_SPEC: &str = include_str!("../openapi/dis-records.yaml");
