//! IAM tokens the endpoint issues act on their own project only, as DIS answers a token whose
//! project is not the path's: 400 `DIS.4117` ("Invalid Project Id."), nothing stored. Tokens it
//! did not issue (the configured one, any token without `--token`) act on any project, as
//! before. Raw HTTP with reqwest to 127.0.0.1 only.

use crate::support;

use dis_local::LocalConfig;
use serde_json::{Value, json};
use support::Env;

const PROJECT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PROJECT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PASSWORD: &str = "SECRET-PASSWORD-VALUE";

/// What these tests ask of the endpoint: a trait of this module, since the other modules of
/// this binary give `Env` methods of the same names.
trait Calls {
    async fn login(&self, scope: Value) -> (u16, Option<String>);
    async fn token(&self, scope: Value) -> String;
    async fn send_as(&self, project: &str, token: &str) -> (u16, Value);
    fn stored(&self) -> usize;
}

impl Calls for Env {
    /// `POST /v3/auth/tokens` for alice with this `auth.scope`: the status and the token.
    async fn login(&self, scope: Value) -> (u16, Option<String>) {
        let body = json!({ "auth": {
            "identity": {
                "methods": ["password"],
                "password": { "user": {
                    "name": "alice", "password": PASSWORD, "domain": { "name": "acme" },
                } },
            },
            "scope": scope,
        }});
        let resp = self
            .http
            .post(format!("{}/v3/auth/tokens", self.dis.endpoint()))
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .expect("login");
        let token = resp
            .headers()
            .get("x-subject-token")
            .map(|v| v.to_str().unwrap().to_owned());
        (resp.status().as_u16(), token)
    }

    /// A token for alice with this `auth.scope`.
    async fn token(&self, scope: Value) -> String {
        let (status, token) = self.login(scope).await;
        assert_eq!(status, 201);
        token.expect("X-Subject-Token")
    }

    /// One record sent to `/v2/{project}/records` with `token`: the status and the body.
    async fn send_as(&self, project: &str, token: &str) -> (u16, Value) {
        let body = json!({"stream_name": "newstream", "records": [{"data": "aGVsbG8="}]});
        let resp = self
            .http
            .post(format!("{}/v2/{project}/records", self.dis.endpoint()))
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    fn stored(&self) -> usize {
        self.dis.records("newstream").expect("newstream").len()
    }
}

#[tokio::test]
async fn an_issued_token_acts_on_its_own_project_only() {
    let env = Env::start(
        LocalConfig::default()
            .with_iam_user("acme", "alice", PASSWORD)
            .with_iam_project("cn-north-4", PROJECT_A)
            .with_iam_project("cn-north-1", PROJECT_B)
            .with_token("configured-token"),
    )
    .await;
    let by_id = env.token(json!({"project": {"id": PROJECT_A}})).await;
    let by_name = env.token(json!({"project": {"name": "cn-north-4"}})).await;
    let account = env.token(json!({"domain": {"name": "acme"}})).await;

    // On its own project: stored.
    for token in [&by_id, &by_name] {
        let (status, body) = env.send_as(PROJECT_A, token).await;
        assert_eq!(
            (status, &body["failed_record_count"]),
            (200, &json!(0)),
            "{body}"
        );
    }
    assert_eq!(env.stored(), 2);

    // On another project, an unknown one, and the account's token on any: DIS's answer for a
    // project that is not the token's, and nothing stored.
    for (project, token, what) in [
        (PROJECT_B, &by_id, "project A's token on project B"),
        (
            "0123456789abcdef",
            &by_id,
            "project A's token on an unknown project",
        ),
        (PROJECT_A, &account, "the account's token on project A"),
        (PROJECT_B, &account, "the account's token on project B"),
    ] {
        let (status, body) = env.send_as(project, token).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["errorCode"], "DIS.4117", "{what}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Invalid Project Id."),
            "{what}: {message}"
        );
        assert!(!message.contains(by_id.as_str()) && !message.contains(account.as_str()));
    }
    assert_eq!(env.stored(), 2, "nothing stored for a refused project");
    assert_eq!(env.dis.stats().rejected_requests, 4);

    // A token it did not issue (the configured one) acts on any project.
    for project in [PROJECT_A, PROJECT_B, "0123456789abcdef"] {
        let (status, body) = env.send_as(project, "configured-token").await;
        assert_eq!(status, 200, "{project}: {body}");
    }
    assert_eq!(env.stored(), 5);

    // IAM itself still takes the account's token: it lists the projects.
    let resp = env
        .http
        .get(format!(
            "{}/v3/projects?name=cn-north-1",
            env.dis.endpoint()
        ))
        .header("X-Auth-Token", &account)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let listed: Value = resp.json().await.unwrap();
    assert_eq!(listed["projects"][0]["id"], PROJECT_B);

    // A project name no configured project has gets no token.
    let (status, token) = env.login(json!({"project": {"name": "nowhere"}})).await;
    assert_eq!((status, token), (400, None));
}

#[tokio::test]
async fn without_iam_any_token_acts_on_any_project_as_before() {
    let env = Env::default().await;
    for project in [PROJECT_A, PROJECT_B, "0123456789abcdef"] {
        let (status, body) = env.send_as(project, "any-token").await;
        assert_eq!(status, 200, "{project}: {body}");
    }
    assert_eq!(env.stored(), 3);
}
