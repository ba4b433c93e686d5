/**
 * The README's tour, run as a newcomer runs it, so the README stays true: every ```sh block marked
 * `<!-- tour -->` is taken from README.md itself and run command by command in a fresh copy of the
 * repository (the working tree as git sees it, uncommitted changes included; node_modules and .tools/
 * linked, not installed again), with a HOME of its own and the system's PATH, so that the tour's own
 * `. scripts/node-env.sh` is what brings Node 24. `<!-- tour: own terminal -->` commands (`npm start`) run
 * in a terminal of their own, in the background, until the tour is over; the session's commands run in
 * one bash process, as typed into a second terminal. Each command must exit with the code its comment
 * promises (`→ exit N`, else 0) and print what its `→ text` comments show.
 *
 * What is not the README's text: the ports (8080, 8081, 8082 become free ones; BOSUN_PORT and BOSUN_URL
 * stand for the default 8080) and the PostgreSQL database of `<!-- tour: postgres -->` blocks (`bosun`
 * becomes one created by the tour and dropped at the end, never the test suite's `test`). Before those
 * blocks the `npm start` node is stopped with Ctrl-C, so a CLI call that forgets `--server` finds nobody.
 * The answers of the README's first questions (where the data is, that a held folder refuses a second
 * process, that Ctrl-C stops cleanly) are checked on the way.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, symlink } from "node:fs/promises";
import { createServer } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { killGroup, ShellSession, type TourCommand, tourBlocks } from "../helpers/shell-tour.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

const ROOT = join(import.meta.dirname, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const BLOCKS = tourBlocks(README);
const UP = /"msg":"(Bosun|worker) is up"/g;

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The repository's files as git sees them now (tracked and new, not ignored), copied into `to`. */
async function copyRepository(to: string): Promise<void> {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const f of files) {
    await mkdir(dirname(join(to, f)), { recursive: true });
    await copyFile(join(ROOT, f), join(to, f));
  }
  await symlink(join(ROOT, "node_modules"), join(to, "node_modules"));
  if (existsSync(join(ROOT, ".tools"))) await symlink(join(ROOT, ".tools"), join(to, ".tools"));
}

describe("the README tour, command by command", () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let env: NodeJS.ProcessEnv;
  let ports: Map<string, number>;
  let session: ShellSession;
  const terminals: { proc: ChildProcess; output: () => string; exited: Promise<number | string> }[] = [];
  const database = `bosun_tour_${randomBytes(4).toString("hex")}`;
  let createdDatabase = false;
  let failed = false;

  /** The README's command with the test's ports and database in place of the README's. */
  const localize = (text: string, block: string) => {
    let out = text.replace(/\b(808[0-2])\b/g, (p) => String(ports.get(p)));
    if (block === "postgres") {
      out = out.replace(/(5432\/|DATABASE |createdb (?:-\w \S+ )*)bosun\b/g, `$1${database}`);
      if (/createdb|5432\//.test(text)) {
        assert.ok(out.includes(database), `the tour's database is replaced in: ${text}`);
        createdDatabase ||= /createdb|CREATE DATABASE/.test(text);
      }
    }
    return out;
  };

  before(async () => {
    work = await tempDir("bosun-tour-");
    repo = join(work.path, "bosun");
    await copyRepository(repo);
    await mkdir(join(work.path, "home"));
    ports = new Map();
    for (const p of ["8080", "8081", "8082"]) ports.set(p, await freePort());
    // A terminal on this machine: the system's PATH (without the Node 24 this test runs on), a new HOME.
    const path = (process.env.PATH ?? "")
      .split(delimiter)
      .filter((d) => !d.includes(`${join(".tools", "node24")}`))
      .join(delimiter);
    env = {
      PATH: path,
      HOME: join(work.path, "home"),
      LANG: process.env.LANG ?? "C.UTF-8",
      TERM: "dumb",
      npm_config_update_notifier: "false",
      BOSUN_PORT: String(ports.get("8080")),
      BOSUN_URL: `http://127.0.0.1:${ports.get("8080")}`,
    };
    session = new ShellSession({ cwd: repo, env });
  });

  after(async () => {
    session?.kill();
    for (const t of terminals) killGroup(t.proc, "SIGKILL");
    if (createdDatabase) {
      const sql = postgres("postgres://postgres@127.0.0.1:5432/postgres", { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await sql.end();
    }
    await work?.remove();
  });

  it("finds the tour in README.md: a terminal for bosun start, then the commands, then the cluster", () => {
    assert.deepEqual([...new Set(BLOCKS.map((b) => b.kind))], ["own terminal", "session", "postgres"]);
    assert.ok(BLOCKS.flatMap((b) => b.commands).length > 20);
    assert.doesNotMatch(README, /5432\/test\b.*bosun|bosun.*5432\/test\b/, "no Bosun command uses `test`");
  });

  /** A command in a terminal of its own, in the background; resolves once Bosun says it is up. */
  const ownTerminal = async (cmd: TourCommand) => {
    const proc = spawn("bash", ["--noprofile", "--norc", "-c", localize(cmd.text, "own terminal")], {
      cwd: repo,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    proc.stdout.on("data", (d) => (output += d));
    proc.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | string>((resolve) =>
      proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1)),
    );
    terminals.push({ proc, output: () => output, exited });
    await waitUntil(
      () => {
        if (proc.exitCode !== null) throw new Error(`${cmd.text} ended (${proc.exitCode}):\n${output}`);
        return output.includes('"msg":"Bosun is up"');
      },
      { timeoutMs: 120_000, intervalMs: 50, what: `${cmd.text} to be up` },
    );
  };

  /** A command typed into the session; a background one is over once one more node says it is up. */
  const inSession = async (cmd: TourCommand, block: string) => {
    const upBefore = session.all.match(UP)?.length ?? 0;
    const ran = await session.run(localize(cmd.text, block));
    const report = `README command:\n${cmd.text}\nexit ${ran.exitCode}, output:\n${ran.output}`;
    assert.equal(ran.exitCode, cmd.exitCode, report);
    for (const re of cmd.prints) assert.match(ran.output, re, report);
    if (cmd.background)
      await waitUntil(() => (session.all.match(UP)?.length ?? 0) > upBefore, {
        timeoutMs: 60_000,
        what: `a node started by ${cmd.text} to be up:\n${session.all}`,
      });
  };

  /** The FAQ's answers, checked while `npm start` runs and when it is stopped. */
  const stopTheFirstTerminal = () => {
    it("keeps its data in ./.bosun, which refuses a second bosun start with DATA_DIR_LOCKED", async () => {
      assert.ok(existsSync(join(repo, ".bosun", "bosun.db")), "the SQLite database is in ./.bosun");
      assert.ok(existsSync(join(repo, ".bosun", "work")), "the attempts' folders are under ./.bosun/work");
      const second = await session.run("node bin/bosun.js start --port 0");
      assert.equal(second.exitCode, 1, second.output);
      assert.match(second.output, /DATA_DIR_LOCKED/);
    });
    it("stops npm start with Ctrl-C: bosun shuts down cleanly and ends", async () => {
      const [first] = terminals;
      assert.ok(first, "bosun start was started");
      killGroup(first.proc, "SIGINT"); // what Ctrl-C does: SIGINT to the terminal's foreground group
      // The status is npm's (it reports the signal it got); Bosun's own exit 0 is start-acceptance's.
      await first.exited;
      assert.match(first.output(), /"msg":"shutting down: finishing running jobs"[\s\S]*"msg":"stopped"/);
      const health = await session.run(`curl -s localhost:${ports.get("8080")}/api/v1/health`);
      assert.equal(health.exitCode, 7, `nothing answers on the start port any more: ${health.output}`);
    });
  };

  let stopped = false;
  for (const block of BLOCKS) {
    if (block.kind === "postgres" && !stopped) {
      stopTheFirstTerminal();
      stopped = true;
    }
    for (const cmd of block.commands)
      it(`${block.kind}: ${cmd.text.split("\n")[0]}`, async (t) => {
        if (failed) return t.skip("an earlier tour command failed");
        try {
          if (block.kind === "own terminal") await ownTerminal(cmd);
          else await inSession(cmd, block.kind);
        } catch (err) {
          failed = true;
          throw err;
        }
      });
  }
});
