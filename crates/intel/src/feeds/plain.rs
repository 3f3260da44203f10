//! Plain lists: one IP address or CIDR per line. `#` starts a comment
//! (whole-line or trailing, as in Maltrail's `CIDR # note`); anything after
//! the first whitespace is ignored (IPsum's `IP<TAB>count`).

use super::LineSink;
use crate::model::{Indicator, IndicatorType};
use crate::set::IpKey;

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let token = content.split_whitespace().next().unwrap_or(content);
        match IpKey::parse(token) {
            Some(key) => {
                let kind = if key.is_host() { IndicatorType::Ip } else { IndicatorType::Cidr };
                let value: Box<str> = key.to_string().into();
                sink.accept(
                    Indicator {
                        id: value.clone(),
                        kind,
                        value,
                        threat_type: None,
                        feed: sink.feed.clone(),
                        confidence: None,
                    },
                    Some(key),
                );
            }
            None => sink.reject(
                line,
                format!(
                    "{token:?} is not an IP address or CIDR (expected e.g. 192.0.2.1, 2001:db8::1 or 198.51.100.0/24)"
                ),
            ),
        }
    }
}
