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

use crate::transport::{self, Cut};

#[allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]
mod client {
    include!(concat!(env!("OUT_DIR"), "/dis_records_client.rs"));
}

pub use client::*;

// progenitor's hooks, wired to the hand-written layer: every request gets its credentials
// before each try (`src/ext.rs`), and every answer is read within bounds by the transport the
// rest of the crate uses (`src/transport.rs`); an answer cut at its bound is an error.
impl progenitor_client::ClientHooks<Context> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), Error<E>> {
        self.inner()
            .prepare(request)
            .await
            .map_err(|e| Error::Custom(e.to_string()))
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), Error<E>> {
        let cut = result
            .as_ref()
            .ok()
            .and_then(|r| r.extensions().get::<Cut>());
        match cut {
            Some(Cut::TooLarge { cap }) => Err(Error::Custom(format!(
                "the answer is larger than {cap} bytes, the bound for this request; not read further"
            ))),
            _ => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        transport::read_within(self.client(), request, self.inner().limits)
            .await
            .map(transport::Answer::into_response)
    }
}
