//! AK/SK round trip: the client signs, the local endpoint verifies; tampering with the body, a
//! signed header, the path or the date makes the endpoint refuse with HTTP 441.

use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use dis_local::{LocalConfig, LocalDis};
use dis_records::{Credentials, DisClient, Error, Record};
use support::{CannedServer, json_response};

const AK: &str = "AKROUNDTRIP000000000";
const SK: &str = "sk-round-trip-secret";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

async fn server(accept_token: bool) -> LocalDis {
    let config = LocalConfig::default()
        .with_aksk(AK, SK)
        .with_accept_token(accept_token)
        .with_token("the-token");
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn signed_client(endpoint: &str, sk: &str, skew: i64) -> DisClient {
    let clock = move || {
        let now = SystemTime::now();
        if skew >= 0 {
            now + Duration::from_secs(skew as u64)
        } else {
            now - Duration::from_secs((-skew) as u64)
        }
    };
    DisClient::builder(endpoint, PROJECT)
        .credentials(Credentials::aksk(AK, sk))
        .clock(clock)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_client_signs_and_the_endpoint_verifies() {
    let s = server(false).await;
    let outcome = signed_client(&s.endpoint(), SK, 0)
        .send("newstream", &[Record::new("signed"), Record::new("twice")])
        .await
        .unwrap();
    assert!(
        outcome
            .results
            .iter()
            .all(|r| matches!(r, dis_records::RecordResult::Stored { .. }))
    );
    assert_eq!(s.records("newstream").unwrap().len(), 2);
}

#[tokio::test]
async fn wrong_key_or_stale_date_is_refused_with_441() {
    let s = server(false).await;
    for (client, why) in [
        (signed_client(&s.endpoint(), "not-the-sk", 0), "wrong SK"),
        (
            signed_client(&s.endpoint(), SK, -20 * 60),
            "20 minutes slow",
        ),
        (signed_client(&s.endpoint(), SK, 16 * 60), "16 minutes fast"),
    ] {
        let err = client
            .send("newstream", &[Record::new("x")])
            .await
            .unwrap_err();
        match &err {
            Error::Dis {
                status: 441,
                code: Some(code),
                ..
            } => {
                assert!(code.starts_with("DIS.41"), "{why}: {code}")
            }
            other => panic!("{why}: {other:?}"),
        }
        assert!(!err.to_string().contains(SK), "{why}: the SK leaked");
    }
    // Within 15 minutes is fine.
    signed_client(&s.endpoint(), SK, -10 * 60)
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap();
    assert_eq!(s.records("newstream").unwrap().len(), 1);
}

/// Lets the client sign a request as it always does, captures it on the wire (a loopback
/// server that records it), lets `tamper` change it, and replays it to the endpoint.
async fn send_tampered(s: &LocalDis, tamper: impl FnOnce(&mut reqwest::Request)) -> u16 {
    const OK: &str = r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"0"}]}"#;
    let capture = CannedServer::start(|_| json_response(200, OK)).await;
    DisClient::builder(&capture.endpoint, PROJECT)
        .credentials(Credentials::aksk(AK, SK))
        .build()
        .unwrap()
        .send("newstream", &[Record::new("data")])
        .await
        .unwrap();
    let sent = capture.requests().remove(0);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let url = format!("{}{}", s.endpoint(), sent.path);
    let mut req = http.post(&url).body(sent.body.clone()).build().unwrap();
    for (name, value) in &sent.headers {
        if name != "content-length" {
            // The signed Host header (the capturing server's) goes as it was signed.
            req.headers_mut().append(
                name.parse::<reqwest::header::HeaderName>().unwrap(),
                value.parse().unwrap(),
            );
        }
    }
    tamper(&mut req);
    http.execute(req).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn tampering_after_signing_is_refused() {
    let s = server(false).await;
    assert_eq!(send_tampered(&s, |_| {}).await, 200, "untouched passes");
    let body = |r: &mut reqwest::Request| {
        *r.body_mut() = Some(
            br#"{"stream_name":"newstream","records":[{"data":"ZGF0YR=="}]}"#
                .to_vec()
                .into(),
        )
    };
    let header = |r: &mut reqwest::Request| {
        r.headers_mut().insert(
            "x-project-id",
            "ffffffffffffffffffffffffffffffff".parse().unwrap(),
        );
    };
    let path = |r: &mut reqwest::Request| {
        let u = r.url().as_str().replace(PROJECT, "another-project");
        *r.url_mut() = u.parse().unwrap();
    };
    let date = |r: &mut reqwest::Request| {
        let mut d = r.headers()["x-sdk-date"].to_str().unwrap().to_owned();
        // One second off (the last digit of the seconds): still fresh, but not what was signed.
        let last = d.as_bytes()[14];
        let other = if last == b'9' {
            '8'
        } else {
            (last + 1) as char
        };
        d.replace_range(14..15, &other.to_string());
        assert!(huaweicloud_sign::parse_sdk_date(&d).is_some(), "{d}");
        r.headers_mut().insert("x-sdk-date", d.parse().unwrap());
    };
    let unsigned = |r: &mut reqwest::Request| {
        r.headers_mut().remove("authorization");
    };
    assert_eq!(send_tampered(&s, body).await, 441, "body");
    assert_eq!(send_tampered(&s, header).await, 441, "signed header");
    assert_eq!(send_tampered(&s, path).await, 441, "path");
    assert_eq!(send_tampered(&s, date).await, 441, "date");
    assert_eq!(send_tampered(&s, unsigned).await, 441, "no signature");
    assert_eq!(
        s.records("newstream").unwrap().len(),
        1,
        "only the untouched request stored"
    );
}

#[tokio::test]
async fn a_token_is_still_accepted_when_configured() {
    let s = server(true).await;
    token_client(&s.endpoint(), "the-token")
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap();
    let err = token_client(&s.endpoint(), "wrong-token")
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(401) | Some(441)), "{err:?}");
    let refused = server(false).await;
    let err = token_client(&refused.endpoint(), "the-token")
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(err.status(), Some(401) | Some(441)),
        "tokens off: {err:?}"
    );
}

fn token_client(endpoint: &str, token: &str) -> DisClient {
    DisClient::builder(endpoint, PROJECT)
        .credentials(Credentials::token(token))
        .build()
        .unwrap()
}
