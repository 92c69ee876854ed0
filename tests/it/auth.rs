//! AK/SK signing through the generated client's hook, secrets kept out of every Debug/Display
//! output and trace, and credentials that never follow a redirect. (Reading credentials from
//! the environment is unit-tested in `src/credentials/env.rs`, the sensitive header flags in
//! `src/auth.rs`.)

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use dis_records::{Credentials, DisClient, Record};
use huaweicloud_sign::{self as sign, SignableRequest};
use support::{CannedServer, json_response};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const AK: &str = "AKTESTEXAMPLE00000000";
const SK: &str = "skTestExampleSecretKey0000000000000000000";
/// The metadata service's answer, with secrets in it.
const METADATA_ANSWER: &str = r#"{"credential":{"access":"METAAK","secret":"SECRET-META-SK","securitytoken":"SECRET-META-ST","expires_at":"2099-01-01T00:00:00.000000Z"}}"#;
const OK_ONE: &str = r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"0"}]}"#;

/// A clock that starts at 2024-01-02T03:04:05Z and moves one minute per reading.
fn stepping_clock() -> impl Fn() -> SystemTime + Send + Sync + 'static {
    let n = Arc::new(AtomicU64::new(0));
    move || {
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_704_164_645 + 60 * n.fetch_add(1, Ordering::SeqCst))
    }
}

fn signable(req: &support::Captured) -> SignableRequest<'_> {
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    SignableRequest {
        method: &req.method,
        path,
        query,
        headers: req.headers.clone(),
        body: &req.body,
    }
}

#[tokio::test]
async fn every_request_is_signed_afresh_over_what_goes_on_the_wire() {
    let server = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    let client = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::temporary(AK, SK, "SECURITY-TOKEN-VALUE"))
        .clock(stepping_clock())
        .build()
        .unwrap();
    for _ in 0..2 {
        client
            .send("newstream", &[Record::new("data")])
            .await
            .unwrap();
    }
    let reqs = server.requests();
    assert_eq!(reqs[0].header("x-sdk-date"), Some("20240102T030405Z"));
    assert_eq!(reqs[1].header("x-sdk-date"), Some("20240102T030505Z"));
    assert_eq!(reqs[0].header("x-project-id"), Some(PROJECT));
    assert_eq!(
        reqs[0].header("x-security-token"),
        Some("SECURITY-TOKEN-VALUE")
    );
    assert_eq!(reqs[0].header("x-auth-token"), None);
    let port = server.endpoint.rsplit(':').next().unwrap();
    assert_eq!(
        reqs[0].header("host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    for req in &reqs {
        let auth = req.header("authorization").unwrap();
        let parsed = sign::parse_authorization(auth).expect("SDK-HMAC-SHA256 header");
        assert_eq!(parsed.access, AK);
        // Every header the generated client sent is signed, progenitor's own included.
        for name in [
            "accept",
            "api-version",
            "content-type",
            "host",
            "x-project-id",
            "x-sdk-date",
            "x-security-token",
        ] {
            assert!(
                parsed.signed_headers.iter().any(|h| h == name),
                "{name} not signed: {auth}"
            );
        }
        assert!(
            sign::verify(&signable(req), &parsed, SK),
            "signature verifies"
        );
        // Tampering with the body, a signed header or the path breaks it.
        let mut body = req.body.clone();
        body[5] ^= 1;
        let tampered = SignableRequest {
            body: &body,
            ..signable(req)
        };
        assert!(!sign::verify(&tampered, &parsed, SK));
        let mut headers = req.headers.clone();
        for (n, v) in headers.iter_mut() {
            if n == "x-project-id" {
                v.push('0');
            }
        }
        assert!(!sign::verify(
            &SignableRequest {
                headers,
                ..signable(req)
            },
            &parsed,
            SK
        ));
        assert!(!sign::verify(
            &SignableRequest {
                path: "/v2/other/records",
                ..signable(req)
            },
            &parsed,
            SK
        ));
        assert!(!sign::verify(&signable(req), &parsed, "wrong-sk"));
    }
    assert_ne!(
        reqs[0].header("authorization"),
        reqs[1].header("authorization")
    );
}

#[test]
fn secrets_never_appear_in_debug_or_display() {
    let secrets = [
        "SECRET-SK-VALUE",
        "SECRET-SECURITY-TOKEN",
        "SECRET-IAM-TOKEN",
        "SECRET-IAM-PASSWORD",
    ];
    let creds = [
        Credentials::temporary("AKVISIBLE", secrets[0], secrets[1]),
        Credentials::token(secrets[2]),
        Credentials::iam_password("http://127.0.0.1:9", "acme", "alice", secrets[3]).unwrap(),
    ];
    for c in creds {
        let client = DisClient::builder("http://127.0.0.1:9", PROJECT)
            .credentials(c.clone())
            .build()
            .unwrap();
        let builder = DisClient::builder("http://127.0.0.1:9", PROJECT).credentials(c.clone());
        let outputs = [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{client:?}"),
            format!("{client:#?}"),
            format!("{:?}", client.generated()),
            format!("{builder:?}"),
        ];
        for out in &outputs {
            for s in secrets {
                assert!(!out.contains(s), "{s} leaked in {out}");
            }
        }
        assert!(outputs[0].contains("REDACTED") || outputs[0].contains("Provided"));
    }
}

#[test]
fn traces_carry_request_details_but_never_secrets() {
    use std::sync::Mutex;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = CannedServer::start(|req| {
                if req.path.starts_with("/openstack/") {
                    json_response(200, METADATA_ANSWER)
                } else if req.path.starts_with("/meta-data/") {
                    json_response(200, "SECRET-SESSION")
                } else {
                    json_response(200, OK_ONE)
                }
            })
            .await;
            for creds in [
                Credentials::token("SECRET-IAM-TOKEN"),
                Credentials::temporary(AK, "SECRET-SK", "SECRET-ST"),
                Credentials::ecs_metadata_at(&server.endpoint).unwrap(),
            ] {
                let client = DisClient::builder(&server.endpoint, PROJECT)
                    .credentials(creds)
                    .build()
                    .unwrap();
                let producer = dis_records::Producer::new(
                    client,
                    "traced-stream",
                    dis_records::ProducerConfig::default(),
                )
                .unwrap();
                let s = producer.send_all([Record::new("x")], |_| {}).await;
                assert_eq!(s.acknowledged, 1);
            }
        });
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "dis.put_records",
        "stream=\"traced-stream\"",
        "records=1",
        "request_id=\"req-0123\"",
        "status=200",
        "attempt=1",
    ] {
        assert!(text.contains(expected), "{expected} not traced:\n{text}");
    }
    assert!(text.contains("credentials obtained"), "{text}");
    for secret in [
        "SECRET-IAM-TOKEN",
        "SECRET-SK",
        "SECRET-ST",
        "SECRET-META-SK",
        "SECRET-META-ST",
        "SECRET-SESSION",
    ] {
        assert!(!text.contains(secret), "{secret} in the traces:\n{text}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_stay_home() {
    let elsewhere = CannedServer::start(|_| json_response(200, OK_ONE)).await;
    let target = format!(
        "{}/v2/{PROJECT}/records",
        elsewhere.endpoint.replace("127.0.0.1", "localhost")
    );
    let server =
        CannedServer::start(move |_| support::response(307, &[("location", target.as_str())], ""))
            .await;
    for creds in [
        Credentials::token("SECRET-IAM-TOKEN"),
        Credentials::temporary(AK, SK, "SECRET-ST"),
    ] {
        let client = DisClient::builder(&server.endpoint, PROJECT)
            .credentials(creds)
            .build()
            .unwrap();
        let err = client.send("s", &[Record::new("x")]).await.unwrap_err();
        assert_eq!(err.status(), Some(307), "{err:?}");
    }
    assert_eq!(server.requests().len(), 2);
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
}
