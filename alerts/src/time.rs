//! RFC 3339 <-> Unix milliseconds, for alert timestamps (UTC only on output).

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    if s.len() < 20 || !s.is_char_boundary(19) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let mut dp = date.split('-');
    let (y, mo, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    let sep = rest.as_bytes()[0];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    let (clock, mut tail) = rest[1..].split_at(8);
    let mut cp = clock.split(':');
    let (h, mi, sec) = (num(cp.next()?)?, num(cp.next()?)?, num(cp.next()?)?);
    let mut ms = 0;
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(|b| b.is_ascii_digit()).count();
        let digits = &frac[..n];
        let mut v = 0;
        for (i, b) in digits.bytes().take(3).enumerate() {
            v += i64::from(b - b'0') * [100, 10, 1][i];
        }
        ms = v;
        tail = &frac[n..];
    }
    let offset_min = match tail {
        "Z" | "z" => 0,
        t if t.len() == 6 && (t.starts_with('+') || t.starts_with('-')) => {
            let v = num(&t[1..3])? * 60 + num(&t[4..6])?;
            if t.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + ms)
}

/// `2026-11-25T17:02:50.123Z`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// Wall clock in Unix milliseconds. Delivery (not an operator) may read it:
/// backoff, dedup TTLs and signature timestamps are about real time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_offsets() {
        let ms = parse_rfc3339_ms("2026-11-25T17:02:50.123Z").unwrap();
        assert_eq!(format_rfc3339_ms(ms), "2026-11-25T17:02:50.123Z");
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339_ms("2000-02-29T00:00:00.5Z"), Some(951782400500));
        assert_eq!(parse_rfc3339_ms("2000-02-29"), None);
        assert_eq!(parse_rfc3339_ms("2000-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("2000-01-01T00:00:00+0100"), None);
    }
}
