//! Huawei's hand-written Java DIS SDK (`huaweicloud-sdk-java-dis` 1.3.21, `DefaultSigner`)
//! against the legacy verifier, on requests that SDK signed and sent
//! (`fixtures/java_sdk_signatures.json`, written by `scripts/interop-huawei-java.sh --vectors`):
//! putRecords with JSON and protobuf bodies, plain and compressed (lz4, snappy, zstd).
//!
//! The Java SDK signs `SDK-HMAC-SHA256 Credential=...` over every header it sets, the
//! compression headers among them, and over the compressed body; it writes the canonical
//! headers sorted by name, so `accept` comes before `accept-encoding` where the Python SDK's
//! whole-line sort puts it after. Each vector verifies as received, and not once its body or a
//! signed header is changed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use huaweicloud_sign::SignableRequest;
use huaweicloud_sign::legacy::{self, Algorithm};
use serde_json::Value;

const FIXTURE: &str = include_str!("../fixtures/java_sdk_signatures.json");

struct Vector {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Vector {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn name(&self) -> String {
        format!(
            "{} {}",
            self.header("content-type").unwrap_or("?"),
            self.header("content-encoding").unwrap_or("plain")
        )
    }

    fn request<'a>(
        &'a self,
        headers: Vec<(String, String)>,
        body: &'a [u8],
    ) -> SignableRequest<'a> {
        let (path, query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        SignableRequest {
            method: "POST",
            path,
            query,
            headers,
            body,
        }
    }
}

fn fixture() -> (String, String, Vec<Vector>) {
    let all: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    let text = |v: &Value| v.as_str().expect("string").to_owned();
    let vectors = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| Vector {
            target: text(&v["target"]),
            headers: v["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| (text(&h[0]), text(&h[1])))
                .collect(),
            body: B64.decode(text(&v["body_base64"])).expect("Base64 body"),
        })
        .collect::<Vec<_>>();
    (text(&all["ak"]), text(&all["sk"]), vectors)
}

#[test]
fn the_fixture_has_every_body_format_and_codec() {
    let (_, _, vectors) = fixture();
    for format in ["application/json", "application/x-protobuf"] {
        for codec in [None, Some("lz4"), Some("snappy"), Some("zstd")] {
            assert!(
                vectors.iter().any(|v| {
                    v.header("content-type").unwrap().starts_with(format)
                        && v.header("content-encoding") == codec
                }),
                "{format} {codec:?}"
            );
        }
    }
}

#[test]
fn every_java_vector_verifies_as_received() {
    let (ak, sk, vectors) = fixture();
    for v in &vectors {
        let auth = legacy::parse_authorization(v.header("authorization").unwrap()).unwrap();
        assert_eq!(auth.algorithm, Algorithm::Sdk, "{}", v.name());
        assert_eq!(auth.access, ak);
        // Every header the SDK set is signed, the compression headers too.
        for name in [
            "accept",
            "content-type",
            "host",
            "x-project-id",
            "x-sdk-date",
        ] {
            assert!(
                auth.signed_headers.iter().any(|h| h == name),
                "{}",
                v.name()
            );
        }
        if let Some(codec) = v.header("content-encoding") {
            for name in ["accept-encoding", "content-encoding"] {
                assert!(
                    auth.signed_headers.iter().any(|h| h == name),
                    "{}",
                    v.name()
                );
            }
            if codec != "snappy" {
                let length = format!("x-dis-{codec}-content-length");
                assert!(auth.signed_headers.contains(&length), "{}", v.name());
            }
        }
        let request = v.request(v.headers.clone(), &v.body);
        assert!(legacy::verify(&request, &auth, &sk), "{}", v.name());
    }
}

#[test]
fn tampered_java_vectors_do_not_verify() {
    let (_, sk, vectors) = fixture();
    for v in &vectors {
        let auth = legacy::parse_authorization(v.header("authorization").unwrap()).unwrap();
        // The body as sent (compressed) is signed: one byte changed fails.
        let mut body = v.body.clone();
        *body.last_mut().unwrap() ^= 1;
        assert!(
            !legacy::verify(&v.request(v.headers.clone(), &body), &auth, &sk),
            "{}: body",
            v.name()
        );
        // So is every header it set: another Content-Encoding or Accept fails.
        for name in ["content-encoding", "accept"] {
            let mut headers = v.headers.clone();
            let present = headers.iter_mut().find(|h| h.0.eq_ignore_ascii_case(name));
            let Some(h) = present else { continue };
            h.1.push('x');
            assert!(
                !legacy::verify(&v.request(headers, &v.body), &auth, &sk),
                "{}: {name}",
                v.name()
            );
        }
    }
}
