//! RFC 3339 UTC timestamps without a calendar dependency.

use civil::civil_from_days;
use core::fmt;
use serde::{Serialize, Serializer};

/// A UTC instant written as RFC 3339 with 6 fraction digits, or 9 when the
/// source has nanosecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
    pub nanos_precision: bool,
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // RFC 3339 has four-digit years: clamp to 0001-01-01 .. 9999-12-31
        // (only corrupt captures get there).
        let secs = self.secs.clamp(-62_135_596_800, 253_402_300_799);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
        let nanos = self.nanos.min(999_999_999);
        write!(f, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.")?;
        if self.nanos_precision { write!(f, "{nanos:09}Z") } else { write!(f, "{:06}Z", nanos / 1000) }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Formats `secs.nanos` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`,
/// with 6 fraction digits, or 9 when `nanos_precision` is set.
pub fn rfc3339(secs: i64, nanos: u32, nanos_precision: bool) -> String {
    Timestamp { secs, nanos, nanos_precision }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0, 0, false), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_795_928_400, 123_456_789, false), "2026-11-29T05:00:00.123456Z");
        assert_eq!(rfc3339(1_795_928_400, 123_456_789, true), "2026-11-29T05:00:00.123456789Z");
        // 2000-02-29 (leap day in a century leap year)
        assert_eq!(rfc3339(951_782_400, 0, false), "2000-02-29T00:00:00.000000Z");
        assert_eq!(rfc3339(-1, 0, false), "1969-12-31T23:59:59.000000Z");
        assert_eq!(rfc3339(i64::MAX, 0, false), "9999-12-31T23:59:59.000000Z");
        assert_eq!(rfc3339(i64::MIN, 0, true), "0001-01-01T00:00:00.000000000Z");
    }
}
