//! The progress line on a terminal: records/s, acknowledged, failed, throttled, in flight,
//! redrawn a few times a second from the producer's stats (which also refreshes the metrics
//! gauges, so a ticker runs even without a terminal).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dis_records::Producer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the stats are read.
const TICK: Duration = Duration::from_millis(250);

/// A running progress line (or only the gauge refresh).
pub struct Progress {
    bar: Option<ProgressBar>,
    task: tokio::task::JoinHandle<()>,
}

/// How often, at most, records that wait are told about on stderr.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    /// Starts it; the line is drawn when `show` and stderr is a terminal. While tries fail
    /// (records wait: no credentials, no connection, throttling), a warning with the last
    /// error goes out at most every 10 s. `checkpoint_saved` (Unix ms): the checkpoint age
    /// metric's source.
    pub fn start(
        producer: Producer,
        show: bool,
        checkpoint_saved: Option<Arc<AtomicU64>>,
    ) -> Progress {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            let mut warned: Option<(Instant, u64)> = None;
            let age = metrics::gauge!(crate::prometheus::CHECKPOINT_AGE);
            loop {
                tick.tick().await;
                let s = producer.stats();
                let since = warned.map_or(0, |(_, tries)| tries);
                let due = warned.is_none_or(|(at, _)| at.elapsed() >= WARN_EVERY);
                if s.failed_tries > since && due {
                    let last = s.last_error.as_deref().unwrap_or("unknown");
                    tracing::warn!(
                        failed_tries = s.failed_tries,
                        in_flight = s.in_flight,
                        "records wait, retrying: {last}"
                    );
                    warned = Some((Instant::now(), s.failed_tries));
                }
                if let Some(saved) = &checkpoint_saved {
                    let ms =
                        crate::checkpoint::now_ms().saturating_sub(saved.load(Ordering::Relaxed));
                    age.set(ms as f64 / 1000.0);
                }
                if let Some(bar) = &shown {
                    let failed: u64 = s.failed.values().sum();
                    let throttled: u64 = s.throttled.iter().sum();
                    bar.set_message(format!(
                        "{:.0}/s  acked {}  failed {failed}  throttled {throttled}  in flight {}",
                        s.send_rate, s.acknowledged, s.in_flight
                    ));
                    bar.tick();
                }
            }
        });
        Progress { bar, task }
    }

    /// Stops it and clears the line.
    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
