//! Syslog timestamps: RFC 3339 (RFC 5424, and what rsyslog also accepts in
//! legacy messages) and the RFC 3164 `Mmm dd hh:mm:ss`, which has no year
//! and no zone.

use civil::{civil_from_days, days_from_civil, days_in_month};

/// Which form a timestamp has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    /// `2003-10-11T22:14:15.003Z`, `...+04:00`.
    Rfc3339,
    /// `Oct 11 22:14:15` (no year, no zone).
    Rfc3164,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp<'a> {
    /// As on the wire (without the SP after it).
    pub text: &'a [u8],
    /// RFC 3339: the instant in UTC. RFC 3164: `None` (no year; see
    /// [`Timestamp::unix_nanos_with_year`]).
    pub unix_nanos: Option<i64>,
    pub kind: TimestampKind,
}

const MONTHS: [&[u8; 3]; 12] =
    [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];

/// Exactly `n` digits at `s[at..]`.
fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = s.get(at..at + n)?;
    d.iter().try_fold(0u32, |v, &c| c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0')))
}

#[allow(clippy::too_many_arguments)]
fn instant(y: i64, mo: u32, d: u32, h: u32, mi: u32, sec: u32, nanos: u32, offset_s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(i64::from(nanos))
}

/// After a timestamp of `n` bytes: SP (eaten) or the end. Returns the bytes used.
fn end(s: &[u8], n: usize) -> Option<usize> {
    match s.get(n) {
        None => Some(n),
        Some(b' ') => Some(n + 1),
        _ => None,
    }
}

impl<'a> Timestamp<'a> {
    /// An RFC 3339 timestamp (`YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`) at
    /// the start of `s`, followed by SP or the end; returns it and the bytes
    /// used (including that SP).
    pub fn parse_3339_prefix(s: &'a [u8]) -> Option<(Timestamp<'a>, usize)> {
        let y = digits(s, 0, 4)?;
        let mo = digits(s, 5, 2)?;
        let d = digits(s, 8, 2)?;
        let h = digits(s, 11, 2)?;
        let mi = digits(s, 14, 2)?;
        let sec = digits(s, 17, 2)?;
        if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't') || s[13] != b':' || s[16] != b':' {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if s.get(i) == Some(&b'.') {
            let n = s[i + 1..].iter().take(10).take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            nanos = digits(s, i + 1, n)? * 10u32.pow((9 - n) as u32);
            i += 1 + n;
        }
        let offset = match s.get(i)? {
            b'Z' | b'z' => {
                i += 1;
                0
            }
            &sign @ (b'+' | b'-') => {
                let oh = digits(s, i + 1, 2)?;
                let om = digits(s, i + 4, 2)?;
                if s[i + 3] != b':' || oh > 23 || om > 59 {
                    return None;
                }
                i += 6;
                let o = i64::from(oh * 3600 + om * 60);
                if sign == b'-' { -o } else { o }
            }
            _ => return None,
        };
        let unix_nanos = instant(i64::from(y), mo, d, h, mi, sec, nanos, offset)?;
        let used = end(s, i)?;
        Some((Timestamp { text: &s[..i], unix_nanos: Some(unix_nanos), kind: TimestampKind::Rfc3339 }, used))
    }

    /// An RFC 3164 timestamp `Mmm dd hh:mm:ss` (day as ` 5`, `05` or `5`;
    /// month names in any case; an extra `:` after it tolerated, as rsyslog
    /// does for Cisco) followed by SP or the end.
    pub fn parse_3164_prefix(s: &'a [u8]) -> Option<(Timestamp<'a>, usize)> {
        let (ts, used) = Self::split_3164(s)?;
        Some((Timestamp { text: ts, unix_nanos: None, kind: TimestampKind::Rfc3164 }, used))
    }

    /// Validates `Mmm dd hh:mm:ss`; returns the text and the bytes used.
    fn split_3164(s: &[u8]) -> Option<(&[u8], usize)> {
        Self::fields_3164(s).map(|(_, _, _, _, _, n)| (&s[..n], n)).and_then(|(t, n)| {
            let n = if s.get(n) == Some(&b':') { n + 1 } else { n };
            Some((t, end(s, n)?))
        })
    }

    /// Month (1-12), day, hour, minute, second and the length.
    fn fields_3164(s: &[u8]) -> Option<(u32, u32, u32, u32, u32, usize)> {
        let name = s.get(..3)?;
        let mo = MONTHS.iter().position(|m| name.eq_ignore_ascii_case(&m[..]))? as u32 + 1;
        if s.get(3) != Some(&b' ') {
            return None;
        }
        let mut i = 4;
        if s.get(i) == Some(&b' ') {
            i += 1;
        }
        let n = s[i.min(s.len())..].iter().take(3).take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 2 {
            return None;
        }
        let d = digits(s, i, n)?;
        i += n;
        if s.get(i) != Some(&b' ') {
            return None;
        }
        let h = digits(s, i + 1, 2)?;
        let mi = digits(s, i + 4, 2)?;
        let sec = digits(s, i + 7, 2)?;
        if s[i + 3] != b':' || s[i + 6] != b':' || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        Some((mo, d, h, mi, sec, i + 9))
    }

    /// The instant in UTC. RFC 3164 timestamps carry no year and no zone:
    /// `year` supplies the year and the time is taken as UTC. RFC 3339
    /// timestamps ignore `year`.
    pub fn unix_nanos_with_year(&self, year: i32) -> Option<i64> {
        match self.kind {
            TimestampKind::Rfc3339 => self.unix_nanos,
            TimestampKind::Rfc3164 => {
                let (mo, d, h, mi, sec, _) = Self::fields_3164(self.text)?;
                instant(i64::from(year), mo, d, h, mi, sec, 0, 0)
            }
        }
    }
}

/// The UTC year of a Unix time in nanoseconds (e.g. a frame's capture
/// time, to give RFC 3164 timestamps a year).
pub fn utc_year(unix_nanos: i64) -> i32 {
    let days = unix_nanos.div_euclid(1_000_000_000).div_euclid(86_400);
    civil_from_days(days).0 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let (t, n) = Timestamp::parse_3339_prefix(b"2003-10-11T22:14:15.003Z host").unwrap();
        assert_eq!((t.text, n), (&b"2003-10-11T22:14:15.003Z"[..], 25));
        assert_eq!(t.unix_nanos, Some(1_065_910_455_003_000_000));
        let (t, _) = Timestamp::parse_3339_prefix(b"2003-08-24T05:14:15.000003-07:00").unwrap();
        assert_eq!(t.unix_nanos, Some(1_061_727_255_000_003_000));
        assert!(Timestamp::parse_3339_prefix(b"2003-02-30T05:14:15Z").is_none());
        assert!(Timestamp::parse_3339_prefix(b"2003-10-11T22:14:15Zx").is_none());
        assert!(Timestamp::parse_3339_prefix(b"2003-10-11T22:14:15").is_none());
        assert_eq!(utc_year(1_065_910_455_003_000_000), 2003);
        assert_eq!(utc_year(-1), 1969);
    }

    #[test]
    fn rfc3164() {
        let (t, n) = Timestamp::parse_3164_prefix(b"Apr  5 12:56:51 robin:").unwrap();
        assert_eq!((t.text, n), (&b"Apr  5 12:56:51"[..], 16));
        assert_eq!(t.unix_nanos, None);
        assert_eq!(t.unix_nanos_with_year(2013), Some(1_365_166_611_000_000_000));
        assert!(Timestamp::parse_3164_prefix(b"Foo  5 12:56:51 x").is_none());
        assert!(Timestamp::parse_3164_prefix(b"Apr 32 12:56:51 x").is_none());
        let (t, n) = Timestamp::parse_3164_prefix(b"oct 11 22:14:15: x").unwrap();
        assert_eq!((t.text, n), (&b"oct 11 22:14:15"[..], 17));
        // Feb 29 in a non-leap year has no instant.
        let (t, _) = Timestamp::parse_3164_prefix(b"Feb 29 00:00:00").unwrap();
        assert_eq!(t.unix_nanos_with_year(2023), None);
        assert!(t.unix_nanos_with_year(2024).is_some());
    }
}
