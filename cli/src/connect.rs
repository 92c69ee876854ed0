//! Where `send` sends: the configured endpoint with credentials from flags or the
//! environment, or the embedded local endpoint; and the producer's settings from the flags.

use std::net::SocketAddr;
use std::time::Duration;

use dis_local::{LocalConfig, LocalDis, StreamConfig};
use dis_records::{
    BodyFormat, Compression, Credentials, DisClient, Limits, Pacing, Producer, ProducerConfig,
    RetryPolicy, StreamKind,
};

use crate::exit::CliError;
use crate::send_args::{Body, PacingArg, SendArgs};

/// The producer a run sends through, and the embedded endpoint when one was started.
pub struct Target {
    pub producer: Producer,
    pub local: Option<LocalDis>,
    /// The endpoint as configured (`local` for the embedded one).
    pub endpoint: String,
    pub project_id: String,
}

/// Builds the client and producer `args` describe, starting the embedded endpoint when
/// `embedded`. Every configuration error is a usage error (exit 2).
pub async fn connect(args: &SendArgs, embedded: bool) -> Result<Target, CliError> {
    let choices = Choices::of(args)?;
    let configured = if embedded {
        None
    } else {
        args.endpoint.as_ref()
    };
    let destination = match configured {
        Some(endpoint) => {
            configured_endpoint(args, endpoint, choices.credentials, choices.project_id).await?
        }
        None => {
            embedded_endpoint(args, choices.kind, choices.credentials, choices.project_id).await?
        }
    };
    let named = if destination.local.is_some() {
        "local".to_owned()
    } else {
        destination.endpoint.clone()
    };
    let client = client(
        args,
        &destination,
        choices
            .kind
            .limits()
            .with_max_records_per_request(args.batch),
        choices.compression,
    )?;
    let producer = Producer::new(
        client,
        &args.stream,
        producer_config(args, choices.stream_kind),
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    Ok(Target {
        producer,
        local: destination.local,
        endpoint: named,
        project_id: destination.project_id,
    })
}

/// What the flags and the environment choose before an endpoint is known.
struct Choices {
    /// From `--token`, else from the environment; `None` when neither has any.
    credentials: Option<Credentials>,
    compression: Compression,
    /// `--stream-kind`, as given.
    stream_kind: Option<StreamKind>,
    /// The stream kind whose limits apply (`--stream-kind`, or the deprecated `--advanced`).
    kind: StreamKind,
    /// `--project-id`, else `HUAWEICLOUD_SDK_PROJECT_ID`.
    project_id: Option<String>,
}

impl Choices {
    fn of(args: &SendArgs) -> Result<Choices, CliError> {
        let credentials = match &args.token {
            Some(token) => Some(Credentials::token(token.clone())),
            None => Credentials::from_env().map_err(|e| CliError::usage(e.to_string()))?,
        };
        let compression = match args.compress.as_deref() {
            None => Compression::None,
            Some(name) => Compression::from_name(name).ok_or_else(|| {
                CliError::usage(format!("--compress {name:?}: expected lz4, zstd or snappy"))
            })?,
        };
        let stream_kind = match args.stream_kind.as_deref() {
            None => None,
            Some(name) => Some(StreamKind::from_name(name).ok_or_else(|| {
                CliError::usage(format!(
                    "--stream-kind {name:?}: expected common or advanced"
                ))
            })?),
        };
        if args.advanced {
            eprintln!("--advanced is deprecated: use --stream-kind advanced");
        }
        // DIS: 1 MiB of record data per request on a common stream, 5 MiB on an advanced one.
        let kind = if args.advanced || stream_kind == Some(StreamKind::Advanced) {
            StreamKind::Advanced
        } else {
            StreamKind::Common
        };
        let project_id = args
            .project_id
            .clone()
            .or_else(|| std::env::var("HUAWEICLOUD_SDK_PROJECT_ID").ok());
        Ok(Choices {
            credentials,
            compression,
            stream_kind,
            kind,
            project_id,
        })
    }
}

/// Where the records go, as whom, and the embedded endpoint when that is where.
struct Destination {
    endpoint: String,
    project_id: String,
    credentials: Credentials,
    local: Option<LocalDis>,
}

/// The configured endpoint (a region name or a URL): credentials from the flags, the
/// environment or the default chain, obtained now; the project ID given, or IAM's for the
/// region.
async fn configured_endpoint(
    args: &SendArgs,
    endpoint: &str,
    credentials: Option<Credentials>,
    project_id: Option<String>,
) -> Result<Destination, CliError> {
    // None of today's variables: the default chain (profile file, ECS metadata, pod
    // identity); its error names each provider it tried and why.
    let credentials = match credentials {
        Some(c) => c,
        None => {
            Credentials::from_env_or_default_chain().map_err(|e| CliError::usage(e.to_string()))?
        }
    };
    // Credentials now, whatever form the endpoint has: none to be had is a
    // configuration error naming each provider tried and why (exit 2), before a
    // record waits for them. A shipper waits for them instead, retrying for ever.
    if let Err(e) = credentials.ready().await {
        if args.follow.is_empty() {
            return Err(CliError::usage(format!("no credentials: {e}")));
        }
        tracing::warn!(
            "no credentials yet: {e}; the shipper retries for ever (warning at most every 10 s)"
        );
    }
    // No project ID: IAM's, for the region the endpoint names.
    let project_id = match project_id {
        Some(p) => p,
        None if !endpoint.contains("://") => credentials
            .project_id_for_region(endpoint)
            .await
            .map_err(|e| CliError::usage(e.to_string()))?,
        None => {
            return Err(CliError::usage(
                "no project ID: set DIS_PROJECT_ID or --project-id",
            ));
        }
    };
    Ok(Destination {
        endpoint: endpoint.to_owned(),
        project_id,
        credentials,
        local: None,
    })
}

/// The embedded local endpoint, started with the stream, limits, quotas and faults the flags
/// give, checking the environment's AK/SK pair when that is what requests are signed with.
async fn embedded_endpoint(
    args: &SendArgs,
    kind: StreamKind,
    credentials: Option<Credentials>,
    project_id: Option<String>,
) -> Result<Destination, CliError> {
    let mut config = LocalConfig::default()
        .with_streams([
            StreamConfig::new(args.stream.clone(), args.partitions.unwrap_or(4)).with_kind(
                if kind == StreamKind::Advanced {
                    dis_local::StreamKind::Advanced
                } else {
                    dis_local::StreamKind::Common
                },
            ),
        ])
        .with_quotas(args.quotas)
        .with_retain(false)
        .with_max_request_bytes(kind.request_bytes())
        .with_max_records_per_request(args.batch)
        .with_faults(args.faults.faults());
    // AK/SK from the environment (what `Credentials::from_env` signs with when no
    // --token is given): the embedded endpoint checks the same pair.
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let (None, Some(ak), Some(sk)) = (
        &args.token,
        env("HUAWEICLOUD_SDK_AK"),
        env("HUAWEICLOUD_SDK_SK"),
    ) {
        config = config.with_aksk(ak, sk);
    }
    let server = LocalDis::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    eprintln!(
        "sending to the embedded local endpoint at {} (in memory: nothing is kept after the run)",
        server.endpoint()
    );
    Ok(Destination {
        endpoint: server.endpoint(),
        project_id: project_id.unwrap_or_else(|| "local-project".into()),
        credentials: credentials.unwrap_or_else(|| Credentials::token("local")),
        local: Some(server),
    })
}

/// The client for `destination`, trusting `--ca-file`'s certificates when given.
fn client(
    args: &SendArgs,
    destination: &Destination,
    limits: Limits,
    compression: Compression,
) -> Result<DisClient, CliError> {
    let mut builder =
        DisClient::builder(destination.endpoint.clone(), destination.project_id.clone())
            .credentials(destination.credentials.clone())
            .limits(limits)
            .compression(compression);
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| CliError::usage(format!("--ca-file {}: {e}", path.display())))?;
        builder = builder.root_certificates_pem(pem);
    }
    builder.build().map_err(|e| match &args.ca_file {
        Some(path) if e.to_string().contains("root certificates") => {
            CliError::usage(format!("--ca-file {}: {e}", path.display()))
        }
        _ => CliError::usage(e.to_string()),
    })
}

/// The producer's settings from the flags: a shipper (`--follow`) retries for ever within its
/// deadline and reads no further ahead than one more window of requests.
fn producer_config(args: &SendArgs, stream_kind: Option<StreamKind>) -> ProducerConfig {
    let mut retry = RetryPolicy::default().with_retry_ambiguous(args.retry_ambiguous);
    if !args.follow.is_empty() {
        // A shipper retries for ever (within its deadline, a week by default).
        retry = retry.with_max_attempts(u32::MAX);
    }
    let mut config = ProducerConfig::default()
        .with_pacing(pacing(args))
        .with_order_by_key(args.ordered)
        .with_time_limit(args.deadline())
        .with_linger(Duration::from_millis(args.linger_ms))
        .with_body_format(match args.body {
            Body::Json => BodyFormat::Json,
            Body::Protobuf => BodyFormat::Protobuf,
        })
        .with_max_in_flight(args.concurrency.max(1))
        .with_retry(retry);
    if let Some(p) = args.partitions {
        config = config.with_partitions(p);
    }
    if let Some(kind) = stream_kind {
        config = config.with_stream_kind(kind);
    }
    if !args.follow.is_empty() {
        // A shipper reads no further ahead than one more window of requests: what a kill -9
        // may leave unacknowledged (sent again on restart) stays small.
        let window = args.concurrency.max(1).saturating_mul(args.batch.max(1));
        config = config.with_buffer(window.min(1_000_000), 64 * 1024 * 1024);
    }
    config
}

/// The pacing `--pacing` (or `--no-adapt`) names.
fn pacing(args: &SendArgs) -> Pacing {
    if args.no_adapt {
        return Pacing::Quota { shared: false };
    }
    match args.pacing {
        PacingArg::Quota => Pacing::Quota { shared: true },
        PacingArg::QuotaAlone => Pacing::Quota { shared: false },
        PacingArg::Adaptive => Pacing::Adaptive,
        PacingArg::Off => Pacing::Off,
    }
}
