//! The producer's engine: takes records in, batches them per lane within the client's limits,
//! keeps up to `max_in_flight` requests going, and hands every outcome out.
//!
//! Lanes: one per partition when the partition count is known (records are routed on the
//! client, and each lane has its own send rate), else one per key hash in ordered mode, else
//! one. In ordered mode a lane has one request in flight, and a key has at most one record in
//! the open batch or in flight: later records of the key wait, in input order.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::attempts;
use super::batch::{Batch, Pending};
use super::config::ProducerConfig;
use super::delivery::{Delivery, Failure, Summary};
use super::pacer::Pacer;
use super::partition::partition_of;
use super::stats::StatsCell;
use crate::client::DisClient;
use crate::generated::types;
use crate::record::Record;
use crate::request;

/// What the engine takes in.
pub(crate) enum Input {
    /// A record, with its share of a spawned producer's byte budget, given back with it.
    Record(Record, Option<OwnedSemaphorePermit>),
    /// Answer once everything taken in before has an outcome. Past the instant, what is left
    /// is handed back as expired; the answer says whether everything was delivered in time.
    Flush(oneshot::Sender<bool>, Instant),
}

/// One lane: an open batch, the requests in flight, and (ordered mode) the keys held.
struct Lane {
    open: Option<Batch>,
    in_flight: usize,
    /// Records waiting for an earlier record of their key (ordered mode).
    waiting: VecDeque<Pending>,
    /// How many records of each key wait.
    waiting_keys: HashMap<String, usize>,
    /// Keys with a record in the open batch or in flight.
    active: HashSet<String>,
    /// The partition's send rate (adaptive mode).
    pacer: Option<Arc<Pacer>>,
}

/// Requests in flight, each answering with its lane, its outcomes and how many tries it made.
type Flights = JoinSet<attempts::Flown>;

/// Most records waiting for their key, in all lanes, before input stops being read.
const MAX_WAITING: usize = 10_000;

/// The producer's engine: batches input into lanes, keeps the window of requests full, and
/// reports every outcome.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub(crate) client: DisClient,
    pub(crate) stream: types::PutRecordsRequestStreamName,
    pub(crate) config: ProducerConfig,
    pub(crate) stats: Arc<StatsCell>,
}

/// The state of one run of the engine.
struct Run<'a, F> {
    engine: &'a Engine,
    lanes: Vec<Lane>,
    flights: Flights,
    summary: Summary,
    on_delivery: F,
    /// Bumped to tell the requests in flight that their records expired.
    expire: watch::Sender<u64>,
    /// Requests in flight, over all lanes.
    in_flight: usize,
    /// Records waiting for their key, over all lanes.
    waiting: usize,
}

impl Engine {
    /// With the partition count known: a lane per partition, and one more for the records
    /// without a partition key, which DIS spreads over the partitions itself.
    fn lanes(&self) -> usize {
        match self.config.partitions {
            Some(p) => p as usize + 1,
            None if self.config.order_by_key => self.config.max_in_flight,
            None => 1,
        }
    }

    /// Requests one lane may have in flight.
    fn lane_capacity(&self) -> usize {
        if self.config.order_by_key {
            1
        } else {
            self.config.max_in_flight
        }
    }

    /// Runs until `input` ends and every record taken in has its outcome, handed to
    /// `on_delivery`. `close_at` (of a spawned producer) sets a deadline: past it nothing more
    /// is sent, and records held here, in flight or still to come in end as expired.
    pub(crate) async fn run<S: Stream<Item = Input>>(
        &self,
        input: S,
        on_delivery: impl FnMut(Delivery),
        mut close_at: watch::Receiver<Option<Instant>>,
        from_buffer: bool,
    ) -> Summary {
        let adaptive = self.config.adaptive && self.config.partitions.is_some();
        let lanes = (0..self.lanes())
            .map(|_| Lane {
                open: None,
                in_flight: 0,
                waiting: VecDeque::new(),
                waiting_keys: HashMap::new(),
                active: HashSet::new(),
                pacer: adaptive.then(|| Arc::new(Pacer::new(1))),
            })
            .collect::<Vec<Lane>>();
        // The lane of the records DIS spreads: paced for all the partitions together.
        let mut lanes = lanes;
        if let (true, Some(p), Some(last)) = (adaptive, self.config.partitions, lanes.last_mut()) {
            last.pacer = Some(Arc::new(Pacer::new(p)));
        }
        let (expire, _) = watch::channel(0u64);
        let mut run = Run {
            engine: self,
            lanes,
            flights: JoinSet::new(),
            summary: Summary::default(),
            on_delivery,
            expire,
            in_flight: 0,
            waiting: 0,
        };
        let mut next_id = 0u64;
        // A record whose lane has no room yet; input waits until it is placed.
        let mut stash: Option<(usize, Pending)> = None;
        let mut flush_waiters: Vec<(oneshot::Sender<bool>, Instant)> = Vec::new();
        // A flush deadline passed since the last flush was answered.
        let mut flush_expired = false;
        let mut input_open = true;
        let mut closing: Option<Instant> = *close_at.borrow();
        let mut watching = true;
        // Past the close deadline: everything ends as expired.
        let mut terminal = false;
        let mut input = std::pin::pin!(input);

        loop {
            if let Some((lane, pending)) = stash.take() {
                stash = run.place(lane, pending).map(|p| (lane, p));
            }
            // Send batches that waited long enough, or all of them when draining.
            let draining = !input_open || !flush_waiters.is_empty();
            let now = Instant::now();
            for lane in 0..run.lanes.len() {
                // Ordered mode: a lane with nothing in flight sends at once (its batch grew while
                // the last request was out; lingering would only add to every round trip).
                let eager = self.config.order_by_key && run.lanes[lane].in_flight == 0;
                let ready = run.lanes[lane].open.as_ref().is_some_and(|b| {
                    draining || eager || now.duration_since(b.since) >= self.config.linger
                });
                if ready && run.has_room(lane) {
                    run.dispatch(lane);
                }
            }
            let idle = run.flights.is_empty()
                && stash.is_none()
                && run.waiting == 0
                && run.lanes.iter().all(|l| l.open.is_none());
            if idle {
                for (w, _) in flush_waiters.drain(..) {
                    let _ = w.send(!flush_expired);
                }
                flush_expired = false;
                if !input_open {
                    break;
                }
            }
            // Only lanes that may send now have a deadline: a full window waits for a flight.
            let linger = run
                .lanes
                .iter()
                .enumerate()
                .filter(|(i, _)| run.has_room(*i))
                .filter_map(|(_, l)| l.open.as_ref().map(|b| b.since + self.config.linger))
                .min();
            let flush_deadline = flush_waiters
                .iter()
                .map(|(_, at)| *at)
                .min()
                .filter(|_| !flush_expired);
            let pull = input_open
                && (terminal
                    || (stash.is_none() && flush_waiters.is_empty() && run.waiting < MAX_WAITING));

            tokio::select! {
                next = input.next(), if pull => {
                    // Take in what is ready now without going round the select per record.
                    let mut next = Some(next);
                    while let Some(item) = next.take() {
                        match item {
                            None => input_open = false,
                            Some(Input::Flush(w, at)) => flush_waiters.push((w, at)),
                            Some(Input::Record(record, permit)) => {
                                let id = next_id;
                                next_id += 1;
                                run.summary.sent += 1;
                                // The index in a validation error is the record's input position.
                                let checked = request::into_entry(record, id as usize, self.client.limits());
                                self.stats.taken_in(from_buffer, checked.is_ok());
                                match checked {
                                    Err(refused) => {
                                        let (e, record) = *refused;
                                        run.deliver(vec![Delivery::invalid(id, record, e)]);
                                    }
                                    Ok((entry, own)) => {
                                        let deadline = own.unwrap_or(self.config.deadline);
                                        let pending = Pending::new(id, entry, own, deadline, permit);
                                        if terminal {
                                            run.deliver(vec![pending.into_delivery(Err(Failure::Expired { unanswered: false }))]);
                                        } else {
                                            let lane = run.lane_of(&pending);
                                            stash = run.admit(lane, pending).map(|p| (lane, p));
                                        }
                                    }
                                }
                                let room = terminal || (stash.is_none()
                                    && run.waiting < MAX_WAITING);
                                if room {
                                    next = input.next().now_or_never();
                                }
                            }
                        }
                    }
                },
                Some(done) = run.flights.join_next(), if !run.flights.is_empty() => {
                    let attempts::Flown { lane, deliveries, requests, throttled } =
                        done.expect("a request task panicked");
                    run.lanes[lane].in_flight -= 1;
                    run.in_flight -= 1;
                    run.summary.requests += requests;
                    run.summary.throttled += throttled;
                    // The keys of these records come free (ordered mode).
                    if self.config.order_by_key {
                        let active = &mut run.lanes[lane].active;
                        for d in &deliveries {
                            if let Some(key) = d.record.partition_key.as_deref() {
                                active.remove(key);
                            }
                        }
                    }
                    run.deliver(deliveries);
                    if terminal {
                        run.expire_held(&mut stash);
                    } else {
                        run.promote(lane);
                    }
                }
                _ = sleep_until(linger), if linger.is_some() => {}
                _ = sleep_until(flush_deadline), if flush_deadline.is_some() => {
                    flush_expired = true;
                    run.expire_held(&mut stash);
                }
                changed = close_at.changed(), if watching => match changed {
                    Ok(()) => closing = *close_at.borrow(),
                    // The handle is gone: nothing more will be said.
                    Err(_) => watching = false,
                },
                _ = sleep_until(closing), if closing.is_some() && !terminal => {
                    terminal = true;
                    run.expire_held(&mut stash);
                }
            }
        }
        run.summary
    }
}

impl<F: FnMut(Delivery)> Run<'_, F> {
    /// True when `lane` may start another request.
    fn has_room(&self, lane: usize) -> bool {
        self.lanes[lane].in_flight < self.engine.lane_capacity()
            && self.in_flight < self.engine.config.max_in_flight
    }

    fn lane_of(&mut self, pending: &Pending) -> usize {
        let config = &self.engine.config;
        if let Some(partitions) = config.partitions {
            return match partition_of(&pending.entry, partitions) {
                Some(p) => p as usize,
                // DIS spreads these itself: their own lane, paced for all partitions.
                None => partitions as usize,
            };
        }
        if !config.order_by_key {
            return 0;
        }
        let mut h = DefaultHasher::new();
        pending.entry.partition_key.hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }

    /// Hands outcomes out: to the totals, the stats and the caller.
    fn deliver(&mut self, deliveries: Vec<Delivery>) {
        self.engine.stats.delivered(&deliveries);
        for d in deliveries {
            self.summary.add(&d);
            (self.on_delivery)(d);
        }
    }

    /// Takes a record into its lane: into the open batch, or (ordered mode) behind an earlier
    /// record of its key. Gives it back when the lane has no room.
    fn admit(&mut self, lane: usize, pending: Pending) -> Option<Pending> {
        if self.engine.config.order_by_key
            && let Some(key) = pending.partition_key()
        {
            let l = &mut self.lanes[lane];
            if l.active.contains(key) || l.waiting_keys.contains_key(key) {
                *l.waiting_keys.entry(key.to_owned()).or_default() += 1;
                l.waiting.push_back(pending);
                self.waiting += 1;
                return None;
            }
        }
        self.place(lane, pending)
    }

    /// Moves waiting records whose key has come free into the open batch, in input order.
    fn promote(&mut self, lane: usize) {
        if self.lanes[lane].waiting.is_empty() {
            return;
        }
        let before = self.lanes[lane].waiting.len();
        let mut held = HashSet::new();
        let mut keep = VecDeque::new();
        while let Some(pending) = self.lanes[lane].waiting.pop_front() {
            let key = pending.partition_key().unwrap_or_default().to_owned();
            let l = &mut self.lanes[lane];
            if l.active.contains(&key) || held.contains(&key) {
                held.insert(key);
                keep.push_back(pending);
                continue;
            }
            if let Some(n) = l.waiting_keys.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    l.waiting_keys.remove(&key);
                }
            }
            if let Some(back) = self.place(lane, pending) {
                // No room for another request: it waits, first of its key.
                let l = &mut self.lanes[lane];
                *l.waiting_keys.entry(key.clone()).or_default() += 1;
                held.insert(key);
                keep.push_back(back);
            }
        }
        self.waiting -= before - keep.len();
        self.lanes[lane].waiting = keep;
    }

    /// Puts a record into its lane's open batch, sending the batch first when the record
    /// would not fit. Gives the record back when the lane has no room for another request.
    fn place(&mut self, lane: usize, pending: Pending) -> Option<Pending> {
        let limits = *self.engine.client.limits();
        let full = self.lanes[lane]
            .open
            .as_ref()
            .is_some_and(|b| !b.fits(&pending, &limits));
        if full {
            if !self.has_room(lane) {
                return Some(pending);
            }
            self.dispatch(lane);
        }
        if self.engine.config.order_by_key
            && let Some(key) = pending.partition_key()
        {
            self.lanes[lane].active.insert(key.to_owned());
        }
        let batch = self.lanes[lane]
            .open
            .get_or_insert_with(|| Batch::new(lane));
        batch.push(pending);
        // A full batch goes now when the window allows.
        if batch.pending.len() >= limits.max_records_per_request && self.has_room(lane) {
            self.dispatch(lane);
        }
        None
    }

    /// Sends the open batch of `lane` as one request on its own task.
    fn dispatch(&mut self, lane: usize) {
        let Some(batch) = self.lanes[lane].open.take() else {
            return;
        };
        self.lanes[lane].in_flight += 1;
        self.in_flight += 1;
        let engine = self.engine;
        let send = attempts::Send {
            client: engine.client.clone(),
            stream: engine.stream.clone(),
            policy: engine.config.retry.clone(),
            format: engine.config.body_format,
            pacer: self.lanes[lane].pacer.clone(),
            stats: engine.stats.clone(),
        };
        let expired = self.expire.subscribe();
        self.flights.spawn(send.deliver(batch, expired));
    }

    /// A deadline passed: the records held here (stashed, batched, waiting) go back unsent,
    /// and the requests in flight are told to stop.
    fn expire_held(&mut self, stash: &mut Option<(usize, Pending)>) {
        self.expire.send_modify(|generation| *generation += 1);
        let mut held: Vec<Pending> = stash.take().map(|(_, p)| p).into_iter().collect();
        for l in &mut self.lanes {
            held.extend(l.open.take().into_iter().flat_map(|b| b.pending));
            held.extend(l.waiting.drain(..));
            l.waiting_keys.clear();
            l.active.clear();
        }
        self.waiting = 0;
        let expired = held
            .into_iter()
            .map(|p| p.into_delivery(Err(Failure::Expired { unanswered: false })))
            .collect();
        self.deliver(expired);
    }
}

/// Returns once the expiry generation moves past `seen`; never, when its sender is gone.
pub(crate) async fn until_expired(expired: &mut watch::Receiver<u64>, seen: u64) {
    if expired.wait_for(|&g| g > seen).await.is_err() {
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
