//! The limits of SendRecords, taken from Huawei Cloud's DIS document (not from the client:
//! this crate is an independent oracle, so a client's own constants are checked against these),
//! and the endpoint's public defaults derived from them; then the defaults of the connection
//! limits that bound what a client can make the endpoint hold (time, connections, bytes); then
//! the endpoint's own bounds: partitions per stream, and the pages of the read-back.

use std::time::Duration;

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

/// Default header read timeout: 10 seconds. A new connection must deliver its first request head
/// (request line and headers) within it, counted from the accept; a later request on a
/// keep-alive connection, counted from its first byte. Past it the connection is closed without
/// an answer.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default body read deadline: 30 seconds from the moment a request head was read. A body not
/// received whole within it is answered 408 `DIS.4200` and the connection closed.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default idle keep-alive timeout: 60 seconds. A connection with no request in progress (its
/// last answer written, no byte of the next request received) is closed after it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default cap on open connections: 1024. Past it a new connection first closes the connection
/// that has waited longest without a request in progress; when every connection has a request
/// in progress, the new one is answered 503 `DIS.5250` and closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Default limit of a request head (request line and headers): 32 KiB (Huawei IAM tokens are
/// several KiB). Larger: 431 `DIS.4200`, then the connection is closed.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;

/// Default budget of request body bytes buffered at once, all connections together: 64 MiB
/// (about 19 bodies at the default body cap). A SendRecords request that cannot get its share
/// is answered 503 `DIS.5250`.
pub const DEFAULT_MAX_BUFFERED_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Most partitions per stream: 100, this endpoint's bound. The DIS document this crate follows
/// (SendRecords) states no maximum; the DIS user guide's "Creating a DIS Stream" (Open Telekom
/// Cloud's edition) allows 1 to 50 partitions for a common stream and 1 to 10 for an advanced
/// one, per tenant. 100 is above both, and refuses a typo such as `s:4000000000` at start
/// instead of allocating state for billions of partitions.
pub const MAX_PARTITIONS: u32 = 100;

/// Read-back (`GET /local/v1/streams/{s}/records`): records per page when `limit` is not given.
pub(crate) const DEFAULT_READ_BACK_LIMIT: usize = 10_000;

/// Read-back: the largest `limit` accepted.
pub(crate) const MAX_READ_BACK_LIMIT: usize = 100_000;

/// Read-back: a page ends before the record that would take its decoded payloads past 4 MiB
/// (about 5.3 MiB of JSON); a page always has at least one record when any is left.
pub(crate) const READ_BACK_PAGE_BYTES: usize = 4 * 1024 * 1024;
