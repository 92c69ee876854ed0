//! dis-local's integration tests (the memory and timing ones keep binaries of their own).
//!
//! One binary for these files (a module each): every test binary links the whole dependency
//! graph, so one link here instead of one per file. `cargo test --test it <module>::` runs one.

#[path = "../support/mod.rs"]
mod support;

mod describe;
mod local_endpoint;
mod partition_table;
mod protobuf;
mod quotas;
mod token_scope;
