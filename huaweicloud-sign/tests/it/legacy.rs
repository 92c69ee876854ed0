//! The hand-written Python DIS SDK's schemes (`V11-HMAC-SHA256 Credential=...` and
//! `SDK-HMAC-SHA256 Credential=...`) against requests that SDK signed and sent
//! (`fixtures/handwritten_sdk_signatures.json`, written by `scripts/interop-huawei-sdk.sh
//! --vectors`): signing them again gives the SDK's `Authorization` byte for byte, and they
//! verify as received, not once tampered with. The clock is pinned by the vectors' own
//! `X-Sdk-Date`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use huaweicloud_sign::legacy::{self, Algorithm, CredentialAuthorization};
use huaweicloud_sign::{SignableRequest, format_sdk_date, parse_authorization, parse_sdk_date};
use serde_json::Value;

const FIXTURE: &str = include_str!("../fixtures/handwritten_sdk_signatures.json");

/// One request as the capturing server received it.
struct Vector {
    name: String,
    signer: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Vector {
    fn header(&self, name: &str) -> &str {
        &self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("{}: no {name}", self.name))
            .1
    }

    fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }

    /// The request as received: every header, `Host` with the capturing server's port.
    fn received(&self) -> SignableRequest<'_> {
        let (path, query) = self.path_and_query();
        SignableRequest {
            method: &self.method,
            path,
            query,
            headers: self.headers.clone(),
            body: &self.body,
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self.signer.as_str() {
            "v11" => Algorithm::V11,
            "sdk" => Algorithm::Sdk,
            other => panic!("{}: signer {other}", self.name),
        }
    }

    fn parsed(&self) -> CredentialAuthorization {
        legacy::parse_authorization(self.header("authorization")).expect("Credential= header")
    }
}

struct Fixture {
    ak: String,
    sk: String,
    region: String,
    vectors: Vec<Vector>,
}

fn fixture() -> Fixture {
    let all: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    let text = |v: &Value| v.as_str().expect("string").to_owned();
    let vectors = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| Vector {
            name: text(&v["name"]),
            signer: text(&v["signer"]),
            method: text(&v["method"]),
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
    assert!(vectors.len() >= 4, "{} vectors", vectors.len());
    Fixture {
        ak: text(&all["ak"]),
        sk: text(&all["sk"]),
        region: text(&all["region"]),
        vectors,
    }
}

fn set(headers: &mut [(String, String)], name: &str, value: &str) {
    for h in headers
        .iter_mut()
        .filter(|h| h.0.eq_ignore_ascii_case(name))
    {
        h.1 = value.to_owned();
    }
}

#[test]
fn the_fixture_has_both_schemes() {
    let f = fixture();
    for (signer, name) in [("v11", "V11-HMAC-SHA256 "), ("sdk", "SDK-HMAC-SHA256 ")] {
        let of_signer: Vec<&Vector> = f.vectors.iter().filter(|v| v.signer == signer).collect();
        assert!(of_signer.len() >= 2, "{signer}");
        for v in of_signer {
            assert!(v.header("authorization").starts_with(name), "{}", v.name);
            assert_eq!(v.parsed().algorithm, v.algorithm(), "{}", v.name);
        }
    }
    assert!(f.vectors.iter().any(|v| v.target.contains('?')));
}

#[test]
fn every_vector_parses() {
    let f = fixture();
    for v in &f.vectors {
        let auth = v.parsed();
        assert_eq!(auth.access, f.ak, "{}", v.name);
        assert_eq!(auth.date, v.header("x-sdk-date")[..8], "{}", v.name);
        assert_eq!(auth.region, f.region, "{}", v.name);
        assert_eq!(auth.service, "dis", "{}", v.name);
        assert_eq!(auth.signed_headers, ["host", "x-sdk-date"], "{}", v.name);
        assert_eq!(auth.signature.len(), 64, "{}", v.name);
        // Not the v3 layout.
        assert_eq!(parse_authorization(v.header("authorization")), None);
    }
}

/// The SDK signs `host` (without the port) and `x-sdk-date`: signing the same request again
/// gives its `Authorization` byte for byte.
#[test]
fn signing_again_gives_the_sdks_authorization() {
    let f = fixture();
    for v in &f.vectors {
        let host = v.header("host").split(':').next().unwrap().to_owned();
        let (path, query) = v.path_and_query();
        let mut request = SignableRequest {
            method: &v.method,
            path,
            query,
            headers: vec![
                ("host".to_owned(), host),
                ("x-sdk-date".to_owned(), v.header("x-sdk-date").to_owned()),
            ],
            body: &v.body,
        };
        let signed = legacy::sign(&request, v.algorithm(), &f.ak, &f.sk, &f.region, "dis");
        assert_eq!(
            signed.as_deref(),
            Some(v.header("authorization")),
            "{}",
            v.name
        );
        // The path the SDK built for its query vector, dot segments and all, signs the same.
        let dotted = path.replace("/records/", "/./x/../records/");
        request.path = &dotted;
        let again = legacy::sign(&request, v.algorithm(), &f.ak, &f.sk, &f.region, "dis");
        assert_eq!(again, signed, "{}", v.name);
    }
}

#[test]
fn every_vector_verifies_as_received() {
    let f = fixture();
    for v in &f.vectors {
        let auth = v.parsed();
        // The Host header carries the port the SDK did not sign: verified with it cut off.
        assert!(v.header("host").contains(':'));
        assert!(legacy::verify(&v.received(), &auth, &f.sk), "{}", v.name);
    }
}

#[test]
fn tampered_vectors_do_not_verify() {
    let f = fixture();
    for v in &f.vectors {
        let auth = v.parsed();
        let refused = |request: &SignableRequest<'_>, auth: &CredentialAuthorization| {
            !legacy::verify(request, auth, &f.sk)
        };
        // The body is signed (its SHA-256): one byte changed fails.
        let mut body = v.body.clone();
        *body.last_mut().unwrap() ^= 1;
        let mut request = v.received();
        request.body = &body;
        assert!(refused(&request, &auth), "{}: body", v.name);
        // Another X-Sdk-Date than the one signed, on the same day.
        let at = parse_sdk_date(v.header("x-sdk-date")).unwrap();
        let later = format_sdk_date(at + std::time::Duration::from_secs(1));
        let mut request = v.received();
        set(&mut request.headers, "x-sdk-date", &later);
        assert!(refused(&request, &auth), "{}: date", v.name);
        // A date on another day than the scope's.
        let mut request = v.received();
        set(&mut request.headers, "x-sdk-date", "20200101T000000Z");
        assert!(refused(&request, &auth), "{}: day", v.name);
        // No X-Sdk-Date, no Host.
        let mut request = v.received();
        request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("x-sdk-date"));
        assert!(refused(&request, &auth), "{}: no date", v.name);
        let mut request = v.received();
        request
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        assert!(refused(&request, &auth), "{}: no host", v.name);
        // Another host, path, method or query.
        let mut request = v.received();
        set(&mut request.headers, "host", "127.0.0.2:1");
        assert!(refused(&request, &auth), "{}: host", v.name);
        let other_path = v
            .path_and_query()
            .0
            .replace("interop-project", "other-project");
        let mut request = v.received();
        request.path = &other_path;
        assert!(refused(&request, &auth), "{}: path", v.name);
        let mut request = v.received();
        request.method = "PUT";
        assert!(refused(&request, &auth), "{}: method", v.name);
        let mut request = v.received();
        request.query = "limit=11";
        assert!(refused(&request, &auth), "{}: query", v.name);
        // The other scheme's name, another region, another access key, a wrong secret key.
        let swapped = CredentialAuthorization {
            algorithm: match auth.algorithm {
                Algorithm::V11 => Algorithm::Sdk,
                Algorithm::Sdk => Algorithm::V11,
            },
            ..auth.clone()
        };
        assert!(refused(&v.received(), &swapped), "{}: scheme", v.name);
        let region = CredentialAuthorization {
            region: "cn-east-3".into(),
            ..auth.clone()
        };
        assert!(refused(&v.received(), &region), "{}: region", v.name);
        let access = CredentialAuthorization {
            access: "ANOTHERACCESSKEY".into(),
            ..auth.clone()
        };
        if auth.algorithm == Algorithm::V11 {
            // Only the V11 key is derived from the access key.
            assert!(refused(&v.received(), &access), "{}: access key", v.name);
        }
        assert!(
            !legacy::verify(&v.received(), &auth, "another-secret"),
            "{}: secret key",
            v.name
        );
        // The signature: one digit changed, not hex.
        let mut signature = auth.clone();
        let last = if signature.signature.ends_with('0') {
            "1"
        } else {
            "0"
        };
        signature.signature.replace_range(63..64, last);
        assert!(refused(&v.received(), &signature), "{}: signature", v.name);
        signature.signature = "zz".repeat(32);
        assert!(refused(&v.received(), &signature), "{}: not hex", v.name);
    }
}

/// Headers beyond the SDK's own two, an unsigned payload and an upper-case method round-trip
/// through sign and verify; the headers are signed sorted and lower-cased.
#[test]
fn sign_then_verify_with_more_headers() {
    let date = "20240102T030405Z";
    let body = b"\x0a\x03abc";
    let mut request = SignableRequest {
        method: "POST",
        path: "/v2/p/records/",
        query: "b=2&a=1",
        headers: vec![
            ("Host".into(), "dis.cn-north-4.myhuaweicloud.com".into()),
            ("X-Sdk-Date".into(), date.into()),
            ("Content-Type".into(), "application/x-protobuf".into()),
            ("X-Sdk-Content-Sha256".into(), "UNSIGNED-PAYLOAD".into()),
            ("Authorization".into(), "stale".into()),
        ],
        body,
    };
    for algorithm in [Algorithm::Sdk, Algorithm::V11] {
        let value = legacy::sign(&request, algorithm, "AK", "SK", "cn-north-4", "dis").unwrap();
        let auth = legacy::parse_authorization(&value).unwrap();
        assert_eq!(
            auth.signed_headers,
            ["content-type", "host", "x-sdk-content-sha256", "x-sdk-date"]
        );
        assert_eq!(auth.date, "20240102");
        assert!(legacy::verify(&request, &auth, "SK"), "{algorithm:?}");
        // The payload hash is the header's value: another body still verifies.
        let other = SignableRequest {
            body: b"other",
            ..request.clone()
        };
        assert!(legacy::verify(&other, &auth, "SK"), "{algorithm:?}");
    }
    // Without a valid X-Sdk-Date there is no scope date: no signature.
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-sdk-date"));
    assert_eq!(
        legacy::sign(&request, Algorithm::V11, "AK", "SK", "cn-north-4", "dis"),
        None
    );
    request
        .headers
        .push(("X-Sdk-Date".into(), "2024-01-02T03:04:05Z".into()));
    assert_eq!(
        legacy::sign(&request, Algorithm::Sdk, "AK", "SK", "cn-north-4", "dis"),
        None
    );
}

#[test]
fn algorithm_names() {
    for algorithm in [Algorithm::Sdk, Algorithm::V11] {
        assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
    }
    assert_eq!(Algorithm::Sdk.name(), "SDK-HMAC-SHA256");
    assert_eq!(Algorithm::V11.name(), "V11-HMAC-SHA256");
    assert_eq!(Algorithm::from_name("v11-hmac-sha256"), None);
}
