//! Compressed request bodies, as Huawei's Java SDK sends them (`body.compress.enabled`): the
//! pipeline's stage after encoding. The body is compressed before it is signed (the signature
//! covers the compressed bytes), and goes with `Content-Encoding` and `Accept-Encoding` naming
//! the codec and, for lz4 and zstd, the uncompressed length in `x-dis-lz4-content-length` /
//! `x-dis-zstd-content-length`. Each codec is a cargo feature (`lz4`, `zstd`, `snappy`), off by
//! default.
//!
//! An answer that comes back compressed (`Accept-Encoding` allows it) is decompressed within
//! the answer's bound: the output never grows past it, whatever the body claims. (The Java SDK
//! never decompresses an answer; whether DIS compresses any is not documented.)
//!
//! What is verified, and what is not:
//! - The format is the Java SDK's (`AbstractDISClient.compressBody`, `Lz4Util`, `SnappyUtils`,
//!   `ZstdUtil`): every POST body, JSON or protobuf, whatever its size; lz4 as lz4-java's
//!   `fastCompressor().compress` (a raw block), snappy a raw block, zstd a frame at level 3.
//!   `scripts/interop-huawei-java.sh` sends that SDK's compressed requests to dis-local, which
//!   reads them with the same decoders this crate's tests check its bodies against.
//! - The signature is not the Java SDK's. It signs with the older `SDK-HMAC-SHA256
//!   Credential={AK}/{YYYYMMDD}/{region}/dis/sdk_request` scheme (`DefaultSigner`), over the
//!   compressed bytes and over every header it sets, the compression headers among them. This
//!   client signs with the v3 `SDK-HMAC-SHA256 Access=` scheme of Huawei's v3 SDKs, also over
//!   the compressed bytes (their SHA-256; protobuf ones too unless
//!   [`sign_every_body(false)`](crate::DisClientBuilder::sign_every_body)) and every header it
//!   sends. No Huawei SDK sends a v3 signature over a compressed body, so that combination is
//!   **unverified against DIS**: dis-local accepts it, but dis-local is not DIS. Huawei's API
//!   gateway documents that the body is signed as sent ([APIG FAQ: Will the Request Body Be
//!   Signed for Security
//!   Authentication?](https://support.huaweicloud.com/en-us/apig_faq/apig-faq-2005018.html)),
//!   which is what both signers do.
//! - `data.compress.enabled` (the Java SDK snappy-compressing each record's data, with no header
//!   saying so) is not done here: a consumer of such records must know.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// How request bodies are compressed. Each codec needs its cargo feature: a client built with
/// a codec its build lacks is refused by [`DisClientBuilder::build`](crate::DisClientBuilder::build).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Bodies go as they are written (the default).
    #[default]
    None,
    /// A raw LZ4 block (not the LZ4 frame format), the Java SDK's default codec; the
    /// uncompressed length goes in `x-dis-lz4-content-length`. Feature `lz4` (lz4_flex, pure
    /// Rust).
    Lz4,
    /// A Zstandard frame at level 3 (the library's default); the uncompressed length goes in
    /// `x-dis-zstd-content-length`. Feature `zstd`.
    Zstd,
    /// A raw Snappy block (not the framed format), which carries its own length. Feature
    /// `snappy` (snap, pure Rust).
    Snappy,
}

impl Compression {
    /// Every codec, in the order of their names.
    const CODECS: [Compression; 3] = [Compression::Lz4, Compression::Zstd, Compression::Snappy];

    /// The `Content-Encoding` (and `Accept-Encoding`) value, or `None` for uncompressed bodies.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Lz4 => Some("lz4"),
            Compression::Zstd => Some("zstd"),
            Compression::Snappy => Some("snappy"),
        }
    }

    /// The codec named `name` (`lz4`, `zstd` or `snappy`, as in `Content-Encoding`; any case).
    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::CODECS.into_iter().find(|c| {
            c.name()
                .is_some_and(|n| n.eq_ignore_ascii_case(name.trim()))
        })
    }

    /// True when this build has the codec (its cargo feature is on).
    pub fn is_available(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd => cfg!(feature = "zstd"),
            Compression::Snappy => cfg!(feature = "snappy"),
        }
    }

    /// The header carrying the uncompressed length, for the codecs whose format does not.
    fn length_header(self) -> Option<&'static str> {
        match self {
            Compression::Lz4 => Some("x-dis-lz4-content-length"),
            Compression::Zstd => Some("x-dis-zstd-content-length"),
            Compression::None | Compression::Snappy => None,
        }
    }

    /// `body` compressed, with the headers that say so; `body` itself (and no header) when
    /// uncompressed, or when this build lacks the codec (the client builder refuses that).
    pub(crate) fn compress(self, body: Vec<u8>) -> (Vec<u8>, HeaderMap) {
        let mut headers = HeaderMap::new();
        let (Some(name), Some(compressed)) = (self.name(), self.encode(&body)) else {
            return (body, headers);
        };
        let value = HeaderValue::from_static(name);
        headers.insert(reqwest::header::CONTENT_ENCODING, value.clone());
        headers.insert(reqwest::header::ACCEPT_ENCODING, value);
        if let Some(header) = self.length_header() {
            headers.insert(
                HeaderName::from_static(header),
                HeaderValue::from(body.len()),
            );
        }
        (compressed, headers)
    }

    /// `body` in this codec, if this build has it.
    #[allow(unused_variables)] // without any codec
    fn encode(self, body: &[u8]) -> Option<Vec<u8>> {
        match self {
            #[cfg(feature = "lz4")]
            Compression::Lz4 => Some(lz4_flex::block::compress(body)),
            #[cfg(feature = "zstd")]
            Compression::Zstd => Some(
                zstd::bulk::compress(body, ZSTD_LEVEL)
                    .expect("compressing into a buffer of the bound's size does not fail"),
            ),
            #[cfg(feature = "snappy")]
            Compression::Snappy => Some(
                snap::raw::Encoder::new()
                    .compress_vec(body)
                    .expect("a body under 4 GiB compresses"),
            ),
            _ => None,
        }
    }
}

/// Zstandard's level: the library's default, as the Java SDK's `Zstd.compress` (on 500 JSON log
/// lines of 1 KiB, level 1 was no faster here and 6% larger).
#[cfg(feature = "zstd")]
const ZSTD_LEVEL: i32 = 3;

/// Why a compressed answer was not decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undecoded {
    /// It expands (or says it does) past `cap` bytes.
    TooLarge,
    /// It does not decompress, or names a codec this build does not have.
    Unreadable,
}

/// An answer's body decompressed as its `Content-Encoding` says, within `cap` bytes; the body
/// itself when it has none.
pub(crate) fn decompress_answer(
    headers: &HeaderMap,
    body: Vec<u8>,
    cap: usize,
) -> Result<Vec<u8>, Undecoded> {
    let Some(encoding) = headers
        .get(reqwest::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or_default().trim())
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity"))
    else {
        return Ok(body);
    };
    let codec = Compression::from_name(encoding).ok_or(Undecoded::Unreadable)?;
    let declared = codec
        .length_header()
        .and_then(|h| headers.get(h))
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(Undecoded::Unreadable)
        })
        .transpose()?;
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(Undecoded::TooLarge);
    }
    decompress(codec, &body, declared.map(|l| l as usize), cap)
}

/// `body` decompressed with `codec` into at most `cap` bytes (`declared`: the length its header
/// gave, which it must then have).
#[allow(unused_variables)] // without any codec
fn decompress(
    codec: Compression,
    body: &[u8],
    declared: Option<usize>,
    cap: usize,
) -> Result<Vec<u8>, Undecoded> {
    match codec {
        #[cfg(feature = "lz4")]
        Compression::Lz4 => {
            // A raw block does not say how long it is: the header must.
            let len = declared.ok_or(Undecoded::Unreadable)?;
            let mut out = vec![0; len];
            match lz4_flex::block::decompress_into(body, &mut out) {
                Ok(n) if n == len => Ok(out),
                Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) => {
                    Err(Undecoded::TooLarge)
                }
                _ => Err(Undecoded::Unreadable),
            }
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => {
            use std::io::Read as _;
            let room = declared.unwrap_or(cap);
            let mut decoder = zstd::stream::read::Decoder::with_buffer(body)
                .map_err(|_| Undecoded::Unreadable)?
                .single_frame();
            // The window is at most the room: the decoder allocates no more than it needs.
            decoder
                .window_log_max(window_log(room))
                .map_err(|_| Undecoded::Unreadable)?;
            let mut out = Vec::with_capacity(room.min(64 * 1024));
            let read = decoder
                .take(room as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| Undecoded::Unreadable)?;
            match read {
                n if n > room => Err(Undecoded::TooLarge),
                n if declared.is_some_and(|d| d != n) => Err(Undecoded::Unreadable),
                _ => Ok(out),
            }
        }
        #[cfg(feature = "snappy")]
        Compression::Snappy => {
            let len = snap::raw::decompress_len(body).map_err(|_| Undecoded::Unreadable)?;
            if len > cap {
                return Err(Undecoded::TooLarge);
            }
            let mut out = vec![0; len];
            snap::raw::Decoder::new()
                .decompress(body, &mut out)
                .map_err(|_| Undecoded::Unreadable)?;
            Ok(out)
        }
        _ => Err(Undecoded::Unreadable),
    }
}

/// The smallest window log (10 to 31) whose window holds `bytes`.
#[cfg(feature = "zstd")]
fn window_log(bytes: usize) -> u32 {
    (usize::BITS - bytes.max(1024).saturating_sub(1).leading_zeros()).clamp(10, 31)
}
