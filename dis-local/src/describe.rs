//! DescribeStream ("查询通道详情"): `GET /v2/{project_id}/streams/{stream_name}`, answered with
//! the fields of Huawei's v3 SDK model `ShowStreamResponse`: the stream's kind, status and
//! partitions (each ACTIVE, with its hash range), a page at a time (`start_partitionId`, the
//! partition after which the page starts, and `limit_partitions`, 1 to 1000, default 100).
//! A `start_partitionId` the stream does not have is refused (400 `DIS.4302`), as SendRecords
//! refuses such a `partition_id`.

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::answer::{Resp, dis_error, gateway_error, json};
use crate::auth::{self, Denied};
use crate::config::StreamConfig;
use crate::routing::{MAX_HASH, parse_partition_id, shard_id};
use crate::state::Shared;
use crate::store::Stream;
use crate::stream_kind::StreamKind;

/// Partitions in a page when `limit_partitions` is not given.
const DEFAULT_LIMIT: u32 = 100;
/// Most partitions a page may ask for.
const MAX_LIMIT: u32 = 1000;

/// The project and stream of a DescribeStream path (`/v2/{project_id}/streams/{stream_name}`,
/// or with a trailing `/`), when `path` is one.
pub(crate) fn target(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/v2/")?;
    let (project, rest) = rest.split_once('/')?;
    let name = rest.strip_prefix("streams/")?;
    let name = name.strip_suffix('/').unwrap_or(name);
    let ok = !project.is_empty() && !name.is_empty() && !name.contains('/');
    ok.then(|| (project.to_owned(), name.to_owned()))
}

/// Answers a DescribeStream request: authenticated as SendRecords is, then the stream's page.
pub(crate) fn describe(shared: &Shared, req: Request<Incoming>, project: &str, name: &str) -> Resp {
    if req.method() != Method::GET {
        let mut resp = dis_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "DIS.4300",
            "Method not allowed on this path; use GET.",
        );
        resp.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET"),
        );
        return resp;
    }
    let (parts, _body) = req.into_parts();
    if let Err(denied) = auth::check(&shared.auth, &parts, b"").and_then(|a| a.on_project(project))
    {
        return refused(denied);
    }
    let Some(stream) = shared.store.by_name(name) else {
        return dis_error(
            StatusCode::BAD_REQUEST,
            "DIS.4301",
            &format!("Stream does not exist. [{name}]"),
        );
    };
    match Page::of_query(parts.uri.query()) {
        Ok(Page {
            after: Some(after), ..
        }) if after >= u64::from(stream.partitions()) => dis_error(
            StatusCode::BAD_REQUEST,
            "DIS.4302",
            &format!(
                "Partition does not exist: start_partitionId names partition {after}; stream {name} has {} partitions.",
                stream.partitions()
            ),
        ),
        Ok(page) => json(
            StatusCode::OK,
            serde_json::to_vec(&answer(stream, &page)).unwrap_or_default(),
        ),
        Err(message) => dis_error(StatusCode::BAD_REQUEST, "DIS.4200", &message),
    }
}

/// The answer to credentials that did not pass, as SendRecords gives it.
fn refused(denied: Denied) -> Resp {
    match denied {
        Denied::Gateway(message) => gateway_error(StatusCode::UNAUTHORIZED, "APIGW.0301", message),
        Denied::Credential { code, message, .. } => {
            gateway_error(StatusCode::UNAUTHORIZED, code, message)
        }
        Denied::Project(message) => dis_error(StatusCode::BAD_REQUEST, "DIS.4117", &message),
        Denied::Signature(code, message) => dis_error(
            StatusCode::from_u16(441).unwrap_or(StatusCode::UNAUTHORIZED),
            code,
            message,
        ),
    }
}

/// The page asked for: the partitions after `after` (none: from the first), at most `limit`.
struct Page {
    after: Option<u64>,
    limit: u32,
}

impl Page {
    fn of_query(query: Option<&str>) -> Result<Page, String> {
        let mut page = Page {
            after: None,
            limit: DEFAULT_LIMIT,
        };
        // The values are identifiers and numbers: nothing to percent-decode.
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty());
        for (key, value) in pairs.map(|p| p.split_once('=').unwrap_or((p, ""))) {
            match key {
                "start_partitionId" => {
                    let index = parse_partition_id(value).ok_or_else(|| {
                        format!(
                            "Invalid start_partitionId {value:?}: expected shardId-NNNNNNNNNN or a decimal index."
                        )
                    })?;
                    page.after = Some(index);
                }
                "limit_partitions" => {
                    page.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            format!(
                                "Invalid limit_partitions {value:?}: expected 1 to {MAX_LIMIT}."
                            )
                        })?;
                }
                _ => {}
            }
        }
        Ok(page)
    }
}

/// One partition, as `PartitionResult`.
#[derive(Serialize)]
struct PartitionResult {
    partition_id: String,
    status: &'static str,
    hash_range: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number_range: Option<String>,
}

/// A stream, as `ShowStreamResponse` (the fields dis-local has).
#[derive(Serialize)]
struct ShowStream<'a> {
    stream_name: &'a str,
    stream_id: String,
    stream_type: &'static str,
    status: &'static str,
    retention_period: u32,
    data_type: &'static str,
    writable_partition_count: u32,
    readable_partition_count: u32,
    has_more_partitions: bool,
    partitions: Vec<PartitionResult>,
    update_partition_counts: Vec<()>,
    auto_scale_enabled: bool,
}

/// The hashes partition `index` of `count` holds, as Huawei's Java producer maps them
/// ([`crate::partition_for_hash`]): `(index * avg, (index + 1) * avg]`, from 0 for the first
/// and to `i64::MAX` for the last.
fn hash_range(index: u32, count: u32) -> (u64, u64) {
    let avg = MAX_HASH / u64::from(count.max(1));
    let first = if index == 0 {
        0
    } else {
        u64::from(index) * avg + 1
    };
    let last = if index + 1 >= count {
        MAX_HASH
    } else {
        (u64::from(index) + 1) * avg
    };
    (first, last)
}

fn answer<'a>(stream: &'a Stream, page: &Page) -> ShowStream<'a> {
    let sequences = stream.counts();
    let count = sequences.len() as u32;
    let first = page.after.map_or(0, |a| a.saturating_add(1));
    let end = first
        .saturating_add(u64::from(page.limit))
        .min(u64::from(count));
    let partitions = (first..end)
        .map(|i| {
            let i = i as u32;
            let (lo, hi) = hash_range(i, count);
            let next = sequences[i as usize];
            PartitionResult {
                partition_id: shard_id(i),
                status: "ACTIVE",
                hash_range: format!("[{lo} : {hi}]"),
                sequence_number_range: (next > 0).then(|| format!("[0 : {}]", next - 1)),
            }
        })
        .collect();
    ShowStream {
        stream_name: &stream.name,
        stream_id: StreamConfig::new(stream.name.clone(), count).stream_id(),
        stream_type: match stream.kind {
            StreamKind::Common => "COMMON",
            StreamKind::Advanced => "ADVANCED",
        },
        status: "RUNNING",
        retention_period: 24,
        data_type: "BLOB",
        writable_partition_count: count,
        readable_partition_count: count,
        has_more_partitions: end < u64::from(count),
        partitions,
        update_partition_counts: Vec::new(),
        auto_scale_enabled: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::partition_for_hash;

    #[test]
    fn paths() {
        assert_eq!(target("/v2/p1/streams/s"), Some(("p1".into(), "s".into())));
        assert_eq!(target("/v2/p1/streams/s/"), Some(("p1".into(), "s".into())));
        assert_eq!(target("/v2/p1/streams/"), None);
        assert_eq!(target("/v2/p1/records"), None);
        assert_eq!(target("/v2//streams/s"), None);
    }

    #[test]
    fn hash_ranges_agree_with_the_mapping() {
        for count in [1u32, 2, 3, 4, 7, 16, 100] {
            let mut expected_first = 0;
            for i in 0..count {
                let (lo, hi) = hash_range(i, count);
                assert_eq!(lo, expected_first, "{i} of {count}");
                assert_eq!(partition_for_hash(lo, count), i);
                assert_eq!(partition_for_hash(hi, count), i);
                expected_first = hi + 1;
            }
            assert_eq!(hash_range(count - 1, count).1, MAX_HASH);
        }
    }

    #[test]
    fn pages() {
        let p = Page::of_query(Some(
            "start_partitionId=shardId-0000000002&limit_partitions=3",
        ))
        .unwrap();
        assert_eq!((p.after, p.limit), (Some(2), 3));
        assert!(Page::of_query(Some("limit_partitions=0")).is_err());
        assert!(Page::of_query(Some("limit_partitions=1001")).is_err());
        assert!(Page::of_query(Some("start_partitionId=x")).is_err());
        assert!(Page::of_query(Some("start_partitionId=")).is_err());
        let p = Page::of_query(None).unwrap();
        assert_eq!((p.after, p.limit), (None, DEFAULT_LIMIT));
    }
}
