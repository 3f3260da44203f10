//! RFC 3339 timestamps <-> nanoseconds since the Unix epoch (no calendar crate needed).

use civil::{civil_from_days, days_from_civil};

const NS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per minute: the aggregate bucket width.
pub const NS_PER_MINUTE: i64 = 60 * NS_PER_SEC;

/// Start (ns) of the minute that contains `ts_ns`.
pub fn minute_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(NS_PER_MINUTE) * NS_PER_MINUTE
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (0–9 fraction digits; `t`/`z`/space accepted)
/// into nanoseconds since the epoch. `None` when malformed or out of range.
pub fn parse_ts(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start >= 9 {
                return None;
            }
            frac = frac * 10 + i64::from(b[i] - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            frac *= 10;
        }
    }
    let offset_s = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let v = num(&[*oh1, *oh2])? * 3600 + num(&[*om1, *om2])? * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(NS_PER_SEC)?.checked_add(frac)
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with 9 fraction digits.
pub fn format_ts(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(NS_PER_SEC);
    let frac = ts_ns.rem_euclid(NS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z", sod / 3600, sod / 60 % 60, sod % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(parse_ts("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_ts("2000-03-27T08:56:35.148077123Z"), Some(954_147_395_148_077_123));
        assert_eq!(parse_ts("2000-03-27T10:56:35.148077123+02:00"), Some(954_147_395_148_077_123));
        assert_eq!(parse_ts("2026-11-29T05:00:00.123456Z"), parse_ts("2026-11-29T05:00:00.123456000Z"));
        assert_eq!(parse_ts("1969-12-31T23:59:59.5Z"), Some(-500_000_000));
        for bad in ["", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T00:00:00", "2026-11-29T00:00:00.Z"] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
        for ns in [0, 954_147_395_148_077_123, 1_795_928_400_123_456_000, -1] {
            assert_eq!(parse_ts(&format_ts(ns)), Some(ns));
        }
        assert_eq!(format_ts(954_147_395_148_077_123), "2000-03-27T08:56:35.148077123Z");
        assert_eq!(minute_of(954_147_395_148_077_123), 954_147_360_000_000_000);
    }
}
