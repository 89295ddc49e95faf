// The copy-paste examples of docs/browser.md, run as written, against the
// sealed corpus and a real edgefn serve of examples/shop; each prints
// exactly the output the document shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { exampleDir } from "./lib/docs.mjs";
import { startEdgefn } from "./lib/edgefn.mjs";
import { corpusDir, root } from "./lib/paths.mjs";

const run = promisify(execFile);
const node = (dir, args, env = {}) => run(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, timeout: 60000 });

test("docs/browser.md: open.mjs", async (t) => {
  const { dir, outputs } = await exampleDir(t);
  await copyFile(path.join(corpusDir, "sealed", "reasons.jws"), path.join(dir, "bundle.jws"));
  await copyFile(path.join(corpusDir, "sealed", "jwks.json"), path.join(dir, "jwks.json"));
  const { stdout } = await node(dir, ["open.mjs", "bundle.jws", "jwks.json"]);
  assert.equal(stdout, outputs["open.mjs"]);
});

test("docs/browser.md: client.mjs, values.mjs, server.mjs and flags.mjs against edgefn serve of examples/shop", async (t) => {
  const e = await startEdgefn(t, { flags: path.join(root, "examples", "shop"), project: "shop" });
  const { dir, outputs } = await exampleDir(t);
  await copyFile(e.jwksPath, path.join(dir, "jwks.json"));
  const token = await e.mint({ subject: "user-123", attributes: { plan: "pro", country: "US", accountId: "acct-11" } });
  await writeFile(path.join(dir, "token-keys.json"), JSON.stringify(await e.keysJWKS(token)));
  const env = { EDGEFN_URL: e.url, TOKEN: token, API_KEY: e.apiKey };
  for (const name of ["client.mjs", "values.mjs", "server.mjs"]) {
    const { stdout } = await node(dir, [name], env);
    assert.equal(stdout, outputs[name], name);
  }
  // flags.mjs is a browser module; the web SDK runs in Node as well.
  const { startFlags } = await import(path.join(dir, "flags.mjs"));
  let changes = 0;
  const flags = await startFlags({ bootstrapUrl: e.url + "/v1/bootstrap", token, jwks: e.jwks,
    user: { targetingKey: "user-123", plan: "pro", country: "US", accountId: "acct-11" }, onChange: () => changes++ });
  assert.equal(flags.getBooleanValue("new-checkout", false), true);
  assert.equal(flags.getBooleanDetails("new-checkout", false).flagMetadata.ruleId, "na-pro");
  assert.match(flags.getStringValue("checkout-button-color", "none"), /^#[0-9a-f]{6}$/);
  const { OpenFeature } = await import(path.join(dir, "node_modules", "@openfeature", "web-sdk", "dist", "esm", "index.js"));
  await OpenFeature.close();
  assert.equal(changes, 0);
});
