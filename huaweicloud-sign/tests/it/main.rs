//! huaweicloud-sign's integration tests.
//!
//! One binary for these files (a module each): every test binary links the whole dependency
//! graph, so one link here instead of one per file. `cargo test --test it <module>::` runs one.

mod java_sdk;
mod legacy;
mod sdk_date;
mod sdk_hmac_sha256;
