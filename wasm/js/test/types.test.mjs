// The TypeScript declarations: they compile (strict), the documented usage
// type-checks against them and the providers against the official SDKs'
// Provider types (types/usage.mts), and every runtime export of each
// module is declared, and nothing more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFile } from "node:fs/promises";

const run = promisify(execFile);
const tsc = new URL("./node_modules/typescript/bin/tsc", import.meta.url).pathname;
const here = new URL(".", import.meta.url).pathname;

for (const config of ["types/tsconfig.decl.json", "types/tsconfig.json"]) {
  test(`tsc --noEmit -p ${config}`, async () => {
    try {
      await run(process.execPath, [tsc, "-p", config], { cwd: here });
    } catch (e) {
      assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
    }
  });
}

for (const mod of ["index", "ssr", "openfeature/web", "openfeature/server"]) {
  test(`${mod}.d.mts declares exactly the runtime exports of ${mod}.mjs`, async () => {
    const runtime = Object.keys(await import(`../${mod}.mjs`)).sort();
    const decl = await readFile(new URL(`../${mod}.d.mts`, import.meta.url), "utf8");
    const declared = [...decl.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(declared, runtime);
  });
}
