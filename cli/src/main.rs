//! `dis-records`: send records to a Huawei Cloud DIS stream, or run the local endpoint.
//!
//! ```text
//! dis-records send                       # sample records to the embedded local endpoint
//! tail -f app.log | dis-records send --endpoint cn-north-4 ...  # a line a record, at once
//! dis-records send --local --format jsonl events.jsonl
//! dis-records send --follow '/var/log/app/*.log' --checkpoint app.ckpt --endpoint cn-north-4 ...
//! dis-records send --config /etc/dis-records/shipper.toml
//! dis-records local --listen 127.0.0.1:8080
//! dis-records completions bash > /etc/bash_completion.d/dis-records
//! dis-records man > dis-records.1
//! ```
//!
//! Exit status: 0 every record acknowledged; 1 some record failed (or an input line was bad
//! or unreadable, or read but not sent when a signal stopped the run); 2 usage or configuration
//! error; 130 / 143 a second SIGINT / SIGTERM.

mod checkpoint;
mod config;
mod connect;
mod exit;
mod fileid;
mod follow;
mod input;
mod jsonl;
mod lines;
mod local;
mod multiline;
mod progress;
mod prometheus;
mod rotated;
mod send;
mod send_args;
mod signals;
mod source;
mod summary;
mod tracker;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Send records to a DIS stream (the embedded local endpoint by default), or run that endpoint.
///
/// Logs: the library's events go to stderr, filtered by RUST_LOG (default: warn; for example
/// RUST_LOG=debug, RUST_LOG=dis_records=debug). Proxies: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
/// NO_PROXY are honoured.
#[derive(Parser, Debug)]
#[command(name = "dis-records", version, after_help = exit::HELP)]
struct Cli {
    /// How log events are written on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The form of log events.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send records: sample ones, generated ones, lines of files or stdin, or a followed file.
    Send(Box<send_args::SendArgs>),
    /// Run the embedded local DIS endpoint in the foreground, until Ctrl-C or SIGTERM.
    Local(Box<local::LocalArgs>),
    /// Print a shell completion script: `dis-records completions bash > ...`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `dis-records man > dis-records.1`.
    Man,
}

/// Installs the subscriber of `tracing` events: stderr, RUST_LOG (default `warn`), as
/// `format` says.
fn logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The command line, with `send --config FILE` merged in (the command line and the
/// environment win over the file) and the embedded-endpoint flags given noted.
fn parse() -> Result<Cli, exit::CliError> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let command = Cli::command();
    let mut matches = command
        .clone()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    if let Some(("send", given)) = matches.subcommand()
        && let Some(path) = given.get_one::<std::path::PathBuf>("config")
    {
        let send = command
            .find_subcommand("send")
            .expect("the send subcommand");
        let extra = config::args(path, send, given)?;
        let argv = config::insert_after(&argv, "send", extra);
        matches = command
            .clone()
            .try_get_matches_from(&argv)
            .unwrap_or_else(|e| {
                eprintln!("(with --config {})", path.display());
                e.exit()
            });
    }
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Send(args), Some(("send", given))) = (&mut cli.command, matches.subcommand()) {
        args.embedded_only = send_args::EMBEDDED_FLAGS
            .iter()
            .filter(|id| given.value_source(id) == Some(ValueSource::CommandLine))
            .map(|id| format!("--{}", id.replace('_', "-")))
            .collect();
    }
    Ok(cli)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("dis-records: {e}");
            return e.exit_code().into();
        }
    };
    logs(cli.log_format);
    let result = match cli.command {
        Command::Send(args) => send::run(*args).await,
        Command::Local(args) => local::run(*args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "dis-records",
                &mut std::io::stdout(),
            );
            Ok(exit::Code::Ok)
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| exit::Code::Ok)
            .map_err(exit::CliError::from),
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("dis-records: {e}");
            e.exit_code().into()
        }
    }
}
