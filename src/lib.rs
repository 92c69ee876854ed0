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
pub mod metrics;
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

/// The OpenAPI document the client is generated from, as written in `openapi/dis-records.yaml`.
pub const OPENAPI_SPEC: &str = include_str!("../openapi/dis-records.yaml");
