// The validation step itself must catch what it is there for: each case
// breaks a copy of a real template and expects `validate` to fail on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEMPLATES, validate } from './validate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'edgeflag-validate-'));

function brokenCopy(name, from, to) {
  const src = readFileSync(path.join(here, name), 'utf8');
  assert.ok(src.includes(from), `${name} no longer contains ${JSON.stringify(from)}`);
  const file = path.join(dir, `${path.basename(name, '.yaml')}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, src.replace(from, to));
  return file;
}

test('the real templates pass in every region they are validated for', () => {
  for (const { file, regions } of TEMPLATES) {
    for (const region of regions) {
      assert.deepEqual(validate(file, region).problems, [], `${file} in ${region}`);
    }
  }
});

const cases = [
  ['a WARN fails: an unknown encryption algorithm', 'template.yaml', 'SSEAlgorithm: AES256', 'SSEAlgorithm: AES257', 'W3030'],
  ['a wrong property type', 'template.yaml', 'MemorySize: !Ref MemorySize', 'MemorySize: lots', 'MemorySize'],
  ['an unknown property', 'edge.yaml', 'ViewerProtocolPolicy: redirect-to-https\n', 'ViewerProtocolPolicy: redirect-to-https\n          Compres: true\n', 'Compres'],
  ['a reference to nothing', 'edge.yaml', 'LambdaFunctionARN: !Ref ViewerRequestVersion', 'LambdaFunctionARN: !Ref ViewerRequestVersio', 'ViewerRequestVersio'],
  ['the Code allowance is narrow: a layer with a local path fails', 'template.yaml',
    '  EdgefnUrl:\n', '  Layer:\n    Type: AWS::Lambda::LayerVersion\n    Properties:\n      Content: ../dist/layer.zip\n  EdgefnUrl:\n', 'W3002'],
];

for (const [name, tpl, from, to, want] of cases) {
  test(name, () => {
    const { problems } = validate(brokenCopy(tpl, from, to));
    assert.ok(problems.length > 0, 'the broken copy passes');
    assert.ok(problems.some((p) => p.includes(want)), `no finding mentions ${want}: ${problems.join('\n')}`);
  });
}

test('the command exits 1 on a broken template and names it', () => {
  const file = brokenCopy('template.yaml', 'SSEAlgorithm: AES256', 'SSEAlgorithm: AES257');
  const r = spawnSync(process.execPath, [path.join(here, 'validate.mjs'), file], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /W3030/);
  assert.ok(r.stderr.includes(file));
});
