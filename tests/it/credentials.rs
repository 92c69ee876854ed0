//! Credentials that expire: each provider against dis-local playing IAM, the metadata service
//! and pod identity with short lifetimes (refresh before expiry, no request refused), a 401
//! answered by one refresh and one resend (never a possible duplicate), a metadata outage
//! that records wait out, project ID discovery, and every bad answer a credential source can
//! give (a clear error, bounded in size and time, no secret in it).

use crate::support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dis_local::{LocalConfig, LocalDis, POD_IDENTITY_PATH};
use dis_records::{Credentials, Delivery, DisClient, Error, Producer, ProducerConfig, Record};
use support::{CannedServer, Captured, json_response, response};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "SECRET-PASSWORD-VALUE";
const POD_TOKEN: &str = "SECRET-POD-TOKEN-VALUE";

async fn local(config: LocalConfig) -> LocalDis {
    LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn iam_config(lifetime: Duration) -> LocalConfig {
    LocalConfig::default()
        .with_iam_user("acme", "alice", PASSWORD)
        .with_iam_project("cn-north-4", PROJECT)
        .with_metadata(true)
        .with_pod_identity_token(POD_TOKEN)
        .with_credential_lifetime(lifetime)
}

/// Sends a record every 20 ms for `run`, through a spawned producer; returns the outcomes.
async fn send_for(credentials: Credentials, endpoint: &str, run: Duration) -> Vec<Delivery> {
    send_timed(credentials, endpoint, run)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

/// [`send_for`], with the time each record took to its outcome.
async fn send_timed(
    credentials: Credentials,
    endpoint: &str,
    run: Duration,
) -> Vec<(Duration, Delivery)> {
    let client = DisClient::builder(endpoint, PROJECT)
        .credentials(credentials)
        .build()
        .unwrap();
    let config = ProducerConfig::default().with_time_limit(Duration::from_secs(30));
    let producer = Producer::new(client, "newstream", config).unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sent_at = Arc::new(Mutex::new(Vec::new()));
    let (kept, times) = (out.clone(), sent_at.clone());
    let handle = producer.spawn(move |d: Delivery| {
        let i: usize = String::from_utf8_lossy(&d.record.data)[7..]
            .parse()
            .unwrap();
        let took = times.lock().unwrap()[i];
        kept.lock().unwrap().push((Instant::now() - took, d));
    });
    let until = Instant::now() + run;
    let mut i = 0u64;
    while Instant::now() < until {
        sent_at.lock().unwrap().push(Instant::now());
        handle
            .send(Record::new(format!("record {i}")))
            .await
            .unwrap();
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.close(Duration::from_secs(60)).await;
    let out = std::mem::take(&mut *out.lock().unwrap());
    assert_eq!(out.len() as u64, i, "every record has an outcome");
    out
}

fn assert_all_delivered(deliveries: &[Delivery], dis: &LocalDis, what: &str) {
    let failed: Vec<_> = deliveries.iter().filter(|d| d.result.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{what}: {} failed: {:?}",
        failed.len(),
        failed.first().map(|d| &d.result)
    );
    assert!(deliveries.iter().all(|d| !d.maybe_duplicated()), "{what}");
    let stats = dis.stats();
    assert_eq!(stats.records_stored, deliveries.len() as u64, "{what}");
    assert_eq!(stats.refused_expired_credentials, 0, "{what}");
    assert_eq!(stats.refused_unknown_credentials, 0, "{what}");
}

#[tokio::test]
async fn each_provider_is_refreshed_before_expiry_and_no_request_is_refused() {
    let dis = local(iam_config(Duration::from_millis(1500))).await;
    let url = dis.endpoint();
    let dir = std::env::temp_dir().join(format!("dis-records-pod-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{POD_TOKEN}\n")).unwrap();
    let providers = [
        (
            "password",
            Credentials::iam_password(&url, "acme", "alice", PASSWORD).unwrap(),
        ),
        ("metadata", Credentials::ecs_metadata_at(&url).unwrap()),
        (
            "pod identity",
            Credentials::pod_identity_at(&format!("{url}{POD_IDENTITY_PATH}"), &token_file)
                .unwrap(),
        ),
    ];
    let mut issued_before = 0;
    let mut stored_before = 0;
    for (what, credentials) in providers {
        let deliveries = send_for(credentials, &url, Duration::from_secs(5)).await;
        let stats = dis.stats();
        let issued = stats.credentials_issued - issued_before;
        issued_before = stats.credentials_issued;
        // 5 s of 1.5 s credentials refreshed at half their life: about 7 sets.
        assert!(issued >= 5, "{what}: only {issued} credential sets in 5 s");
        let failed = deliveries.iter().filter(|d| d.result.is_err()).count();
        assert_eq!(failed, 0, "{what}");
        assert!(deliveries.iter().all(|d| !d.maybe_duplicated()), "{what}");
        assert_eq!(
            stats.records_stored - stored_before,
            deliveries.len() as u64,
            "{what}"
        );
        stored_before = stats.records_stored;
        assert_eq!(stats.refused_expired_credentials, 0, "{what}");
        assert_eq!(stats.refused_unknown_credentials, 0, "{what}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn records_sent_during_a_metadata_outage_are_delivered_once_it_recovers() {
    // Credentials live 1 s; the metadata service answers 500 from 1 s to 4 s after start.
    let config = iam_config(Duration::from_secs(1))
        .with_metadata_outage(Duration::from_secs(1), Duration::from_secs(3));
    let dis = local(config).await;
    let url = dis.endpoint();
    let timed = send_timed(
        Credentials::ecs_metadata_at(&url).unwrap(),
        &url,
        Duration::from_secs(5),
    )
    .await;
    let longest = timed.iter().map(|(t, _)| *t).max().unwrap();
    let deliveries: Vec<Delivery> = timed.into_iter().map(|(_, d)| d).collect();
    assert_all_delivered(&deliveries, &dis, "outage");
    // The credentials expired about 1.4 s in; records sent from then waited until 4 s.
    assert!(
        longest >= Duration::from_secs(2),
        "the longest wait was {longest:?}"
    );
}

/// A metadata service whose credentials DIS refuses with 401 `refusals` times.
async fn refusing(refusals: usize) -> (CannedServer, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let dis_calls = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let server = CannedServer::start(move |req: &Captured| {
        if req.path.starts_with("/meta-data/") {
            return response(404, &[], "");
        }
        if req.path.starts_with("/openstack/") {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let expires = "2099-01-01T00:00:00.000000Z";
            return json_response(
                200,
                &format!(
                    r#"{{"credential":{{"access":"AK{n}","secret":"SECRET-SK-{n}","securitytoken":"SECRET-ST-{n}","expires_at":"{expires}"}}}}"#
                ),
            );
        }
        if dis_calls.fetch_add(1, Ordering::SeqCst) < refusals {
            return response(
                401,
                &[("content-type", "application/json")],
                r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: the security token has expired"}"#,
            );
        }
        json_response(
            200,
            r#"{"failed_record_count":0,"records":[{"partition_id":"shardId-0000000000","sequence_number":"0"}]}"#,
        )
    })
    .await;
    (server, issued)
}

#[tokio::test]
async fn a_401_is_answered_by_one_refresh_and_one_resend() {
    let (server, issued) = refusing(1).await;
    let client = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::ecs_metadata_at(&server.endpoint).unwrap())
        .build()
        .unwrap();
    client.send("s", &[Record::new("x")]).await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2, "a new set after the 401");
    let sends: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v2/"))
        .collect();
    assert_eq!(sends.len(), 2);
    let access = |r: &Captured| {
        r.header("authorization")
            .unwrap()
            .split(", ")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        access(&sends[0]),
        access(&sends[1]),
        "signed with the new set"
    );
    assert_eq!(sends[0].body, sends[1].body);
}

#[tokio::test]
async fn a_second_401_fails_without_a_possible_duplicate() {
    let (server, issued) = refusing(usize::MAX).await;
    let client = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::ecs_metadata_at(&server.endpoint).unwrap())
        .build()
        .unwrap();
    let err = client.send("s", &[Record::new("x")]).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIGW.0301")),
        "{err}"
    );
    assert!(!err.maybe_duplicated());
    assert_eq!(issued.load(Ordering::SeqCst), 2, "refreshed once only");
    let producer = Producer::new(client, "s", ProducerConfig::default()).unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let kept = out.clone();
    let summary = producer
        .send_all([Record::new("y")], move |d| kept.lock().unwrap().push(d))
        .await;
    assert_eq!(summary.failed, 1);
    let d = &out.lock().unwrap()[0];
    assert!(!d.maybe_duplicated(), "{:?}", d.result);
    assert!(format!("{:?}", d.result).contains("security token has expired"));
}

#[tokio::test]
async fn static_credentials_are_not_resent_after_a_401() {
    let (server, _) = refusing(1).await;
    let client = DisClient::builder(&server.endpoint, PROJECT)
        .credentials(Credentials::temporary("AK", "SK", "ST"))
        .build()
        .unwrap();
    let err = client.send("s", &[Record::new("x")]).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.requests().len(), 1);
}

/// A temporary AK/SK set from dis-local's metadata path, as JSON.
async fn security_key(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(format!("{url}/openstack/latest/securitykey"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn dis_local_refuses_expired_and_unknown_credentials_with_401_and_counts_them() {
    let dis = local(iam_config(Duration::from_millis(300))).await;
    let url = dis.endpoint();
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{url}/v3/auth/tokens"))
        .body(format!(
            r#"{{"auth":{{"identity":{{"methods":["password"],"password":{{"user":{{"name":"alice","password":"{PASSWORD}","domain":{{"name":"acme"}}}}}}}},"scope":{{"project":{{"id":"{PROJECT}"}}}}}}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let token = token.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let send = |t: String| {
        let client = DisClient::builder(&url, PROJECT)
            .credentials(Credentials::token(t))
            .build()
            .unwrap();
        async move { client.send("newstream", &[Record::new("x")]).await }
    };
    send(token.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = send(token).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIGW.0307")),
        "{err}"
    );
    let err = send("never-issued".into()).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIGW.0301")),
        "{err}"
    );
    // A temporary AK/SK set past its time, signed correctly.
    let key = security_key(&http, &url).await;
    let c = &key["credential"];
    let other = security_key(&http, &url).await;
    // Valid, but with another set's security token.
    let client = DisClient::builder(&url, PROJECT)
        .credentials(Credentials::temporary(
            other["credential"]["access"].as_str().unwrap(),
            other["credential"]["secret"].as_str().unwrap(),
            c["securitytoken"].as_str().unwrap(),
        ))
        .build()
        .unwrap();
    let err = client
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIGW.0301")),
        "{err}"
    );
    let client = DisClient::builder(&url, PROJECT)
        .credentials(Credentials::temporary(
            c["access"].as_str().unwrap(),
            c["secret"].as_str().unwrap(),
            c["securitytoken"].as_str().unwrap(),
        ))
        .build()
        .unwrap();
    client.send("newstream", &[Record::new("x")]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = client
        .send("newstream", &[Record::new("x")])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("APIGW.0301")),
        "{err}"
    );
    let stats = dis.stats();
    assert_eq!(stats.refused_expired_credentials, 2);
    assert_eq!(stats.refused_unknown_credentials, 2);
    assert_eq!(stats.records_stored, 2);
}

#[tokio::test]
async fn the_project_id_is_looked_up_by_region_and_cached() {
    let config = LocalConfig::default()
        .with_iam_user("acme", "alice", PASSWORD)
        .with_iam_project("cn-north-4", PROJECT)
        .with_iam_project("twice", "aaaa")
        .with_iam_project("twice", "bbbb");
    let dis = local(config).await;
    let url = dis.endpoint();
    let credentials = Credentials::iam_password(&url, "acme", "alice", PASSWORD).unwrap();
    assert_eq!(
        credentials.project_id_at(&url, "cn-north-4").await.unwrap(),
        PROJECT
    );
    let issued = dis.stats().credentials_issued;
    assert_eq!(
        credentials
            .clone()
            .project_id_at(&url, "cn-north-4")
            .await
            .unwrap(),
        PROJECT
    );
    assert_eq!(dis.stats().credentials_issued, issued, "cached");
    for (region, says) in [
        ("cn-south-1", "0 projects named \"cn-south-1\""),
        ("twice", "2 projects named \"twice\""),
        ("bad/region", "region"),
    ] {
        let err = credentials.project_id_at(&url, region).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(says), "{text}");
        if region != "bad/region" {
            assert!(text.contains("set the project ID"), "{text}");
        }
    }
    // Signed with AK/SK from the metadata service, too.
    let dis = local(
        LocalConfig::default()
            .with_metadata(true)
            .with_iam_project("cn-north-4", PROJECT),
    )
    .await;
    let url = dis.endpoint();
    let credentials = Credentials::ecs_metadata_at(&url).unwrap();
    assert_eq!(
        credentials.project_id_at(&url, "cn-north-4").await.unwrap(),
        PROJECT
    );
    // Unsigned: refused.
    let err = Credentials::token("never-issued")
        .project_id_at(&url, "cn-north-4")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
}

/// Every bad answer of a metadata service: a clear error that names the problem, bounded in
/// time, never quoting a secret.
#[tokio::test]
async fn every_bad_metadata_answer_is_a_clear_error_without_secrets() {
    let good_expiry = "2099-01-01T00:00:00Z";
    let cred = |access: &str, secret: &str, token: &str, expires: &str| {
        format!(
            r#"{{"credential":{{"access":{access},"secret":{secret},"securitytoken":{token},"expires_at":{expires}}}}}"#
        )
    };
    let q = |s: &str| format!("\"{s}\"");
    let huge = "x".repeat(100 * 1024);
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            "500".into(),
            json_response(500, "boom"),
            "HTTP 500 (4-byte body, not quoted)",
        ),
        (
            "no agency".into(),
            json_response(401, "Please configure Cloud Service Agency first"),
            "no agency",
        ),
        (
            "redirect".into(),
            response(302, &[("location", "http://127.0.0.1:1/")], ""),
            "HTTP 302",
        ),
        (
            "not JSON".into(),
            json_response(200, "SECRET-SK-VALUE not json"),
            "not JSON",
        ),
        (
            "a string".into(),
            json_response(200, "\"SECRET-SK-VALUE\""),
            "not a JSON object",
        ),
        (
            "no secret".into(),
            json_response(
                200,
                &format!(
                    r#"{{"credential":{{"access":"AK","securitytoken":"SECRET-ST","expires_at":"{good_expiry}"}}}}"#
                ),
            ),
            "has no secret",
        ),
        (
            "secret a number".into(),
            json_response(
                200,
                &cred(&q("AK"), "12345", &q("SECRET-ST"), &q(good_expiry)),
            ),
            "secret is not a string",
        ),
        (
            "expired".into(),
            json_response(
                200,
                &cred(
                    &q("AK"),
                    &q("SECRET-SK-VALUE"),
                    &q("SECRET-ST"),
                    &q("2001-01-01T00:00:00Z"),
                ),
            ),
            "already expired",
        ),
        (
            "expiry unreadable".into(),
            json_response(
                200,
                &cred(
                    &q("AK"),
                    &q("SECRET-SK-VALUE"),
                    &q("SECRET-ST"),
                    &q("tomorrow"),
                ),
            ),
            "expires_at is not a UTC time",
        ),
        (
            "newline in the secret".into(),
            json_response(
                200,
                &cred(
                    &q("AK"),
                    &q("SECRET-SK-VALUE\\n"),
                    &q("SECRET-ST"),
                    &q(good_expiry),
                ),
            ),
            "sk character 16 is not printable ASCII",
        ),
        (
            "access key with a comma".into(),
            json_response(
                200,
                &cred(
                    &q("AK, Signature=0"),
                    &q("SECRET-SK-VALUE"),
                    &q("SECRET-ST"),
                    &q(good_expiry),
                ),
            ),
            "ak character 4",
        ),
        (
            "empty security token".into(),
            json_response(
                200,
                &cred(&q("AK"), &q("SECRET-SK-VALUE"), &q(""), &q(good_expiry)),
            ),
            "security_token must not be empty",
        ),
        (
            "huge".into(),
            json_response(200, &huge),
            "larger than 65536 bytes",
        ),
    ];
    for (name, answer, says) in cases {
        let answer = Arc::new(answer);
        let server = CannedServer::start(move |req: &Captured| {
            if req.path.starts_with("/meta-data/") {
                response(404, &[], "")
            } else {
                answer.as_ref().clone()
            }
        })
        .await;
        let credentials = Credentials::ecs_metadata_at(&server.endpoint).unwrap();
        let started = Instant::now();
        let err = credentials.ready().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "{name}");
        assert!(matches!(err, Error::Credentials { .. }), "{name}: {err:?}");
        let text = format!("{err} {err:?}");
        assert!(text.contains(says), "{name}: {text}");
        assert!(text.contains("ECS metadata"), "{name}: {text}");
        for secret in ["SECRET-SK-VALUE", "SECRET-ST"] {
            assert!(!text.contains(secret), "{name}: {secret} in {text}");
        }
    }
}

#[tokio::test]
async fn a_silent_credential_source_is_given_up_on_in_bounded_time() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts, reads, never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let started = Instant::now();
    let err = Credentials::ecs_metadata_at(&url)
        .unwrap()
        .ready()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(9), "{took:?}");
    assert!(
        err.to_string().contains("timed out") || err.to_string().contains("no whole answer"),
        "{err}"
    );
}

#[tokio::test]
async fn every_bad_password_login_answer_is_a_clear_error_without_secrets() {
    let long_token = "t".repeat(40 * 1024);
    let body = r#"{"token":{"expires_at":"2099-01-01T00:00:00.000000Z"}}"#;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            json_response(
                401,
                r#"{"error":{"code":401,"message":"The username or password is wrong."}}"#,
            ),
            "HTTP 401",
        ),
        (json_response(201, body), "without an X-Subject-Token"),
        (
            response(201, &[("x-subject-token", "SECRET-TOKEN")], "not json"),
            "not JSON",
        ),
        (
            response(
                201,
                &[("x-subject-token", "SECRET-TOKEN")],
                r#"{"token":{}}"#,
            ),
            "no token.expires_at",
        ),
        (
            response(
                201,
                &[("x-subject-token", "SECRET-TOKEN")],
                r#"{"token":{"expires_at":"2001-01-01T00:00:00Z"}}"#,
            ),
            "already expired",
        ),
        (
            response(201, &[("x-subject-token", long_token.as_str())], body),
            "more than 32768",
        ),
    ];
    for (answer, says) in cases {
        let answer = Arc::new(answer);
        let server = CannedServer::start(move |_| answer.as_ref().clone()).await;
        let credentials =
            Credentials::iam_password(&server.endpoint, "acme", "alice", PASSWORD).unwrap();
        let err = credentials.ready().await.unwrap_err();
        let text = format!("{err} {err:?} {credentials:?}");
        assert!(text.contains(says), "{text}");
        assert!(text.contains("IAM password token"), "{text}");
        assert!(
            !text.contains(PASSWORD) && !text.contains("SECRET-TOKEN"),
            "{text}"
        );
        // The password went in the body, nowhere else.
        let sent = &server.requests()[0];
        assert!(String::from_utf8_lossy(&sent.body).contains(PASSWORD));
        assert!(sent.headers.iter().all(|(_, v)| !v.contains(PASSWORD)));
    }
}

#[tokio::test]
async fn bad_pod_identity_token_files_are_clear_errors() {
    let dis = local(iam_config(Duration::from_secs(60))).await;
    let uri = format!("{}{POD_IDENTITY_PATH}", dis.endpoint());
    let dir = std::env::temp_dir().join(format!("dis-records-pod-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    for (file, says) in [
        (dir.join("missing"), "cannot be read"),
        (write("empty", b"\n"), "empty, or not printable"),
        (
            write("big", &vec![b'a'; 20 * 1024]),
            "larger than 16384 bytes",
        ),
        (write("wrong", b"SECRET-WRONG-TOKEN"), "HTTP 401"),
    ] {
        let err = Credentials::pod_identity_at(&uri, &file)
            .unwrap()
            .ready()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(says), "{text}");
        assert!(text.contains("pod identity"), "{text}");
        assert!(!text.contains("SECRET-WRONG-TOKEN"), "{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
    let _ = SystemTime::now();
}

/// Everything a subscriber writes, for tests that look for secrets in logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

/// Credential sources whose 400 page echoes the request (its body, then its headers), as
/// plain text and inside IAM's error shape: the error gives the status, the error code and
/// the body's length, and neither it nor the log quotes what was sent (the password, the pod
/// token, the metadata session token, the IAM token).
#[test]
fn an_error_answer_that_echoes_the_request_is_never_quoted() {
    const SESSION: &str = "SECRET-SESSION-TOKEN";
    const IAM_TOKEN: &str = "SECRET-IAM-TOKEN";
    let secrets = [PASSWORD, POD_TOKEN, SESSION, IAM_TOKEN];
    let log = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("dis-records-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, POD_TOKEN).unwrap();
    for iam_shape in [false, true] {
        let errors = rt.block_on(async {
            let server = CannedServer::start(move |req: &Captured| {
                if req.method == "PUT" && req.path.starts_with("/meta-data/") {
                    return response(200, &[], SESSION);
                }
                let headers: Vec<String> = req
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect();
                let echo = format!(
                    "Bad request: {} {}",
                    String::from_utf8_lossy(&req.body),
                    headers.join("; ")
                );
                if iam_shape {
                    let body = serde_json::json!({
                        "error": { "code": "IAM.0011", "message": echo, "title": echo }
                    });
                    json_response(400, &body.to_string())
                } else {
                    response(400, &[("content-type", "text/plain")], &echo)
                }
            })
            .await;
            let url = &server.endpoint;
            let mut errors = Vec::new();
            for credentials in [
                Credentials::iam_password(url, "acme", "alice", PASSWORD).unwrap(),
                Credentials::pod_identity_at(&format!("{url}/pod"), &token_file).unwrap(),
                Credentials::ecs_metadata_at(url).unwrap(),
            ] {
                errors.push(credentials.ready().await.unwrap_err());
            }
            errors.push(
                Credentials::token(IAM_TOKEN)
                    .project_id_at(url, "cn-north-4")
                    .await
                    .unwrap_err(),
            );
            // Each secret reached the server: the echo held it.
            let sent: String = server
                .requests()
                .iter()
                .map(|r| format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body)))
                .collect();
            for secret in secrets {
                assert!(sent.contains(secret), "{secret} was not sent");
            }
            errors
        });
        for err in errors {
            let text = format!("{err} {err:?}");
            assert!(text.contains("HTTP 400 ("), "{text}");
            assert!(text.contains("-byte body, not quoted"), "{text}");
            assert_eq!(text.contains("error code IAM.0011"), iam_shape, "{text}");
            assert!(!text.contains("Bad request"), "{text}");
            for secret in secrets {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }
    let logged = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(
        logged.contains("credentials could not be obtained"),
        "{logged}"
    );
    assert!(logged.contains("HTTP 400"), "{logged}");
    for secret in secrets {
        assert!(!logged.contains(secret), "{secret} logged: {logged}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Requests of the generated client take the pipeline of `send` and the producer: a 401 to a
/// provider's credentials is answered by one refresh and one resend, a second 401 is the
/// answer, and credentials that cannot be had are the call's error, nothing sent. Against
/// dis-local, with a metadata service whose sets dis-local never issued, except the second
/// one of the first client.
#[tokio::test]
async fn the_generated_client_resends_once_after_a_401_with_a_new_set() {
    use dis_records::generated::{Base64Data, types};

    let dis = local(iam_config(Duration::from_secs(600))).await;
    let url = dis.endpoint();
    let issued = security_key(&reqwest::Client::new(), &url)
        .await
        .to_string();
    let unknown = r#"{"credential":{"access":"AKNEVERISSUED","secret":"SECRET-SK-UNKNOWN","securitytoken":"SECRET-ST-UNKNOWN","expires_at":"2099-01-01T00:00:00.000000Z"}}"#;
    let metadata = |good_from: usize| {
        let (served, issued) = (Arc::new(AtomicUsize::new(0)), issued.clone());
        let count = served.clone();
        async move {
            let server = CannedServer::start(move |req: &Captured| {
                if req.path.starts_with("/meta-data/") {
                    return response(404, &[], "");
                }
                if count.fetch_add(1, Ordering::SeqCst) < good_from {
                    json_response(200, unknown)
                } else {
                    json_response(200, &issued)
                }
            })
            .await;
            (server, served)
        }
    };
    let request = types::PutRecordsRequest {
        stream_name: "newstream".try_into().unwrap(),
        stream_id: None,
        records: vec![types::PutRecordsRequestEntry {
            data: Base64Data::from(b"generated".to_vec()),
            explicit_hash_key: None,
            partition_id: None,
            partition_key: None,
        }],
    };
    let client_of = |endpoint: &str| {
        DisClient::builder(&url, PROJECT)
            .credentials(Credentials::ecs_metadata_at(endpoint).unwrap())
            .build()
            .unwrap()
    };

    // Refused once: a new set, the request sent again and stored.
    let (server, served) = metadata(1).await;
    let client = client_of(&server.endpoint);
    let answer = client
        .generated()
        .send_records(PROJECT, &request)
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.into_inner().failed_record_count, Some(0));
    assert_eq!(served.load(Ordering::SeqCst), 2, "a new set after the 401");
    let stats = dis.stats();
    assert_eq!(stats.refused_unknown_credentials, 1);
    assert_eq!(stats.records_stored, 1);

    // Refused twice: the second 401 is the answer, after one refresh only.
    let (server, served) = metadata(usize::MAX).await;
    let err = client_of(&server.endpoint)
        .generated()
        .send_records(PROJECT, &request)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    assert_eq!(served.load(Ordering::SeqCst), 2, "refreshed once only");
    assert_eq!(dis.stats().refused_unknown_credentials, 3);

    // No credentials to be had: the call's error, nothing sent.
    let err = client_of("http://127.0.0.1:1")
        .generated()
        .send_records(PROJECT, &request)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("credentials unavailable"), "{text}");
    let stats = dis.stats();
    assert_eq!(stats.refused_unknown_credentials, 3);
    assert_eq!(stats.records_stored, 1);
}
