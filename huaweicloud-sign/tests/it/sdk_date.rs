//! Tests of the `X-Sdk-Date` format: pinned times and their texts, leap years, a sweep of round
//! trips, malformed values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use huaweicloud_sign::{format_sdk_date, parse_sdk_date};

fn at(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

#[test]
fn sdk_date_pinned_round_trip() {
    let t = at(1_704_164_645); // 2024-01-02T03:04:05Z
    assert_eq!(format_sdk_date(t), "20240102T030405Z");
    assert_eq!(parse_sdk_date("20240102T030405Z"), Some(t));
    // Sub-second precision is truncated.
    assert_eq!(
        format_sdk_date(t + Duration::from_millis(999)),
        "20240102T030405Z"
    );
    let known = [
        (0, "19700101T000000Z"),
        (-1, "19691231T235959Z"),
        (951_782_400, "20000229T000000Z"),
        (-2_203_891_200, "19000301T000000Z"),
        (253_402_300_799, "99991231T235959Z"),
        (-62_135_596_800, "00010101T000000Z"),
    ];
    for (secs, text) in known {
        assert_eq!(format_sdk_date(at(secs)), text, "{secs}");
        assert_eq!(parse_sdk_date(text), Some(at(secs)), "{text}");
    }
    // Before 1970 with a fraction: still floors to the right second.
    assert_eq!(
        format_sdk_date(UNIX_EPOCH - Duration::from_millis(500)),
        "19691231T235959Z"
    );
}

#[test]
fn sdk_date_leap_years() {
    let t = at(1_709_208_000); // 2024-02-29T12:00:00Z
    assert_eq!(format_sdk_date(t), "20240229T120000Z");
    assert_eq!(parse_sdk_date("20240229T120000Z"), Some(t));
    assert_eq!(
        format_sdk_date(t + Duration::from_secs(43_200)),
        "20240301T000000Z"
    );
    assert_eq!(format_sdk_date(at(1_709_164_800 - 1)), "20240228T235959Z");
    assert!(parse_sdk_date("20000229T000000Z").is_some()); // divisible by 400
    assert!(parse_sdk_date("20230229T000000Z").is_none());
    assert!(parse_sdk_date("19000229T000000Z").is_none()); // divisible by 100 only
    assert!(parse_sdk_date("21000229T000000Z").is_none());
    assert!(parse_sdk_date("20241231T235959Z").is_some());
    assert_eq!(format_sdk_date(at(1_735_689_599)), "20241231T235959Z");
}

#[test]
fn sdk_date_sweep_round_trips() {
    // Every ~7 days plus an odd offset from 1960 to 2100: format then parse gives back the time.
    let mut secs: i64 = -315_619_200;
    while secs < 4_102_444_800 {
        let text = format_sdk_date(at(secs));
        assert_eq!(text.len(), 16, "{text}");
        assert_eq!(parse_sdk_date(&text), Some(at(secs)), "{text}");
        secs += 604_799 + 3_613;
    }
}

#[test]
fn sdk_date_rejects_malformed() {
    let bad = [
        "",
        "20240102T030405",
        "20240102T030405Z ",
        " 20240102T030405Z",
        "20240102 030405Z",
        "20240102t030405Z",
        "20240102T030405z",
        "2024-01-02T03:04:05Z",
        "2024010T030405ZZ",
        "+2024010T030405Z",
        "2024010AT030405Z",
        "20240102T03040-Z",
        "00000101T000000Z",
        "20240002T030405Z",
        "20241302T030405Z",
        "20240100T030405Z",
        "20240132T030405Z",
        "20240431T030405Z",
        "20240102T240000Z",
        "20240102T036000Z",
        "20240102T030460Z",
        "２0240102T030405Z",
    ];
    for s in bad {
        assert_eq!(parse_sdk_date(s), None, "{s:?}");
    }
}
