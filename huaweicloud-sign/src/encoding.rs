//! The text primitives Huawei's Python signers build their canonical requests with: `quote`,
//! `unquote` and `str.strip`, shared by the v3 scheme and the legacy ones.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Characters escaped in path segments and query keys/values: everything except the RFC 3986
/// unreserved characters `A-Z a-z 0-9 - _ . ~` (Python's `quote(s, safe='~')`).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `quote(s, safe='~')`: UTF-8, every byte but `A-Z a-z 0-9 - _ . ~` as upper-case `%XX`.
pub(crate) fn escape(s: &str) -> String {
    utf8_percent_encode(s, ESCAPED).to_string()
}

/// `unquote(s)`: `%XX` decoded, invalid UTF-8 replaced by U+FFFD, malformed escapes kept.
pub(crate) fn unescape(s: &[u8]) -> String {
    percent_decode(s).decode_utf8_lossy().into_owned()
}

/// Python's `str.strip()`: Unicode whitespace plus the separators U+001C..U+001F.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}
