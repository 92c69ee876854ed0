//! `dis-records`: send records to a Huawei Cloud DIS stream, or run the local endpoint.
//!
//! ```text
//! dis-records send                       # sample records to the embedded local endpoint
//! tail -f app.log | dis-records send --endpoint cn-north-4 ...  # a line a record, at once
//! dis-records send --local --format jsonl events.jsonl
//! dis-records send --follow '/var/log/app/*.log' --checkpoint app.ckpt --endpoint cn-north-4 ...
//! dis-records local --listen 127.0.0.1:8080
//! ```
//!
//! Exit status: 0 every record acknowledged; 1 some record failed (or an input line was bad
//! or unreadable); 2 usage or configuration error.

mod checkpoint;
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
mod source;
mod summary;
mod tracker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Send records to a DIS stream (the embedded local endpoint by default), or run that endpoint.
#[derive(Parser, Debug)]
#[command(name = "dis-records", version, after_help = exit::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send records: sample ones, generated ones, lines of files or stdin, or a followed file.
    Send(Box<send_args::SendArgs>),
    /// Run the embedded local DIS endpoint in the foreground, until Ctrl-C or SIGTERM.
    Local(local::LocalArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(args) => send::run(*args).await,
        Command::Local(args) => local::run(args).await,
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("dis-records: {e}");
            e.exit_code().into()
        }
    }
}
