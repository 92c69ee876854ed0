//! Exit codes and the errors that end a run before or outside its records.

use std::process::ExitCode;

/// The exit codes, as `--help` shows them.
pub const HELP: &str = "Exit status:\n  0    every record read was acknowledged (also after a first SIGTERM or SIGINT, which stops\n       reading and delivers what was read within --drain-timeout)\n  1    some record failed, or an input line was bad, could not be read, or was read but not\n       sent\n  2    usage or configuration error, or no credentials to be had (nothing sent)\n  130  a second SIGINT (143: a second SIGTERM): exited at once\n\nLogs: RUST_LOG (default warn), --log-format text|json. Proxies: HTTPS_PROXY, NO_PROXY.";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Every record acknowledged.
    Ok,
    /// Some record failed, or some input was bad.
    Failed,
    /// Usage or configuration error.
    Usage,
}

impl From<Code> for ExitCode {
    fn from(code: Code) -> ExitCode {
        ExitCode::from(match code {
            Code::Ok => 0,
            Code::Failed => 1,
            Code::Usage => 2,
        })
    }
}

/// An error that ends the command.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags or configuration, found before anything was sent.
    Usage(String),
    /// Failed while running (input unreadable, the endpoint could not start, ...).
    Run(Box<dyn std::error::Error + Send + Sync>),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    pub fn run(message: impl Into<String>) -> CliError {
        CliError::Run(message.into().into())
    }

    pub fn exit_code(&self) -> Code {
        match self {
            CliError::Usage(_) => Code::Usage,
            CliError::Run(_) => Code::Failed,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) => f.write_str(m),
            CliError::Run(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Usage(_) => None,
            CliError::Run(e) => Some(e.as_ref()),
        }
    }
}

/// Errors met while running.
macro_rules! run_errors {
    ($($t:ty),+) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> CliError {
                CliError::Run(Box::new(e))
            }
        }
    )+};
}

run_errors!(
    std::io::Error,
    dis_records::Error,
    dis_local::StartError,
    metrics_exporter_prometheus::BuildError
);
