//! The limits of SendRecords, taken from Huawei Cloud's DIS document (not from the client:
//! this crate is an independent oracle, so a client's own constants are checked against these),
//! and the endpoint's public defaults derived from them.

/// `stream_name`: at most 60 characters (Table 3 of the SendRecords document, maximum
/// length 60).
pub(crate) const MAX_STREAM_NAME_LEN: usize = 60;

/// One record: at most 1 MiB of raw bytes before Base64.
pub(crate) const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One request to a common stream: at most 1 MiB of record data.
pub(crate) const COMMON_STREAM_REQUEST_BYTES: usize = 1024 * 1024;

/// One request to an advanced stream: at most 5 MiB of record data. Not a default (the
/// endpoint defaults to the stricter common stream); configure it with
/// `LocalConfig::with_max_request_bytes`.
#[allow(
    dead_code,
    reason = "the documented limit, kept next to the others for reference"
)]
pub(crate) const ADVANCED_STREAM_REQUEST_BYTES: usize = 5 * 1024 * 1024;

/// Records per request: not a number DIS documents; 500 is the common default of its
/// producers, so a client that forgets to split its batches is caught.
pub(crate) const DEFAULT_RECORDS_PER_REQUEST: usize = 500;

/// Default limit of one record's decoded data: 1 MiB, DIS's limit per record.
pub const DEFAULT_MAX_RECORD_BYTES: usize = MAX_RECORD_BYTES;

/// Default limit of one request's decoded data: 1 MiB, DIS's limit for a common stream (an
/// advanced stream takes 5 MiB: see
/// [`LocalConfig::with_max_request_bytes`](crate::LocalConfig::with_max_request_bytes)).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = COMMON_STREAM_REQUEST_BYTES;

/// Default limit of records per request: 500, the usual default of DIS producers, so a client
/// that forgets to split is caught.
pub const DEFAULT_MAX_RECORDS_PER_REQUEST: usize = DEFAULT_RECORDS_PER_REQUEST;
