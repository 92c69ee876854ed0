//! The low-level, spec-exact layer: the client progenitor generates from
//! `openapi/dis-records.yaml` (see `build.rs`), with its request and response types, and
//! progenitor's `Error`, `ResponseValue` and `ClientInfo`, so that calling it needs no other
//! dependency.
//!
//! [`Client::send_records`] sends a [`types::PutRecordsRequest`] as the spec describes it and
//! returns progenitor's [`ResponseValue`] or [`Error`]; it does not check DIS limits, pair
//! results with records or retry. Get a ready client, with its credentials, from
//! [`DisClient::generated`](crate::DisClient::generated). Nothing in the included code is
//! written by hand: edit the spec and run `cargo build`.

pub use crate::ext::{Base64Data, Context};

#[allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]
mod client {
    include!(concat!(env!("OUT_DIR"), "/dis_records_client.rs"));
}

pub use client::*;
