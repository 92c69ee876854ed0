//! TEMPORARY stub: replaced by the real signer (helper is writing it). Not to be committed.
#![allow(missing_docs, unused)]
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub struct SignableRequest<'a> { pub method: &'a str, pub path: &'a str, pub query: &'a str, pub headers: Vec<(String, String)>, pub body: &'a [u8] }
pub struct SignatureParts { pub canonical_request: String, pub string_to_sign: String, pub signed_headers: String, pub signature: String, pub authorization: String }
pub fn sign(req: &SignableRequest<'_>, ak: &str, sk: &str) -> SignatureParts { todo!() }
pub fn format_sdk_date(t: std::time::SystemTime) -> String { todo!() }
pub fn host_header(scheme: &str, host: &str, port: Option<u16>) -> String { todo!() }
