//! DescribeStream (`GET /v2/{project_id}/streams/{stream_name}`) of the local DIS endpoint:
//! the stream's kind and partitions, a page at a time, and a stream grown while running
//! (`LocalDis::grow_partitions`): described with its new partitions, keys mapped over them,
//! the new partitions at their quota. Only 127.0.0.1.

use crate::support;

use dis_local::{LocalConfig, StreamConfig, StreamKind};
use serde_json::{Value, json};
use support::Env;

impl Env {
    /// DescribeStream with this query; the status and the JSON body.
    async fn describe(&self, stream: &str, query: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!(
                "{}/v2/0123456789abcdef/streams/{stream}{query}",
                self.dis.endpoint()
            ))
            .header("X-Auth-Token", "test-token")
            .send()
            .await
            .expect("describe");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("JSON body"))
    }

    /// Every partition id, paging `page` at a time.
    async fn partition_ids(&self, stream: &str, page: u32) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        loop {
            let query = match ids.last() {
                Some(last) => format!("?limit_partitions={page}&start_partitionId={last}"),
                None => format!("?limit_partitions={page}"),
            };
            let (status, body) = self.describe(stream, &query).await;
            assert_eq!(status, 200, "{body}");
            let listed = body["partitions"].as_array().unwrap();
            assert!(listed.len() <= page as usize, "{body}");
            ids.extend(
                listed
                    .iter()
                    .map(|p| p["partition_id"].as_str().unwrap().to_owned()),
            );
            if body["has_more_partitions"] == false {
                return ids;
            }
        }
    }
}

fn shard(i: u32) -> String {
    format!("shardId-{i:010}")
}

#[tokio::test]
async fn describes_kind_partitions_and_pages() {
    let env = Env::start(LocalConfig::default().with_streams([
        StreamConfig::new("common", 3),
        StreamConfig::new("fast", 5).with_kind(StreamKind::Advanced),
    ]))
    .await;
    let (status, body) = env.describe("common", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stream_name"], "common");
    assert_eq!(body["stream_type"], "COMMON");
    assert_eq!(body["status"], "RUNNING");
    assert_eq!(body["writable_partition_count"], 3);
    assert_eq!(body["has_more_partitions"], false);
    let parts = body["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0]["status"], "ACTIVE");
    assert_eq!(
        parts[2]["hash_range"],
        format!("[{} : {}]", 2 * (i64::MAX / 3) + 1, i64::MAX)
    );
    let (_, body) = env.describe("fast", "").await;
    assert_eq!(body["stream_type"], "ADVANCED");
    let want: Vec<String> = (0..5).map(shard).collect();
    for page in [1, 2, 5, 1000] {
        assert_eq!(
            env.partition_ids("fast", page).await,
            want,
            "pages of {page}"
        );
    }
    // After the last partition: an empty page.
    let (_, body) = env
        .describe("fast", "?start_partitionId=shardId-0000000004")
        .await;
    assert_eq!(body["partitions"], json!([]));
    // What DIS refuses.
    let (status, body) = env
        .describe("fast", "?start_partitionId=shardId-0000000005")
        .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("DIS.4302"))
    );
    assert_eq!(env.describe("nope", "").await.1["errorCode"], "DIS.4301");
    for bad in [
        "?limit_partitions=0",
        "?limit_partitions=1001",
        "?start_partitionId=x",
    ] {
        let (status, body) = env.describe("fast", bad).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("DIS.4200")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_stream_grows_while_running() {
    let env = Env::start(
        LocalConfig::default()
            .with_streams([StreamConfig::new("s", 2)])
            .with_quotas(true)
            .with_quota_scale(0.01),
    )
    .await;
    assert_eq!(env.partition_ids("s", 100).await.len(), 2);
    assert_eq!(env.dis.grow_partitions("s", 4), Some(4));
    assert_eq!(env.dis.grow_partitions("s", 3), Some(4), "never shrinks");
    assert_eq!(env.dis.grow_partitions("nope", 3), None);
    assert_eq!(
        env.partition_ids("s", 3).await,
        (0..4).map(shard).collect::<Vec<_>>()
    );
    // Partition 3 takes records now (its bucket full: 10 records at this scale), and keys map
    // over 4 partitions.
    let records: Vec<Value> = (0..12)
        .map(|_| json!({"data": "eA==", "partition_id": "shardId-0000000003"}))
        .collect();
    let resp = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "test-token")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&json!({"stream_name": "s", "records": records})).unwrap())
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["failed_record_count"], 2, "{body}");
    let resp = env
        .http
        .post(env.url())
        .header("X-Auth-Token", "test-token")
        .header("Content-Type", "application/json")
        .body(
            serde_json::to_vec(&json!({"stream_name": "s", "records": [
                {"data": "eA==", "explicit_hash_key": i64::MAX.to_string()}
            ]}))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["records"][0]["error_code"], "DIS.4303",
        "partition 3, its bucket empty: {body}"
    );
    assert_eq!(env.dis.record_counts("s").unwrap(), vec![0, 0, 0, 10]);
}

#[test]
fn growth_flag_parses() {
    let g: dis_local::PartitionGrowth = "1.5s:s:8".parse().unwrap();
    assert_eq!(g.partitions, 8);
    assert!("1s:s:0".parse::<dis_local::PartitionGrowth>().is_err());
}
