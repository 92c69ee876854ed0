//! Why a server does not start: [`ConfigError`], a [`LocalConfig`](crate::LocalConfig) that
//! cannot be served, and [`StartError`], what [`LocalDis::start`](crate::LocalDis::start)
//! returns (a configuration error, or the address could not be bound).

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A [`LocalConfig`](crate::LocalConfig) that cannot be served: found by
/// [`LocalDis::start`](crate::LocalDis::start) and [`serve`](crate::serve) before anything is
/// bound or served.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A stream with an empty name.
    EmptyStreamName,
    /// A stream with no partitions.
    NoPartitions {
        /// The stream's name.
        stream: String,
    },
    /// A stream with more partitions than this endpoint serves
    /// ([`MAX_PARTITIONS`](crate::MAX_PARTITIONS)).
    TooManyPartitions {
        /// The stream's name.
        stream: String,
        /// The partitions configured.
        partitions: u32,
        /// The most served.
        max: u32,
    },
    /// Two streams with the same name.
    DuplicateStream {
        /// The name configured twice.
        stream: String,
    },
    /// A connection limit set to zero (a timeout, the connection cap, the head size or the
    /// body budget).
    ZeroLimit {
        /// The limit, in words: `"header read timeout"`, `"max connections"`, ...
        limit: &'static str,
    },
    /// With write quotas on, a quota scale that is not a positive finite number.
    QuotaScale {
        /// The scale configured.
        scale: f64,
    },
    /// A TLS certificate chain or key that cannot be served (feature `tls`): why.
    Tls {
        /// What is wrong: no certificate, no key, a key that does not match.
        problem: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Tls { problem } => write!(f, "TLS: {problem}"),
            ConfigError::EmptyStreamName => f.write_str("a stream name must not be empty"),
            ConfigError::NoPartitions { stream } => {
                write!(f, "stream {stream:?} must have at least one partition")
            }
            ConfigError::TooManyPartitions {
                stream,
                partitions,
                max,
            } => write!(
                f,
                "stream {stream:?} has {partitions} partitions; at most {max} are served"
            ),
            ConfigError::DuplicateStream { stream } => {
                write!(f, "stream {stream:?} is configured twice")
            }
            ConfigError::ZeroLimit { limit } => write!(f, "the {limit} must not be zero"),
            ConfigError::QuotaScale { scale } => write!(
                f,
                "the quota scale must be a positive finite number, not {scale}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`LocalDis::start`](crate::LocalDis::start) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration cannot be served (nothing was bound).
    Config(ConfigError),
    /// The address could not be bound (in use, not local, no permission, ...).
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The error of the bind.
        source: io::Error,
    },
}

impl StartError {
    /// The [`io::ErrorKind`] of this error, as `start` reported it when it returned an
    /// [`io::Error`]: [`io::ErrorKind::InvalidInput`] for a configuration error, the bind
    /// error's kind otherwise.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            StartError::Config(_) => io::ErrorKind::InvalidInput,
            StartError::Bind { source, .. } => source.kind(),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "invalid configuration: {e}"),
            StartError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Bind { source, .. } => Some(source),
        }
    }
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        StartError::Config(e)
    }
}

/// For callers that keep `std::io::Result` (`LocalDis::start(..).await?` in a function
/// returning it): the [`StartError::kind`], with the error as its source.
impl From<StartError> for io::Error {
    fn from(e: StartError) -> Self {
        io::Error::new(e.kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_kinds() {
        let config = StartError::from(ConfigError::DuplicateStream { stream: "s".into() });
        assert_eq!(
            config.to_string(),
            "invalid configuration: stream \"s\" is configured twice"
        );
        assert_eq!(config.kind(), io::ErrorKind::InvalidInput);
        let bind = StartError::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: io::ErrorKind::AddrInUse.into(),
        };
        assert!(
            bind.to_string()
                .starts_with("cannot listen on 127.0.0.1:1: "),
            "{bind}"
        );
        assert_eq!(bind.kind(), io::ErrorKind::AddrInUse);
        let io = io::Error::from(config);
        assert_eq!(io.kind(), io::ErrorKind::InvalidInput);
        assert!(io.get_ref().unwrap().downcast_ref::<StartError>().is_some());
        assert_eq!(
            ConfigError::ZeroLimit {
                limit: "idle timeout"
            }
            .to_string(),
            "the idle timeout must not be zero"
        );
        assert_eq!(
            ConfigError::QuotaScale { scale: -1.0 }.to_string(),
            "the quota scale must be a positive finite number, not -1"
        );
    }
}
