#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod answer;
mod auth;
mod body;
#[cfg(test)]
mod body_tests;
mod client;
mod compression;
mod endpoint;
mod error;
mod ext;
pub mod generated;
mod outcome;
mod producer;
mod proto;
mod record;
mod request;
mod transport;
mod validate;

pub use crate::{
    auth::Credentials,
    body::BodyFormat,
    client::{DisClient, DisClientBuilder},
    compression::Compression,
    error::{ConfigError, Error, RequestError, ValidationError},
    outcome::{RecordResult, SendOutcome},
    producer::{
        Producer,
        bucket::StreamKind,
        config::{ProducerConfig, RetryPolicy},
        delivery::{Ack, Delivery, Failure, Summary},
        handle::{ProducerHandle, SendError},
        stats::ProducerStats,
    },
    record::Record,
    validate::Limits,
};

/// The OpenAPI document the client is generated from, as written in `openapi/dis-records.yaml`.
pub const OPENAPI_SPEC: &str = include_str!("../openapi/dis-records.yaml");
