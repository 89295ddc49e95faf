// Validates the edgeflag CloudFormation templates offline with AWS's
// @aws/cloudformation-validate, the validator that ships inside aws-cdk-lib
// (bundled there, not exported: we load it from aws-cdk-lib's own folder).
//
//   node infra/validate.mjs [TEMPLATE[@REGION] ...]   (default: both templates)
//
// Every finding of severity WARN or above fails, except the findings in
// ALLOWED: W3002 on a Lambda function's Code, a local zip that `sam deploy`
// uploads and replaces by its S3 location (the documented packaging step).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const cdkDir = path.dirname(require.resolve('aws-cdk-lib/package.json'));
const cfv = require(path.join(cdkDir, 'node_modules', '@aws', 'cloudformation-validate'));

/** The templates and the regions each is validated for. */
export const TEMPLATES = [
  { file: path.join(here, 'template.yaml'), regions: ['us-east-1', 'eu-west-1'] },
  { file: path.join(here, 'edge.yaml'), regions: ['us-east-1'] },
];

/** Findings that are expected: [ruleId, resource type, property path]. */
export const ALLOWED = [
  ['W3002', 'AWS::Lambda::Function', 'Properties.Code'],
];

const FAILING = new Set(['WARN', 'ERROR', 'FATAL']);

function allowed(d) {
  return ALLOWED.some(([rule, type, prop]) =>
    d.ruleId === rule && d.entity?.resourceType === type && d.propertyPath === prop);
}

let engine;

/**
 * Validates one template for one region. Returns the failing findings as
 * "file:line:col: RULE severity resource property: message" strings (empty
 * when the template passes) and the version of the validation core.
 */
export function validate(file, region = 'us-east-1') {
  engine ??= new cfv.CompositeEngine();
  const report = engine.validateTemplate(new cfv.TemplateFile(file), {
    detailLevel: 'STANDARD',
    severityLevel: 'INFO',
    pseudoParameterOverrides: { region, accountId: '123456789012' },
  });
  const problems = [];
  if (report.status !== 'OK') problems.push(`${file}: validation status ${report.status}`);
  for (const d of report.diagnostics) {
    if (!FAILING.has(d.severity) || allowed(d)) continue;
    const where = `${file}:${d.startLine ?? 0}:${d.startColumn ?? 0}`;
    const what = [d.entity?.logicalId, d.propertyPath].filter(Boolean).join(' ');
    problems.push(`${where}: ${d.ruleId} ${d.severity} ${what}: ${d.message}`);
  }
  return { problems, version: cfv.version() };
}

function main(args) {
  const targets = args.length
    ? args.map((a) => { const [file, region] = a.split('@'); return { file, regions: [region || 'us-east-1'] }; })
    : TEMPLATES;
  let failed = 0;
  for (const { file, regions } of targets) {
    for (const region of regions) {
      const { problems, version } = validate(file, region);
      const name = path.relative(process.cwd(), file);
      if (problems.length === 0) {
        console.log(`${name} (${region}): ok (cloudformation-validate ${version})`);
      } else {
        failed++;
        for (const p of problems) console.error(p);
      }
    }
  }
  engine?.free();
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
