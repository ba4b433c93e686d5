/**
 * A documented flag that does not exist is a bug: every `--flag` that README.md and docs/*.md mention is
 * an option of some `bosun` command (as the CLI itself defines them), or, in a document that runs the
 * benchmarks (`npm run bench…`), an option the benchmark scripts parse. docs/configuration.md, which
 * `bosun start --help` points to, lists the config schema's keys, all of them, in the schema's order. The README tour test runs the
 * tour's commands; this catches the flags in prose and in the examples nobody runs.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { createContext } from "../../src/cli/context.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { ConfigSchema } from "../../src/config/config.ts";

const ROOT = join(import.meta.dirname, "../..");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => join("docs", f))].filter((f) =>
  f.endsWith(".md"),
);

function longOptions(cmd: Command): string[] {
  return [
    ...cmd.options.flatMap((o) => (o.long ? [o.long] : [])),
    ...cmd.commands.flatMap((c) => longOptions(c)),
  ];
}

async function bosunFlags(): Promise<Set<string>> {
  const roles = await Promise.all([
    import("../../src/cli/commands/start.ts"),
    import("../../src/cli/commands/server.ts"),
    import("../../src/cli/commands/worker.ts"),
  ]);
  const program = buildProgram(createContext({ out: () => {}, err: () => {} }, {}), roles);
  return new Set([...longOptions(program), "--help", "--version"]);
}

/** The option names the benchmark scripts give node:util's parseArgs (`name: { type: … }`). */
function benchFlags(): Set<string> {
  const out = new Set<string>();
  for (const f of readdirSync(join(ROOT, "bench")).filter((f) => f.endsWith(".ts")))
    for (const m of readFileSync(join(ROOT, "bench", f), "utf8").matchAll(
      /["']?([a-z][\w-]*)["']?: \{ type:/g,
    ))
      out.add(`--${m[1]}`);
  return out;
}

describe("flags in the documentation", () => {
  it("are all real: bosun's options, or the benchmarks' where they are run", async () => {
    const bosun = await bosunFlags();
    const bench = benchFlags();
    const wrong: string[] = [];
    for (const file of DOCS) {
      const text = readFileSync(join(ROOT, file), "utf8");
      const benchmarks = /npm run bench/.test(text);
      for (const m of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g))
        if (!bosun.has(m[0]) && !(benchmarks && bench.has(m[0]))) wrong.push(`${file}: ${m[0]}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("docs/configuration.md names every config key, and no key that is not one", () => {
    const page = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");
    const rows = [...page.matchAll(/^\| `(\w+)` +\|/gm)].map((m) => m[1]);
    assert.deepEqual(rows, Object.keys(ConfigSchema.properties));
  });

  it("would notice one that does not exist", async () => {
    const bosun = await bosunFlags();
    assert.ok(bosun.has("--server") && bosun.has("--script") && bosun.has("--labels"));
    assert.equal(bosun.has("--label"), false);
  });
});
