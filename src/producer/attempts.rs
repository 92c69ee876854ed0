//! One batch on the wire: sent, its answer read per record, and what is worth it sent again,
//! until every record in it is acknowledged, failed for good, or past its deadline.
//!
//! Throttling is not failure: a record refused with `DIS.4303` is sent again until its
//! deadline, paced by its partition's rate when the producer adapts. Other errors keep a
//! bounded number of tries.

use std::sync::Arc;

use rand::{SeedableRng, rngs::SmallRng};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::batch::{Batch, Pending};
use super::config::RetryPolicy;
use super::delivery::{Ack, Delivery, Failure};
use super::engine::until_expired;
use super::pacer::Pacer;
use super::stats::StatsCell;
use crate::body::BodyFormat;
use crate::client::DisClient;
use crate::error::Error;
use crate::generated::types;
use crate::outcome::RecordResult;

/// DIS's code for a record refused by traffic control.
const THROTTLED: &str = "DIS.4303";

/// What a request of the producer needs: where it goes, and how it is written, paced and
/// retried.
pub(crate) struct Send {
    pub(crate) client: DisClient,
    pub(crate) stream: types::PutRecordsRequestStreamName,
    pub(crate) policy: RetryPolicy,
    pub(crate) format: BodyFormat,
    pub(crate) pacer: Option<Arc<Pacer>>,
    pub(crate) stats: Arc<StatsCell>,
}

/// What one batch came to: its lane, its outcomes, the requests it took, and the record
/// answers `DIS.4303` among them.
pub(crate) struct Flown {
    pub(crate) lane: usize,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) requests: u64,
    pub(crate) throttled: u64,
}

/// A record's fate after one answer: done, or sent again.
enum Verdict {
    Done(Result<Ack, Failure>),
    Again,
}

/// Runs `f` on the generated request carrying the entries of `pending` (moved in, not
/// copied), then gives the entries back.
fn lend_entries<T>(
    pending: &mut [Pending],
    stream: &types::PutRecordsRequestStreamName,
    f: impl FnOnce(&types::PutRecordsRequest) -> T,
) -> T {
    let placeholder = || types::PutRecordsRequestEntry {
        data: Default::default(),
        explicit_hash_key: None,
        partition_id: None,
        partition_key: None,
    };
    let request = types::PutRecordsRequest {
        stream_name: stream.clone(),
        stream_id: None,
        records: pending
            .iter_mut()
            .map(|p| std::mem::replace(&mut p.entry, placeholder()))
            .collect(),
    };
    let out = f(&request);
    for (p, entry) in pending.iter_mut().zip(request.records) {
        p.entry = entry;
    }
    out
}

impl Send {
    /// Sends one batch until every record in it has an outcome. Returns the lane, the
    /// outcomes, and the number of requests made. When the engine bumps `expired` (a flush or
    /// close deadline passed), it stops: the records still pending end as
    /// [`Failure::Expired`].
    pub(crate) async fn deliver(self, batch: Batch, expired: watch::Receiver<u64>) -> Flown {
        let lane = batch.lane;
        let (deliveries, requests, throttled) = self.attempts(batch, expired).await;
        Flown {
            lane,
            deliveries,
            requests,
            throttled,
        }
    }

    async fn attempts(
        &self,
        batch: Batch,
        mut expired: watch::Receiver<u64>,
    ) -> (Vec<Delivery>, u64, u64) {
        let Send {
            client,
            stream,
            policy,
            format,
            pacer,
            stats,
        } = self;
        let seen = *expired.borrow_and_update();
        let Batch {
            mut pending, lane, ..
        } = batch;
        let mut out = Vec::with_capacity(pending.len());
        let mut rng = SmallRng::from_os_rng();
        let mut requests = 0u64;
        let mut throttled_total = 0u64;
        // Tries without progress, for the backoff; reset whenever a record gets stored.
        let mut streak = 0u32;
        // Halves of a batch refused as too large (413), waiting for their turn.
        let mut parked: Vec<Vec<Pending>> = Vec::new();

        loop {
            if pending.is_empty() {
                match parked.pop() {
                    Some(p) => pending = p,
                    None => break,
                }
            }
            // Records past their deadline go back, unsent this time.
            let now = Instant::now();
            let (late, on_time): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|p| p.deadline <= now);
            out.extend(
                late.into_iter()
                    .map(|p| p.into_delivery(Err(Failure::Expired { unanswered: false }))),
            );
            pending = on_time;
            if pending.is_empty() {
                continue;
            }
            // The partition's pace (adaptive mode).
            if let Some(pacer) = pacer {
                let wait = pacer.reserve(pending.len());
                if !wait.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = until_expired(&mut expired, seen) => break,
                    }
                }
            }
            for p in pending.iter_mut() {
                p.attempts += 1;
            }
            requests += 1;
            let bytes: usize = pending.iter().map(|p| p.entry.data.0.len()).sum();
            let span = tracing::info_span!(
                "dis.put_records",
                stream = stream.as_str(),
                records = pending.len(),
                bytes,
                attempt = pending.iter().map(|p| p.attempts).max().unwrap_or(1),
                status = tracing::field::Empty,
                failed = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            // The generated request for this try, its entries lent by the records and back
            // once the body is written.
            let prepared = lend_entries(&mut pending, stream, |request| {
                client.prepare(request, *format)
            });
            let sent_at = Instant::now();
            let send = async {
                match prepared {
                    Ok(http_request) => client.execute(http_request, pending.len()).await,
                    Err(e) => Err(e),
                }
            };
            let result = tokio::select! {
                result = send.instrument(span.clone()) => result,
                _ = until_expired(&mut expired, seen) => {
                    // Cut off unanswered: DIS may have stored them.
                    let expired = Failure::Expired { unanswered: true };
                    out.extend(pending.drain(..).map(|p| p.into_delivery(Err(expired.clone()))));
                    break;
                }
            };
            // Too large for the endpoint (413): nothing was stored, so send it again in halves.
            if let Err(Error::Dis { status: 413, .. }) = &result
                && pending.len() > 1
            {
                span.record("status", 413);
                tracing::debug!(parent: &span, "413: the batch is sent again in two halves");
                let at = pending.len() / 2;
                parked.push(pending.split_off(at));
                continue;
            }
            let mut retry_after = None;
            let mut throttled = 0usize;
            let verdicts: Vec<Verdict> = match result {
                Ok(outcome) => {
                    span.record("status", 200);
                    span.record("failed", outcome.failed_record_count);
                    if let Some(id) = &outcome.request_id {
                        span.record("request_id", id.as_str());
                    }
                    outcome
                        .results
                        .into_iter()
                        .zip(&pending)
                        .map(|(r, p)| match r {
                            RecordResult::Stored {
                                partition_id,
                                sequence_number,
                            } => Verdict::Done(Ok(Ack {
                                partition_id,
                                sequence_number,
                            })),
                            // Throttling: again until the deadline, whatever the tries.
                            RecordResult::Failed { code, .. } if code == THROTTLED => {
                                throttled += 1;
                                Verdict::Again
                            }
                            RecordResult::Failed { code, .. }
                                if policy.is_retryable_code(&code)
                                    && p.attempts < policy.max_attempts =>
                            {
                                Verdict::Again
                            }
                            RecordResult::Failed { code, message } => {
                                Verdict::Done(Err(Failure::Refused { code, message }))
                            }
                        })
                        .collect()
                }
                Err(err) => {
                    if let Some(status) = err.status() {
                        span.record("status", status);
                    }
                    if let Some(id) = err.request_id() {
                        span.record("request_id", id);
                    }
                    tracing::debug!(parent: &span, error = %err, "request failed");
                    if let Error::Dis {
                        retry_after: Some(d),
                        ..
                    } = &err
                    {
                        retry_after = Some(*d);
                    }
                    let again = policy.is_retryable_request(&err);
                    let ambiguous = err.maybe_duplicated();
                    // One error for every record of the request, shared, not copied.
                    let err = Arc::new(err);
                    pending
                        .iter_mut()
                        .map(|p| {
                            if again && p.attempts < policy.max_attempts {
                                if ambiguous {
                                    p.ambiguous_attempts += 1;
                                }
                                Verdict::Again
                            } else {
                                Verdict::Done(Err(Failure::Request(err.clone())))
                            }
                        })
                        .collect()
                }
            };
            if throttled > 0 {
                stats.throttled(lane, throttled as u64);
                throttled_total += throttled as u64;
            }
            if let Some(pacer) = pacer {
                pacer.feedback(pending.len(), throttled, sent_at);
            }

            // Hand out the finished records; keep the rest.
            let mut progress = false;
            let mut keep = Vec::new();
            for (p, v) in pending.into_iter().zip(verdicts) {
                match v {
                    Verdict::Done(result) => {
                        progress |= result.is_ok();
                        out.push(p.into_delivery(result));
                    }
                    Verdict::Again => keep.push(p),
                }
            }
            pending = keep;
            if pending.is_empty() {
                continue;
            }
            // Only throttled records left, and a pacer: its pace is the wait.
            let paced = pacer.is_some() && throttled == pending.len() && retry_after.is_none();
            if paced {
                continue;
            }
            streak = if progress { 1 } else { streak + 1 };
            let mut wait = policy.backoff(streak, &mut rng);
            if let Some(d) = retry_after {
                wait = wait.max(d.min(policy.max_backoff));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = until_expired(&mut expired, seen) => break,
            }
        }
        // Past a flush or close deadline: what was not sent (again) goes back, and so do
        // parked halves.
        let expired = Failure::Expired { unanswered: false };
        let left = pending.into_iter().chain(parked.into_iter().flatten());
        out.extend(left.map(|p| p.into_delivery(Err(expired.clone()))));
        (out, requests, throttled_total)
    }
}
