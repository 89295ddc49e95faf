// @openfeature/server-sdk with @openfeature/ofrep-provider (unmodified)
// against edgefn serve, through the Go test's validating proxy: every flag
// type of testdata/flags, a missing flag, a type mismatch, a disabled
// flag and a wrong API key.
//
// Run it through the Go test (make e2e), which starts edgefn and the
// proxy and sets OFREP_URL and API_KEY.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature, ErrorCode, StandardResolutionReasons } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const baseUrl = process.env.OFREP_URL;
const apiKey = process.env.API_KEY;
let client;

before(async () => {
  assert.ok(baseUrl && apiKey, 'OFREP_URL and API_KEY must be set: run this through `make e2e`');
  await OpenFeature.setProviderAndWait('edgefn', new OFREPProvider({ baseUrl, headers: [['X-API-Key', apiKey]] }));
  client = OpenFeature.getClient('edgefn');
});

after(async () => {
  await OpenFeature.close();
});

const staff = { targetingKey: 'user-1', email: 'ana@example.com', plan: 'pro', age: 42 };
const visitor = { targetingKey: 'user-2', email: 'bob@other.org', plan: 'free', age: 20 };

test('boolean', async () => {
  const on = await client.getBooleanDetails('new-checkout', false, staff);
  assert.equal(on.value, true);
  assert.equal(on.variant, 'on');
  assert.equal(on.reason, StandardResolutionReasons.TARGETING_MATCH);
  assert.equal(on.flagMetadata.ruleId, 'staff');
  const off = await client.getBooleanDetails('new-checkout', true, visitor);
  assert.equal(off.value, false);
  assert.equal(off.variant, 'off');
});

test('string', async () => {
  const pro = await client.getStringDetails('button-color', '', staff);
  assert.equal(pro.value, '#188038');
  assert.equal(pro.variant, 'green');
  const free = await client.getStringDetails('button-color', '', visitor);
  assert.equal(free.value, '#1a73e8');
  assert.equal(free.reason, StandardResolutionReasons.DEFAULT);
});

test('number: integer and float', async () => {
  assert.equal(await client.getNumberValue('retry-limit', -1, staff), 5);
  assert.equal(await client.getNumberValue('retry-limit', -1, visitor), 2);
  const rate = await client.getNumberDetails('discount-rate', -1, staff);
  assert.equal(rate.value, 0.125);
  assert.equal(rate.variant, 'high');
});

test('object', async () => {
  const banner = await client.getObjectDetails('banner', {}, staff);
  assert.deepEqual(banner.value, {
    show: true, title: 'Spring sale', discountPercent: 20, colors: ['green', 'white'], cta: { label: 'Shop now', href: '/sale' },
  });
  assert.equal(banner.variant, 'spring');
  assert.deepEqual(await client.getObjectValue('banner', {}, visitor), { show: false });
});

test('split', async () => {
  const r = await client.getStringDetails('ranking', '', staff);
  assert.ok(r.value === 'a' || r.value === 'b', r.value);
  assert.equal(r.reason, StandardResolutionReasons.SPLIT);
  // The same targeting key lands in the same bucket.
  assert.equal((await client.getStringDetails('ranking', '', staff)).value, r.value);
});

test('disabled flag: the code default, reason DISABLED', async () => {
  const d = await client.getBooleanDetails('express-shipping', true, staff);
  assert.equal(d.reason, StandardResolutionReasons.DISABLED);
  assert.equal(d.errorCode, undefined);
});

test('missing flag: FLAG_NOT_FOUND and the default', async () => {
  const nf = await client.getBooleanDetails('no-such-flag', true, staff);
  assert.equal(nf.value, true);
  assert.equal(nf.errorCode, ErrorCode.FLAG_NOT_FOUND);
  assert.equal(nf.reason, StandardResolutionReasons.ERROR);
});

test('type mismatch: TYPE_MISMATCH and the default', async () => {
  const tm = await client.getBooleanDetails('button-color', true, staff);
  assert.equal(tm.value, true);
  assert.equal(tm.errorCode, ErrorCode.TYPE_MISMATCH);
  const tn = await client.getNumberDetails('banner', 7, staff);
  assert.equal(tn.value, 7);
  assert.equal(tn.errorCode, ErrorCode.TYPE_MISMATCH);
});

test('a server-only flag is visible to an API key', async () => {
  assert.equal(await client.getBooleanValue('server-only', false, staff), true);
});

test('a wrong API key: GENERAL error and the default', async () => {
  await OpenFeature.setProviderAndWait('wrong', new OFREPProvider({ baseUrl, headers: [['X-API-Key', 'efk_wrong']] }));
  const d = await OpenFeature.getClient('wrong').getBooleanDetails('new-checkout', true, staff);
  assert.equal(d.value, true);
  assert.equal(d.errorCode, ErrorCode.GENERAL);
});
