//! The fault-injection flags as `clap` arguments, so that `dis-local` and any other binary
//! that starts a [`LocalDis`](crate::LocalDis) spell them the same way.

use crate::config::Faults;

/// Fault injection of the local DIS endpoint, as `clap` flags: `--fail-records`,
/// `--fail-requests`, `--drop-before`, `--drop-after` (probabilities in `0 ..= 1`),
/// `--delay-ms` and `--seed`. Embed them in another parser with `#[command(flatten)]`:
///
/// ```
/// use clap::Parser;
/// use dis_local::FaultFlags;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     faults: FaultFlags,
/// }
///
/// let args = Args::parse_from(["prog", "--fail-records", "0.25", "--seed", "7"]);
/// let faults = args.faults.faults();
/// assert_eq!((faults.fail_records, faults.seed), (0.25, 7));
/// ```
#[derive(clap::Args, Debug, Clone)]
pub struct FaultFlags {
    /// Probability that a record is answered with DIS.4303 and not stored.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub fail_records: f64,
    /// Probability that a request is answered with 500/503/429 and nothing stored.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub fail_requests: f64,
    /// Probability that the connection is closed before storing, without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub drop_before: f64,
    /// Probability that the connection is closed after storing, without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub drop_after: f64,
    /// Delay before every SendRecords answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl FaultFlags {
    /// The faults these flags ask for.
    pub fn faults(&self) -> Faults {
        Faults::default()
            .with_fail_records(self.fail_records)
            .with_fail_requests(self.fail_requests)
            .with_drop_before(self.drop_before)
            .with_drop_after(self.drop_after)
            .with_delay_ms(self.delay_ms)
            .with_seed(self.seed)
    }
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability between 0 and 1"))
    }
}
