//! One batch on the wire: sent, its answer read per record, and what is worth it sent again,
//! until every record in it is acknowledged, failed for good, or past its deadline.
//!
//! Each round of [`Flight::deliver`] goes through named stages: records past their deadline
//! leave ([`Tries::drop_late`]), the partition's pace is kept ([`Flight::pace`]), one request
//! goes out ([`Flight::send_once`]), a batch too large for the endpoint is halved
//! ([`Tries::halve`]), every record gets its verdict ([`Flight::judge`]), and what is left
//! waits its backoff ([`Flight::back_off`]).
//!
//! Throttling is not failure: a record refused with `DIS.4303` is sent again until its
//! deadline, paced by its partition's rate when the producer adapts, and that try is counted
//! apart (`throttled_attempts`). Other errors keep a bounded number of tries, throttled ones
//! not counted.

use std::sync::Arc;
use std::time::Duration;

use rand::{SeedableRng, rngs::SmallRng};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::batch::{Batch, Pending};
use super::config::RetryPolicy;
use super::delivery::{Ack, Delivery, Failure, LastError};
use super::pacing::{Pacer, Refused, Sample, is_throttled};
use super::stats::StatsCell;
use crate::body::BodyFormat;
use crate::client::DisClient;
use crate::error::Error;
use crate::generated::types;
use crate::outcome::{RecordResult, SendOutcome};

/// A batch's flight: where its requests go, and how they are written, paced and retried.
pub(crate) struct Flight {
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

/// The state of one batch's flight.
struct Tries {
    lane: usize,
    /// The records of the next request.
    pending: Vec<Pending>,
    /// Halves of a batch refused as too large (413), waiting for their turn.
    parked: Vec<Vec<Pending>>,
    /// Outcomes so far.
    out: Vec<Delivery>,
    requests: u64,
    throttled: u64,
    /// Tries without progress, for the backoff; reset whenever a record gets stored.
    streak: u32,
    rng: SmallRng,
    /// The expiry generation when the flight started; a later one stops it.
    seen: u64,
    /// When the last request went out.
    sent_at: Instant,
    /// When it took its room from the pacer: the pacer reads its answer against the rate then.
    reserved_at: Instant,
}

/// What one answer said beyond the records' verdicts.
struct Round {
    /// Its refusals for traffic control.
    refused: Refused,
    retry_after: Option<Duration>,
    progress: bool,
}

impl Tries {
    fn new(batch: Batch, seen: u64) -> Tries {
        Tries {
            lane: batch.lane,
            out: Vec::with_capacity(batch.pending.len()),
            pending: batch.pending,
            parked: Vec::new(),
            requests: 0,
            throttled: 0,
            streak: 0,
            rng: SmallRng::from_os_rng(),
            seen,
            sent_at: Instant::now(),
            reserved_at: Instant::now(),
        }
    }

    /// The records of the next request: what is left, else a parked half. False when nothing
    /// is left at all.
    fn next_round(&mut self) -> bool {
        if self.pending.is_empty() {
            match self.parked.pop() {
                Some(half) => self.pending = half,
                None => return false,
            }
        }
        true
    }

    /// Records past their deadline go back, unsent this time.
    fn drop_late(&mut self) {
        let now = Instant::now();
        // Most rounds have none: the records stay where they are.
        if self.pending.iter().all(|p| p.deadline > now) {
            return;
        }
        let (late, on_time): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline <= now);
        self.pending = on_time;
        self.out.extend(late.into_iter().map(|p| p.expire(false)));
    }

    /// Too large for the endpoint (413): nothing was stored, so the batch goes again in two
    /// halves. True when it was halved.
    fn halve(&mut self, result: &Result<SendOutcome, Error>) -> bool {
        if !matches!(result, Err(Error::Dis { status: 413, .. })) || self.pending.len() < 2 {
            return false;
        }
        let at = self.pending.len() / 2;
        let half = self.pending.split_off(at);
        self.parked.push(half);
        true
    }

    /// The records of the request in flight, expired (`unanswered`: it may have reached DIS).
    fn expire_pending(&mut self, unanswered: bool) {
        self.out
            .extend(self.pending.drain(..).map(|p| p.expire(unanswered)));
    }

    /// Every record still held, expired unsent.
    fn expire_all(&mut self) {
        self.expire_pending(false);
        let parked = self.parked.drain(..).flatten();
        self.out.extend(parked.map(|p| p.expire(false)));
    }

    fn into_flown(self) -> Flown {
        Flown {
            lane: self.lane,
            deliveries: self.out,
            requests: self.requests,
            throttled: self.throttled,
        }
    }
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

impl Flight {
    /// Sends one batch until every record in it has an outcome. When the engine bumps
    /// `expired` (a flush or close deadline passed), it stops: the records still pending end
    /// as [`Failure::Expired`].
    pub(crate) async fn deliver(self, batch: Batch, mut expired: watch::Receiver<u64>) -> Flown {
        let mut tries = Tries::new(batch, *expired.borrow_and_update());
        while tries.next_round() {
            tries.drop_late();
            if tries.pending.is_empty() {
                continue;
            }
            if !self.pace(&mut tries, &mut expired).await {
                break;
            }
            let Some(result) = self.send_once(&mut tries, &mut expired).await else {
                // Cut off unanswered: DIS may have stored them.
                tries.expire_pending(true);
                break;
            };
            if tries.halve(&result) {
                tracing::debug!("413: the batch is sent again in two halves");
                continue;
            }
            let round = self.judge(&mut tries, result);
            if !tries.pending.is_empty() && !self.back_off(&mut tries, round, &mut expired).await {
                break;
            }
        }
        // Past a flush or close deadline: what was not sent (again) goes back.
        tries.expire_all();
        tries.into_flown()
    }

    /// Waits for the partition's pace (when paced). False when a deadline cut it short.
    async fn pace(&self, tries: &mut Tries, expired: &mut watch::Receiver<u64>) -> bool {
        let Some(pacer) = &self.pacer else {
            return true;
        };
        let bytes = tries.pending.iter().map(|p| p.entry.data.0.len()).sum();
        tries.reserved_at = Instant::now();
        let wait = pacer.reserve(tries.pending.len(), bytes);
        if wait.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = until_expired(expired, tries.seen) => false,
        }
    }

    /// One request with the pending records, traced. `None` when a deadline cut it off before
    /// its answer.
    async fn send_once(
        &self,
        tries: &mut Tries,
        expired: &mut watch::Receiver<u64>,
    ) -> Option<Result<SendOutcome, Error>> {
        for p in tries.pending.iter_mut() {
            p.attempts += 1;
        }
        tries.requests += 1;
        let span = tracing::info_span!(
            "dis.put_records",
            stream = self.stream.as_str(),
            records = tries.pending.len(),
            bytes = tries
                .pending
                .iter()
                .map(|p| p.entry.data.0.len())
                .sum::<usize>(),
            attempt = tries.pending.iter().map(|p| p.attempts).max().unwrap_or(1),
            status = tracing::field::Empty,
            failed = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        // The generated request for this try, its entries lent by the records and back once
        // the body is written.
        let capacity = crate::request::body_size_of(tries.pending.iter().map(|p| p.wire));
        let prepared = lend_entries(&mut tries.pending, &self.stream, |request| {
            self.client.prepare(request, self.format, capacity)
        });
        let sent = tries.pending.len();
        tries.sent_at = Instant::now();
        let send = async {
            match prepared {
                Ok(http_request) => self.client.execute(http_request, sent).await,
                Err(e) => Err(e),
            }
        };
        let result = tokio::select! {
            result = send.instrument(span.clone()) => result,
            _ = until_expired(expired, tries.seen) => return None,
        };
        self.stats.request(tries.sent_at.elapsed(), result.is_ok());
        match &result {
            Ok(outcome) => {
                span.record("status", 200);
                span.record("failed", outcome.failed_record_count);
                if let Some(id) = &outcome.request_id {
                    span.record("request_id", id.as_str());
                }
            }
            Err(err) => {
                if let Some(status) = err.status() {
                    span.record("status", status);
                }
                if let Some(id) = err.request_id() {
                    span.record("request_id", id);
                }
                tracing::debug!(parent: &span, error = %err, "request failed");
            }
        }
        Some(result)
    }

    /// Every pending record's verdict from one answer: finished records go out, the rest stay
    /// for the next round.
    fn judge(&self, tries: &mut Tries, result: Result<SendOutcome, Error>) -> Round {
        let mut round = Round {
            refused: Refused::default(),
            retry_after: None,
            progress: false,
        };
        match result {
            Ok(outcome) => {
                if outcome.failed_record_count > 0
                    && let Some(refused) = outcome.results.iter().find_map(|r| match r {
                        RecordResult::Failed { code, message } => {
                            Some(format!("DIS refused a record: {code}: {message}"))
                        }
                        RecordResult::Stored { .. } => None,
                    })
                {
                    self.stats.try_failed(refused);
                }
                // The answer's counts first (the pace needs them), then each record's verdict
                // in one pass: no list of verdicts per answer.
                let sizes = tries.pending.iter().map(|p| p.entry.data.0.len());
                round.refused = Refused::count(&outcome.results, sizes);
                self.feedback(tries, &round);
                let mut keep = Vec::with_capacity(round.refused.throttled);
                for (mut p, r) in std::mem::take(&mut tries.pending)
                    .into_iter()
                    .zip(outcome.results)
                {
                    match self.verdict(r, &mut p) {
                        Verdict::Done(result) => {
                            round.progress |= result.is_ok();
                            tries.out.push(p.into_delivery(result));
                        }
                        Verdict::Again => keep.push(p),
                    }
                }
                tries.pending = keep;
            }
            Err(err) => {
                self.stats.try_failed(err.to_string());
                let verdicts = self.judge_request(tries, err, &mut round);
                self.feedback(tries, &round);
                let mut keep = Vec::new();
                for (p, v) in std::mem::take(&mut tries.pending).into_iter().zip(verdicts) {
                    match v {
                        Verdict::Done(result) => tries.out.push(p.into_delivery(result)),
                        Verdict::Again => keep.push(p),
                    }
                }
                tries.pending = keep;
            }
        }
        round
    }

    /// A record's verdict from its result in the answer; a throttled try is counted as such,
    /// and what a try that is sent again ran into is kept as the record's last error.
    fn verdict(&self, result: RecordResult, p: &mut Pending) -> Verdict {
        let policy = &self.policy;
        match result {
            RecordResult::Stored {
                partition_id,
                sequence_number,
            } => Verdict::Done(Ok(Ack {
                partition_id,
                sequence_number,
            })),
            // Throttling: again until the deadline, and not a try against the cap.
            RecordResult::Failed { code, message } if is_throttled(&code) => {
                p.throttled_attempts += 1;
                p.last_error = Some(LastError::Refused { code, message });
                Verdict::Again
            }
            RecordResult::Failed { code, message }
                if policy.is_retryable_code(&code)
                    && p.counted_attempts() < policy.max_attempts =>
            {
                p.last_error = Some(LastError::Refused { code, message });
                Verdict::Again
            }
            RecordResult::Failed { code, message } => {
                Verdict::Done(Err(Failure::Refused { code, message }))
            }
        }
    }

    /// The verdicts of a request that failed as a whole: every record again (throttled, no
    /// credentials yet, or retryable within its tries), or failed with the shared error.
    fn judge_request(&self, tries: &mut Tries, err: Error, round: &mut Round) -> Vec<Verdict> {
        let policy = &self.policy;
        if let Error::Dis {
            retry_after: Some(d),
            ..
        } = &err
        {
            round.retry_after = Some(*d);
        }
        // The whole request refused by traffic control: every record throttled, sent again
        // until its deadline, as a throttled record.
        let throttled = matches!(&err, Error::Dis { code: Some(code), .. } if is_throttled(code));
        if throttled {
            round.refused.throttled = tries.pending.len();
            round.refused.throttled_bytes =
                tries.pending.iter().map(|p| p.entry.data.0.len()).sum();
        }
        let again = policy.is_retryable_request(&err);
        // No credentials (nothing sent): like throttling, again until the deadline.
        let waiting = matches!(err, Error::Credentials { .. });
        let ambiguous = err.maybe_duplicated();
        // One error for every record of the request, shared, not copied.
        let err = Arc::new(err);
        tries
            .pending
            .iter_mut()
            .map(|p| {
                if throttled {
                    p.throttled_attempts += 1;
                }
                if waiting || throttled || (again && p.counted_attempts() < policy.max_attempts) {
                    if ambiguous {
                        p.ambiguous_attempts += 1;
                    }
                    p.last_error = Some(LastError::Request(err.clone()));
                    Verdict::Again
                } else {
                    Verdict::Done(Err(Failure::Request(err.clone())))
                }
            })
            .collect()
    }

    /// What the answer said of the pace: throttling counted, and the partition's rate told.
    fn feedback(&self, tries: &mut Tries, round: &Round) {
        let refused = round.refused;
        if refused.throttled > 0 {
            self.stats.throttled(tries.lane, refused.throttled as u64);
            tries.throttled += refused.throttled as u64;
        }
        if let Some(pacer) = &self.pacer {
            pacer.feedback(&Sample {
                sent: tries.pending.len(),
                throttled: refused.throttled,
                throttled_bytes: refused.throttled_bytes,
                scattered: refused.scattered,
                reserved_at: tries.reserved_at,
                sent_at: tries.sent_at,
                retry_after: round.retry_after,
            });
        }
    }

    /// Waits before the next round: the partition's pace alone when only throttled records
    /// are left (the next round's `pace` is the wait), else a backoff with jitter, at least
    /// the answer's `Retry-After`. False when a deadline cut it short.
    async fn back_off(
        &self,
        tries: &mut Tries,
        round: Round,
        expired: &mut watch::Receiver<u64>,
    ) -> bool {
        let paced = self.pacer.is_some()
            && round.refused.throttled == tries.pending.len()
            && round.retry_after.is_none();
        if paced {
            return true;
        }
        tries.streak = if round.progress { 1 } else { tries.streak + 1 };
        let mut wait = self.policy.backoff(tries.streak, &mut tries.rng);
        if let Some(d) = round.retry_after {
            wait = wait.max(d.min(self.policy.max_backoff));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = until_expired(expired, tries.seen) => false,
        }
    }
}

/// Returns once the expiry generation moves past `seen`; never, when its sender is gone.
async fn until_expired(expired: &mut watch::Receiver<u64>, seen: u64) {
    if expired.wait_for(|&g| g > seen).await.is_err() {
        std::future::pending::<()>().await;
    }
}
