//! The producer's engine: takes records in, batches them per lane within the client's limits,
//! keeps up to `max_in_flight` requests going, and hands every outcome out.
//!
//! Lanes: one per partition when the partition count is known (records are routed on the
//! client, and each lane has its own send rate), else one per key hash in ordered mode, else
//! one. In ordered mode a lane has one request in flight, and a key has at most one record in
//! the open batch or in flight: later records of the key wait, in input order.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::attempts;
use super::batch::{Batch, Pending, later};
use super::config::ProducerConfig;
use super::delivery::{Delivery, Summary};
use super::key_order::KeyOrder;
use super::layout::Learning;
use super::learn::{self, Described, Unavailable};
use super::outbox::Outbox;
use super::pacing::Pacer;
use super::partition::partition_of;
use super::stats::StatsCell;
use crate::client::DisClient;
use crate::generated::types;
use crate::record::Record;
use crate::request::{self, Refused};
use crate::validate::Limits;

/// What the engine takes in.
pub(crate) enum Input {
    /// A record, with its share of a spawned producer's byte budget, given back with it.
    Record(Record, Option<OwnedSemaphorePermit>),
    /// Answer once everything taken in before has an outcome. Past the instant, what is left
    /// is handed back as expired; the answer says whether everything was delivered in time.
    Flush(oneshot::Sender<bool>, Instant),
}

/// One lane: an open batch and the requests in flight (its keys, in ordered mode, are in
/// [`KeyOrder`]).
struct Lane {
    open: Option<Batch>,
    in_flight: usize,
    /// The partition's pace (none when not paced).
    pacer: Option<Arc<Pacer>>,
}

/// Requests in flight, each answering with its lane, its outcomes and how many tries it made.
type Flights = JoinSet<attempts::Flown>;

/// The producer's engine: batches input into lanes, keeps the window of requests full, and
/// reports every outcome.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub(crate) client: DisClient,
    pub(crate) stream: types::PutRecordsRequestStreamName,
    pub(crate) config: ProducerConfig,
    pub(crate) stats: Arc<StatsCell>,
}

/// The state of one run of the engine, all in one place.
struct Run {
    /// The engine, its settings those the run goes by: what it was told, or what DIS described.
    engine: Engine,
    /// What the producer was told (its settings as given).
    told: ProducerConfig,
    /// The stream's description: asked for, awaited, and applied.
    learning: Learning,
    lanes: Vec<Lane>,
    /// Ordered mode: the keys held per lane and the records waiting for them.
    keys: KeyOrder,
    flights: Flights,
    summary: Summary,
    /// Where outcomes go: the callback's thread.
    outbox: Outbox,
    /// The totals so far, for a `close` that cannot wait for the callback.
    report: watch::Sender<Summary>,
    /// Bumped to tell the requests in flight that their records expired.
    expire: watch::Sender<u64>,
    /// Requests in flight, over all lanes.
    in_flight: usize,
    /// The id of the next record taken in (its input position).
    next_id: u64,
    /// A record whose lane has no room yet; input waits until it is placed.
    stash: Option<(usize, Pending)>,
    /// Flushes waiting for everything taken in before them, with their deadlines.
    flush_waiters: Vec<(oneshot::Sender<bool>, Instant)>,
    /// A flush deadline passed since the last flush was answered.
    flush_expired: bool,
    input_open: bool,
    /// Where a spawned producer's handle sets the close deadline; none once the handle is gone
    /// (nothing more will be said).
    close_at: Option<watch::Receiver<Option<Instant>>>,
    /// The close deadline, or past it.
    closing: Closing,
}

/// Where a run stands with its close deadline (a spawned producer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// No deadline set.
    Open,
    /// Past this instant nothing more is sent.
    At(Instant),
    /// Past the close deadline: everything ends as expired.
    Terminal,
}

impl Closing {
    /// The handle set a deadline (`None`: no deadline); once terminal, the run stays so.
    fn set(self, at: Option<Instant>) -> Self {
        match (self, at) {
            (Closing::Terminal, _) => Closing::Terminal,
            (_, Some(at)) => Closing::At(at),
            (_, None) => Closing::Open,
        }
    }

    /// The deadline still to come, if any.
    fn deadline(self) -> Option<Instant> {
        match self {
            Closing::At(at) => Some(at),
            Closing::Open | Closing::Terminal => None,
        }
    }
}

/// What wakes the engine up.
enum Event {
    /// The input had something (`None`: it ended).
    Input(Option<Input>),
    /// A batch's flight came back with its outcomes.
    Landed(attempts::Flown),
    /// A batch may have lingered long enough.
    Lingered,
    /// A flush's deadline passed.
    FlushDeadline,
    /// The handle set a close deadline (`None`: the handle is gone).
    CloseSet(Option<Option<Instant>>),
    /// The close deadline passed.
    CloseDeadline,
    /// The callback's backlog shrank below its caps, or emptied.
    Given,
    /// A description of the stream came back.
    Described(Result<Described, Unavailable>),
    /// Time to describe the stream again.
    DescribeAgain,
}

impl Engine {
    /// The callback's thread for one run, its backlog capped like a spawned producer's buffer.
    pub(crate) fn outbox<F: FnMut(Delivery) + Send + 'static>(&self, on_delivery: F) -> Outbox {
        let config = &self.config;
        Outbox::start(
            on_delivery,
            self.stats.clone(),
            config.buffer_records,
            config.buffer_bytes,
        )
    }

    /// With the partition count known: a lane per partition, and one more for the records
    /// without a partition key, which DIS spreads over the partitions itself.
    fn lanes(&self) -> usize {
        match self.config.partitions {
            Some(p) => p as usize + 1,
            None if self.config.order_by_key => self.config.max_in_flight,
            None => 1,
        }
    }

    /// Requests in flight at most, over all lanes: `max_in_flight`, and at quota pace at least
    /// one per lane, as a request waiting for its partition's bucket uses no connection (else
    /// 16 partitions paced through 4 requests in flight reach a quarter of their quota).
    fn window(&self) -> usize {
        let config = &self.config;
        let at_quota =
            config.partitions.is_some() && config.pacing.quota(config.stream_kind).is_some();
        if at_quota {
            config.max_in_flight.max(self.lanes())
        } else {
            config.max_in_flight
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
    /// `outbox` (the callback's thread), and the callback has had them all. `close_at` (of a
    /// spawned producer) sets a deadline: past it nothing more is sent, and records held here,
    /// in flight or still to come in end as expired. `report` has the totals so far.
    ///
    /// A record's way: [`Run::take_in`] checks it and puts it in its lane's open batch (or, in
    /// ordered mode, behind an earlier record of its key); [`Run::send_ready`] sends batches
    /// that are full, lingered long enough, or are being flushed, each on its own task
    /// ([`attempts::Flight`]); [`Run::land`] hands the outcomes out and frees the keys.
    pub(crate) async fn run<S: Stream<Item = Input>>(
        &self,
        input: S,
        outbox: Outbox,
        close_at: watch::Receiver<Option<Instant>>,
        report: watch::Sender<Summary>,
    ) -> Summary {
        let mut run = Run::new(self.clone(), outbox, close_at, report);
        let mut input = std::pin::pin!(input);
        loop {
            run.apply_relayout();
            run.send_ready();
            run.publish();
            // Flushes and the end wait for the callback too.
            if run.is_idle() && run.outbox.backlog() == 0 {
                run.answer_flushes();
                if !run.input_open {
                    break;
                }
            }
            match run.next_event(&mut input).await {
                Event::Input(item) => run.take_in(item, &mut input),
                Event::Landed(flown) => run.land(flown),
                Event::Lingered => {}
                Event::FlushDeadline => {
                    run.flush_expired = true;
                    run.expire_held();
                }
                Event::CloseSet(Some(at)) => run.closing = run.closing.set(at),
                // The handle is gone: nothing more will be said.
                Event::CloseSet(None) => run.close_at = None,
                Event::CloseDeadline => {
                    run.closing = Closing::Terminal;
                    run.expire_held();
                }
                Event::Given => {}
                Event::Described(result) => run.described(result),
                Event::DescribeAgain => run.describe(),
            }
        }
        run.publish();
        run.summary
    }
}

/// The lanes of a run going by `engine`'s settings.
fn build_lanes(engine: &Engine) -> Vec<Lane> {
    let config = &engine.config;
    // Paced per partition, once the partition count is known: each partition's lane at its
    // share, the records DIS spreads at all the partitions' together.
    let pacer = |partitions: u32| {
        config.partitions?;
        Pacer::new(config.pacing, config.stream_kind, partitions).map(Arc::new)
    };
    let mut lanes: Vec<Lane> = (0..engine.lanes())
        .map(|_| Lane {
            open: None,
            in_flight: 0,
            pacer: pacer(1),
        })
        .collect();
    // The lane of the records DIS spreads: paced for all the partitions together.
    if let (Some(p), Some(last)) = (config.partitions, lanes.last_mut()) {
        last.pacer = pacer(p);
    }
    lanes
}

impl Run {
    fn new(
        engine: Engine,
        outbox: Outbox,
        close_at: watch::Receiver<Option<Instant>>,
        report: watch::Sender<Summary>,
    ) -> Self {
        let lanes = build_lanes(&engine);
        let keys = KeyOrder::new(lanes.len());
        let closing = Closing::Open.set(*close_at.borrow());
        let describe = engine.config.describe;
        let mut run = Run {
            told: engine.config.clone(),
            learning: Learning::new(describe, Instant::now()),
            engine,
            lanes,
            keys,
            flights: JoinSet::new(),
            summary: Summary::default(),
            outbox,
            report,
            expire: watch::channel(0u64).0,
            in_flight: 0,
            next_id: 0,
            stash: None,
            flush_waiters: Vec::new(),
            flush_expired: false,
            input_open: true,
            close_at: Some(close_at),
            closing,
        };
        if describe {
            run.describe();
        }
        run
    }

    /// Asks DIS to describe the stream, on a task of its own (once at a time).
    fn describe(&mut self) {
        self.learning
            .describe(&self.engine.client, &self.engine.stream);
    }

    /// A description came back: settings that differ from the run's are applied once nothing
    /// is in flight ([`Run::apply_relayout`]). The first failure falls back to what the
    /// producer was told, with one warning; a refusal for good stops asking.
    fn described(&mut self, result: Result<Described, Unavailable>) {
        let first = self.learning.came_back();
        match result {
            Ok(described) => {
                let stream = self.engine.stream.to_string();
                // What the producer was told is said to disagree once, at the first description.
                let config = learn::settle(&self.told, described, |w| {
                    if first {
                        tracing::warn!(stream = %stream, "{w}");
                    }
                });
                let current = &self.engine.config;
                if config.partitions != current.partitions
                    || config.stream_kind != current.stream_kind
                {
                    if !first {
                        tracing::info!(
                            stream = %stream,
                            partitions = described.partitions,
                            kind = ?described.kind,
                            "the stream changed: the producer paces its new layout"
                        );
                    }
                    self.learning.relayout = Some(config);
                }
                self.engine
                    .stats
                    .learned(described.partitions, described.kind);
            }
            Err(Unavailable { refused, reason }) => {
                if refused {
                    self.learning.refused();
                }
                if first {
                    let told = &self.told;
                    tracing::warn!(
                        stream = %self.engine.stream.to_string(),
                        partitions = ?told.partitions,
                        kind = ?told.stream_kind,
                        "DescribeStream unavailable ({reason}): pacing by what the producer was told{}",
                        if told.stream_kind.is_some() && told.partitions.is_some() {
                            ""
                        } else {
                            " and by DIS's refusals (adaptive)"
                        }
                    );
                } else {
                    tracing::debug!(
                        reason,
                        "DescribeStream failed; the producer keeps its layout"
                    );
                }
            }
        }
    }

    /// Applies settings DIS described once no request is in flight: the records held (open
    /// batches, waiting for their key, the stash) are taken back and admitted again, in input
    /// order, into the new lanes. No request goes out meanwhile.
    fn apply_relayout(&mut self) {
        self.learning.end_late_hold();
        if self.learning.relayout.is_none() || self.in_flight > 0 {
            return;
        }
        let Some(config) = self.learning.relayout.take() else {
            return;
        };
        let mut held = self.take_held();
        held.sort_by_key(|p| p.id);
        self.engine.config = config;
        self.engine
            .stats
            .lanes(self.engine.config.partitions.map_or(1, |p| p as usize + 1));
        self.lanes = build_lanes(&self.engine);
        self.keys = KeyOrder::new(self.lanes.len());
        self.learning.replay = held.into();
    }

    /// Takes back the records held here: stashed, to be replayed, batched, waiting for their
    /// key.
    fn take_held(&mut self) -> Vec<Pending> {
        let mut held: Vec<Pending> = self.stash.take().map(|(_, p)| p).into_iter().collect();
        held.extend(self.learning.replay.drain(..));
        for (lane, l) in self.lanes.iter_mut().enumerate() {
            held.extend(l.open.take().into_iter().flat_map(|b| b.pending));
            held.extend(self.keys.take_lane(lane));
        }
        held
    }

    /// True while requests are held: for the first description, or for a relayout.
    fn holding(&self) -> bool {
        self.learning.holding()
    }

    /// True when the engine may take more input: the callback's backlog has room, and (unless
    /// past the close deadline, when records end at once) no record waits to be placed or
    /// replayed, no flush waits, and what waits for its key leaves room.
    fn has_input_room(&self) -> bool {
        self.input_open
            && !self.outbox.is_full()
            && (self.is_terminal()
                || (self.stash.is_none()
                    && self.learning.replay.is_empty()
                    && self.flush_waiters.is_empty()
                    && self.keys.has_room(self.engine.config.buffer_bytes)))
    }

    /// Past the close deadline: everything ends as expired.
    fn is_terminal(&self) -> bool {
        self.closing == Closing::Terminal
    }

    /// Checks the partitions DIS answered with: one beyond those known means the stream grew
    /// (or the producer was told too few): describe again, or, when DIS cannot be asked, say
    /// so once.
    fn check_partitions(&mut self, deliveries: &[Delivery]) {
        let Some(known) = self.engine.config.partitions else {
            return;
        };
        let beyond = deliveries.iter().find_map(|d| {
            let ack = d.result.as_ref().ok()?;
            let id = ack.partition_id.as_str();
            let index: u64 = id.strip_prefix("shardId-").unwrap_or(id).parse().ok()?;
            (index >= u64::from(known)).then_some(index)
        });
        let Some(index) = beyond else {
            return;
        };
        if !self.learning.no_describe {
            if self.learning.described_at.elapsed() >= learn::DESCRIBE_AGAIN_AFTER {
                self.describe();
            }
        } else if !self.learning.warned_unknown {
            self.learning.warned_unknown = true;
            tracing::warn!(
                stream = %self.engine.stream.to_string(),
                "DIS answered partition {index}, beyond the {known} partitions the producer \
                 knows: the stream has more; pacing covers only {known}"
            );
        }
    }

    /// Stage: the stashed record placed if its lane has room now, and every batch that is
    /// ready sent: lingered long enough, or all of them while draining (input ended, or a
    /// flush waits).
    fn send_ready(&mut self) {
        while self.stash.is_none()
            && let Some(pending) = self.learning.replay.pop_front()
        {
            let lane = self.lane_of(&pending);
            if let Some(back) = self.admit(lane, pending) {
                self.learning.replay.push_front(back);
                break;
            }
        }
        if let Some((lane, pending)) = self.stash.take() {
            self.stash = self.place(lane, pending).map(|p| (lane, p));
        }
        let (ordered, linger) = (self.engine.config.order_by_key, self.engine.config.linger);
        let draining = !self.input_open || !self.flush_waiters.is_empty();
        if self.holding() {
            return;
        }
        let now = Instant::now();
        for lane in 0..self.lanes.len() {
            // Ordered mode: a lane with nothing in flight sends at once (its batch grew while
            // the last request was out; lingering would only add to every round trip).
            let eager = ordered && self.lanes[lane].in_flight == 0;
            let ready = self.lanes[lane]
                .open
                .as_ref()
                .is_some_and(|b| draining || eager || now.duration_since(b.since) >= linger);
            if ready && self.has_room(lane) {
                self.dispatch(lane);
            }
        }
    }

    /// True when nothing is held or in flight.
    fn is_idle(&self) -> bool {
        self.flights.is_empty()
            && self.stash.is_none()
            && self.learning.replay.is_empty()
            && self.keys.is_empty()
            && self.lanes.iter().all(|l| l.open.is_none())
    }

    /// Everything taken in has its outcome: the flushes waiting are answered (true when none
    /// of their deadlines passed).
    fn answer_flushes(&mut self) {
        for (w, _) in self.flush_waiters.drain(..) {
            let _ = w.send(!self.flush_expired);
        }
        self.flush_expired = false;
    }

    /// Waits for the next thing that needs the engine: input (only when there is room for
    /// it), a flight landing, a batch's linger, a flush or close deadline.
    async fn next_event<S: Stream<Item = Input>>(
        &mut self,
        input: &mut std::pin::Pin<&mut S>,
    ) -> Event {
        let linger = self.engine.config.linger;
        // Only lanes that may send now have a deadline: a full window waits for a flight.
        let lingered = (0..self.lanes.len())
            .filter(|&i| self.has_room(i))
            .filter_map(|i| self.lanes[i].open.as_ref().map(|b| b.since + linger))
            .min();
        let flush_deadline = self
            .flush_waiters
            .iter()
            .map(|(_, at)| *at)
            .min()
            .filter(|_| !self.flush_expired);
        let pull = self.has_input_room();
        let closing = self.closing.deadline();
        let held_until = self.learning.held_until();
        let next_describe = self.learning.next_describe;
        let learning = &mut self.learning.under_way;
        let (flights, close_at) = (&mut self.flights, &mut self.close_at);
        let outbox = &self.outbox;
        tokio::select! {
            next = input.next(), if pull => Event::Input(next),
            Some(done) = flights.join_next(), if !flights.is_empty() => {
                Event::Landed(done.expect("a request task panicked"))
            }
            _ = sleep_until(lingered), if lingered.is_some() => Event::Lingered,
            _ = sleep_until(flush_deadline), if flush_deadline.is_some() => Event::FlushDeadline,
            changed = close_changed(close_at), if close_at.is_some() => Event::CloseSet(changed),
            _ = sleep_until(closing), if closing.is_some() => Event::CloseDeadline,
            Some(done) = learning.join_next(), if !learning.is_empty() => {
                Event::Described(done.unwrap_or_else(|e| Err(Unavailable {
                    refused: false,
                    reason: e.to_string(),
                })))
            }
            // The first description is late: requests go out without it.
            _ = sleep_until(held_until), if held_until.is_some() => Event::Lingered,
            _ = sleep_until(next_describe), if next_describe.is_some() => Event::DescribeAgain,
            // Always armed: the backlog may have emptied since the loop looked at it, and the
            // wake-up it left is what gets the engine to look again.
            () = outbox.shrunk() => Event::Given,
        }
    }

    /// Event: input arrived. Takes it in, and whatever more is ready now without going round
    /// the select per record, while there is room.
    fn take_in<S: Stream<Item = Input>>(
        &mut self,
        first: Option<Input>,
        input: &mut std::pin::Pin<&mut S>,
    ) {
        // One clock reading for the records that are there now: they are taken in together.
        let now = Instant::now();
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                None => self.input_open = false,
                Some(Input::Flush(w, at)) => self.flush_waiters.push((w, at)),
                Some(Input::Record(record, permit)) => {
                    self.take_record(record, permit, now);
                    if self.has_input_room() {
                        next = input.next().now_or_never();
                    }
                }
            }
        }
    }

    /// One record in: checked (the index in a validation error is its input position) into
    /// its wire entry, then into its lane, or out at once when invalid or past the close
    /// deadline.
    fn take_record(&mut self, record: Record, permit: Option<OwnedSemaphorePermit>, now: Instant) {
        let id = self.next_id;
        self.next_id += 1;
        self.summary.sent += 1;
        let checked = request::into_entry(record, id as usize, self.engine.client.limits());
        // Only a spawned producer's records carry a share of its buffer.
        self.engine
            .stats
            .taken_in(permit.is_some(), checked.is_ok());
        let checked = match checked {
            Ok(checked) => checked,
            Err(refused) => {
                let Refused { error, record } = *refused;
                self.deliver(vec![Delivery::invalid(id, record, error)]);
                return;
            }
        };
        // Its own time limit, else the producer's, from the moment it was taken in.
        let time_limit = checked.time_limit.unwrap_or(self.engine.config.time_limit);
        let pending = Pending::new(id, checked, later(now, time_limit), permit);
        if self.is_terminal() {
            self.deliver(vec![pending.expire(false)]);
            return;
        }
        let lane = self.lane_of(&pending);
        self.stash = self.admit(lane, pending).map(|p| (lane, p));
    }

    /// Event: a flight landed. Its outcomes go out, its keys come free (ordered mode), and the
    /// records waiting for them move up.
    fn land(&mut self, flown: attempts::Flown) {
        let attempts::Flown {
            lane,
            deliveries,
            requests,
            throttled,
        } = flown;
        self.lanes[lane].in_flight -= 1;
        self.in_flight -= 1;
        self.summary.requests += requests;
        self.summary.throttled += throttled;
        if self.engine.config.order_by_key {
            // Their keys come free; those with records waiting are promoted in that order.
            self.keys.landed(lane, &deliveries);
        }
        self.check_partitions(&deliveries);
        self.deliver(deliveries);
        if self.is_terminal() {
            self.expire_held();
        } else {
            self.promote(lane);
        }
    }

    /// True when `lane` may start another request.
    fn has_room(&self, lane: usize) -> bool {
        !self.holding()
            && self.lanes[lane].in_flight < self.engine.lane_capacity()
            && self.in_flight < self.engine.window()
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

    /// Hands outcomes out: to the totals, the stats, and the callback's thread.
    fn deliver(&mut self, deliveries: Vec<Delivery>) {
        self.engine.stats.delivered(&deliveries);
        for d in &deliveries {
            self.summary.add(d);
        }
        self.outbox.give(deliveries);
    }

    /// The totals so far, for a `close` that returns before the callback has had everything.
    fn publish(&mut self) {
        self.summary.callback_panics = self.outbox.panics();
        let summary = self.summary;
        self.report.send_if_modified(|seen| {
            let changed = *seen != summary;
            *seen = summary;
            changed
        });
    }

    /// Takes a record into its lane: into the open batch, or (ordered mode) behind an earlier
    /// record of its key. Gives it back when the lane has no room.
    fn admit(&mut self, lane: usize, pending: Pending) -> Option<Pending> {
        if self.engine.config.order_by_key
            && let Some(key) = pending.partition_key()
        {
            // Behind the record of its key in the batch or in flight, or behind those of its
            // key already waiting.
            if self.keys.is_held(lane, key) {
                self.keys.wait(lane, pending, false);
                return None;
            }
        }
        self.place(lane, pending)
    }

    /// Moves the next waiting record of each key that has come free into the open batch, in
    /// the order the keys came free: the cost is per key freed, not per record waiting.
    fn promote(&mut self, lane: usize) {
        while let Some((key, pending)) = self.keys.next_freed(lane) {
            if let Some(back) = self.place(lane, pending) {
                // No room for another request: it waits, first of its key, for the next landing.
                self.keys.put_back(lane, key, back);
                break;
            }
        }
    }

    /// Puts a record into its lane's open batch, sending the batch first when the record
    /// would not fit. Gives the record back when the lane has no room for another request.
    fn place(&mut self, lane: usize, pending: Pending) -> Option<Pending> {
        let full = self.lanes[lane]
            .open
            .as_ref()
            .is_some_and(|b| !b.fits(&pending));
        if full {
            if !self.has_room(lane) {
                return Some(pending);
            }
            self.dispatch(lane);
        }
        if self.engine.config.order_by_key
            && let Some(key) = pending.partition_key()
        {
            self.keys.activate(lane, key);
        }
        let open = match self.lanes[lane].open.take() {
            Some(batch) => batch,
            None => Batch::new(lane, self.request_limits(lane)),
        };
        let batch = self.lanes[lane].open.insert(open);
        batch.push(pending);
        // A full batch goes now when the window allows.
        if batch.is_full() && self.has_room(lane) {
            self.dispatch(lane);
        }
        None
    }

    /// What a new request of `lane` may carry: the client's limits, and when paced no more
    /// than a short span of the lane's rate (what one carries was reserved at the rate of its
    /// time).
    fn request_limits(&self, lane: usize) -> Limits {
        let mut limits = *self.engine.client.limits();
        if let Some((records, bytes)) = self.lanes[lane].pacer.as_ref().map(|p| p.request_cap()) {
            limits.max_records_per_request = limits.max_records_per_request.min(records);
            limits.max_request_bytes = limits.max_request_bytes.min(bytes);
        }
        limits
    }

    /// Sends the open batch of `lane` as one request on its own task.
    fn dispatch(&mut self, lane: usize) {
        let Some(batch) = self.lanes[lane].open.take() else {
            return;
        };
        self.lanes[lane].in_flight += 1;
        self.in_flight += 1;
        let engine = &self.engine;
        let flight = attempts::Flight {
            client: engine.client.clone(),
            stream: engine.stream.clone(),
            policy: engine.config.retry.clone(),
            format: engine.config.body_format,
            pacer: self.lanes[lane].pacer.clone(),
            stats: engine.stats.clone(),
        };
        let expired = self.expire.subscribe();
        self.flights.spawn(flight.deliver(batch, expired));
    }

    /// A deadline passed: the records held here (stashed, batched, waiting) go back unsent,
    /// and the requests in flight are told to stop.
    fn expire_held(&mut self) {
        self.expire.send_modify(|generation| *generation += 1);
        let held = self.take_held();
        let expired = held.into_iter().map(|p| p.expire(false)).collect();
        self.deliver(expired);
    }
}

/// Waits for the handle to set a close deadline: `Some` with it, `None` once the handle is
/// gone; forever when there is no handle to wait for.
async fn close_changed(
    close_at: &mut Option<watch::Receiver<Option<Instant>>>,
) -> Option<Option<Instant>> {
    match close_at {
        Some(rx) => rx.changed().await.ok().map(|()| *rx.borrow()),
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
