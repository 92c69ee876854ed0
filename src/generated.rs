//! The low-level, spec-exact layer: the client progenitor generates from
//! `openapi/dis-records.yaml` (see `build.rs`), with its request and response types, and
//! progenitor's `Error`, `ResponseValue` and `ClientInfo`, so that calling it needs no other
//! dependency.
//!
//! [`Client::send_records`] sends a [`types::PutRecordsRequest`] as the spec describes it and
//! returns progenitor's [`ResponseValue`] or [`Error`]; it does not check DIS limits, pair
//! results with records or retry (except, as every request of the crate, once after a 401 to a
//! provider's credentials, with a new set). Get a ready client, with its credentials, from
//! [`DisClient::generated`](crate::DisClient::generated). Nothing in the included code is
//! written by hand: edit the spec and run `cargo build`.

pub use crate::ext::{Base64Data, Context};

use crate::transport::{self, Cut, Unsent};

#[allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]
mod client {
    include!(concat!(env!("OUT_DIR"), "/dis_records_client.rs"));
}

pub use client::*;

/// The credentials could not be put on a request of the generated client (nothing more was
/// sent): the exec hook hands this to the post hook, which makes it the call's error.
#[derive(Clone)]
struct NotSent(crate::error::Error);

// progenitor's hooks, wired to the hand-written layer: every request goes out through the
// pipeline the rest of the crate uses (`src/transport.rs`): the credentials put on before each
// try, a 401 to a provider's credentials answered by one refresh and one resend, the answer
// read within bounds; an answer cut at its bound is an error.
impl progenitor_client::ClientHooks<Context> for Client {
    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), Error<E>> {
        let Ok(response) = result else {
            return Ok(());
        };
        if let Some(NotSent(e)) = response.extensions().get::<NotSent>() {
            return Err(Error::Custom(e.to_string()));
        }
        match response.extensions().get::<Cut>() {
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
        let context = self.inner();
        match transport::send(self.client(), &context.auth, request, context.limits).await {
            Ok(answer) => Ok(answer.into_response()),
            Err(Unsent::Transport(e)) => Err(e),
            Err(Unsent::Credentials(e)) => {
                // Only a carrier: the post hook turns it into the error before it is read.
                let mut carrier = http::Response::new(Vec::<u8>::new());
                carrier.extensions_mut().insert(NotSent(e));
                Ok(reqwest::Response::from(carrier))
            }
        }
    }
}
