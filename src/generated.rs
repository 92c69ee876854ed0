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

// progenitor's hooks, wired to the hand-written layer (`src/ext.rs`): every request gets its
// credentials before each try, every answer is read within bounds and its head noted, and an
// answer out of bounds is an error.
impl progenitor_client::ClientHooks<Context> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), Error<E>> {
        self.inner().prepare(request).map_err(Error::Custom)
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), Error<E>> {
        match result
            .as_ref()
            .ok()
            .and_then(|r| r.extensions().get::<crate::ext::Unreadable>())
        {
            Some(unreadable) => Err(Error::Custom(unreadable.0.clone())),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        self.inner()
            .execute(self.client(), request, info.operation_id)
            .await
    }
}
