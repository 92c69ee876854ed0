//! The process's CPU time, for the benches that report CPU per record (one copy, included by
//! each with `#[path]`).

use std::time::Duration;

/// User + system CPU time of this process (all threads) so far.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage writes a `rusage` into the zeroed struct it is given; RUSAGE_SELF is
    // always valid, so it cannot fail (the result is checked all the same).
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
