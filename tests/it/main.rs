//! dis-records' integration tests.
//!
//! One binary for these files (a module each): every test binary links the whole dependency
//! graph, so one link here instead of one per file. `cargo test --test it <module>::` runs one.

#[path = "../support/mod.rs"]
mod support;

mod aksk_roundtrip;
mod auth;
mod careless_callers;
mod client;
mod credentials;
mod ids;
mod learning;
mod lifecycle;
mod ordering;
mod producer;
mod protobuf;
mod protobuf_descriptors;
mod quotas;
mod spec;
mod wire;
