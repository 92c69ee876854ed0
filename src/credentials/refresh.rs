//! Credentials that are refreshed before they expire: [`Refresher`] holds a provider's
//! current set and asks the provider for the next one in the background when less than a
//! share of the set's lifetime is left, one request at a time. Requests keep signing with the
//! current set meanwhile; only when it has expired (or none was ever obtained) does a request
//! wait, for one fetch, and fail with [`Error::Credentials`] when that fails.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::provider::{FetchError, Issued, Provider};
use super::secret::Secret;
use crate::error::Error;

/// Huawei's SDKs refresh when fewer than 40 minutes are left.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(40 * 60);
/// Shorter-lived credentials are refreshed when half their lifetime is left.
const REFRESH_SHARE: u32 = 2;
/// A set is not used in its last tenth of life (at most a minute), so that a request signed
/// just before expiry is not refused on arrival.
const EXPIRY_SAFETY_SHARE: u32 = 10;
const MAX_EXPIRY_SAFETY: Duration = Duration::from_secs(60);
/// Longest one fetch may take, all its exchanges together.
const FETCH_BOUND: Duration = Duration::from_secs(20);
/// Waits between failed fetches: from this, doubling, at most [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The set in use.
struct Held {
    secret: Arc<Secret>,
    /// From then on, not used (`None`: never expires).
    stop_at: Option<SystemTime>,
    /// From then on, a refresh is due.
    refresh_at: Option<SystemTime>,
    generation: u64,
    /// The project it was asked for (an IAM token is scoped to it).
    project_id: String,
}

impl Held {
    fn new(issued: Issued, generation: u64, now: SystemTime, project_id: &str) -> Held {
        let (stop_at, refresh_at) = match issued.expires_at {
            None => (None, None),
            Some(expires) => {
                let lifetime = expires.duration_since(now).unwrap_or_default();
                let margin = (lifetime / REFRESH_SHARE).min(MAX_REFRESH_MARGIN);
                let safety = (lifetime / EXPIRY_SAFETY_SHARE).min(MAX_EXPIRY_SAFETY);
                (Some(expires - safety), Some(expires - margin))
            }
        };
        Held {
            secret: Arc::new(issued.secret),
            stop_at,
            refresh_at,
            generation,
            project_id: project_id.to_owned(),
        }
    }

    fn valid_at(&self, now: SystemTime) -> bool {
        self.stop_at.is_none_or(|stop| now < stop)
    }

    /// Usable for requests to `project_id` (any set is, when no project is named; a set asked
    /// for without one is replaced once a project is known).
    fn serves(&self, project_id: &str, now: SystemTime) -> bool {
        self.valid_at(now) && (project_id.is_empty() || project_id == self.project_id)
    }

    fn due_at(&self, now: SystemTime) -> bool {
        self.refresh_at.is_some_and(|at| now >= at)
    }
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    /// Sets obtained so far.
    generation: u64,
    /// Fetches finished so far, successful or not.
    attempts: u64,
    /// Failed fetches in a row.
    failures: u32,
    /// No fetch before then (a backoff after a failure).
    retry_at: Option<Instant>,
    last_error: Option<Error>,
    /// A background refresh is under way.
    background: bool,
}

/// A provider's credentials over time.
pub(crate) struct Refresher {
    provider: Box<dyn Provider>,
    state: Mutex<State>,
    /// Held by the one fetch under way.
    fetching: tokio::sync::Mutex<()>,
}

impl Refresher {
    pub(crate) fn new(provider: Box<dyn Provider>) -> Refresher {
        Refresher {
            provider,
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The provider's name, for errors.
    pub(crate) fn name(&self) -> String {
        self.provider.name()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves consistent state (plain assignments).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A valid set and its generation: the current one (starting a background refresh when
    /// one is due), else one fetch's result, waited for.
    pub(crate) async fn current(
        self: &Arc<Self>,
        project_id: &str,
    ) -> Result<(Arc<Secret>, u64), Error> {
        let seen = {
            let mut st = self.state();
            let now = SystemTime::now();
            if let Some(held) = st.held.as_ref().filter(|h| h.serves(project_id, now)) {
                let current = (held.secret.clone(), held.generation);
                let due = held.due_at(now);
                if due
                    && !st.background
                    && st.retry_at.is_none_or(|t| Instant::now() >= t)
                    && let Ok(runtime) = tokio::runtime::Handle::try_current()
                {
                    st.background = true;
                    runtime.spawn(self.clone().refresh_in_background(project_id.to_owned()));
                }
                return Ok(current);
            }
            if let (Some(at), Some(err)) = (st.retry_at, &st.last_error)
                && Instant::now() < at
            {
                return Err(err.clone());
            }
            st.attempts
        };
        let _one = self.fetching.lock().await;
        {
            let st = self.state();
            if st.attempts != seen {
                // A fetch finished while this one waited: its result is this one's.
                let now = SystemTime::now();
                if let Some(held) = st.held.as_ref().filter(|h| h.serves(project_id, now)) {
                    return Ok((held.secret.clone(), held.generation));
                }
                if let Some(err) = &st.last_error {
                    return Err(err.clone());
                }
            }
        }
        self.fetch(project_id).await
    }

    /// Refreshes while the current set is still valid, when that is still due.
    async fn refresh_in_background(self: Arc<Self>, project_id: String) {
        let _one = self.fetching.lock().await;
        let due = {
            let st = self.state();
            let now = SystemTime::now();
            st.held.as_ref().is_none_or(|h| h.due_at(now))
                && st.retry_at.is_none_or(|t| Instant::now() >= t)
        };
        if due {
            // A failure is kept in the state (and retried after its backoff).
            let _ = self.fetch(&project_id).await;
        }
        self.state().background = false;
    }

    /// One fetch; the caller holds `fetching`.
    async fn fetch(&self, project_id: &str) -> Result<(Arc<Secret>, u64), Error> {
        let result = match tokio::time::timeout(FETCH_BOUND, self.provider.fetch(project_id)).await
        {
            Ok(result) => result,
            Err(_) => Err(FetchError::new(format!(
                "no credentials within {} s",
                FETCH_BOUND.as_secs()
            ))),
        };
        let now = SystemTime::now();
        let mut st = self.state();
        st.attempts += 1;
        match result {
            Ok(issued) => {
                st.generation += 1;
                st.failures = 0;
                st.retry_at = None;
                st.last_error = None;
                let held = Held::new(issued, st.generation, now, project_id);
                let current = (held.secret.clone(), held.generation);
                st.held = Some(held);
                crate::metrics::credential_refreshed();
                tracing::debug!(
                    provider = %self.provider.name(),
                    generation = st.generation,
                    "credentials obtained"
                );
                Ok(current)
            }
            Err(e) => {
                st.failures = st.failures.saturating_add(1);
                let wait = FIRST_RETRY
                    .saturating_mul(1 << st.failures.saturating_sub(1).min(16))
                    .min(MAX_RETRY);
                st.retry_at = Some(Instant::now() + wait);
                let err = Error::Credentials {
                    provider: self.provider.name(),
                    message: e.message,
                    source: e.source,
                };
                tracing::warn!(
                    error = %err,
                    failures = st.failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "credentials could not be obtained"
                );
                st.last_error = Some(err.clone());
                Err(err)
            }
        }
    }

    /// DIS refused set `generation` (401): it is not used again.
    pub(crate) fn refused(&self, generation: u64) {
        let mut st = self.state();
        if st.held.as_ref().is_some_and(|h| h.generation == generation) {
            st.held = None;
            st.retry_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures_util::future::BoxFuture;

    use super::*;

    /// Hands out sets that live `lifetime`, after `delay`; fails while `failing` is set.
    struct Counting {
        calls: AtomicU32,
        failing: std::sync::atomic::AtomicBool,
        lifetime: Duration,
        delay: Duration,
    }

    impl Provider for Arc<Counting> {
        fn name(&self) -> String {
            "test provider".into()
        }
        fn fetch<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Issued, FetchError>> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(FetchError::new("metadata answered HTTP 500"));
                }
                Ok(Issued {
                    secret: Secret::token(format!("token-{n}")),
                    expires_at: Some(SystemTime::now() + self.lifetime),
                })
            })
        }
    }

    fn counting(lifetime: Duration, delay: Duration) -> (Arc<Counting>, Arc<Refresher>) {
        let provider = Arc::new(Counting {
            calls: AtomicU32::new(0),
            failing: false.into(),
            lifetime,
            delay,
        });
        let refresher = Arc::new(Refresher::new(Box::new(provider.clone())));
        (provider, refresher)
    }

    #[tokio::test]
    async fn many_requests_at_once_make_one_fetch() {
        let (provider, refresher) = counting(Duration::from_secs(60), Duration::from_millis(50));
        let all = futures_util::future::join_all((0..50).map(|_| refresher.current("p"))).await;
        assert!(all.iter().all(|r| matches!(r, Ok((_, 1)))));
        assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_due_refresh_runs_in_the_background_while_the_current_set_signs() {
        let (provider, refresher) =
            counting(Duration::from_millis(800), Duration::from_millis(200));
        assert_eq!(refresher.current("p").await.unwrap().1, 1);
        // Half the lifetime left: due. Requests go on with set 1 without waiting.
        tokio::time::sleep(Duration::from_millis(450)).await;
        for _ in 0..20 {
            let started = std::time::Instant::now();
            let (_, generation) = refresher.current("p").await.unwrap();
            assert!(started.elapsed() < Duration::from_millis(50));
            assert!(generation == 1, "set 2 is still being fetched");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(refresher.current("p").await.unwrap().1, 2);
        assert_eq!(
            provider.calls.load(Ordering::SeqCst),
            2,
            "one background fetch"
        );
    }

    #[tokio::test]
    async fn failed_refreshes_are_retried_and_past_expiry_the_error_names_the_provider() {
        let (provider, refresher) = counting(Duration::from_millis(600), Duration::ZERO);
        refresher.current("p").await.unwrap();
        provider.failing.store(true, Ordering::SeqCst);
        // Due from 300 ms: background tries fail, with backoff; the set still signs.
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while std::time::Instant::now() < until {
            assert_eq!(refresher.current("p").await.unwrap().1, 1);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let tries = provider.calls.load(Ordering::SeqCst) - 1;
        assert!(
            (2..=4).contains(&tries),
            "{tries} background tries in 200 ms"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let err = refresher.current("p").await.unwrap_err();
        assert!(matches!(err, Error::Credentials { .. }));
        let text = err.to_string();
        assert!(text.contains("test provider"), "{text}");
        assert!(text.contains("HTTP 500"), "{text}");
        assert!(!err.maybe_duplicated());
        provider.failing.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await; // past any backoff
        assert!(refresher.current("p").await.is_ok(), "recovers");
    }

    #[tokio::test]
    async fn a_refused_set_is_not_used_again() {
        let (provider, refresher) = counting(Duration::from_secs(60), Duration::ZERO);
        let (_, first) = refresher.current("p").await.unwrap();
        refresher.refused(first + 7); // another set: nothing happens
        assert_eq!(refresher.current("p").await.unwrap().1, first);
        refresher.refused(first);
        assert_eq!(refresher.current("p").await.unwrap().1, first + 1);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }
}
