//! What DIS answered to one request, read and paired with the records it belongs to.

use crate::error::Error;
use crate::generated::types;
use crate::ids::{PartitionId, SequenceNumber};

/// The outcome of one record in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordResult {
    /// Stored by DIS.
    Stored {
        /// Partition the record went to.
        partition_id: PartitionId,
        /// Its sequence number in that partition.
        sequence_number: SequenceNumber,
    },
    /// Refused by DIS (e.g. `DIS.4303` traffic control: worth retrying).
    Failed {
        /// DIS error code.
        code: String,
        /// DIS error message.
        message: String,
    },
}

/// What DIS answered to one request: one result per record, in the records' order, so that
/// `records.iter().zip(&outcome.results)` pairs each record with its result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOutcome {
    /// Result *i* belongs to record *i*.
    pub results: Vec<RecordResult>,
    /// Records refused, counted from the results (DIS's `failed_record_count` is checked
    /// against them; a disagreement is traced, and the results decide).
    pub failed_record_count: i32,
    /// `X-Request-Id` of the answer.
    pub request_id: Option<String>,
}

impl SendOutcome {
    /// Reads a 200 answer, in the generated type whatever its format, to a request of `sent`
    /// records. A count that does not match, or an entry with neither a sequence number nor an
    /// error code, is an unreadable answer. `failed_record_count` is checked against the
    /// entries, which decide. The entries' strings are moved, not copied.
    pub(crate) fn from_result(
        result: types::PutRecordsResult,
        sent: usize,
        request_id: Option<String>,
    ) -> Result<SendOutcome, Error> {
        let invalid = |message: String| Error::InvalidResponse {
            status: Some(200),
            message,
            request_id: request_id.clone(),
            source: None,
        };
        let len = result.records.len();
        if len != sent {
            return Err(invalid(format!("{len} results for {sent} records")));
        }
        let mut failed = 0usize;
        let results = result
            .records
            .into_iter()
            .enumerate()
            .map(|(i, entry)| match entry {
                types::PutRecordsResultEntry {
                    error_code: Some(code),
                    error_message,
                    ..
                } if !code.is_empty() => {
                    failed += 1;
                    Ok(RecordResult::Failed {
                        code,
                        message: error_message.unwrap_or_default(),
                    })
                }
                types::PutRecordsResultEntry {
                    partition_id: Some(partition_id),
                    sequence_number: Some(sequence_number),
                    ..
                } => Ok(RecordResult::Stored {
                    partition_id,
                    sequence_number,
                }),
                _ => Err(invalid(format!(
                    "records[{i}] has neither an error_code nor a partition_id and sequence_number"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let failed = i32::try_from(failed).unwrap_or(i32::MAX);
        // The entries decide; a count that disagrees with them is reported, not trusted.
        if let Some(count) = result.failed_record_count
            && count != failed
        {
            tracing::warn!(
                failed_record_count = count,
                failed_entries = failed,
                request_id = request_id.as_deref().unwrap_or(""),
                "failed_record_count disagrees with the result entries; the entries decide"
            );
        }
        Ok(SendOutcome {
            failed_record_count: failed,
            results,
            request_id,
        })
    }
}
