// fileStorage (Node): atomic writes, regular files only, plain key names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { symlink, writeFile, readdir } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileStorage, memoryStorage } from "../index.mjs";
import { tempDir } from "./lib/fixtures.mjs";

test("fileStorage: round trip, missing is null, no temporary file left", async (t) => {
  const dir = await tempDir(t);
  const s = fileStorage(path.join(dir, "st"));
  assert.equal(await s.get("a.b"), null);
  await s.set("a.b", "one");
  await s.set("a.b", "two");
  assert.equal(await s.get("a.b"), "two");
  assert.deepEqual(await readdir(path.join(dir, "st")), ["a.b"]);
  await s.delete("a.b");
  assert.equal(await s.get("a.b"), null);
});

test("fileStorage refuses symlinks, FIFOs and keys that are not plain names", async (t) => {
  const dir = await tempDir(t);
  const s = fileStorage(dir);
  await writeFile(path.join(dir, "target"), "secret");
  await symlink(path.join(dir, "target"), path.join(dir, "link"));
  await assert.rejects(s.get("link"), { code: "ErrStorage" });
  execFileSync("mkfifo", [path.join(dir, "fifo")]);
  await assert.rejects(s.get("fifo"), { code: "ErrStorage" }); // at once, not blocked on the FIFO
  for (const k of ["../x", "a/b", ".hidden", "", "a\nb"]) await assert.rejects(s.get(k), { code: "ErrStorage" }, JSON.stringify(k));
});

test("memoryStorage keeps strings", async () => {
  const s = memoryStorage();
  await s.set("k", 5);
  assert.equal(await s.get("k"), "5");
});
