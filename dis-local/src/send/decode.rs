//! Compressed SendRecords bodies, as Huawei's Java SDK sends them (`body.compress.enabled`):
//! `Content-Encoding: lz4` (a raw LZ4 block, its uncompressed length in
//! `x-dis-lz4-content-length`), `zstd` (a Zstandard frame, its length in
//! `x-dis-zstd-content-length`) or `snappy` (a raw Snappy block, which starts with its length).
//!
//! A compression bomb costs nothing: the declared uncompressed length is checked against the
//! request limit (the body cap) before a byte is decompressed, the buffer for it is taken from
//! the request's share of the body budget, and the decompressor writes into that buffer only,
//! so a body that expands past what it declared is refused when the buffer is full.

use std::io::Read;

use bytes::Bytes;
use hyper::header;
use hyper::http::request::Parts;

use super::refusal::Refusal;
use crate::state::{BudgetShare, Shared};

/// The header with an LZ4 body's uncompressed length.
const LZ4_LENGTH: &str = "x-dis-lz4-content-length";
/// The header with a Zstandard body's uncompressed length.
const ZSTD_LENGTH: &str = "x-dis-zstd-content-length";

/// How a body is encoded, from its `Content-Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Identity,
    Lz4,
    Zstd,
    Snappy,
}

impl Encoding {
    fn of(parts: &Parts) -> Result<Encoding, Refusal> {
        let Some(value) = parts.headers.get(header::CONTENT_ENCODING) else {
            return Ok(Encoding::Identity);
        };
        let value = value.to_str().unwrap_or_default().trim();
        Ok(match value.to_ascii_lowercase().as_str() {
            "" | "identity" => Encoding::Identity,
            "lz4" => Encoding::Lz4,
            "zstd" => Encoding::Zstd,
            "snappy" => Encoding::Snappy,
            _ => {
                return Err(Refusal::invalid(
                    "DIS.4200",
                    format!(
                        "Invalid request: Content-Encoding {:?} is not supported; lz4, zstd or snappy.",
                        value.chars().take(64).collect::<String>()
                    ),
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Lz4 => "lz4",
            Encoding::Zstd => "zstd",
            Encoding::Snappy => "snappy",
        }
    }
}

/// `body` decompressed as its `Content-Encoding` says (the body itself when it has none), held
/// in `share` beside the compressed body. The uncompressed body may be at most `shared`'s body
/// cap.
pub(super) fn decompressed(
    shared: &Shared,
    parts: &Parts,
    body: Bytes,
    share: &mut BudgetShare<'_>,
) -> Result<Bytes, Refusal> {
    let encoding = Encoding::of(parts)?;
    if encoding == Encoding::Identity {
        return Ok(body);
    }
    let cap = shared.limits.body_cap;
    let declared = match encoding {
        Encoding::Identity => unreachable!("returned above"),
        Encoding::Lz4 => Some(declared_length(parts, LZ4_LENGTH)?.ok_or_else(|| {
            Refusal::invalid(
                "DIS.4200",
                format!(
                    "Invalid request: an lz4 body needs its uncompressed length in {LZ4_LENGTH}."
                ),
            )
        })?),
        Encoding::Zstd => declared_length(parts, ZSTD_LENGTH)?,
        // A raw Snappy block starts with its length (at most u32::MAX).
        Encoding::Snappy => Some(match snap::raw::decompress_len(&body) {
            Ok(len) => len as u64,
            Err(snap::Error::TooBig { given, .. }) => given,
            Err(e) => return Err(corrupt(encoding, e)),
        }),
    };
    // Checked before anything is decompressed: a claim over the limit costs nothing.
    if let Some(len) = declared.filter(|&len| len > cap as u64) {
        return Err(too_large(encoding, format!("declares {len} bytes"), cap));
    }
    // The buffer the output is written into, and nothing beyond it: the declared length, or
    // (a zstd body without the header) the cap.
    let room = declared.map_or(cap, |len| len as usize);
    let wanted = body.len().saturating_add(room);
    if !share.grow_to(wanted) {
        return Err(Refusal::Busy {
            budget: shared.body_budget.limit(),
            wanted,
            close: false,
        });
    }
    let out = match encoding {
        Encoding::Identity => unreachable!("returned above"),
        Encoding::Lz4 => {
            let mut out = vec![0; room];
            let n = lz4_flex::block::decompress_into(&body, &mut out).map_err(|e| match e {
                lz4_flex::block::DecompressError::OutputTooSmall { .. } => too_large(
                    encoding,
                    format!("expands past the {room} bytes it declares"),
                    cap,
                ),
                e => corrupt(encoding, e),
            })?;
            if n != room {
                return Err(corrupt(
                    encoding,
                    format!("{n} bytes, not the {room} its {LZ4_LENGTH} declares"),
                ));
            }
            out
        }
        Encoding::Snappy => {
            let mut out = vec![0; room];
            let n = snap::raw::Decoder::new()
                .decompress(&body, &mut out)
                .map_err(|e| corrupt(encoding, e))?;
            out.truncate(n);
            out
        }
        Encoding::Zstd => zstd_within(&body, room, declared.is_some(), cap)?,
    };
    Ok(Bytes::from(out))
}

/// A zstd frame decompressed into at most `room` bytes (one more is a refusal); `exact` when
/// `room` is the declared length, which the output must then have. The frame's window may be
/// at most the cap, and nothing may follow the frame.
fn zstd_within(body: &[u8], room: usize, exact: bool, cap: usize) -> Result<Vec<u8>, Refusal> {
    let encoding = Encoding::Zstd;
    let mut source = body;
    let decoder =
        ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&mut source, cap as u64)
            .map_err(|e| corrupt(encoding, e))?;
    let mut out = Vec::with_capacity(room);
    // One byte more than the room: reading it means the frame expands past it.
    let read = decoder
        .take(room as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(encoding, e))?;
    if read > room {
        let bound = if exact {
            format!("the {room} bytes it declares")
        } else {
            format!("this endpoint's limit of {room} bytes")
        };
        return Err(too_large(encoding, format!("expands past {bound}"), cap));
    }
    if exact && read != room {
        return Err(corrupt(
            encoding,
            format!("{read} bytes, not the {room} its {ZSTD_LENGTH} declares"),
        ));
    }
    if !source.is_empty() {
        return Err(corrupt(
            encoding,
            format!("{} bytes after the frame", source.len()),
        ));
    }
    Ok(out)
}

/// The uncompressed length in header `name`, if sent; a value that is not a number is refused.
fn declared_length(parts: &Parts, name: &'static str) -> Result<Option<u64>, Refusal> {
    let Some(value) = parts.headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Refusal::invalid(
                "DIS.4200",
                format!("Invalid request: {name} must be a non-negative integer."),
            )
        })
}

/// 413: the uncompressed body is over the request limit.
fn too_large(encoding: Encoding, what: String, cap: usize) -> Refusal {
    Refusal::DataTooLarge {
        message: format!(
            "Request body too large: the {} body {what}; uncompressed, this endpoint reads at most {cap} bytes.",
            encoding.name()
        ),
    }
}

/// 400: the body does not decompress.
fn corrupt(encoding: Encoding, detail: impl std::fmt::Display) -> Refusal {
    Refusal::invalid_body(format!("Content-Encoding {}: {detail}", encoding.name()))
}
