// The Athena SQL of docs/experiments.md, run by DuckDB over the very zstd
// NDJSON batches edgefn writes, must give the counts `edgeflag results`
// prints for the same store: exposed and converted units per variant,
// units in several variants, duplicates, events outside the window and
// exposures to other variants.
//
//   make results-check      (or: node --test publisher/experiment/e2e/athena.test.mjs)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
let dir, results, conn;

// sqlBlock returns the ```sql block that follows <!-- sql:NAME --> in the doc.
function sqlBlock(doc, name) {
  const m = doc.match(new RegExp(`<!-- sql:${name} -->\\s*\`\`\`sql\\n([\\s\\S]*?)\`\`\``));
  assert.ok(m, `no sql:${name} block in docs/experiments.md`);
  return m[1];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeflag-athena-'));
  const bin = join(dir, 'edgeflag');
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  run('go', ['build', '-o', bin, './publisher/cmd/edgeflag']);
  run(bin, ['keygen', '--out', join(dir, 'key')]);
  run('go', ['run', './publisher/experiment/internal/genevents', '--store', join(dir, 'store'), '--key', join(dir, 'key'),
    '--events', '60000', '--noise']);
  results = JSON.parse(run(bin, ['results', 'checkout-color', '--store', `file://${join(dir, 'store')}`, '--project', 'shop',
    '--env', 'production', '--json', '--now', '2027-01-09T00:00:00Z']));

  const db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
  // The Glue table's columns over the same files; partitions as strings,
  // as partition projection gives them to Athena.
  const glob = join(dir, 'store', 'shop', 'production', 'events', '*', '*', '*.ndjson.zst').replaceAll("'", "''");
  await conn.run(`CREATE VIEW events AS SELECT * FROM read_ndjson('${glob}', hive_partitioning = true, hive_types_autocast = false,
    format = 'newline_delimited', compression = 'zstd',
    columns = {id: 'VARCHAR', type: 'VARCHAR', name: 'VARCHAR', flagKey: 'VARCHAR', variant: 'VARCHAR', "timestamp": 'VARCHAR',
               value: 'DOUBLE', unit: 'VARCHAR', attributes: 'JSON', received: 'VARCHAR', source: 'VARCHAR'})`);
});

after(() => {
  conn?.closeSync?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function rows(sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

test('the documented results query gives the counts of edgeflag results', async () => {
  const doc = readFileSync(join(repo, 'docs', 'experiments.md'), 'utf8');
  const got = await rows(sqlBlock(doc, 'results'));
  const byVariant = Object.fromEntries(got.map((r) => [r.variant, r]));
  let multiple = 0;
  for (const v of results.variants) {
    const r = byVariant[v.variant];
    assert.ok(r, `no row for ${v.variant}`);
    assert.equal(Number(r.exposed), v.exposed, `${v.variant} exposed`);
    assert.equal(Number(r.converted), v.converted, `${v.variant} converted`);
    assert.ok(v.exposed > 1000 && v.converted > 50, `${v.variant}: too little data to compare (${v.exposed}/${v.converted})`);
    multiple += Number(r.multiple_variants);
  }
  assert.equal(got.length, results.variants.length);
  assert.equal(multiple, results.quality.multipleVariants);
  assert.ok(multiple > 0, 'the data has units in several variants');
});

test('the documented quality query gives the data-quality counts', async () => {
  const doc = readFileSync(join(repo, 'docs', 'experiments.md'), 'utf8');
  const [q] = await rows(sqlBlock(doc, 'quality'));
  assert.equal(Number(q.duplicates), results.quality.duplicates);
  assert.equal(Number(q.outside_window), results.quality.outsideWindow);
  assert.equal(Number(q.other_variants), results.quality.otherVariants);
  assert.ok(Number(q.duplicates) > 0 && Number(q.outside_window) > 0 && Number(q.other_variants) > 0, 'the data exercises every count');
});

test('the partition filter reads only the window\'s days', async () => {
  const [all] = await rows(`SELECT count(*) AS n, min(dt) AS lo, max(dt) AS hi FROM events`);
  assert.ok(all.lo >= '2026-12-01' && all.hi <= '2027-01-08', `partitions ${all.lo}..${all.hi}`);
  assert.equal(Number(all.n), results.scanned.events);
});
