//! SIGTERM and SIGINT, in every mode: the first stops the run gracefully (reading stops, what
//! was read is delivered within `--drain-timeout`, the summary is printed); a second exits at
//! once, 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process killed by it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The signal that stopped the run, once one did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    Interrupt,
    Terminate,
}

impl Stopped {
    /// Its name, as `kill -l` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Stopped::Interrupt => "SIGINT",
            Stopped::Terminate => "SIGTERM",
        }
    }

    /// The exit status of a process killed by it (128 + its number).
    fn status(self) -> i32 {
        128 + match self {
            Stopped::Interrupt => libc::SIGINT,
            Stopped::Terminate => libc::SIGTERM,
        }
    }
}

/// Takes SIGTERM and SIGINT from now on (their default, killing the process, no longer
/// applies): the first sets `stop` and is told through the receiver; a second exits at once.
pub fn watch(
    stop: Arc<AtomicBool>,
) -> std::io::Result<watch::Receiver<Option<(Stopped, Instant)>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let first = next(&mut term, &mut int).await;
        stop.store(true, Ordering::Relaxed);
        eprintln!(
            "{}: stopping: no more input is read; what was read is delivered (a second signal exits at once)",
            first.name()
        );
        let _ = tx.send(Some((first, Instant::now())));
        let second = next(&mut term, &mut int).await;
        eprintln!("{}: exiting at once", second.name());
        std::process::exit(second.status());
    });
    Ok(rx)
}

async fn next(
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) -> Stopped {
    tokio::select! {
        _ = term.recv() => Stopped::Terminate,
        _ = int.recv() => Stopped::Interrupt,
    }
}

/// Returns once `stop` is set (looked at every 20 ms).
pub async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
