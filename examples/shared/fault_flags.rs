//! The local endpoint's fault-injection flags, shared by the `local_dis` and `send_records`
//! examples so that both spell them the same way.

use dis_records::local::Faults;

/// Fault injection of the local DIS endpoint.
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
        Faults {
            fail_records: self.fail_records,
            fail_requests: self.fail_requests,
            drop_before: self.drop_before,
            drop_after: self.drop_after,
            delay_ms: self.delay_ms,
            seed: self.seed,
        }
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
