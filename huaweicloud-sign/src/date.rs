//! The `X-Sdk-Date` header: the signing time as `%Y%m%dT%H%M%SZ` in UTC (e.g.
//! `20240102T030405Z`), written from and read into a [`SystemTime`], on the proleptic
//! Gregorian calendar. The clock itself is the caller's: signing reads the date from the
//! request's headers, so a pinned time gives a pinned signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats `t` as an `X-Sdk-Date` value, `%Y%m%dT%H%M%SZ` in UTC (e.g. `20240102T030405Z`),
/// truncating sub-second precision. Years outside 0..=9999 do not fit the format.
pub fn format_sdk_date(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            // Before 1970: round towards negative infinity so the time of day stays correct.
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 { -s - 1 } else { -s }
        }
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses an `X-Sdk-Date` value (`%Y%m%dT%H%M%SZ`, UTC, exactly 16 characters).
///
/// Returns `None` for anything else: wrong length or separators, non-digits, year 0, month
/// or day out of range (including February 29 of a non-leap year), hour > 23, minute or
/// second > 59.
pub fn parse_sdk_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let secs = days_from_civil(i32::try_from(year).ok()?, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second);
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// Days of `month` (1..=12) in the proleptic Gregorian `year`.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year`-`month`-`day` (Howard
/// Hinnant's `days_from_civil`), negative before 1970: the calendar arithmetic of
/// `X-Sdk-Date`, shared with the other crates of this workspace (credential expiries) so that
/// it is written once.
///
/// `month` is 1..=12 and `day` 1..=31; a day past the end of its month counts on into the
/// next (February 31 is March 2 or 3). Any `i32` year.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year);
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let (m, d) = (i64::from(month), i64::from(day));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month 1..=12, day 1..=31) of `days` since 1970-01-01
/// (Howard Hinnant's `civil_from_days`), the inverse of [`days_from_civil`]. For day counts
/// of any `SystemTime` (|`days`| below 2^60).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit: 1 <= day <= 31, 1 <= month <= 12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_agree_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2024, 2, 31), days_from_civil(2024, 3, 2));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days, "{y}-{m}-{d}");
            assert!(d <= days_in_month(y as u32, m) || y <= 0, "{y}-{m}-{d}");
        }
    }
}
