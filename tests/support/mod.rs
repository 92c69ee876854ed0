//! A loopback HTTP server that records each request and answers with canned bytes, for
//! tests that must see exactly what the client put on the wire or feed it broken answers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// Answers every request with the bytes `answer` returns for it (a whole HTTP response).
pub struct CannedServer {
    pub endpoint: String,
    pub captured: Arc<Mutex<Vec<Captured>>>,
    pub connections: Arc<Mutex<usize>>,
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

pub fn json_response(status: u16, body: &str) -> Vec<u8> {
    response(
        status,
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req-0123"),
        ],
        body,
    )
}

impl CannedServer {
    pub async fn start(
        answer: impl Fn(&Captured) -> Vec<u8> + Send + Sync + 'static,
    ) -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let captured = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let answer = Arc::new(answer);
        let (cap, conns) = (captured.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                *conns.lock().unwrap() += 1;
                let (cap, answer) = (cap.clone(), answer.clone());
                tokio::spawn(async move {
                    while let Some(req) = read_request(&mut sock).await {
                        // The producer's DescribeStream: refused (no permission) and not kept,
                        // so that it goes by what it was told and the requests kept are its
                        // SendRecords.
                        if req.method == "GET" && req.path.contains("/streams/") {
                            let out = json_response(
                                403,
                                r#"{"errorCode":"DIS.4116","message":"Invalid RBAC."}"#,
                            );
                            if sock.write_all(&out).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        let out = answer(&req);
                        cap.lock().unwrap().push(req);
                        if sock.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CannedServer {
            endpoint,
            captured,
            connections,
        }
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.captured.lock().unwrap().clone()
    }
}

pub async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Captured {
        method,
        path,
        headers,
        body,
    })
}

/// Keeps the outcomes given to a `send_all` callback (which must be `Send + 'static`: the run
/// has a task of its own).
#[derive(Clone, Default)]
pub struct Kept(Arc<Mutex<Vec<dis_records::Delivery>>>);

impl Kept {
    /// The callback.
    pub fn sink(&self) -> impl FnMut(dis_records::Delivery) + Send + 'static {
        let kept = self.0.clone();
        move |d| kept.lock().unwrap().push(d)
    }

    /// The outcomes kept so far, taken out.
    pub fn take(&self) -> Vec<dis_records::Delivery> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// A server that reads requests and never answers them.
pub async fn silent() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                while read_request(&mut sock).await.is_some() {}
                let _ = sock.shutdown().await;
            });
        }
    });
    endpoint
}
