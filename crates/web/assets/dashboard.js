// sdn-sensor dashboard: live updates for the server-rendered pages.
// Bundled into the binary; no framework, nothing from elsewhere, no inline
// handlers. Data from the server goes into the page as text (textContent)
// or as the server's own escaped chart markup.
"use strict";

(function () {
  const REFRESH_MS = 5000;
  // Status lists longer than this are folded.
  const LONG_LIST = 12;
  // Every fetch the page needs before it is complete; the browser test
  // waits for body[data-ready="1"], set once these have settled.
  const initial = [];

  function get(url, as) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: as === "json" ? "application/json" : "text/html" } })
      .then(function (r) {
        if (!r.ok) {
          return r.text().then(function (t) { throw new Error(url + ": " + r.status + " " + t.slice(0, 200)); });
        }
        return as === "json" ? r.json() : r.text();
      });
  }

  // Ages and rates to a tenth; everything else as given.
  function fmt(v) {
    if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(1);
    if (v !== null && typeof v === "object") return JSON.stringify(v);
    return v === null || v === undefined ? "–" : String(v);
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function showProblem(target, err) {
    target.setAttribute("data-error", "1");
    target.title = String(err && err.message ? err.message : err);
  }

  // Charts: the server renders them; refresh the live ones in place.
  document.querySelectorAll("[data-live]").forEach(function (box) {
    setInterval(function () {
      get(box.dataset.live, "text")
        .then(function (svg) { box.innerHTML = svg; box.removeAttribute("data-error"); })
        .catch(function (e) { showProblem(box, e); });
    }, REFRESH_MS);
  });

  // The process's status (counters, drops, intel generation, feed ages):
  // any JSON shape, shown as nested lists, arrays of objects as tables,
  // stale feeds highlighted.
  // The top level as cards (counters, drops, intel, ...).
  function renderTop(value) {
    const node = render(value);
    if (node.tagName === "DL") {
      node.classList.add("status-top");
      Array.prototype.forEach.call(node.children, function (div) {
        if (div.querySelector("table")) div.classList.add("wide");
      });
    }
    return node;
  }

  function render(value) {
    if (Array.isArray(value)) {
      if (value.length && value.every(function (v) { return v && typeof v === "object" && !Array.isArray(v); })) {
        const keys = [];
        value.forEach(function (row) { Object.keys(row).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
        const table = el("table", null, "status-table");
        const head = table.createTHead().insertRow();
        keys.forEach(function (k) { head.appendChild(el("th", k)); });
        const body = table.createTBody();
        value.forEach(function (row) {
          const tr = body.insertRow();
          if (row.stale === true) tr.className = "stale";
          keys.forEach(function (k) {
            const v = row[k];
            tr.appendChild(el("td", fmt(v)));
          });
        });
        if (value.length <= LONG_LIST) return table;
        // Long lists (every metric series) stay folded.
        const details = el("details");
        details.appendChild(el("summary", value.length + " rows"));
        details.appendChild(table);
        return details;
      }
      return el("span", value.map(fmt).join(", "));
    }
    if (value && typeof value === "object") {
      const dl = el("dl");
      Object.keys(value).forEach(function (k) {
        const div = el("div");
        div.appendChild(el("dt", k));
        const dd = el("dd");
        dd.appendChild(render(value[k]));
        if (k === "stale" && value[k] === true) dd.className = "stale";
        div.appendChild(dd);
        dl.appendChild(div);
      });
      return dl;
    }
    return el("span", fmt(value));
  }

  const status = document.querySelector("#status[data-src]");
  if (status) {
    const only = status.dataset.only;
    const load = function () {
      return get(status.dataset.src, "json").then(function (data) {
        let shown = data;
        if (only && data && typeof data === "object") {
          shown = {};
          Object.keys(data).forEach(function (k) { if (k.toLowerCase().indexOf(only) >= 0 || /feed/i.test(k)) shown[k] = data[k]; });
          if (!Object.keys(shown).length) shown = data;
        }
        status.replaceChildren(renderTop(shown));
        status.removeAttribute("data-error");
      }).catch(function (e) {
        status.replaceChildren(el("p", "status not available: " + e.message, "empty"));
        showProblem(status, e);
      });
    };
    initial.push(load());
    setInterval(load, REFRESH_MS);
  }

  // Newest events over Server-Sent Events, prepended to the server's table.
  function eventRow(e) {
    const m = e.match || {}, ind = e.indicator || {}, flow = e.flow || {};
    const ep = function (ip, port) {
      if (!ip) return "";
      if (port === undefined || port === null) return ip;
      return ip.indexOf(":") >= 0 ? "[" + ip + "]:" + port : ip + ":" + port;
    };
    const fromListed = ["ip.src", "flow.src", "tunnel.src", "flow.nat_src"].indexOf(m.where) >= 0;
    const host = (e.incident && e.incident.host) || (e.syslog && e.syslog.host) ||
      (fromListed ? flow.dst_ip : flow.src_ip) || "";
    const time = typeof e.ts === "string" ? e.ts.replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : "";
    const tr = el("tr", null, "fresh");
    tr.dataset.id = e.id || "";
    [
      [time, "time"], [e.kind], [e.input], [m.where], [m.value, "value"],
      [ind.type ? ind.type + ": " + (ind.value || "") : ind.value, "value"], [ind.threat_type], [ind.feed],
      [ep(flow.src_ip, flow.src_port)], [ep(flow.dst_ip, flow.dst_port)], [host], [e.id, "id"]
    ].forEach(function (c) { tr.appendChild(el("td", c[0] === undefined ? "" : c[0], c[1])); });
    return tr;
  }

  const live = document.querySelector("#live-events[data-stream]");
  if (live && window.EventSource) {
    const rows = parseInt(live.dataset.rows, 10) || 25;
    const note = document.getElementById("stream-state");
    const source = new EventSource(live.dataset.stream);
    source.onopen = function () { if (note) note.textContent = "live: new events appear at the top"; };
    source.onerror = function () { if (note) note.textContent = "live stream interrupted; reconnecting…"; };
    source.addEventListener("lagged", function (m) {
      if (note) note.textContent = "live: some events were skipped (too many to show) " + m.data;
    });
    // Closed when leaving the page, not cut mid-request.
    window.addEventListener("pagehide", function () { source.close(); });
    source.onmessage = function (m) {
      let e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      const body = live.querySelector("table.events tbody");
      if (!body || !e || typeof e !== "object") return;
      body.insertBefore(eventRow(e), body.firstChild);
      while (body.rows.length > rows) body.deleteRow(body.rows.length - 1);
      const empty = live.querySelector(".empty");
      if (empty) empty.remove();
    };
  }

  // intel check from the browser.
  const check = document.getElementById("intel-check");
  if (check) {
    const answer = document.getElementById("intel-answer");
    check.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const value = check.elements.value.value.trim();
      if (!value) return;
      answer.replaceChildren(el("p", "checking…", "note"));
      fetch(check.dataset.api + "?value=" + encodeURIComponent(value), { credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (!res.ok) {
            answer.replaceChildren(el("p", res.body && res.body.error ? res.body.error : "check failed", "error"));
            return;
          }
          const verdict = res.body && res.body.verdict;
          const out = [];
          if (verdict) out.push(el("p", "verdict: " + verdict, verdict === "hit" ? "stale" : "note"));
          out.push(el("pre", JSON.stringify(res.body, null, 2)));
          answer.replaceChildren.apply(answer, out);
        })
        .catch(function (e) { answer.replaceChildren(el("p", String(e.message || e), "error")); });
    });
  }

  Promise.allSettled(initial).then(function () { document.body.dataset.ready = "1"; });
})();
