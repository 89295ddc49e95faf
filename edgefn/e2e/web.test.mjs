// @openfeature/web-sdk with @openfeature/ofrep-web-provider (unmodified)
// in headless Chromium against edgefn serve, through the Go test's
// validating proxy, with a client token: every flag type, a flag the
// token may not see, a missing flag, a type mismatch, a server-asserted
// attribute the page cannot override, and context changes (the provider
// re-sends the bulk ETag; edgefn answers 304 only when the results are
// the same).
//
// Run it through the Go test (make e2e), which starts edgefn, the proxy
// and the page server and sets OFREP_URL, CLIENT_TOKEN, PAGE_URL and
// CHROMIUM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const { OFREP_URL, CLIENT_TOKEN, PAGE_URL } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let browser, page;
const problems = [];
const requests = [];

before(async () => {
  assert.ok(OFREP_URL && CLIENT_TOKEN && PAGE_URL, 'OFREP_URL, CLIENT_TOKEN and PAGE_URL must be set: run this through `make e2e`');
  assert.ok(existsSync(executablePath),
    `Chromium is missing at ${executablePath}: apt-get install -y --no-install-recommends chromium (.ci/run does)`);
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  await page.goto(PAGE_URL, { waitUntil: 'load' });
  await page.waitForFunction(() => window.e2eReady === true);
});

after(async () => {
  await browser?.close();
});

const evaluate = () => page.evaluate(() => window.e2e.evaluate());

test('every flag type, with the token subject and server-asserted attributes', async () => {
  // The page claims plan "pro"; the token asserts plan "free", which wins.
  await page.evaluate(([url, token]) => window.e2e.start(url, token,
    { targetingKey: 'someone-else', email: 'ana@example.com', plan: 'pro', age: 42 }), [OFREP_URL, CLIENT_TOKEN]);
  const r = await evaluate();
  assert.equal(r.newCheckout.value, true);
  assert.equal(r.newCheckout.variant, 'on');
  assert.equal(r.newCheckout.reason, 'TARGETING_MATCH');
  assert.equal(r.newCheckout.flagMetadata.ruleId, 'staff');
  assert.equal(r.buttonColor.value, '#1a73e8', 'plan comes from the token, not from the page');
  assert.equal(r.buttonColor.variant, 'blue');
  assert.equal(r.retryLimit.value, 5);
  assert.equal(r.discountRate.value, 0.05);
  assert.deepEqual(r.banner.value, {
    show: true, title: 'Spring sale', discountPercent: 20, colors: ['green', 'white'], cta: { label: 'Shop now', href: '/sale' },
  });
  assert.ok(r.ranking.value === 'a' || r.ranking.value === 'b', r.ranking.value);
  assert.equal(r.ranking.reason, 'SPLIT');
  assert.equal(r.expressShipping.reason, 'DISABLED');
  assert.equal(r.expressShipping.errorCode, undefined);
});

test('a server-only flag, a missing flag and a type mismatch', async () => {
  const r = await evaluate();
  assert.equal(r.serverOnly.value, false, 'a client token must not see a server-only flag');
  assert.equal(r.serverOnly.errorCode, 'FLAG_NOT_FOUND');
  assert.equal(r.missing.value, true);
  assert.equal(r.missing.errorCode, 'FLAG_NOT_FOUND');
  assert.equal(r.mismatch.value, true);
  assert.equal(r.mismatch.errorCode, 'TYPE_MISMATCH');
});

test('a context change re-evaluates (ETag sent, new results: 200)', async () => {
  await page.evaluate(() => window.e2e.setContext({ email: 'bob@other.org', age: 20 }));
  const r = await evaluate();
  assert.equal(r.newCheckout.value, false);
  assert.equal(r.retryLimit.value, 2);
  assert.deepEqual(r.banner.value, { show: false });
});

test('a context change with the same results keeps them (304)', async () => {
  const before = await evaluate();
  await page.evaluate(() => window.e2e.setContext({ email: 'bob@other.org', age: 21, unused: 'x' }));
  const r = await evaluate();
  assert.deepEqual(r, before);
});

test('no page errors, and only the page, its modules and OFREP were requested', () => {
  assert.deepEqual(problems, []);
  const page = new URL(PAGE_URL).origin;
  const ofrep = new URL(OFREP_URL).origin;
  for (const r of requests) {
    const u = new URL(r.split(' ')[1]);
    assert.ok(u.origin === page || (u.origin === ofrep && u.pathname === '/ofrep/v1/evaluate/flags'), r);
  }
});
