//! SendRecords (`POST /v2/{project_id}/records`): one request read, parsed, applied and
//! answered, top-down in [`send_records`]:
//!
//! 1. read the body within its budget ([`body`]);
//! 2. roll the injected faults that come before anything is parsed (`drop_before`,
//!    `fail_requests`);
//! 3. authenticate (the signature covers the body as sent, compressed or not), check that the
//!    credentials may act on the path's project, decompress a compressed body within the
//!    request limit ([`decode`]);
//! 4. parse: pick the wire format by `Content-Type` ([`json`] or [`protobuf`]), decode, and
//!    check what DIS checks ([`validate`]) into a [`SendRecords`];
//! 5. apply: roll `fail_records`, store ([`Stream::store`]), count; roll `drop_after`;
//! 6. answer in the request's format.
//!
//! Everything that can refuse the request is checked in steps 3 and 4, before the stream is locked, so
//! a request is stored completely or not at all (injected per-record failures aside). Every
//! refusal is a [`Refusal`], which turns into the DIS error answer.

mod body;
mod decode;
mod json;
mod protobuf;
mod refusal;
mod validate;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header;
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};

use crate::answer::{self, Abort, Resp};
use crate::auth;
use crate::faults::Plan;
use crate::state::Shared;
use crate::stats::Counters;
use crate::store::{Outcome, Prepared, Stream};

use refusal::{Refusal, Stop};

/// Handles `POST /v2/{project_id}/records`: the answer, or `Err` to close the connection
/// without one. `delay_ms` is slept before either.
pub(crate) async fn send_records(shared: &Shared, req: Request<Incoming>) -> Result<Resp, Abort> {
    let plan = shared.faults.plan();
    let result = match handle(shared, req, &plan).await {
        Ok(answer) => Ok(answer),
        Err(Stop::Refused(refusal)) => Ok(refusal.answer(&shared.stats)),
        Err(Stop::Close(abort)) => Err(abort),
    };
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    result
}

/// The `{project_id}` of a SendRecords path (`/v2/{project_id}/records`, or `records/`), when
/// `path` is one.
pub(crate) fn send_records_project(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(project, tail)| {
            !project.is_empty() && (*tail == "records" || *tail == "records/")
        })
        .map(|(project, _)| project)
}

/// One request's steps, in order.
async fn handle(shared: &Shared, req: Request<Incoming>, plan: &Plan) -> Result<Resp, Stop> {
    let (parts, body) = req.into_parts();
    // Held until the request is answered: the body, and what is decoded from it, stay in
    // memory until then.
    let mut share = shared.body_budget.share();
    let body = body::read(shared, &parts, body, &mut share).await?;
    inject_before(shared, plan)?;
    // The path's project: an IAM token issued here acts on its own project only.
    let project = send_records_project(parts.uri.path()).unwrap_or_default();
    auth::check(&shared.auth, &parts, &body)
        .and_then(|authorized| authorized.on_project(project))
        .map_err(Refusal::Denied)?;
    let body = decode::decompressed(shared, &parts, body, &mut share)?;
    let request = SendRecords::parse(shared, &parts, &body)?;
    let outcome = request.apply(shared, plan);
    if plan.drop_after {
        Counters::add(&shared.stats.dropped_after, 1);
        return Err(Stop::Close(Abort("injected drop_after")));
    }
    Ok(request.answer(&outcome))
}

/// The faults rolled once the body is read, before the request is parsed: `drop_before`, then
/// `fail_requests`.
fn inject_before(shared: &Shared, plan: &Plan) -> Result<(), Stop> {
    if plan.drop_before {
        Counters::add(&shared.stats.dropped_before, 1);
        return Err(Abort("injected drop_before").into());
    }
    match plan.fail {
        Some(kind) => Err(Refusal::Injected(kind).into()),
        None => Ok(()),
    }
}

/// The format of a SendRecords body, from its `Content-Type`; the 200 answer has the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `application/json`: the DIS document's bodies, `data` in Base64.
    Json,
    /// `application/x-protobuf`: Huawei's hand-written SDKs' bodies, `data` raw.
    Protobuf,
}

impl Format {
    /// The format named by the `Content-Type` media type (parameters such as `;charset=utf-8`
    /// ignored), or `None` for any other or none.
    fn of(parts: &Parts) -> Option<Format> {
        let value = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())?;
        let media = value.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case("application/json") {
            Some(Format::Json)
        } else if media.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Format::Protobuf)
        } else {
            None
        }
    }
}

/// A SendRecords request that passed every check: its stream and its records, their payloads
/// decoded into one buffer.
struct SendRecords<'s> {
    format: Format,
    stream: &'s Stream,
    records: Vec<Prepared>,
    data: Bytes,
}

impl<'s> SendRecords<'s> {
    /// Decodes and validates the body of an authenticated request.
    fn parse(shared: &'s Shared, parts: &Parts, body: &Bytes) -> Result<Self, Refusal> {
        let format = Format::of(parts).ok_or_else(|| {
            Refusal::invalid(
                "DIS.4200",
                "Invalid request: Content-Type must be application/json or application/x-protobuf.",
            )
        })?;
        // Both readers keep at most the record limit's worth of records (a longer request is
        // refused by `validate`, which still learns how many it had).
        let keep = shared.limits.max_records;
        let validate::Validated {
            stream,
            records,
            data,
        } = match format {
            Format::Json => validate::validate(shared, &json::parse(body, keep)?)?,
            Format::Protobuf => validate::validate(shared, &protobuf::parse(body, keep)?)?,
        };
        Ok(SendRecords {
            format,
            stream,
            records,
            data,
        })
    }

    /// Rolls the injected per-record failures, stores the others and counts.
    fn apply(&self, shared: &Shared, plan: &Plan) -> Outcome {
        let n = self.records.len();
        let failures =
            (plan.fail_records > 0.0).then(|| shared.faults.record_failures(n, plan.fail_records));
        let outcome = self.stream.store(
            &self.records,
            self.data.clone(),
            failures.as_deref(),
            &shared.quotas,
        );
        let stats = &shared.stats;
        Counters::add(&stats.records_stored, outcome.stored());
        Counters::add(&stats.records_failed, outcome.failed);
        Counters::add(&stats.records_throttled, outcome.throttled);
        outcome
    }

    /// The 200 answer, in the request's format.
    fn answer(&self, outcome: &Outcome) -> Resp {
        match self.format {
            Format::Json => answer::json(StatusCode::OK, json::answer(outcome)),
            Format::Protobuf => answer::protobuf(StatusCode::OK, protobuf::answer(outcome)),
        }
    }
}
