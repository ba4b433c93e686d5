/**
 * `npm ci` on a fresh clone: the lock file must list every platform's optional packages (Biome's and
 * msgpackr's native builds), or npm 11 refuses to install from it on any machine. A lock written by an
 * npm that pruned other platforms' entries passed on its author's machine and failed for everyone else;
 * `npm ci --dry-run` on a copy checks the same thing offline, in well under a second.
 */
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../helpers/wait.ts";
import { npm, ROOT } from "./npm.ts";

const CI = ["ci", "--dry-run", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"];

describe("package-lock.json", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir("bosun-lock-");
  });
  after(() => dir.remove());

  it("installs with npm ci on a fresh copy of package.json and the lock file", async () => {
    await copyFile(join(ROOT, "package.json"), join(dir.path, "package.json"));
    await copyFile(join(ROOT, "package-lock.json"), join(dir.path, "package-lock.json"));
    const r = await npm(CI, { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
  });

  it("is checked for real: a lock without another platform's optional package is refused", async () => {
    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8"));
    const dropped = Object.keys(lock.packages).find((k) => k.startsWith("node_modules/@biomejs/cli-darwin"));
    assert.ok(dropped, "the lock lists Biome's macOS build");
    delete lock.packages[dropped];
    await copyFile(join(ROOT, "package.json"), join(dir.path, "package.json"));
    await writeFile(join(dir.path, "package-lock.json"), JSON.stringify(lock, null, 2));
    const r = await npm(CI, { cwd: dir.path });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Missing: ${dropped.slice("node_modules/".length)}@.* from lock file`));
  });
});
