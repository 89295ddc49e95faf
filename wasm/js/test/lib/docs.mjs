// The examples of docs/browser.md: each fenced block after
// <!-- example: NAME --> (and its expected output after <!-- output: NAME -->),
// written into a directory that holds wasm/ (a link to the repository's)
// and node_modules (the test packages), as a reader would copy them.
import { readFile, writeFile, symlink } from "node:fs/promises";
import path from "node:path";
import { root } from "./paths.mjs";
import { tempDir } from "./fixtures.mjs";

export async function docBlocks(file = "browser.md") {
  const doc = await readFile(path.join(root, "docs", file), "utf8");
  const out = { examples: {}, outputs: {} };
  for (const m of doc.matchAll(/<!-- (example|output): ([\w.-]+) -->\n```[a-z]*\n([\s\S]*?)```/g)) {
    out[m[1] === "example" ? "examples" : "outputs"][m[2]] = m[3];
  }
  return out;
}

/** exampleDir writes every example of the doc into a fresh directory. */
export async function exampleDir(t, files = {}) {
  const dir = await tempDir(t);
  await symlink(path.join(root, "wasm"), path.join(dir, "wasm"));
  await symlink(path.join(root, "wasm", "js", "test", "node_modules"), path.join(dir, "node_modules"));
  const { examples, outputs } = await docBlocks();
  for (const [name, text] of Object.entries({ ...examples, ...files })) await writeFile(path.join(dir, name), text);
  return { dir, examples, outputs };
}
