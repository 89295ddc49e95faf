// The golden corpus and the envelope vectors through openBundle, in any
// runtime: Node reads the files from disk, a browser page fetches them.
// read(path) resolves to the bytes (Uint8Array) of a file under
// bundle/conformance/testdata. Comparison as bundle/conformance/README.md
// says: variant, reason, errorCode, ruleId (and key) exactly, values as
// canonical JSON; and each result's text byte for byte with the native
// engine's line of the sealed corpus. The differential (a fixture
// wasm/internal/diffgen writes in the same layout, its cases without
// expectations) runs with nativeOnly: the native line is the expectation.

const text = new TextDecoder();

/** canonical writes a JSON value with sorted keys and -0 as 0. */
export function canonical(v) {
  if (v === null || typeof v !== "object") {
    if (typeof v === "number" && Object.is(v, -0)) return "0";
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  // Sort by code point (UTF-8 byte order), not by UTF-16 unit.
  const keys = Object.keys(v).sort((a, b) => {
    const x = [...a], y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  });
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(v[k])).join(",") + "}";
}

function compare(want, got) {
  const diffs = [];
  if (canonical(want.value ?? null) !== canonical(got.value ?? null)) diffs.push(`value ${canonical(got.value)}, want ${canonical(want.value)}`);
  for (const f of ["variant", "reason"]) if (got[f] !== want[f]) diffs.push(`${f} ${JSON.stringify(got[f])}, want ${JSON.stringify(want[f])}`);
  for (const f of ["errorCode", "ruleId"]) if ((got[f] ?? "") !== (want[f] ?? "")) diffs.push(`${f} ${JSON.stringify(got[f])}, want ${JSON.stringify(want[f])}`);
  return diffs;
}

/** check compares one case's results with its expectation: a list of problems. */
export function check(c, got) {
  if (c.kind === "all") {
    if (!Array.isArray(got) || got.length !== c.expectAll.length) {
      return [`got ${got?.length} results, want ${c.expectAll.length}`];
    }
    return got.flatMap((g, i) => g.key !== c.expectAll[i].key
      ? [`result ${i}: key ${g.key}, want ${c.expectAll[i].key}`]
      : compare(c.expectAll[i], g).map((d) => `flag ${g.key}: ${d}`));
  }
  const diffs = compare(c.expect, got);
  if (c.expect.key && got.key !== c.expect.key) diffs.push(`key ${got.key}, want ${c.expect.key}`);
  return diffs;
}

async function readJSON(read, path) {
  return JSON.parse(text.decode(await read(path)));
}

/**
 * runCorpus runs every case of every suite of the sealed corpus on
 * openBundle with the module wasm. With nativeOnly, a case's only
 * expectation is its native line (the differential's cases carry no
 * expect). Returns {suites, cases, results (per-flag results printed),
 * identical, failures: ["file: case: problem"]}.
 */
export async function runCorpus({ read, openBundle, wasm, nativeOnly = false }) {
  const m = await readJSON(read, "sealed/manifest.json");
  const jwks = await readJSON(read, "sealed/" + m.jwks);
  const out = { suites: 0, cases: 0, results: 0, identical: 0, failures: [] };
  for (const ss of m.suites) {
    const suite = await readJSON(read, ss.suite);
    const native = text.decode(await read("sealed/" + ss.native)).split("\n");
    let b;
    try {
      b = await openBundle(await read("sealed/" + ss.bundle), {
        jwks, project: ss.project, environment: ss.environment, audience: ss.audience, now: m.openAt, wasm,
      });
    } catch (e) {
      out.failures.push(`${ss.suite}: open: ${e.message}`);
      continue;
    }
    out.suites++;
    suite.cases.forEach((c, i) => {
      out.cases++;
      const now = c.now ?? suite.now;
      let raw;
      try {
        raw = c.kind === "all" ? b.evaluateAllJSON(c.context, now) : b.evaluateJSON(c.flag, c.context, now, c.type);
      } catch (e) {
        out.failures.push(`${ss.suite}: ${c.name}: evaluate: ${e.message}`);
        return;
      }
      const got = JSON.parse(raw);
      out.results += c.kind === "all" && Array.isArray(got) ? got.length : 1;
      const problems = nativeOnly ? [] : check(c, got);
      if (raw === native[i]) out.identical++;
      else problems.push(`printed ${raw}, the native engine ${native[i]}`);
      for (const p of problems) out.failures.push(`${ss.suite}: ${c.name}: ${p}`);
    });
    b.close();
  }
  if (out.cases !== m.suites.reduce((n, s) => n + s.cases, 0)) out.failures.push(`ran ${out.cases} cases, the manifest lists more`);
  return out;
}

const rfc3339 = (d) => d.toISOString().replace(/\.000Z$/, "Z");

/**
 * runEnvelope opens every envelope vector with openBundle on the module
 * wasm. supportsES256 says whether the module verifies ES256 (if not,
 * vectors that need it must be refused with ErrAlgorithm). Returns
 * {vectors, accepted, rejected, failures}.
 */
export async function runEnvelope({ read, openBundle, wasm, supportsES256 }) {
  const s = await readJSON(read, "envelope/vectors.json");
  const out = { vectors: 0, accepted: 0, rejected: 0, failures: [] };
  const utf8 = new TextEncoder();
  for (const v of s.vectors) {
    out.vectors++;
    const t = v.trust;
    const opts = {
      jwks: t.jwks, project: t.project, environment: t.environment, audience: t.audience, now: t.now,
      grace: t.graceSeconds, maxSkew: t.maxSkewSeconds, lastVersion: t.lastVersion, algorithms: t.algorithms,
      maxCompressed: t.maxCompressed, maxDecompressed: t.maxDecompressed, wasm,
    };
    const wantError = v.needs === "ES256" && !supportsES256 ? "ErrAlgorithm" : v.expect.error;
    let got;
    try {
      const b = await openBundle(utf8.encode(v.bundle), opts);
      const c = b.claims;
      got = { claims: { alg: c.algorithm, kid: c.keyId, project: c.project, environment: c.environment, audience: c.audience,
        version: c.version, issuedAt: rfc3339(c.issuedAt), expiresAt: rfc3339(c.expiresAt) }, flags: b.flagKeys() };
      b.close();
    } catch (e) {
      if (!e.code?.startsWith("Err") || e.code === "ErrTrap") {
        out.failures.push(`${v.name}: ${e.message}`);
        continue;
      }
      got = { error: e.code };
    }
    if (wantError) {
      if (got.error !== wantError) out.failures.push(`${v.name}: got ${got.error ?? "accepted"}, want ${wantError}`);
      else out.rejected++;
      continue;
    }
    if (got.error) {
      out.failures.push(`${v.name}: rejected with ${got.error}, want accepted`);
      continue;
    }
    const wc = canonical(v.expect.claims), gc = canonical(got.claims);
    if (wc !== gc) out.failures.push(`${v.name}: claims ${gc}, want ${wc}`);
    else if (canonical(v.expect.flags) !== canonical(got.flags)) out.failures.push(`${v.name}: flags ${got.flags}, want ${v.expect.flags}`);
    else out.accepted++;
  }
  return out;
}
