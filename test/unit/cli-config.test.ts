/**
 * The server roles' configuration as a user gives it: the flags of `start`/`server` reach their config
 * keys, and a config file with a wrong key fails with the key's name and the right one, through the
 * real bin/bosun.js.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Command } from "commander";
import { type StartFlags, serverConfig, serverOptions } from "../../src/cli/commands/start.ts";
import { CONFIG_FLAGS, loadConfig } from "../../src/config/config.ts";
import { BIN } from "../helpers/bosun-process.ts";
import { tempDir } from "../helpers/wait.ts";

const run = promisify(execFile);

function flagsOf(args: string[]): StartFlags {
  const cmd = serverOptions(new Command("start").exitOverride()).action(() => {});
  cmd.parse(args, { from: "user" });
  return cmd.opts() as StartFlags;
}

describe("bosun start/server flags", () => {
  it("--db-schema and --durability set dbSchema and durability", () => {
    const c = serverConfig(flagsOf(["--db-schema", "jobs_eu", "--durability", "strict"]), "start", {});
    assert.equal(c.dbSchema, "jobs_eu");
    assert.equal(c.durability, "strict");
    assert.throws(() => flagsOf(["--durability", "paranoid"]), /Allowed choices are normal, strict/);
  });

  it("every flag named in the config table is a flag of start", () => {
    const longs = serverOptions(new Command("start")).options.map((o) => o.long);
    for (const [key, flag] of Object.entries(CONFIG_FLAGS))
      assert.ok(longs.includes(flag), `${key}: ${flag}`);
  });
});

describe("config file", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  const file = async (name: string, content: unknown) => {
    const path = join(dir.path, name);
    await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
    return path;
  };

  it("names an unknown key and the key (and flag) meant", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ data: "./x" }, `"data" is not a config key; did you mean "dataDir" (--data)?`],
      [{ grace: 5 }, `"grace" is not a config key; did you mean "shutdownGraceMs" (--grace)?`],
      [{ "lease-ms": 500 }, `"lease-ms" is not a config key; did you mean "leaseMs" (--lease-ms)?`],
      [{ BOSUN_DB: "postgres://x" }, `"BOSUN_DB" is not a config key; did you mean "db" (--db)?`],
      [{ concurency: 2 }, `"concurency" is not a config key; did you mean "concurrency" (--concurrency)?`],
      [{ dbPoolSise: 2 }, `"dbPoolSise" is not a config key; did you mean "dbPoolSize"?`],
    ];
    for (const [content, message] of cases) {
      const path = await file("bad.json", content);
      assert.throws(
        () => loadConfig({ file: path, env: {} }),
        (err: Error & { code?: string }) => err.code === "VALIDATION_FAILED" && err.message.includes(message),
        message,
      );
    }
    const far = await file("far.json", { frobnicate: 1 });
    assert.throws(
      () => loadConfig({ file: far, env: {} }),
      /"frobnicate" is not a config key \(the keys: dataDir,/,
    );
  });

  it("reads good keys, and says which file is missing or not JSON", async () => {
    const good = await file("good.json", { dataDir: "./d", port: 9999 });
    assert.equal(loadConfig({ file: good, env: {} }).dataDir, "./d");
    assert.throws(() => loadConfig({ file: join(dir.path, "none.json"), env: {} }), /none\.json: ENOENT/);
    const broken = await file("broken.json", "{ dataDir: 1 ");
    assert.throws(() => loadConfig({ file: broken, env: {} }), /broken\.json: .*JSON/);
  });

  it("bosun start --config with a wrong key exits 1 with that message", async () => {
    const path = await file("start.json", { data: join(dir.path, "data") });
    const err = await run(process.execPath, [BIN, "start", "--config", path], {
      timeout: 30_000,
      env: { ...process.env, BOSUN_CONFIG: "" },
    }).catch((e: { code: number; stderr: string; stdout: string }) => e);
    assert.equal((err as { code: number }).code, 1);
    assert.match(
      (err as { stderr: string }).stderr,
      /^bosun: VALIDATION_FAILED: Config file .*start\.json: "data" is not a config key; did you mean "dataDir" \(--data\)\?\n$/,
    );
  });
});
