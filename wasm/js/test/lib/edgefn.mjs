// A real `edgefn serve` (bin/edgefn, built by make build) on 127.0.0.1,
// serving the test project published with the real CLI to a folder store;
// started by a test and stopped (SIGTERM) when it ends.
import { spawn } from "node:child_process";
import { readFile, writeFile, access } from "node:fs/promises";
import path from "node:path";
import { edgeflag, EDGEFN, flagsDir, keys, tempDir } from "./fixtures.mjs";
import { until } from "./fakeedgefn.mjs";

/**
 * startEdgefn serves flags (a testdata version number, or a flags
 * directory) of project, environment production.
 */
export async function startEdgefn(t, { flags = 1, project = "webshop" } = {}) {
  await access(EDGEFN).catch(() => { throw new Error(`${EDGEFN} not found: run make build (make js-test does)`); });
  const dir = await tempDir(t);
  const signing = await keys(dir, "signing.key");
  await keys(dir, "token.key");
  const out = await edgeflag("apikey", "--name", "js-tests", "--scopes", "flags:read,tokens:issue,events:write");
  const apiKey = out.match(/^secret: (\S+)$/m)[1];
  const entry = out.slice(out.indexOf("- name:"));
  await writeFile(path.join(dir, "api-keys.yaml"), "keys:\n" + entry.split("\n").map((l) => "  " + l).join("\n"));
  const store = path.join(dir, "store");
  const e = { dir, store, apiKey, jwks: signing.jwks, jwksPath: signing.jwksPath, log: "" };
  e.publish = (v) => edgeflag("publish", typeof v === "number" ? flagsDir(v) : v, "--env", "production", "--key", signing.key, "--store", "file://" + store,
    "--reason", "js test", "--actor", "js-tests");
  await e.publish(flags);
  const ready = path.join(dir, "ready");
  const proc = spawn(EDGEFN, ["serve", "--store", "file://" + store, "--project", project, "--env", "production",
    "--jwks", signing.jwksPath, "--api-keys", path.join(dir, "api-keys.yaml"), "--token-key", path.join(dir, "token.key"),
    "--addr", "127.0.0.1:0", "--ready-file", ready, "--refresh-interval", "1s", "--cache-dir", path.join(dir, "cache"),
    "--events-max-age", "100ms"], { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout.on("data", (d) => { e.log += d; });
  proc.stderr.on("data", (d) => { e.log += d; });
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve({ code, sig })));
  e.stop = async () => {
    if (proc.exitCode === null) proc.kill("SIGTERM");
    return exited;
  };
  t.after(() => e.stop());
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`edgefn exited: ${e.log}`);
    return (await readFile(ready, "utf8").catch(() => "")).trim() !== "";
  }, 15000, "edgefn to serve");
  e.url = (await readFile(ready, "utf8")).trim();
  e.bootstrapUrl = e.url + "/v1/bootstrap";
  /** mint mints a client token (POST /v1/tokens). */
  e.mint = async (body) => {
    const res = await fetch(e.url + "/v1/tokens", { method: "POST", headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
      body: JSON.stringify({ scopes: ["bootstrap", "track"], ttlSeconds: 600, ...body }) });
    if (res.status !== 200) throw new Error(`mint: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()).token;
  };
  /** keysJWKS is GET /v1/keys (the values JWKS a deployment pins). */
  e.keysJWKS = async (token) => (await fetch(e.url + "/v1/keys", { headers: { Authorization: `Bearer ${token}` } })).json();
  return e;
}
