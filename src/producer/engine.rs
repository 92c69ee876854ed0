//! The producer's engine: takes records in, batches them per lane within the client's limits,
//! keeps up to `max_in_flight` requests going, and hands every outcome out.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::attempts;
use super::batch::{Batch, Pending};
use super::config::ProducerConfig;
use super::delivery::{Delivery, Failure, Summary};
use crate::client::DisClient;
use crate::generated::types;
use crate::record::Record;
use crate::request;

/// A validated record on its way into a lane.
struct Placed {
    lane: usize,
    pending: Pending,
}

/// A lane holds one open batch; with `order_by_key` each key always maps to the same lane
/// and a lane has at most one request in flight.
struct Lane {
    open: Option<Batch>,
    in_flight: usize,
}

/// Requests in flight, each answering with its lane, its outcomes and how many tries it made,
/// and the signal that tells them the deadline has passed.
struct Flights {
    tasks: JoinSet<(usize, Vec<Delivery>, u64)>,
    expired: watch::Receiver<bool>,
}

/// What the engine takes in.
pub(crate) enum Input {
    Record(Record),
    Flush(oneshot::Sender<()>),
}

/// The producer's engine: batches input into lanes, keeps the window of requests full, and
/// reports every outcome.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub(crate) client: DisClient,
    pub(crate) stream: types::PutRecordsRequestStreamName,
    pub(crate) config: ProducerConfig,
}

impl Engine {
    fn lane_of(&self, record: &Record) -> usize {
        if !self.config.order_by_key {
            return 0;
        }
        let mut h = DefaultHasher::new();
        record.partition_key.hash(&mut h);
        (h.finish() % self.config.max_in_flight as u64) as usize
    }

    fn lane_capacity(&self) -> usize {
        if self.config.order_by_key {
            1
        } else {
            self.config.max_in_flight
        }
    }

    /// True when `lane` may start another request.
    fn has_room(&self, lane: &Lane) -> bool {
        lane.in_flight < self.lane_capacity()
    }

    /// Runs until `input` ends and every record taken in has its outcome, handed to
    /// `on_delivery`. Once `expired` turns true, nothing more is sent: records waiting here or
    /// taken in later, and those of requests in flight, end as [`Failure::Expired`].
    pub(crate) async fn run<S: Stream<Item = Input>>(
        &self,
        input: S,
        mut on_delivery: impl FnMut(Delivery),
        mut expired: watch::Receiver<bool>,
    ) -> Summary {
        let lanes_n = if self.config.order_by_key {
            self.config.max_in_flight
        } else {
            1
        };
        let mut lanes: Vec<Lane> = (0..lanes_n)
            .map(|_| Lane {
                open: None,
                in_flight: 0,
            })
            .collect();
        let mut flights = Flights {
            tasks: JoinSet::new(),
            expired: expired.clone(),
        };
        let mut summary = Summary::default();
        let mut next_id = 0u64;
        // A record taken in whose lane has no room yet; input waits until it is placed.
        let mut stash: Option<Placed> = None;
        let mut flush_waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut input_open = true;
        let mut input = std::pin::pin!(input);
        let mut expiring = false;
        let expire = |p: Pending, summary: &mut Summary| {
            let d = p.into_delivery(Err(Failure::Expired { unanswered: false }));
            summary.add(&d);
            d
        };
        let mut handed_back = Vec::new();

        loop {
            if expiring {
                // Past the deadline: what waits here goes back unsent.
                let waiting = stash.take().map(|p| p.pending).into_iter().chain(
                    lanes
                        .iter_mut()
                        .filter_map(|l| l.open.take())
                        .flat_map(|b| b.pending),
                );
                handed_back.extend(waiting.map(|p| expire(p, &mut summary)));
                handed_back.drain(..).for_each(&mut on_delivery);
            }
            if let Some(placed) = stash.take() {
                stash = self.place(&mut lanes, &mut flights, placed);
            }
            // Send batches that waited long enough, or all of them when draining.
            let draining = !input_open || !flush_waiters.is_empty();
            let now = Instant::now();
            for lane in 0..lanes.len() {
                let ready = lanes[lane]
                    .open
                    .as_ref()
                    .is_some_and(|b| draining || now.duration_since(b.since) >= self.config.linger);
                if ready && self.has_room(&lanes[lane]) {
                    self.dispatch(&mut lanes, &mut flights, lane);
                }
            }
            let idle = flights.tasks.is_empty()
                && stash.is_none()
                && lanes.iter().all(|l| l.open.is_none());
            if idle {
                for w in flush_waiters.drain(..) {
                    let _ = w.send(());
                }
                if !input_open {
                    break;
                }
            }
            // Only lanes that may send now have a deadline: a full window waits for a flight.
            let deadline = lanes
                .iter()
                .filter(|l| self.has_room(l))
                .filter_map(|l| l.open.as_ref().map(|b| b.since + self.config.linger))
                .min();

            tokio::select! {
                next = input.next(), if input_open && stash.is_none() && flush_waiters.is_empty() => {
                    // Take in what is ready now without going round the select per record.
                    let mut next = Some(next);
                    while let Some(item) = next.take() {
                        match item {
                            None => input_open = false,
                            Some(Input::Flush(w)) => flush_waiters.push(w),
                            Some(Input::Record(record)) => {
                                let id = next_id;
                                next_id += 1;
                                summary.sent += 1;
                                // The index in a validation error is the record's input position.
                                match request::check(&record, id as usize, self.client.limits()) {
                                    Err(e) => {
                                        let d = Delivery { id, record, attempts: 0, ambiguous_attempts: 0, result: Err(Failure::Invalid(e)) };
                                        summary.add(&d);
                                        on_delivery(d);
                                    }
                                    Ok(_) if expiring => {
                                        let pending = Pending { id, record, attempts: 0, ambiguous_attempts: 0 };
                                        on_delivery(expire(pending, &mut summary));
                                    }
                                    Ok(()) => {
                                        let lane = self.lane_of(&record);
                                        let pending = Pending { id, record, attempts: 0, ambiguous_attempts: 0 };
                                        stash = self.place(&mut lanes, &mut flights, Placed { lane, pending });
                                    }
                                }
                                if stash.is_none() {
                                    next = input.next().now_or_never();
                                }
                            }
                        }
                    }
                },
                Some(done) = flights.tasks.join_next(), if !flights.tasks.is_empty() => {
                    let (lane, deliveries, requests) = done.expect("a request task panicked");
                    lanes[lane].in_flight -= 1;
                    summary.requests += requests;
                    for d in deliveries {
                        summary.add(&d);
                        on_delivery(d);
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {}
                _ = until_expired(&mut expired), if !expiring => expiring = true,
            }
        }
        summary
    }

    /// Puts a record into its lane's open batch, sending the batch first when the record
    /// would not fit. Gives the record back when the lane has no room for another request.
    fn place(&self, lanes: &mut [Lane], flights: &mut Flights, placed: Placed) -> Option<Placed> {
        let limits = self.client.limits();
        let lane = placed.lane;
        if lanes[lane]
            .open
            .as_ref()
            .is_some_and(|b| !b.fits(&placed.pending.record, limits))
        {
            if !self.has_room(&lanes[lane]) {
                return Some(placed);
            }
            self.dispatch(lanes, flights, lane);
        }
        let batch = lanes[lane].open.get_or_insert_with(|| Batch::new(lane));
        batch.push(placed.pending);
        // A full batch goes now when the window allows.
        if batch.pending.len() >= limits.max_records_per_request && self.has_room(&lanes[lane]) {
            self.dispatch(lanes, flights, lane);
        }
        None
    }

    /// Sends the open batch of `lane` as one request on its own task.
    fn dispatch(&self, lanes: &mut [Lane], flights: &mut Flights, lane: usize) {
        let Some(batch) = lanes[lane].open.take() else {
            return;
        };
        let expired = flights.expired.clone();
        lanes[lane].in_flight += 1;
        let send = attempts::Send {
            client: self.client.clone(),
            stream: self.stream.clone(),
            policy: self.config.retry.clone(),
            format: self.config.body_format,
        };
        flights.tasks.spawn(send.deliver(batch, expired));
    }
}

/// Returns once `expired` turns true; never, when its sender is gone without saying so.
pub(crate) async fn until_expired(expired: &mut watch::Receiver<bool>) {
    if expired.wait_for(|&e| e).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
