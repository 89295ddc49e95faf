// Headless Chromium check of the `edgeflag results --html` page: it
// renders from one file with no other request, without console errors,
// and its charts and tables show what the results say. Screenshots go to
// $EDGEFLAG_E2E_OUT (default .dev/e2e under the repository; gitignored).
//
//   make results-check        (installs playwright-core with npm ci)
//   node --test publisher/experiment/e2e/report.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const outDir = process.env.EDGEFLAG_E2E_OUT || join(repo, '.dev', 'e2e');
let pages, browser;

before(async () => {
  pages = mkdtempSync(join(tmpdir(), 'edgeflag-report-'));
  // The pages come from the same code as `edgeflag results --html`.
  execFileSync('go', ['run', './publisher/experiment/internal/reportdemo', '-out', pages], { cwd: repo, stdio: 'inherit' });
  mkdirSync(outDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  rmSync(pages, { recursive: true, force: true });
});

async function open(name) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const requests = [];
  const problems = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const url = pathToFileURL(join(pages, name)).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, requests, problems, url };
}

test('the report renders alone, with its charts matching its table', async () => {
  const { page, requests, problems, url } = await open('ok.html');
  assert.deepEqual(requests, [url], 'the page loads nothing but itself');
  assert.deepEqual(problems, []);
  assert.match(await page.title(), /checkout-color/);

  const rows = await page.$$eval('#variants tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r[0].split(' ')[0]), ['control', 'green', 'orange']);
  const exposed = rows.map((r) => Number(r[2]));
  assert.ok(exposed.every((n) => n > 1000), `exposed ${exposed}`);

  // One dot per variant, each inside its interval bar, ordered like the rates.
  const marks = await page.$$eval('#rates g.mark', (gs) => gs.map((g) => {
    const bar = g.querySelector('line.interval');
    const dot = g.querySelector('circle.rate');
    return { v: g.dataset.variant, lo: +bar.getAttribute('x1'), hi: +bar.getAttribute('x2'), at: +dot.getAttribute('cx'),
      box: dot.getBoundingClientRect().width };
  }));
  assert.equal(marks.length, 3);
  for (const m of marks) {
    assert.ok(m.lo < m.at && m.at < m.hi, `${m.v}: ${m.at} not within [${m.lo}, ${m.hi}]`);
    assert.ok(m.box > 4, `${m.v}: the dot is not drawn`);
  }
  const rates = rows.map((r) => parseFloat(r[4]));
  const order = (xs) => xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]).map((p) => p[1]).join();
  assert.equal(order(marks.map((m) => m.at)), order(rates));

  // Cumulative exposures: one rising line per variant, ending at the table's counts.
  const lines = await page.$$eval('#cumulative polyline.series', (ps) => ps.map((p) => p.getAttribute('points').trim().split(/\s+/).map((xy) => xy.split(',').map(Number))));
  assert.equal(lines.length, 3);
  for (const pts of lines) {
    assert.ok(pts.length >= 13, `${pts.length} days`);
    for (let i = 1; i < pts.length; i++) assert.ok(pts[i][1] <= pts[i - 1][1], 'cumulative counts never fall (y grows downwards)');
  }
  const labels = await page.$$eval('#cumulative text[fill]', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(labels, ['control', 'green', 'orange'].map((v, i) => `${v} ${exposed[i]}`));
  assert.equal(await page.locator('.warn.bad').count(), 0);

  const shot = join(outDir, 'results-report.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await page.close();
});

test('a sample-ratio mismatch is flagged at the top', async () => {
  const { page, problems } = await open('srm.html');
  assert.deepEqual(problems, []);
  const alert = page.locator('.warn.bad').first();
  assert.match(await alert.textContent(), /sample ratio mismatch: p = .* < 0\.001/);
  assert.ok(await alert.isVisible());
  const box = await alert.boundingBox();
  assert.ok(box.y < 300, `the alert is at y=${box.y}, below the fold`);
  const shot = join(outDir, 'results-report-srm.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await page.close();
});
