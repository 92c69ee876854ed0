//! How the HTTP client's errors become the crate's [`Error`]. (What DIS answered that is not a
//! result becomes one in `src/answer/refusal.rs`, which reads answers.)

use std::sync::Arc;

use super::Error;

/// Classifies a transport failure: only a failed connect is known not to have delivered.
pub(crate) fn transport(err: reqwest::Error) -> Error {
    use std::error::Error as _;
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Transport {
        message,
        connect: err.is_connect(),
        timeout: err.is_timeout(),
        source: Arc::new(err),
    }
}
