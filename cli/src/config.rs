//! `send --config FILE`: settings from a TOML file. Each key is a flag's long name (`-` or
//! `_` alike: `metrics-listen`, `metrics_listen`), and `files` the input files; its value a
//! string, a number, a boolean (`true` gives the flag), or an array for a flag that may be
//! repeated (`follow = ["/var/log/app/*.log", "/var/log/other.log"]`). The command line wins,
//! then the environment (`DIS_ENDPOINT`, ...), then the file, then the defaults. An unknown key,
//! or a value of the wrong shape, is a usage error naming the file and the key.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;

use crate::exit::CliError;

/// The largest config file read.
const MAX_BYTES: u64 = 1024 * 1024;

/// The arguments the file at `path` adds for the flags of `command` that `given` (the matches
/// of the command line) did not set; values are checked by clap when they are parsed with the
/// rest.
pub fn args(
    path: &Path,
    command: &clap::Command,
    given: &clap::ArgMatches,
) -> Result<Vec<OsString>, CliError> {
    let shown = path.display();
    let bad = |what: String| CliError::usage(format!("--config {shown}: {what}"));
    let text = read(path).map_err(|e| bad(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| {
                a.get_long() == Some(long.as_str())
                    || (a.is_positional() && a.get_id().as_str() == key.replace('-', "_"))
            })
            .filter(|a| !a.is_hide_set() || long == "advanced")
            .filter(|a| a.get_id().as_str() != "config");
        let Some(arg) = arg else {
            return Err(bad(format!(
                "unknown key {key:?} (keys are the flags' long names, and `files`)"
            )));
        };
        // Set on the command line or by the environment: that wins.
        if matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let takes_value = arg.get_action().takes_values();
        let many = matches!(arg.get_action(), clap::ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(items) if many => items.iter().collect(),
            toml::Value::Array(_) => {
                return Err(bad(format!("{key}: one value expected, not an array")));
            }
            one => vec![one],
        };
        for v in values {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) if !takes_value => {
                    if *b {
                        out.push(OsString::from(format!("--{long}")));
                    }
                    continue;
                }
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(bad(format!(
                        "{key}: a string, number or boolean expected, not {}",
                        other.type_str()
                    )));
                }
            };
            if !takes_value {
                return Err(bad(format!(
                    "{key}: a flag without a value: true or false expected"
                )));
            }
            if arg.is_positional() {
                out.push(OsString::from(text));
            } else {
                out.push(OsString::from(format!("--{long}={text}")));
            }
        }
    }
    Ok(out)
}

fn read(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::other(format!("over {MAX_BYTES} bytes")));
    }
    Ok(text)
}

/// `argv` with `extra` inserted right after the subcommand `name` (before the user's own
/// arguments, and before any `--`).
pub fn insert_after(argv: &[OsString], name: &str, extra: Vec<OsString>) -> Vec<OsString> {
    let mut at = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].to_string_lossy();
        if a == "--log-format" {
            i += 2;
            continue;
        }
        if a == name {
            at = Some(i + 1);
            break;
        }
        i += 1;
    }
    let at = at.unwrap_or(argv.len());
    let mut out = argv[..at].to_vec();
    out.extend(extra);
    out.extend_from_slice(&argv[at..]);
    out
}
