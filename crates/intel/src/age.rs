//! How old a feed is, and when that is too old (`max_age`).
//!
//! A feed that stopped updating still loads and still matches, which is
//! how blocklists go stale without anyone noticing. The age is the feed
//! file's modification time as seen now; a feed older than its `max_age`
//! is stale, and the sensor says so (a warning event, `intel stats`).

use std::path::Path;
use std::time::{Duration, SystemTime};

/// Parses `90s`, `15m`, `12h`, `7d`, `2w` (or bare seconds) into a duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a duration (write e.g. 36h, 7d or 2w)"))?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use s, m, h, d or w)")),
    };
    n.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(|| format!("{s:?} is too long"))
}

/// Time since the file was last modified (None when that cannot be read;
/// zero for a time in the future).
pub fn file_age(path: &Path, now: SystemTime) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(now.duration_since(modified).unwrap_or_default())
}

/// A feed's freshness against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub age: Option<Duration>,
    pub max_age: Option<Duration>,
}

impl Freshness {
    pub fn of(path: &Path, max_age: Option<Duration>, now: SystemTime) -> Self {
        Freshness { age: file_age(path, now), max_age }
    }

    /// Older than its `max_age` (never without a limit or a known age).
    pub fn is_stale(&self) -> bool {
        matches!((self.age, self.max_age), (Some(a), Some(m)) if a > m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_rejects_the_rest() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration(" 36h "), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_duration("7x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("d").unwrap_err().contains("not a duration"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn a_feed_is_stale_only_past_its_limit() {
        let dir = std::env::temp_dir().join(format!("sdn-age-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("feed.txt");
        std::fs::write(&f, "192.0.2.1\n").unwrap();
        let now = SystemTime::now() + Duration::from_secs(3 * 86_400);
        let day = Some(Duration::from_secs(86_400));
        assert!(Freshness::of(&f, day, now).is_stale());
        assert!(!Freshness::of(&f, Some(Duration::from_secs(7 * 86_400)), now).is_stale());
        assert!(!Freshness::of(&f, None, now).is_stale());
        assert!(!Freshness::of(&dir.join("missing"), day, now).is_stale());
        std::fs::remove_dir_all(&dir).ok();
    }
}
