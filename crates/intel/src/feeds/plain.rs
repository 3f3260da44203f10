//! One value per line: plain IP/CIDR lists, IPsum (`IP<TAB>count`),
//! Maltrail trails (IP, IP:port, domain, scheme-less URL, path-only URL). `#` starts a
//! comment, whole-line or trailing (`CIDR # note`); anything after the
//! first whitespace is ignored. Maltrail files are named after the threat
//! (`malware/lokibot.txt`), so the file stem becomes the threat type.

use super::{LineSink, Meta, value};

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    let feed = sink.feed.clone();
    let stem = std::path::Path::new(&*feed).file_stem().and_then(|s| s.to_str()).map(str::to_string);
    let meta = Meta { threat_type: stem.as_deref(), ..Meta::default() };
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let content = raw.split('#').next().unwrap_or("").trim();
        let Some(token) = content.split_whitespace().next() else { continue };
        if token.starts_with('/') {
            // Maltrail's path-only trails match any host's request path:
            // URL indicators whose value is the path.
            sink.typed(i + 1, None, crate::model::IndicatorType::Url, token, &meta);
            continue;
        }
        match value::guess(token) {
            Ok(p) => sink.accept(None, p, &meta),
            Err(e) => sink.reject(i + 1, e),
        }
    }
}
