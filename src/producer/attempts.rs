//! One batch on the wire: sent, its answer read per record, and what is worth it sent again,
//! until every record in it is acknowledged or failed for good.

use std::sync::Arc;

use rand::{SeedableRng, rngs::SmallRng};
use tokio::sync::watch;
use tracing::Instrument;

use super::batch::{Batch, Pending};
use super::config::RetryPolicy;
use super::delivery::{Ack, Delivery, Failure};
use super::engine::until_expired;
use crate::body::{self, BodyFormat};
use crate::client::DisClient;
use crate::error::Error;
use crate::generated::types;
use crate::outcome::RecordResult;

/// What a request of the producer needs: where it goes, and how it is written and retried.
pub(crate) struct Send {
    pub(crate) client: DisClient,
    pub(crate) stream: types::PutRecordsRequestStreamName,
    pub(crate) policy: RetryPolicy,
    pub(crate) format: BodyFormat,
}

impl Send {
    /// Sends one batch until every record in it is acknowledged or failed for good.
    /// Returns the lane, the outcomes, and the number of requests made.
    /// Once `expired` turns true it stops: the records still pending end as
    /// [`Failure::Expired`].
    pub(crate) async fn deliver(
        self,
        batch: Batch,
        expired: watch::Receiver<bool>,
    ) -> (usize, Vec<Delivery>, u64) {
        let lane = batch.lane;
        let (out, requests) = self.attempts(batch, expired).await;
        (lane, out, requests)
    }

    async fn attempts(
        &self,
        batch: Batch,
        mut expired: watch::Receiver<bool>,
    ) -> (Vec<Delivery>, u64) {
        let Send {
            client,
            stream,
            policy,
            format,
        } = self;
        let Batch {
            mut pending, wire, ..
        } = batch;
        let mut out = Vec::with_capacity(pending.len());
        let mut rng = SmallRng::from_os_rng();
        let mut requests = 0u64;
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
            for p in pending.iter_mut() {
                p.attempts += 1;
            }
            requests += 1;
            let bytes: usize = pending.iter().map(|p| p.record.data.len()).sum();
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
            // The body, written afresh for this try (one buffer, sized from the batch's estimate).
            let mut body = Vec::with_capacity(wire);
            body::write(
                *format,
                stream.as_str(),
                pending.iter().map(|p| &p.record),
                &mut body,
            );
            let send = client.send_body(body, *format, pending.len());
            let result = tokio::select! {
                result = send.instrument(span.clone()) => result,
                _ = until_expired(&mut expired) => {
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
            // For each record: Some(outcome) when it is done, None to send again.
            let verdicts: Vec<Option<Result<Ack, Failure>>> = match result {
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
                            } => Some(Ok(Ack {
                                partition_id,
                                sequence_number,
                            })),
                            RecordResult::Failed { code, .. }
                                if policy.is_retryable_code(&code)
                                    && p.attempts < policy.max_attempts =>
                            {
                                None
                            }
                            RecordResult::Failed { code, message } => {
                                Some(Err(Failure::Refused { code, message }))
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
                                None
                            } else {
                                Some(Err(Failure::Request(err.clone())))
                            }
                        })
                        .collect()
                }
            };

            // Hand out the finished records; keep the rest.
            let mut progress = false;
            let mut keep = Vec::new();
            for (p, v) in pending.into_iter().zip(verdicts) {
                match v {
                    Some(result) => {
                        progress |= result.is_ok();
                        out.push(p.into_delivery(result));
                    }
                    None => keep.push(p),
                }
            }
            pending = keep;
            if pending.is_empty() {
                continue;
            }
            streak = if progress { 1 } else { streak + 1 };
            let mut wait = policy.backoff(streak, &mut rng);
            if let Some(d) = retry_after {
                wait = wait.max(d.min(policy.max_backoff));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = until_expired(&mut expired) => break,
            }
        }
        // Past the deadline: what was not sent again goes back (and so do parked halves).
        let expired = Failure::Expired { unanswered: false };
        let left = pending.into_iter().chain(parked.into_iter().flatten());
        out.extend(left.map(|p| p.into_delivery(Err(expired.clone()))));
        (out, requests)
    }
}
