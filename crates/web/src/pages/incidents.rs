//! `/incidents` (newest first, keyset pages) and `/incidents/{id}` (the
//! incident and the events behind it).

use super::html::{Ctx, encode_component, escape, escape_url, events_table, layout, url};
use super::{PageError, PageResult};
use crate::svg::format_time;

pub fn list(q: &store::Query, ctx: &Ctx) -> PageResult {
    if let Some(k) = ctx.unknown_param(&["from", "to", "limit", "cursor"]) {
        return Err(PageError::BadRequest(format!("unknown parameter {k:?} (known: from, to, limit, cursor)")));
    }
    let from = ctx.time("from")?.unwrap_or(i64::MIN);
    let to = ctx.time("to")?.unwrap_or(i64::MAX);
    let limit = ctx.number("limit", 50, store::MAX_PAGE)?;
    let page = match ctx.param("cursor") {
        None => store::Page::first(limit),
        Some(c) => store::Page { size: limit, before: Some(store::Cursor::from_token(c)?) },
    };
    let rows = q.incidents(from, to, page)?;
    let mut body = String::from(
        "<h1>Incidents</h1><table class=\"incidents\"><thead><tr><th>time (UTC)</th><th>rule</th><th>host</th>\
         <th>events</th><th>id</th></tr></thead><tbody>",
    );
    for r in &rows {
        let href = escape_url(&format!("/incidents/{}", encode_component(&r.id)));
        body.push_str(&format!(
            "<tr data-id=\"{}\"><td class=\"time\"><a href=\"{href}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"id\"><a href=\"{href}\">{}</a></td></tr>",
            escape(&r.id),
            format_time(r.ts_ns),
            escape(r.rule.as_deref().unwrap_or("")),
            escape(r.host.as_deref().unwrap_or("")),
            r.events.len(),
            escape(&r.id),
        ));
    }
    body.push_str("</tbody></table>");
    if rows.is_empty() {
        body.push_str("<p class=\"empty\">No incidents in this range.</p>");
    }
    if rows.len() == limit
        && let Some(last) = rows.last()
    {
        let (f, t) = (ctx.param("from").unwrap_or(""), ctx.param("to").unwrap_or(""));
        let next = url(
            "/incidents",
            &[("from", f), ("to", t), ("limit", &limit.to_string()), ("cursor", &last.cursor().to_token())],
        );
        body.push_str(&format!(
            "<p class=\"pager\"><a rel=\"next\" href=\"{}\">older incidents →</a></p>",
            escape_url(&next)
        ));
    }
    Ok(layout("Incidents", "incidents", &body))
}

pub fn detail(q: &store::Query, ctx: &Ctx, id: &str) -> PageResult {
    if let Some(k) = ctx.unknown_param(&[]) {
        return Err(PageError::BadRequest(format!("unknown parameter {k:?}: an incident's page takes none")));
    }
    let Some((inc, events)) = q.incident(id)? else {
        return Err(PageError::NotFound(format!(
            "no incident with id {id:?} in the store (it may have aged out): see the incident list"
        )));
    };
    let pretty = serde_json::from_str::<serde_json::Value>(&inc.json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| inc.json.clone());
    let body = format!(
        "<h1>Incident</h1><section class=\"incident\" data-id=\"{}\"><dl>\
         <div><dt>id</dt><dd class=\"id\">{}</dd></div><div><dt>time</dt><dd>{} UTC</dd></div>\
         <div><dt>rule</dt><dd>{}</dd></div><div><dt>host</dt><dd>{}</dd></div>\
         <div><dt>events</dt><dd>{} listed, {} stored</dd></div></dl></section>\
         <h2>Events behind it</h2>{}<details><summary>the incident as stored (JSON)</summary><pre>{}</pre></details>\
         <p><a href=\"/incidents\">All incidents</a></p>",
        escape(&inc.id),
        escape(&inc.id),
        format_time(inc.ts_ns),
        escape(inc.rule.as_deref().unwrap_or("")),
        escape(inc.host.as_deref().unwrap_or("")),
        inc.events.len(),
        events.len(),
        events_table(&events, true),
        escape(&pretty),
    );
    Ok(layout("Incident", "incident", &body))
}
