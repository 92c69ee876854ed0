//! The expiry times credential sources write (`2026-11-30T12:00:00.000000Z`), read without a
//! date library: RFC 3339 in UTC (`Z` or `+00:00`), fractions of a second ignored. The
//! calendar arithmetic is the signer's (`huaweicloud_sign::days_from_civil`).

use std::time::{Duration, SystemTime};

use huaweicloud_sign::days_from_civil;

/// Longest expiry text read (real ones are 20 to 32 characters).
const MAX_LEN: usize = 40;

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` as a time; `None` when it is anything else.
pub(crate) fn parse_utc(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if text.len() > MAX_LEN || !text.is_ascii() {
        return None;
    }
    let rest = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (main, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let b = main.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u64> {
        let s = &main[from..to];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Checked above: year <= 9999, month <= 12, day <= 31.
    let days = days_from_civil(year as i32, month as u32, day as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shapes_iam_and_metadata_write() {
        let at =
            |s| parse_utc(s).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("2024-01-02T03:04:05Z"), Some(1_704_164_645));
        assert_eq!(at("2024-01-02T03:04:05.123000Z"), Some(1_704_164_645));
        assert_eq!(at("2024-01-02T03:04:05+00:00"), Some(1_704_164_645));
        assert_eq!(at("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05+08:00",
            "2024-13-02T03:04:05Z",
            "2024-01-02T25:04:05Z",
            "+024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.12a4Z",
            "2024-01-02T03:04:05.0000000000000000000000000000Z",
            "２０２４-01-02T03:04:05Z",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }
}
