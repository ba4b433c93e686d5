/**
 * Attempts stay honest across kill -9 of `bosun start` (embedded SQLite) in the middle of a drain of
 * short shell jobs, the regime where claims are held in memory (store/sqlite/soft-claims.ts). Each run
 * of a job appends a start and an end line (job id, attempt, time) to a file of this test; after the
 * restart every job completes, and then for every job: each run it made has an attempt number of its
 * own, the job's `attempts` counts every run, its attempt history (GET /jobs/:id/attempts) has an entry
 * for each, and no two runs overlapped. Before the feed recorded held claims (and sqlite-store.ts turned
 * the ones a crash cut short into attempts), 21 of 1,911 jobs ran twice while only 14 showed two
 * attempts: the others ran again under the same attempt number.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import { api, startBosun } from "../helpers/bosun-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Counts = Partial<Record<string, number>>;
const JOBS = 2000;

interface Run {
  attempt: number;
  start: number;
  end: number | null;
}

/** The runs of each job, from the marker lines (`<id> <attempt> start|end <epoch seconds.micros>`). */
function runsOf(text: string): Map<string, Run[]> {
  const out = new Map<string, Run[]>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [id, attempt, what, at] = line.split(" ");
    const runs = out.get(id!) ?? [];
    out.set(id!, runs);
    const t = Number(at) * 1000;
    if (what === "start") runs.push({ attempt: Number(attempt), start: t, end: null });
    else {
      const run = runs.findLast((r) => r.attempt === Number(attempt) && r.end === null);
      assert.ok(run, `an end without a start: ${line}`);
      run.end = t;
    }
  }
  return out;
}

/** Calls `fn` on every item, `width` at a time. */
async function eachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

it("counts every run of every job as an attempt across kill -9 in the middle of a drain", async (t) => {
  const dir = await tempDir();
  const markers = join(dir.path, "markers.log");
  const data = join(dir.path, "data");
  const args = ["start", "--port", "0", "--data", data, "--concurrency", "16"];
  const byStatus = async (url: string) =>
    (await api<{ counts: { byStatus: Counts } }>(url, "GET", "/api/v1/metrics")).body.counts.byStatus;
  // Each line is one write of a few dozen bytes with O_APPEND: lines of concurrent jobs never mix.
  const command = [
    `echo "$BOSUN_JOB_ID $BOSUN_ATTEMPT start $EPOCHREALTIME" >> '${markers}'`,
    "sleep 0.02",
    `echo "$BOSUN_JOB_ID $BOSUN_ATTEMPT end $EPOCHREALTIME" >> '${markers}'`,
  ].join("; ");
  const ids: string[] = [];
  let killedAt: number;
  const first = await startBosun(args);
  try {
    for (let i = 0; i < JOBS; i += 500) {
      const res = await api<{ jobs: { id: string }[] }>(first.url, "POST", "/api/v1/jobs/batch", {
        jobs: Array.from({ length: 500 }, () => ({
          type: "shell",
          payload: { command },
          // Room for a run the crash cut short and its retry; a short backoff keeps the test short.
          maxAttempts: 5,
          backoff: { type: "fixed", delayMs: 100 },
        })),
      });
      assert.equal(res.status, 201, res.text);
      ids.push(...res.body.jobs.map((j) => j.id));
    }
    await waitUntil(async () => ((await byStatus(first.url)).completed ?? 0) >= 200, {
      what: "the drain to be under way",
      timeoutMs: 60_000,
    });
    const before = await byStatus(first.url);
    assert.ok((before.queued ?? 0) > 0, `still a backlog when killed: ${JSON.stringify(before)}`);
  } finally {
    await first.kill("SIGKILL");
    killedAt = Date.now();
  }
  const second = await startBosun(args);
  try {
    await waitUntil(async () => (await byStatus(second.url)).completed === JOBS, {
      what: `all ${JOBS} jobs to complete`,
      timeoutMs: 120_000,
      intervalMs: 200,
    });
    assert.deepEqual(await byStatus(second.url), { completed: JOBS });

    const runs = runsOf(await readFile(markers, "utf8"));
    const problems: string[] = [];
    let ranAgain = 0;
    await eachLimited(ids, 8, async (id) => {
      const { body } = await api<{ job: { status: string; attempts: number } }>(
        second.url,
        "GET",
        `/api/v1/jobs/${id}`,
      );
      const history = await api<{ items: { attempt: number; status: string; startedAt: string | null }[] }>(
        second.url,
        "GET",
        `/api/v1/jobs/${id}/attempts`,
      );
      const mine = runs.get(id) ?? [];
      const said = (what: string) =>
        problems.push(
          `${id}: ${what} (runs ${JSON.stringify(mine)}, attempts ${body.job.attempts}, history ${JSON.stringify(
            history.body.items,
          )})`,
        );
      if (mine.length > 1) ranAgain++;
      if (body.job.status !== "completed") said(`status ${body.job.status}`);
      if (mine.length === 0) said("never ran");
      if (mine.length > body.job.attempts) said(`${mine.length} runs but ${body.job.attempts} attempts`);
      const numbers = mine.map((r) => r.attempt);
      if (new Set(numbers).size !== numbers.length) said("two runs under one attempt number");
      const recorded = new Set(history.body.items.map((a) => a.attempt));
      for (const n of numbers) if (!recorded.has(n)) said(`run of attempt ${n} is not in the history`);
      // Runs one after another: each ended before the next began, or the kill ended it (no end line)
      // and the next began after the kill. A run the killed server had started (its attempt recorded
      // before the kill) may write its first line just after the exit on a loaded machine: its group is
      // killed when the server dies (job-processes.test.ts proves that), so only a later start counts.
      const claimedAt = (attempt: number) =>
        Date.parse(history.body.items.find((a) => a.attempt === attempt)?.startedAt ?? "") ||
        Number.POSITIVE_INFINITY;
      const ordered = [...mine].sort((a, b) => a.start - b.start);
      for (let k = 1; k < ordered.length; k++) {
        const prev = ordered[k - 1]!;
        const cur = ordered[k]!;
        const overlapped =
          prev.end === null
            ? (prev.start >= killedAt && claimedAt(prev.attempt) >= killedAt) || cur.start < killedAt
            : prev.end > cur.start;
        if (overlapped) said(`runs of attempts ${prev.attempt} and ${cur.attempt} overlapped`);
      }
      if (ordered.at(-1)?.end === null) said("its last run did not end");
    });
    t.diagnostic(`${ranAgain} of ${JOBS} jobs ran more than once`);
    assert.deepEqual(problems, [], `${problems.length} of ${JOBS} jobs (${ranAgain} ran more than once)`);
    // The kill must have cut runs short, or the test showed nothing.
    assert.ok(ranAgain > 0, "some job ran again after the kill");
  } finally {
    await second.kill();
    await dir.remove();
  }
});
