//! The `dis-records` command's integration tests.
//!
//! One binary for these files (a module each): every test binary links the whole dependency
//! graph, so one link here instead of one per file. `cargo test --test it <module>::` runs one.

#[path = "../support/mod.rs"]
mod support;

mod command;
mod follow_guards;
mod follow_kill;
mod follow_rotation;
mod follow_scenarios;
mod local;
mod metrics;
mod send;
mod tls;
