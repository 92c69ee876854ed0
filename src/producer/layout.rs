//! What a run learns of its stream's layout (DescribeStream): the description under way, when
//! to ask again, and a change of layout waiting to be applied.

use std::collections::VecDeque;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::batch::Pending;
use super::config::ProducerConfig;
use super::learn::{self, Described, Unavailable};
use crate::client::DisClient;
use crate::generated::types::PutRecordsRequestStreamName;

/// How long a run holds its first requests for its stream's description (DescribeStream) at
/// most: long enough for DIS to answer, short enough that an endpoint that does not answer it
/// costs little (the requests then go by what the producer was told, and the description,
/// when it comes, is applied as a change of the stream would be).
const START_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// The description of a run's stream: asked for, awaited, and applied.
pub(crate) struct Learning {
    /// A description of the stream under way.
    pub(crate) under_way: JoinSet<Result<Described, Unavailable>>,
    /// Until then, no request goes out while the first description is awaited.
    hold_until: Option<Instant>,
    /// No description has come back yet.
    first_description: bool,
    /// When the stream is described again.
    pub(crate) next_describe: Option<Instant>,
    /// When it was last asked for.
    pub(crate) described_at: Instant,
    /// DIS refused DescribeStream for good, or describing is off: no more asking.
    pub(crate) no_describe: bool,
    /// Settings DIS described that differ from the run's: applied once nothing is in flight.
    pub(crate) relayout: Option<ProducerConfig>,
    /// Records taken back from the lanes at a relayout, to be admitted again, in input order.
    pub(crate) replay: VecDeque<Pending>,
    /// An answer named a partition beyond those known, and it was said.
    pub(crate) warned_unknown: bool,
}

impl Learning {
    /// Nothing learnt yet; when `describe`, the first requests are held for the description
    /// from `now` on.
    pub(crate) fn new(describe: bool, now: Instant) -> Self {
        Learning {
            under_way: JoinSet::new(),
            hold_until: describe.then(|| now + START_WAIT),
            first_description: true,
            next_describe: None,
            described_at: now,
            no_describe: !describe,
            relayout: None,
            replay: VecDeque::new(),
            warned_unknown: false,
        }
    }

    /// Asks DIS to describe `stream`, spawned on its own (once at a time).
    pub(crate) fn describe(&mut self, client: &DisClient, stream: &PutRecordsRequestStreamName) {
        self.next_describe = None;
        if self.no_describe || !self.under_way.is_empty() {
            return;
        }
        self.described_at = Instant::now();
        let stream = stream.to_string();
        self.under_way
            .spawn(learn::describe(client.clone(), stream));
    }

    /// A description came back: the hold for the first one ends, and the stream is described
    /// again in [`learn::DESCRIBE_EVERY`]. True when it is the first.
    pub(crate) fn came_back(&mut self) -> bool {
        self.hold_until = None;
        self.next_describe = Some(Instant::now() + learn::DESCRIBE_EVERY);
        std::mem::take(&mut self.first_description)
    }

    /// DIS refused DescribeStream for good: no more asking.
    pub(crate) fn refused(&mut self) {
        self.no_describe = true;
        self.next_describe = None;
    }

    /// The hold for the first description ends once its time is up.
    pub(crate) fn end_late_hold(&mut self) {
        if self.hold_until.is_some_and(|t| Instant::now() >= t) {
            self.hold_until = None;
        }
    }

    /// True while requests are held: for the first description, or for a relayout.
    pub(crate) fn holding(&self) -> bool {
        self.relayout.is_some() || self.hold_until.is_some_and(|t| Instant::now() < t)
    }

    /// When the hold for the first description ends, if it is what holds the requests.
    pub(crate) fn held_until(&self) -> Option<Instant> {
        self.hold_until.filter(|_| self.relayout.is_none())
    }
}
