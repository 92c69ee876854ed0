//! `GET /metrics`: the server's counters ([`Stats`]) in Prometheus' text format, each named
//! `dis_local_<counter>`, so that any Prometheus scraper reads them without a JSON exporter.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::answer::Resp;
use crate::stats::Stats;

/// The one counter of [`Stats`] that goes down as well as up.
const GAUGES: [&str; 1] = ["open_connections"];

/// The counters as Prometheus text (exposition format 0.0.4).
pub(crate) fn render(stats: &Stats) -> String {
    let mut out = String::new();
    let fields = serde_json::to_value(stats).unwrap_or_default();
    for (name, value) in fields.as_object().into_iter().flatten() {
        let kind = if GAUGES.contains(&name.as_str()) {
            "gauge"
        } else {
            "counter"
        };
        let full = if kind == "counter" {
            format!("dis_local_{name}_total")
        } else {
            format!("dis_local_{name}")
        };
        let help = help(name);
        out.push_str(&format!(
            "# HELP {full} {help}\n# TYPE {full} {kind}\n{full} {value}\n"
        ));
    }
    out
}

/// The `# HELP` text of counter `name`: its documentation on one line, escaped as the format
/// says (`\\` and `\n`; the text is on one line, so only backslashes).
fn help(name: &str) -> String {
    let doc = crate::stats::HELP
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, doc)| doc);
    doc.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', "\\\\")
}

/// The `/health` answer: 200 `ok` while the server serves.
pub(crate) fn health() -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"ok\n")));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// The `/metrics` answer.
pub(crate) fn answer(stats: &Stats) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(render(stats))));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Counters;

    #[test]
    fn every_counter_is_a_line_with_its_value() {
        let counters = Counters::default();
        Counters::add(&counters.records_stored, 42);
        Counters::add(&counters.open_connections, 3);
        let stats = counters.snapshot();
        let text = render(&stats);
        assert!(
            text.contains(
                "# HELP dis_local_records_stored_total Records stored.\n# TYPE dis_local_records_stored_total counter\ndis_local_records_stored_total 42\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE dis_local_open_connections gauge\ndis_local_open_connections 3\n"
            ),
            "{text}"
        );
        // Every metric has its help text, on one line.
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!(
            helps,
            text.lines().filter(|l| l.starts_with("# TYPE ")).count()
        );
        for line in text.lines().filter(|l| l.starts_with("# HELP ")) {
            assert!(line.split(' ').count() > 4, "{line}");
        }
        // One line per counter of Stats, whatever counters it gains.
        let fields = serde_json::to_value(stats).unwrap();
        let counters = fields.as_object().unwrap().len();
        assert!(counters >= 16, "{counters}");
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            counters
        );
    }
}
