//! The progress line on a terminal: records/s, acknowledged, failed, throttled, in flight,
//! redrawn a few times a second from the producer's stats (which also refreshes the metrics
//! gauges, so a ticker runs even without a terminal).

use std::io::IsTerminal;
use std::time::Duration;

use dis_records::Producer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the stats are read.
const TICK: Duration = Duration::from_millis(250);

/// A running progress line (or only the gauge refresh).
pub struct Progress {
    bar: Option<ProgressBar>,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts it; the line is drawn when `show` and stderr is a terminal.
    pub fn start(producer: Producer, show: bool) -> Progress {
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
            loop {
                tick.tick().await;
                let s = producer.stats();
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
