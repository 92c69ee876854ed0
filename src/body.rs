//! The serializers of a SendRecords request, registered in one place: the generated
//! `types::PutRecordsRequest` written as JSON (serde, exactly as the spec's types say; sonic-rs
//! writes the bytes serde_json would, with SIMD string escaping) or as
//! protobuf (converted into the messages of `openapi/dis-records.proto`, as Huawei's
//! hand-written SDKs send it).

use prost::Message as _;

use crate::generated::types;
use crate::proto;

/// How request bodies are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyFormat {
    /// `application/json`, as the DIS API document describes it (the default).
    #[default]
    Json,
    /// `application/x-protobuf`, as Huawei's hand-written SDKs can send it: record data travels
    /// as raw bytes, a third smaller than Base64 and with nothing to encode. With AK/SK the
    /// signature covers the body, as Huawei's hand-written DIS SDK signs it (Huawei's v3 signer
    /// would send it as `UNSIGNED-PAYLOAD`, uncovered; see
    /// [`DisClientBuilder::sign_every_body`](crate::DisClientBuilder::sign_every_body)).
    Protobuf,
}

impl BodyFormat {
    /// The request's `Content-Type` (and what the answer is asked for in `Accept`).
    pub fn content_type(self) -> &'static str {
        match self {
            BodyFormat::Json => "application/json",
            BodyFormat::Protobuf => "application/x-protobuf; charset=utf-8",
        }
    }

    /// Appends `request`, written in this format, to `out`.
    pub fn encode(self, request: &types::PutRecordsRequest, out: &mut Vec<u8>) {
        match self {
            // sonic-rs writes what serde_json writes (src/body_tests.rs), escaping with SIMD.
            BodyFormat::Json => sonic_rs::to_writer(out, request)
                .expect("the generated request serializes into a Vec"),
            BodyFormat::Protobuf => proto::PutRecordsRequest::from(request)
                .encode(out)
                .expect("encoding into a Vec cannot run out of room"),
        }
    }
}
