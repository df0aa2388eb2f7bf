//! Timestamp and duration helpers: RFC 3339 <-> epoch milliseconds, `5m`-style
//! durations, and the UTC calendar fields the language's time functions need.
//!
//! Why hand-written rather than `chrono`: the decoder parses one timestamp per
//! event on the hot path, and the forms we accept are narrow (RFC 3339
//! `date-time` only), so a small allocation-free parser over bytes is both
//! faster and easier to pin down exactly. All arithmetic is on `i64` epoch
//! milliseconds in UTC, using Howard Hinnant's `days_from_civil` /
//! `civil_from_days` algorithms (proleptic Gregorian calendar).
//!
//! Accepted timestamp form (RFC 3339 §5.6):
//! `YYYY-MM-DD('T'|'t'|' ')hh:mm:ss[.fraction]('Z'|'z'|('+'|'-')hh:mm)`.
//! Fractions may have any number of digits; digits past milliseconds are
//! truncated (toward the earlier instant). A leap second (`:60`) is accepted
//! and reads as second 0 of the next minute, since epoch time has no leap
//! seconds.

use std::fmt;

/// Milliseconds per second / minute / hour / day.
pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The (year, month 1-12, day 1-31) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Hour of the day (0-23) in UTC.
pub fn hour_of_day(ms: i64) -> i64 {
    ms.rem_euclid(MS_PER_DAY) / MS_PER_HOUR
}

/// ISO day of the week in UTC: 1 = Monday ... 7 = Sunday.
pub fn iso_day_of_week(ms: i64) -> i64 {
    // 1970-01-01 was a Thursday (ISO 4).
    (ms.div_euclid(MS_PER_DAY) + 3).rem_euclid(7) + 1
}

/// Parses an RFC 3339 date-time into epoch milliseconds; `None` if `s` is not
/// one (see the module docs for the accepted form).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_min: i64 = match b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            if b.len() < i + 6 || b[i + 3] != b':' {
                return None;
            }
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let m = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second)
        - offset_min * 60;
    Some(secs * 1_000 + millis)
}

/// `n` ASCII digits at `b[at..at + n]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Formats epoch milliseconds as RFC 3339 in UTC with milliseconds:
/// `2024-05-01T10:00:00.123Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    // Writing to a String cannot fail.
    let _ = write_rfc3339(&mut s, ms);
    s
}

/// [`format_rfc3339`] into any writer, without allocating. Years outside
/// 0000-9999 (not representable in RFC 3339) are written with their sign and
/// all their digits, as ISO 8601's expanded form does.
pub fn write_rfc3339(w: &mut impl fmt::Write, ms: i64) -> fmt::Result {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        write!(w, "{year:04}")?;
    } else {
        write!(w, "{year:+05}")?;
    }
    write!(
        w,
        "-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        month,
        day,
        in_day / MS_PER_HOUR,
        in_day % MS_PER_HOUR / MS_PER_MINUTE,
        in_day % MS_PER_MINUTE / MS_PER_SECOND,
        in_day % MS_PER_SECOND
    )
}

/// A `Display` adapter for epoch milliseconds as RFC 3339 UTC.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_rfc3339(f, self.0)
    }
}

/// Parses a duration as the language writes it: one or more `<int><unit>`
/// parts with units `ms s m h d` (`500ms`, `5m`, `1h30m`), optionally preceded
/// by `-`. Returns milliseconds; `None` on any other text or on overflow.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut b) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        b => (false, b),
    };
    if b.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !b.is_empty() {
        let n_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if n_digits == 0 {
            return None;
        }
        let mut n: i64 = 0;
        for &c in &b[..n_digits] {
            n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
        }
        b = &b[n_digits..];
        let n_unit = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = match &b[..n_unit] {
            b"ms" => 1,
            b"s" => MS_PER_SECOND,
            b"m" => MS_PER_MINUTE,
            b"h" => MS_PER_HOUR,
            b"d" => MS_PER_DAY,
            _ => return None,
        };
        b = &b[n_unit..];
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(if neg { -total } else { total })
}

/// Formats milliseconds as the language writes durations, largest units
/// first: `1h30m`, `500ms`, `2d`, `-5s`, `0ms`. [`parse_duration`] reads it back.
pub fn format_duration(ms: i64) -> String {
    let mut s = String::new();
    let _ = write_duration(&mut s, ms);
    s
}

/// [`format_duration`] into any writer.
pub fn write_duration(w: &mut impl fmt::Write, ms: i64) -> fmt::Result {
    if ms == 0 {
        return w.write_str("0ms");
    }
    if ms < 0 {
        w.write_char('-')?;
    }
    let mut rest = ms.unsigned_abs();
    for (unit, name) in [
        (MS_PER_DAY as u64, "d"),
        (MS_PER_HOUR as u64, "h"),
        (MS_PER_MINUTE as u64, "m"),
        (MS_PER_SECOND as u64, "s"),
        (1, "ms"),
    ] {
        if rest >= unit {
            write!(w, "{}{}", rest / unit, name)?;
            rest %= unit;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_with_millis() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00.123Z"),
            Some(1_714_557_600_123)
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00Z"),
            Some(1_714_557_600_000)
        );
    }

    #[test]
    fn parses_fractions_of_any_length() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.05Z"), Some(50));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.123456789Z"), Some(123));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.Z"), None);
    }

    #[test]
    fn parses_offsets_and_separators() {
        let utc = parse_rfc3339("2024-05-01T10:00:00Z");
        assert_eq!(parse_rfc3339("2024-05-01T12:00:00+02:00"), utc);
        assert_eq!(parse_rfc3339("2024-05-01T05:30:00-04:30"), utc);
        assert_eq!(parse_rfc3339("2024-05-01t10:00:00z"), utc);
        assert_eq!(parse_rfc3339("2024-05-01 10:00:00Z"), utc);
        assert_eq!(parse_rfc3339("2024-05-01T10:00:00+00:00"), utc);
    }

    #[test]
    fn before_epoch() {
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            parse_rfc3339("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800_000)
        );
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2024-05-01",
            "2024-05-01T10:00:00",
            "2024-13-01T10:00:00Z",
            "2024-02-30T10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:60:00Z",
            "2024-05-01T10:00:00+2:00",
            "2024-05-01T10:00:00+02:00x",
            "2024-05-01X10:00:00Z",
            "2024/05/01T10:00:00Z",
            "abcd-05-01T10:00:00Z",
            "2024-05-01T10:00:00.12aZ",
            "2024-05-01T10:00:00Zjunk",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s:?}");
        }
        assert!(parse_rfc3339("2024-02-29T10:00:00Z").is_some());
    }

    #[test]
    fn formats() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_714_557_600_123),
            "2024-05-01T10:00:00.123Z"
        );
        assert_eq!(
            Rfc3339(1_714_557_600_123).to_string(),
            "2024-05-01T10:00:00.123Z"
        );
        // Extreme values do not panic.
        let _ = format_rfc3339(i64::MAX);
        let _ = format_rfc3339(i64::MIN);
    }

    #[test]
    fn round_trips() {
        let mut ms = -62_000_000_000_000i64; // year 0005
        while ms < 250_000_000_000_000 {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms), "{ms}");
            ms += 7_777_777_777_777 + 13;
        }
    }

    #[test]
    fn calendar_fields() {
        // 2024-05-01 was a Wednesday.
        let t = parse_rfc3339("2024-05-01T10:59:59Z").unwrap_or_default();
        assert_eq!(hour_of_day(t), 10);
        assert_eq!(iso_day_of_week(t), 3);
        let sunday = parse_rfc3339("2024-05-05T23:00:00Z").unwrap_or_default();
        assert_eq!(iso_day_of_week(sunday), 7);
        let monday = parse_rfc3339("2024-05-06T00:00:00Z").unwrap_or_default();
        assert_eq!(iso_day_of_week(monday), 1);
        assert_eq!(iso_day_of_week(0), 4);
        assert_eq!(iso_day_of_week(-1), 3);
        assert_eq!(hour_of_day(-1), 23);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("10s"), Some(10_000));
        assert_eq!(parse_duration("5m"), Some(300_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("-5s"), Some(-5_000));
        for bad in [
            "",
            "-",
            "5",
            "m",
            "5x",
            "5 m",
            "1.5s",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(0), "0ms");
        assert_eq!(format_duration(-5_000), "-5s");
        assert_eq!(format_duration(86_400_001), "1d1ms");
        for ms in [1, 999, 1_000, 61_001, 90_061_001, -3_600_000] {
            assert_eq!(parse_duration(&format_duration(ms)), Some(ms));
        }
        let _ = format_duration(i64::MIN);
    }
}
