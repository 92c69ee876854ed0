//! The client progenitor generates from `openapi/dis-records.yaml` (see `build.rs`).
//! Nothing here is written by hand: edit the spec and run `cargo build`.
#![allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]

include!(concat!(env!("OUT_DIR"), "/dis_records_client.rs"));
