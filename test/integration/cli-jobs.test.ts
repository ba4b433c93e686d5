/**
 * The CLI's job commands run in-process through main() against a real server (SQLite, real sockets, a
 * local pool running real bash): argument boundaries survive the trip to the shell, `submit --wait`
 * marks each attempt, and `-o json` has one shape for results and errors.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.ts";
import { startServer } from "../helpers/in-process.ts";
import { tempDir } from "../helpers/wait.ts";

// Every character bash gives a meaning to, in the words of one command.
const TRICKY = ["a b", "it's", '"dq"', "$HOME", "`id`", "x;y", "l1\nl2", "*", "&&", "", "\\n", "~"];

describe("bosun submit and the job commands on a real server", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 2 });
  });
  after(() => s.stop());

  const bosun = (...args: string[]) => runCli(args, { BOSUN_URL: s.url });

  it("keeps argument boundaries: sh -c 'echo out; exit 5' runs as three words and exits 5", async () => {
    const r = await bosun("submit", "--wait", "--max-attempts", "1", "--", "sh", "-c", "echo out; exit 5");
    assert.equal(r.out, "out\n");
    assert.equal(r.code, 5, r.err);
    const id = /submitted (\S+)/.exec(r.err)![1]!;
    const shown = JSON.parse((await bosun("-o", "json", "status", id)).out);
    assert.equal(shown.job.payload.command, "sh -c 'echo out; exit 5'");
  });

  it("passes spaces, quotes, $, backquotes, ; and newlines through unchanged", async () => {
    const r = await bosun("submit", "--wait", "--", "printf", "[%s]\\n", ...TRICKY);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, TRICKY.map((w) => `[${w}]\n`).join(""));
  });

  it("schedules add keeps the boundaries too", async () => {
    const add = await bosun("-o", "json", "schedules", "add", "0 0 1 1 *", "--", "printf", "[%s]", ...TRICKY);
    assert.equal(add.code, 0, add.err);
    const { schedule } = JSON.parse(add.out);
    const trig = JSON.parse((await bosun("-o", "json", "schedules", "trigger", schedule.id)).out);
    const done = await bosun("wait", trig.job.id);
    assert.equal(done.code, 0, done.err);
    // The log ends its last line with a newline of its own.
    assert.equal((await bosun("logs", trig.job.id)).out, `${TRICKY.map((w) => `[${w}]`).join("")}\n`);
    assert.equal((await bosun("schedules", "rm", schedule.id)).code, 0);
  });

  it("--script sends a local file as the job's run.sh", async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, "make-report.sh");
      await writeFile(file, 'echo "report from $0"\nexit 3\n');
      const r = await bosun("submit", "--wait", "--max-attempts", "1", "--script", file);
      assert.equal(r.out, "report from run.sh\n");
      assert.equal(r.code, 3, r.err);
      const missing = await bosun("submit", "--script", join(dir.path, "nope.sh"));
      assert.equal(missing.code, 1);
      assert.match(missing.err, /--script .*nope\.sh: cannot read it \(ENOENT\)/);
    } finally {
      await dir.remove();
    }
  });

  it("--wait marks each attempt before its lines, with the error of a failed one", async () => {
    const r = await bosun(
      "submit",
      "--wait",
      "--max-attempts",
      "2",
      "--",
      "sh",
      "-c",
      'echo "try $BOSUN_ATTEMPT"; test "$BOSUN_ATTEMPT" = 2',
    );
    assert.equal(r.code, 0, r.all);
    assert.equal(r.out, "try 1\ntry 2\n");
    const lines = r.all.trimEnd().split("\n").slice(1); // after "submitted <id>"
    assert.match(lines[0]!, /^--- attempt 1 of 2 \(worker \S+\) ---$/);
    assert.equal(lines[1], "try 1");
    assert.match(lines[2]!, /^--- attempt 1 failed: EXIT_NONZERO: .*status 1.* ---$/);
    assert.match(lines[3]!, /^--- attempt 2 of 2 \(worker \S+\) ---$/);
    assert.equal(lines[4], "try 2");
    assert.equal(lines.length, 5);
  });

  it("status -o json holds the job and its attempts; lists are {items}", async () => {
    const sub = await bosun("-o", "json", "submit", "--max-attempts", "1", "--", "false");
    const { job } = JSON.parse(sub.out);
    await bosun("wait", job.id);
    const status = JSON.parse((await bosun("-o", "json", "status", job.id)).out);
    assert.equal(status.job.id, job.id);
    assert.equal(status.job.status, "failed");
    assert.equal(status.attempts.length, 1);
    assert.equal(status.attempts[0].error.code, "EXIT_NONZERO");
    for (const args of [["list"], ["schedules", "list"], ["workers"], ["nodes"]]) {
      const r = await bosun("-o", "json", ...args);
      assert.equal(r.code, 0, r.err);
      assert.ok(Array.isArray(JSON.parse(r.out).items), `${args.join(" ")} -o json has items`);
    }
    const waited = JSON.parse((await bosun("-o", "json", "wait", job.id)).out);
    assert.equal(waited.job.id, job.id);
  });

  it("errors under -o json are {error: {code, message}} on stderr, stdout empty", async () => {
    const cases: [string[], string, number][] = [
      [["status", "0199aaaa-0000-7000-8000-000000000000"], "JOB_NOT_FOUND", 1],
      [["list", "--limit", "many"], "USAGE", 1],
      [["frobnicate"], "USAGE", 1],
      [["submit", "--bogus"], "USAGE", 1],
      [["--server", "http://127.0.0.1:1", "list"], "SERVER_UNREACHABLE", 2],
    ];
    for (const [args, code, exit] of cases) {
      const r = await bosun("-o", "json", ...args);
      assert.equal(r.code, exit, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.out, "");
      const parsed = JSON.parse(r.err);
      assert.equal(parsed.error.code, code, r.err);
      assert.equal(typeof parsed.error.message, "string");
    }
    const sleeper = JSON.parse(
      (await bosun("-o", "json", "submit", "-t", "sleep", "--payload", '{"durationMs":5000}')).out,
    );
    const late = await bosun("-o", "json", "wait", sleeper.job.id, "--timeout", "50");
    assert.equal(late.code, 124);
    assert.equal(JSON.parse(late.err).error.code, "WAIT_TIMEOUT");
    assert.equal((await bosun("cancel", sleeper.job.id)).code, 0);
  });
});
