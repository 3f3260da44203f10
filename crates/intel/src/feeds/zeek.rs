//! Zeek Intel framework files: tab-separated, a `#fields` header naming
//! the columns (`indicator`, `indicator_type`, `meta.source`, `meta.desc`,
//! `meta.url`, ...), `#` comments, `-` for an empty field. Rows with
//! `meta.whitelist` set to `T` are allowlist entries.

use super::{LineSink, Meta, value};
use crate::allow::AllowKind;
use crate::model::IndicatorType;

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    let mut columns: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let line = i + 1;
        let l = raw.trim_end_matches('\r');
        if let Some(fields) = l.strip_prefix("#fields") {
            columns = fields.split('\t').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect();
            continue;
        }
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let col = |name: &str| columns.iter().position(|c| c == name);
        let (Some(ci), Some(ct)) = (col("indicator"), col("indicator_type")) else {
            sink.reject(line, "data before a `#fields` header naming indicator and indicator_type".into());
            continue;
        };
        let f: Vec<&str> = l.split('\t').collect();
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).map(|v| v.trim()).filter(|v| !v.is_empty() && *v != "-");
        let (Some(ind), Some(ty)) = (get(Some(ci)), get(Some(ct))) else {
            sink.reject(line, format!("expected {} tab-separated fields, found {}", columns.len(), f.len()));
            continue;
        };
        let meta = Meta { threat_type: get(col("meta.source")), ..Meta::default() };
        let kind = match ty.trim_start_matches("Intel::") {
            "ADDR" => IndicatorType::Ip,
            "SUBNET" => IndicatorType::Cidr,
            "DOMAIN" => IndicatorType::Domain,
            "URL" => IndicatorType::Url,
            "EMAIL" => IndicatorType::Email,
            "FILE_HASH" => match value::guess(ind) {
                Ok(p) if matches!(p.kind, IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256) => p.kind,
                _ => {
                    sink.reject(line, format!("{ind:?} is not an md5, sha1 or sha256 hash"));
                    continue;
                }
            },
            other => {
                sink.unsupported(line, format!("indicator type Intel::{other} is not matched (skipped)"));
                continue;
            }
        };
        // `meta.whitelist = T` (Zeek's whitelisting test data) marks a row
        // that suppresses matches of its value instead of being one.
        if get(col("meta.whitelist")).is_some_and(|w| w == "T") {
            let allow = match kind {
                IndicatorType::Ip | IndicatorType::Cidr => AllowKind::Cidr,
                IndicatorType::Domain => AllowKind::Hostname,
                _ => AllowKind::String,
            };
            sink.allow(line, allow, ind);
            continue;
        }
        sink.typed(line, None, kind, ind, &meta);
    }
}
