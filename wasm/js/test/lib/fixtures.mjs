// Bundles and keys for the client tests, made by the real CLI (bin/edgeflag,
// built by make build): keygen, build with a version, an issue time and a TTL.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { root } from "./paths.mjs";

const run = promisify(execFile);
export const EDGEFLAG = process.env.EDGEFLAG_BIN ?? path.join(root, "bin", "edgeflag");
export const EDGEFN = process.env.EDGEFN_BIN ?? path.join(root, "bin", "edgefn");
export const flagsDir = (v) => new URL(`../testdata/flags-v${v}`, import.meta.url).pathname;

export async function edgeflag(...args) {
  try {
    await access(EDGEFLAG);
  } catch {
    throw new Error(`${EDGEFLAG} not found: run make build (make js-test does)`);
  }
  const { stdout } = await run(EDGEFLAG, args, { cwd: root });
  return stdout;
}

/** tempDir makes a directory removed by the returned cleanup. */
export async function tempDir(t) {
  const dir = await mkdtemp(path.join(tmpdir(), "edgeflag-js-"));
  t?.after?.(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** keys makes a signing key in dir; resolves to {key, jwks (object), jwksPath}. */
export async function keys(dir, name = "signing.key") {
  const key = path.join(dir, name);
  await edgeflag("keygen", "--out", key);
  return { key, jwksPath: key + ".jwks.json", jwks: JSON.parse(await readFile(key + ".jwks.json", "utf8")) };
}

/**
 * build builds flags-v<flags> for production as version, issued at now
 * (RFC 3339) with ttl; resolves to {client, server} (Uint8Array).
 */
export async function build(dir, key, { flags = 1, version = 1, now = "2026-06-01T00:00:00Z", ttl = "168h" } = {}) {
  const out = path.join(dir, `out-${version}-${flags}-${now.replace(/:/g, "")}`);
  await edgeflag("build", flagsDir(flags), "--env", "production", "--key", key, "--out", out, "--version", String(version), "--now", now, "--ttl", ttl);
  const base = path.join(out, `webshop.production.${version}`);
  return { client: new Uint8Array(await readFile(base + ".client.jws")), server: new Uint8Array(await readFile(base + ".server.jws")) };
}
