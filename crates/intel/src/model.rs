//! The indicator model shared by every feed format.

use std::sync::Arc;

/// What an indicator describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorType {
    Ip,
    Cidr,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
}

impl IndicatorType {
    pub const ALL: [IndicatorType; 8] = [
        IndicatorType::Ip,
        IndicatorType::Cidr,
        IndicatorType::Domain,
        IndicatorType::Url,
        IndicatorType::Email,
        IndicatorType::Md5,
        IndicatorType::Sha1,
        IndicatorType::Sha256,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            IndicatorType::Ip => "ip",
            IndicatorType::Cidr => "cidr",
            IndicatorType::Domain => "domain",
            IndicatorType::Url => "url",
            IndicatorType::Email => "email",
            IndicatorType::Md5 => "md5",
            IndicatorType::Sha1 => "sha1",
            IndicatorType::Sha256 => "sha256",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorType> {
        let s = s.trim();
        IndicatorType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(s))
    }
}

/// Index of an indicator inside one [`crate::IndicatorSet`].
pub type IndicatorId = u32;

/// One indicator as loaded from a feed. Strings that repeat across many
/// indicators (feed, threat type) are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The feed's own id (numbers, UUIDs and names all occur), or the value
    /// itself for feeds without ids.
    pub id: Box<str>,
    pub kind: IndicatorType,
    /// The normalized value (`192.0.2.0/24`, `2001:db8::1`).
    pub value: Box<str>,
    pub threat_type: Option<Arc<str>>,
    /// The feed's name (its path as given by the operator).
    pub feed: Arc<str>,
    /// 0–100 when the feed says.
    pub confidence: Option<u8>,
    /// For `ip` indicators written `address:port`: only that port matches.
    pub port: Option<u16>,
    /// First / last seen, as the feed wrote them.
    pub first_seen: Option<Box<str>>,
    pub last_seen: Option<Box<str>>,
}

impl Indicator {
    /// An indicator with only the required fields set.
    pub fn new(id: impl Into<Box<str>>, kind: IndicatorType, value: impl Into<Box<str>>, feed: &Arc<str>) -> Self {
        Indicator {
            id: id.into(),
            kind,
            value: value.into(),
            threat_type: None,
            feed: Arc::clone(feed),
            confidence: None,
            port: None,
            first_seen: None,
            last_seen: None,
        }
    }
}
