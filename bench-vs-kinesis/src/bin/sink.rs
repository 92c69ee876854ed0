//! The sink both clients post to: a minimal HTTP/1.1 server on loopback that reads each body,
//! counts its records, and answers every record as stored, in the answer shape of the API the
//! request speaks (DIS `PutRecords` JSON, or Kinesis `PutRecords` in AWS JSON 1.1). Prints its
//! address on the first line of stdout, then serves until killed.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A DIS body: `records` is all that is counted.
#[derive(Deserialize)]
struct DisRequest {
    records: Vec<IgnoredAny>,
}

/// A Kinesis body: `Records` is all that is counted.
#[derive(Deserialize)]
struct KinesisRequest {
    #[serde(rename = "Records")]
    records: Vec<IgnoredAny>,
}

/// An answer storing `n` records: `{"<count>":0,"<list>":[{"<shard>":"..","<seq>":"i"},..]}`,
/// with each API's own names.
fn stored(n: usize, names: [&str; 4], shard: &str) -> String {
    let [count, list, shard_key, seq_key] = names;
    let mut out = String::with_capacity(32 + n * 64);
    out.push_str(&format!(r#"{{"{count}":0,"{list}":["#));
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(r#"{{"{shard_key}":"{shard}","{seq_key}":"{i}"}}"#));
    }
    out.push_str("]}");
    out
}

fn dis_answer(n: usize) -> String {
    let names = ["failed_record_count", "records", "partition_id", "sequence_number"];
    stored(n, names, "shardId-0000000000")
}

fn kinesis_answer(n: usize) -> String {
    let names = ["FailedRecordCount", "Records", "ShardId", "SequenceNumber"];
    stored(n, names, "shardId-000000000000")
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let kinesis = req.headers().contains_key("x-amz-target");
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(Response::builder().status(400).body(Full::default()).unwrap()),
    };
    let (text, content_type) = if kinesis {
        match serde_json::from_slice::<KinesisRequest>(&body) {
            Ok(r) => (kinesis_answer(r.records.len()), "application/x-amz-json-1.1"),
            Err(_) => return Ok(Response::builder().status(400).body(Full::default()).unwrap()),
        }
    } else {
        match serde_json::from_slice::<DisRequest>(&body) {
            Ok(r) => (dis_answer(r.records.len()), "application/json"),
            Err(_) => return Ok(Response::builder().status(400).body(Full::default()).unwrap()),
        }
    };
    Ok(Response::builder()
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(text)))
        .unwrap())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("http://{}", listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Without it, keep-alive answers stall ~40 ms (Nagle + delayed ACK).
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, hyper::service::service_fn(answer))
                .await;
        });
    }
}
