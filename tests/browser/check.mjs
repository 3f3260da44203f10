// Headless Chromium over every dashboard page (issue 9, acceptance 1).
//
//   node tests/browser/check.mjs BASE_URL ARTIFACT_DIR
//
// EXPECT (environment, JSON) names what the store holds, as the Rust test
// read it from the API: {"search": {"indicator_value": V, "ids": [...]},
// "incident": {"id": I, "events": [...]}, "top": URL of /top with data in
// both the current and the previous window}. For each page: no console error,
// no uncaught exception, no failed request (network error or HTTP 4xx/5xx);
// `body[data-ready="1"]` once its first fetches are done; charts with data
// points; the expected rows; a full-page screenshot in ARTIFACT_DIR.
// Exit status 1 with every failure listed; 2 on bad usage.
//
// Runs on Debian 12's node 18: ES modules, no newer syntax or APIs.

import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts || !process.env.EXPECT) {
  console.error('usage: EXPECT=JSON node check.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}
const expect = JSON.parse(process.env.EXPECT);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
// Chromium's sandbox needs user namespaces, which root in a container lacks.
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const READY_MS = 20000;

const q = encodeURIComponent;
const pages = [
  { name: 'overview', url: '/', page: 'overview', charts: true },
  // By default the window is the newest minute: replayed captures may have
  // nothing in the minute before, so only the current window must have data.
  { name: 'top', url: '/top', page: 'top', charts: true, emptyOk: /: previous window$/ },
  { name: 'top-windows', url: expect.top, page: 'top', charts: true },
  { name: 'incidents', url: '/incidents', page: 'incidents', rows: [expect.incident.id] },
  {
    name: 'incident',
    url: '/incidents/' + q(expect.incident.id),
    page: 'incident',
    rows: expect.incident.events,
  },
  {
    name: 'search',
    url: '/search?indicator_value=' + q(expect.search.indicator_value),
    page: 'search',
    rows: expect.search.ids,
  },
  { name: 'intel', url: '/intel', page: 'intel', charts: true },
  { name: 'report', url: '/report', page: null, charts: true, report: true },
];

const failures = [];
const fail = (page, what) => failures.push(`${page}: ${what}`);

await mkdir(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: root ? ['--no-sandbox'] : [],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  for (const p of pages) {
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    const started = Date.now();
    try {
      const response = await page.goto(base + p.url, { waitUntil: 'load' });
      if (!response || response.status() !== 200) fail(p.name, `GET ${p.url}: HTTP ${response?.status()}`);
      await page.waitForSelector('body[data-ready="1"]', { timeout: READY_MS, state: 'attached' });
      if (p.page) {
        const found = await page.locator(`main[data-page="${p.page}"]`).count();
        if (found !== 1) fail(p.name, `no <main data-page="${p.page}">`);
      }
      if (p.charts) {
        // Every chart has points: `.point` marks, or the count the server put in data-points.
        const charts = await page.$$eval('svg.chart', (svgs) =>
          svgs.map((s) => ({
            label: s.getAttribute('aria-label') || '',
            points: Math.max(s.querySelectorAll('.point').length, Number(s.getAttribute('data-points') || 0)),
          })),
        );
        if (charts.length === 0) fail(p.name, 'no svg.chart');
        for (const c of charts) {
          if (!(c.points > 0) && !(p.emptyOk && p.emptyOk.test(c.label))) {
            fail(p.name, `chart "${c.label}" has no data points`);
          }
        }
        if (!charts.some((c) => c.points > 0)) fail(p.name, 'no chart has data points');
      }
      if (p.rows) {
        const ids = await page.$$eval('table.events tr[data-id]', (trs) => trs.map((t) => t.getAttribute('data-id')));
        const links = await page.$$eval('[data-id]', (els) => els.map((e) => e.getAttribute('data-id')));
        const shown = new Set(p.name === 'incidents' ? links : ids);
        if (p.rows.length === 0) fail(p.name, 'the test expects rows but was given none');
        const missing = p.rows.filter((id) => !shown.has(id));
        if (missing.length) fail(p.name, `missing rows ${JSON.stringify(missing)} (shown: ${shown.size})`);
      }
      if (p.report) {
        const text = (await page.locator('body').innerText()).trim();
        if (text.length < 200) fail(p.name, `report has almost no text (${text.length} characters)`);
        if (!text.includes(expect.incident.id) && !text.includes(expect.search.indicator_value)) {
          fail(p.name, 'report names neither the incident nor the searched indicator');
        }
      }
      const shot = path.join(artifacts, `${p.name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      console.log(JSON.stringify({ page: p.name, url: p.url, ms: Date.now() - started, screenshot: shot }));
    } catch (e) {
      fail(p.name, `${e.message.split('\n')[0]}`);
    }
    // Checked before closing: closing aborts the live stream, which is not a failure.
    for (const m of problems) fail(p.name, m);
    page.removeAllListeners();
    await page.close();
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`${failures.length} failure(s):\n` + failures.map((f) => '  ' + f).join('\n'));
  process.exit(1);
}
console.log(`all ${pages.length} pages ok; screenshots in ${artifacts}`);
