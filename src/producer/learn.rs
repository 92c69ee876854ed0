//! What the producer learns about its stream from DIS (DescribeStream, the generated
//! `show_stream`): its kind and its writable partitions, paged through; and how that meets what
//! the producer was told ([`ProducerConfig::with_partitions`], [`ProducerConfig::with_stream_kind`]):
//! DIS wins, with a warning where they disagree; what was told stands when DIS cannot be asked.

use std::time::Duration;

use super::config::ProducerConfig;
use super::pacing::StreamKind;
use crate::client::DisClient;
use crate::generated::types;

/// Partitions asked for per DescribeStream page.
const PAGE: u32 = 100;
/// Pages read at most (DIS streams have far fewer partitions than this many pages hold).
const MAX_PAGES: usize = 200;
/// How long one description (all its pages) may take before the producer goes on without it.
pub(crate) const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running producer describes its stream again (partition counts change when a
/// user scales the stream or auto scaling acts).
pub(crate) const DESCRIBE_EVERY: Duration = Duration::from_secs(180);
/// Least time between two descriptions asked for by answers naming an unknown partition.
pub(crate) const DESCRIBE_AGAIN_AFTER: Duration = Duration::from_secs(2);

/// A stream as DIS describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Described {
    /// Its kind, when DIS names one the producer knows.
    pub(crate) kind: Option<StreamKind>,
    /// Its writable (ACTIVE) partitions.
    pub(crate) partitions: u32,
}

/// Why a description failed.
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    /// DIS refused it for good (no permission, unknown operation): asking again is pointless.
    pub(crate) refused: bool,
    pub(crate) reason: String,
}

/// Describes `stream` through `client`, paging through its partitions.
pub(crate) async fn describe(client: DisClient, stream: String) -> Result<Described, Unavailable> {
    match tokio::time::timeout(DESCRIBE_TIMEOUT, pages(&client, &stream)).await {
        Ok(result) => result,
        Err(_) => Err(Unavailable {
            refused: false,
            reason: format!("no answer within {DESCRIBE_TIMEOUT:?}"),
        }),
    }
}

async fn pages(client: &DisClient, stream: &str) -> Result<Described, Unavailable> {
    let name = types::ShowStreamStreamName::try_from(stream).map_err(|e| Unavailable {
        refused: true,
        reason: e.to_string(),
    })?;
    let limit = std::num::NonZeroU32::new(PAGE);
    let mut after: Option<String> = None;
    let mut active = 0u32;
    let mut kind = None;
    let mut writable = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .generated()
            .show_stream(client.project_id(), &name, limit, after.as_deref())
            .await
            .map_err(unavailable)?
            .into_inner();
        if after.is_none() {
            kind = page.stream_type.as_deref().and_then(kind_of);
            writable = page.writable_partition_count;
        }
        active += page
            .partitions
            .iter()
            .filter(|p| p.status.as_deref().is_none_or(|s| s == "ACTIVE"))
            .count() as u32;
        let last = page.partitions.last().and_then(|p| p.partition_id.clone());
        match (page.has_more_partitions, last) {
            (Some(true), Some(last)) if after.as_ref() != Some(&last) => after = Some(last),
            _ => break,
        }
    }
    // DIS's count of the writable partitions, else those listed ACTIVE.
    let partitions = writable
        .and_then(|w| u32::try_from(w).ok())
        .filter(|&w| w > 0)
        .unwrap_or(active);
    if partitions == 0 {
        return Err(Unavailable {
            refused: false,
            reason: "DIS described no writable partition".into(),
        });
    }
    Ok(Described { kind, partitions })
}

/// The kind DIS names (`COMMON`, `ADVANCED`).
fn kind_of(s: &str) -> Option<StreamKind> {
    match s.to_ascii_uppercase().as_str() {
        "COMMON" => Some(StreamKind::Common),
        "ADVANCED" => Some(StreamKind::Advanced),
        _ => None,
    }
}

/// A failed DescribeStream: refused for good on 4xx other than 429 (no permission, an operation
/// the endpoint does not have), worth asking again later otherwise.
fn unavailable(e: progenitor_client::Error<types::DisError>) -> Unavailable {
    let refused = e
        .status()
        .is_some_and(|s| s.is_client_error() && s.as_u16() != 429);
    Unavailable {
        refused,
        reason: e.to_string(),
    }
}

/// The settings the producer runs with: what DIS described wins over what it was told, with a
/// warning for each disagreement. `warn` gets the warnings.
pub(crate) fn settle(
    told: &ProducerConfig,
    described: Described,
    mut warn: impl FnMut(String),
) -> ProducerConfig {
    let mut config = told.clone();
    if let Some(p) = told.partitions
        && p != described.partitions
    {
        warn(format!(
            "the producer was told {p} partitions; DIS describes {} writable: DIS wins",
            described.partitions
        ));
    }
    config.partitions = Some(described.partitions);
    if let Some(kind) = described.kind {
        if let Some(t) = told.stream_kind
            && t != kind
        {
            warn(format!(
                "the producer was told a {t:?} stream; DIS describes it {kind:?}: DIS wins"
            ));
        }
        config.stream_kind = Some(kind);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dis_wins_with_a_warning() {
        let told = ProducerConfig::default()
            .with_partitions(2)
            .with_stream_kind(StreamKind::Common);
        let mut warnings = Vec::new();
        let described = Described {
            kind: Some(StreamKind::Advanced),
            partitions: 4,
        };
        let c = settle(&told, described, |w| warnings.push(w));
        assert_eq!(
            (c.partitions, c.stream_kind),
            (Some(4), Some(StreamKind::Advanced))
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // Told nothing: no warning.
        let c = settle(&ProducerConfig::default(), described, |w| panic!("{w}"));
        assert_eq!(c.partitions, Some(4));
        // A kind DIS does not name: what was told stands.
        let c = settle(
            &told,
            Described {
                kind: None,
                partitions: 2,
            },
            |w| panic!("{w}"),
        );
        assert_eq!(c.stream_kind, Some(StreamKind::Common));
        assert_eq!(kind_of("advanced"), Some(StreamKind::Advanced));
        assert_eq!(kind_of("FAST"), None);
    }
}
