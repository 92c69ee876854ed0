//! AK/SK round trip: the client signs, the local endpoint verifies; tampering with the body, a
//! signed header, the path or the date makes the endpoint refuse with HTTP 441.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dis_records::auth::Auth;
use dis_records::hooks::authenticate;
use dis_records::local::{LocalConfig, LocalDis};
use dis_records::{Credentials, DisClient, Error, Record};

const AK: &str = "AKROUNDTRIP000000000";
const SK: &str = "sk-round-trip-secret";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

async fn server(accept_token: bool) -> LocalDis {
    let config = LocalConfig {
        aksk: Some((AK.into(), SK.into())),
        accept_token,
        token: Some("the-token".into()),
        ..LocalConfig::default()
    };
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn signed_client(endpoint: &str, sk: &str, skew: i64) -> DisClient {
    let clock = Arc::new(move || {
        let now = SystemTime::now();
        if skew >= 0 {
            now + Duration::from_secs(skew as u64)
        } else {
            now - Duration::from_secs((-skew) as u64)
        }
    });
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
        .send(
            "newstream",
            &[Record::from_slice("signed"), Record::from_slice("twice")],
        )
        .await
        .unwrap();
    assert!(outcome.results.iter().all(|r| r.is_stored()));
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
            .send("newstream", &[Record::from_slice("x")])
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
        .send("newstream", &[Record::from_slice("x")])
        .await
        .unwrap();
    assert_eq!(s.records("newstream").unwrap().len(), 1);
}

/// Signs a request exactly as the client does (the same hook), then lets `tamper` change it.
async fn send_tampered(s: &LocalDis, tamper: impl FnOnce(&mut reqwest::Request)) -> u16 {
    let body = br#"{"stream_name":"newstream","records":[{"data":"ZGF0YQ=="}]}"#.to_vec();
    let url = format!("{}/v2/{PROJECT}/records", s.endpoint());
    dis_records::ext::ensure_crypto_provider();
    let http = reqwest::Client::new();
    let mut req = http
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .build()
        .unwrap();
    authenticate(&Auth::new(Credentials::aksk(AK, SK), PROJECT), &mut req).unwrap();
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
        let d = r.headers()["x-sdk-date"].to_str().unwrap().to_owned();
        // One second later: still fresh, but no longer what was signed.
        let t = dis_records::sign::parse_sdk_date(&d).unwrap() + Duration::from_secs(1);
        r.headers_mut().insert(
            "x-sdk-date",
            dis_records::sign::format_sdk_date(t).parse().unwrap(),
        );
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
    DisClient::with_token(s.endpoint(), PROJECT, "the-token")
        .unwrap()
        .send("newstream", &[Record::from_slice("x")])
        .await
        .unwrap();
    let err = DisClient::with_token(s.endpoint(), PROJECT, "wrong-token")
        .unwrap()
        .send("newstream", &[Record::from_slice("x")])
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(401) | Some(441)), "{err:?}");
    let refused = server(false).await;
    let err = DisClient::with_token(refused.endpoint(), PROJECT, "the-token")
        .unwrap()
        .send("newstream", &[Record::from_slice("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(err.status(), Some(401) | Some(441)),
        "tokens off: {err:?}"
    );
}
