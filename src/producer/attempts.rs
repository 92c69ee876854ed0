//! One batch on the wire: sent, its answer read per record, and what is worth it sent again,
//! until every record in it is acknowledged or failed for good.

use std::sync::Arc;

use rand::{SeedableRng, rngs::SmallRng};
use tracing::Instrument;

use super::batch::Batch;
use super::config::RetryPolicy;
use super::delivery::{Ack, Delivery, Failure};
use crate::client::DisClient;
use crate::error::Error;
use crate::generated::types;
use crate::outcome::RecordResult;

/// Sends one batch until every record in it is acknowledged or failed for good.
/// Returns the lane, the outcomes, and the number of requests made.
pub(crate) async fn deliver(
    client: DisClient,
    stream: types::PutRecordsRequestStreamName,
    policy: RetryPolicy,
    batch: Batch,
) -> (usize, Vec<Delivery>, u64) {
    let Batch {
        lane,
        mut pending,
        entries,
        ..
    } = batch;
    let mut body = types::PutRecordsRequest {
        stream_name: stream,
        stream_id: None,
        records: entries,
    };
    let mut out = Vec::with_capacity(pending.len());
    let mut rng = SmallRng::from_os_rng();
    let mut requests = 0u64;
    // Tries without progress, for the backoff; reset whenever a record gets stored.
    let mut streak = 0u32;

    while !pending.is_empty() {
        for p in pending.iter_mut() {
            p.attempts += 1;
        }
        requests += 1;
        let bytes: usize = pending.iter().map(|p| p.record.data.len()).sum();
        let span = tracing::info_span!(
            "dis.put_records",
            stream = body.stream_name.as_str(),
            records = pending.len(),
            bytes,
            attempt = pending.iter().map(|p| p.attempts).max().unwrap_or(1),
            status = tracing::field::Empty,
            failed = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let result = client.send_request(&body).instrument(span.clone()).await;
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

        // Hand out the finished records; keep the rest (record and wire entry, in lockstep).
        let mut progress = false;
        let mut keep_pending = Vec::new();
        let mut keep_entries = Vec::new();
        for ((p, e), v) in pending
            .into_iter()
            .zip(std::mem::take(&mut body.records))
            .zip(verdicts)
        {
            match v {
                Some(result) => {
                    progress |= result.is_ok();
                    out.push(Delivery {
                        id: p.id,
                        record: p.record,
                        attempts: p.attempts,
                        ambiguous_attempts: p.ambiguous_attempts,
                        result,
                    });
                }
                None => {
                    keep_pending.push(p);
                    keep_entries.push(e);
                }
            }
        }
        pending = keep_pending;
        body.records = keep_entries;
        if pending.is_empty() {
            break;
        }
        streak = if progress { 1 } else { streak + 1 };
        let mut wait = policy.backoff(streak, &mut rng);
        if let Some(d) = retry_after {
            wait = wait.max(d.min(policy.max_backoff));
        }
        tokio::time::sleep(wait).await;
    }
    (lane, out, requests)
}
