/**
 * The package as another project gets it: `npm pack` (which builds dist/ at `prepare`), then a fresh
 * project that installs the tarball and uses it with plain Node. Node does not strip types under
 * node_modules, so everything here runs the compiled JavaScript; the declarations are checked with this
 * repository's tsc; the README's SDK snippet is taken from README.md itself, so the README stays true.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { BosunClient } from "../../src/sdk/client.ts";
import { logIn } from "../../src/sdk/identity.ts";
import { tempDir } from "../helpers/wait.ts";
import { cleanEnv, npm, ROOT, sh } from "./npm.ts";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

/** The first ```ts block after the line that introduces the SDK in README.md. */
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const from = readme.indexOf("Embed it in an application with the SDK");
  assert.ok(from >= 0, "README.md introduces the SDK");
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(block, "README.md shows the SDK in a ts block");
  return block[1]!;
}

async function gitStatus(): Promise<string> {
  return (await sh("git", ["status", "--porcelain"], { cwd: ROOT })).stdout;
}

describe("the packed package, installed in a fresh project", () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let app: string;
  let packed: string[];
  let statusBefore: string;
  let statusAfter: string;

  before(async () => {
    work = await tempDir("bosun-pack-");
    statusBefore = await gitStatus();
    const pack = await npm(["pack", "--json", "--pack-destination", work.path], { cwd: ROOT });
    assert.equal(pack.code, 0, pack.stderr);
    statusAfter = await gitStatus();
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path);

    app = join(work.path, "app");
    await mkdir(app);
    assert.equal((await npm(["init", "-y"], { cwd: app })).code, 0);
    const install = await npm(
      ["install", join(work.path, info.filename), "--prefer-offline", "--no-audit", "--no-fund"],
      { cwd: app },
    );
    assert.equal(install.code, 0, install.stderr);
  });
  after(() => work?.remove());

  it("holds the compiled code, its declarations and the migrations, not the sources", () => {
    for (const f of ["bin/bosun.js", "dist/index.js", "dist/index.d.ts", "dist/sdk/client.js"])
      assert.ok(packed.includes(f), `${f} is packed`);
    assert.ok(packed.includes("dist/sdk/client.d.ts"));
    // Loaded by path at run time, not by import: a worker thread and every migration.
    assert.ok(packed.includes("dist/store/sqlite/checkpoint-thread.js"));
    for (const backend of ["sqlite", "postgres"])
      for (const sql of readdirSync(join(ROOT, "src/store", backend, "migrations")))
        assert.ok(packed.includes(`dist/store/${backend}/migrations/${sql}`), `${backend} ${sql} is packed`);
    assert.deepEqual(
      packed.filter((f) => /^(src|test|scripts)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts"))),
      [],
    );
  });

  it("builds without changing what git sees (dist/ is ignored)", () => {
    assert.equal(statusAfter, statusBefore);
  });

  it("imports Bosun and BosunClient with plain node", async () => {
    await writeFile(
      join(app, "imports.mjs"),
      `import { Bosun } from "bosun";\nimport { BosunClient } from "bosun/client";\n` +
        `console.log(typeof Bosun.open, typeof new BosunClient({ url: "http://127.0.0.1:1" }).wait);\n`,
    );
    const r = await sh(process.execPath, ["imports.mjs"], { cwd: app });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "function function");
  });

  it("gives a TypeScript project real types (the README snippet type-checks too)", async () => {
    await writeFile(join(app, "snippet.mts"), await readmeSnippet());
    await writeFile(
      join(app, "types.mts"),
      [
        `import { Bosun, type Job } from "bosun";`,
        `import { BosunClient } from "bosun/client";`,
        `export async function check(bosun: Bosun, client: BosunClient): Promise<string> {`,
        `  const job: Job = await bosun.wait((await client.submit({ type: "sleep" })).id);`,
        `  // @ts-expect-error: a Job has no such field (the declarations are types, not any)`,
        `  job.nope;`,
        `  return job.status;`,
        `}`,
      ].join("\n"),
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2024",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2024"],
          strict: true,
          noEmit: true,
          // The project's own code is checked; declarations of dependencies are tsc's own output.
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        include: ["*.mts"],
      }),
    );
    const r = await sh(process.execPath, [TSC, "-p", app], { cwd: app });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it("runs the README's SDK snippet until its job has completed with its result", async () => {
    await writeFile(join(app, "readme.mts"), await readmeSnippet());
    const r = await sh(process.execPath, ["readme.mts"], { cwd: app, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^completed \{ sent: true \}$/m);
  });

  it("answers npx bosun --help", async () => {
    const r = await sh("npx", ["bosun", "--help"], { cwd: app });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: bosun \[options\] \[command\]/);
  });

  it("runs bosun start from the installed package: a job completes, SIGTERM stops it", async () => {
    assert.equal(existsSync(join(app, "node_modules/bosun/src")), false, "no sources to fall back on");
    const proc = spawn(
      join(app, "node_modules/.bin/bosun"),
      ["start", "--port", "0", "--data", join(app, "data"), "--concurrency", "1"],
      { cwd: app, env: { ...cleanEnv(), BOSUN_LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const url = await upAt(proc);
      // Zero set-up: the first start made the admin user and left its password in the data folder.
      const password = (await readFile(join(app, "data/admin-password"), "utf8")).trim();
      const { accessToken } = await logIn(url, "admin", password);
      const client = new BosunClient({ url, token: accessToken });
      const job = await client.submit({ type: "shell", payload: { command: "echo from the package" } });
      const done = await client.wait(job.id, { timeoutMs: 30_000 });
      assert.equal(done.status, "completed");
      assert.match(await client.logs(job.id), /from the package/);
      proc.kill("SIGTERM");
      const [code] = await once(proc, "exit");
      assert.equal(code, 0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    }
  });
});

/** The URL of the "Bosun is up" line; rejects with the output if the process ends first. */
function upAt(proc: ChildProcess): Promise<string> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.includes("Bosun is up")) resolve(JSON.parse(line).url);
    };
    createInterface({ input: proc.stdout! }).on("line", onLine);
    createInterface({ input: proc.stderr! }).on("line", onLine);
    proc.on("exit", (code) => reject(new Error(`bosun exited (${code}):\n${lines.join("\n")}`)));
  });
}
