/**
 * The alert recorder (src/alerts/alert-recorder.ts) on a real SQLite file: failures are read from the
 * change feed after a durable cursor, so a failure committed by a process that died before it recorded
 * the alert is recorded by the next one, once; a store failure half-way through skips nothing; two
 * recorders that overlap (two leaders for a moment) record each failure once; a store with no cursor
 * starts at the feed's latest change. A worker is played by the test, so each failure happens when the
 * test says.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AlertRecorder } from "../../src/alerts/alert-recorder.ts";
import { systemClock } from "../../src/core/clock.ts";
import type { Engine } from "../../src/engine/engine.ts";
import type { JobInput } from "../../src/engine/job-input.ts";
import type { AlertStore } from "../../src/scheduler/schedule-store.ts";
import type { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import type { Store } from "../../src/store/store.ts";
import { logger, sqliteEngine } from "../helpers/sqlite-engine.ts";
import { tempDir } from "../helpers/wait.ts";

const W = { workerId: "w", running: 0, capacity: 10, labels: {}, queues: null, types: null };
const HOOK = "http://127.0.0.1:9/hook";

/** Enqueues jobs and fails their only attempt, as a worker would report it. */
async function failJobs(engine: Engine, n: number, queue = "default"): Promise<string[]> {
  const inputs = Array.from({ length: n }, () => ({ type: "t", queue, maxAttempts: 1 }) as JobInput);
  const ids = (await engine.enqueue(inputs, { owner: "o" })).map((o) => o.job.id);
  const claims = await engine.poll({ ...W, slots: n, waitMs: 0 });
  await engine.fail(
    claims.map((c) => ({
      jobId: c.id,
      lease: c.lease,
      attempt: c.attempt,
      workerId: "w",
      error: { code: "EXIT_CODE", message: "exited 1" },
      retryable: false,
    })),
  );
  return ids;
}

/** `target` with some methods replaced; the others called on target itself (they use private fields). */
function override<T extends object>(target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get: (t, key) => {
      const own = (methods as Record<PropertyKey, unknown>)[key];
      if (own) return own;
      const v = Reflect.get(t, key, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

function recorder(o: { store: Store; alerts: AlertStore; schedules: SqliteScheduleStore }) {
  let recorded = 0;
  const r = new AlertRecorder({
    ...o,
    targets: { global: { webhookUrl: HOOK }, perQueue: {} },
    clock: systemClock,
    logger,
    onRecorded: () => recorded++,
  });
  return { r, recorded: () => recorded };
}

describe("alert recorder", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  it("records a failure committed before a crash, once, when the next process reads the feed", async () => {
    const file = join(dir.path, "crash.db");
    // The first process commits the failures and dies before recording any alert (it never ran a
    // recorder): what a kill -9 right after the commit leaves. The old in-process onFinish listener
    // lost exactly these, as nothing else remembered that an alert was owed.
    const first = sqliteEngine(file, { types: ["t"] });
    const failed = await failJobs(first.engine, 3);
    assert.equal((await first.schedules.listAlerts(10)).length, 0);
    await first.close();

    const second = sqliteEngine(file, { types: ["t"] });
    const { r } = recorder({ store: second.store, alerts: second.schedules, schedules: second.schedules });
    await r.flush();
    await r.flush();
    const alerts = await second.schedules.listAlerts(10);
    assert.deepEqual(alerts.map((a) => a.jobId).sort(), [...failed].sort());
    assert.equal(await second.schedules.alertCursor(), (await second.store.feedBounds()).latest);
    await second.close();

    // A third start reads nothing again.
    const third = sqliteEngine(file, { types: ["t"] });
    const again = recorder({ store: third.store, alerts: third.schedules, schedules: third.schedules });
    await again.r.flush();
    assert.equal((await third.schedules.listAlerts(10)).length, 3);
    assert.equal(again.recorded(), 0);
    await third.close();
  });

  it("never moves the cursor past a change it did not handle: a store failure skips nothing", async () => {
    const n = sqliteEngine(join(dir.path, "flaky.db"), { types: ["t"] });
    try {
      const start = await n.schedules.alertCursor();
      const ids = await failJobs(n.engine, 4);
      // The outbox write fails once, then a job read fails once half-way through the page.
      let writeFailures = 1;
      let readFailures = 0;
      const flakyAlerts = override<AlertStore>(n.schedules, {
        addFromFeed: (...args: Parameters<AlertStore["addFromFeed"]>) => {
          if (writeFailures-- > 0) return Promise.reject(new Error("disk full"));
          return n.schedules.addFromFeed(...args);
        },
      });
      const flakyStore = override<Store>(n.store, {
        listAttempts: (id: string) => {
          if (id === ids[2] && readFailures-- > 0) return Promise.reject(new Error("connection reset"));
          return n.store.listAttempts(id);
        },
      });
      const { r } = recorder({ store: flakyStore, alerts: flakyAlerts, schedules: n.schedules });
      await r.flush();
      assert.equal(await n.schedules.alertCursor(), start, "the write failed: the cursor stayed");
      assert.equal((await n.schedules.listAlerts(10)).length, 0);

      readFailures = 1;
      await r.flush();
      assert.equal(await n.schedules.alertCursor(), start, "a read failed: the cursor stayed");
      assert.equal((await n.schedules.listAlerts(10)).length, 0);

      await r.flush();
      const alerts = await n.schedules.listAlerts(10);
      assert.deepEqual(alerts.map((a) => a.jobId).sort(), [...ids].sort(), "every failure, once");
      assert.equal(await n.schedules.alertCursor(), (await n.store.feedBounds()).latest);
    } finally {
      await n.close();
    }
  });

  it("two recorders overlapping on one store (two leaders for a moment) record each failure once", async () => {
    const n = sqliteEngine(join(dir.path, "two.db"), { types: ["t"] });
    try {
      const a = recorder({ store: n.store, alerts: n.schedules, schedules: n.schedules });
      const b = recorder({ store: n.store, alerts: n.schedules, schedules: n.schedules });
      // Both read the cursor before either writes.
      await Promise.all([a.r.flush(), b.r.flush()]);
      const ids: string[] = [];
      for (let round = 0; round < 5; round++) {
        ids.push(...(await failJobs(n.engine, 3)));
        await Promise.all([a.r.flush(), b.r.flush()]);
      }
      const alerts = await n.schedules.listAlerts(100);
      assert.equal(alerts.length, ids.length);
      assert.deepEqual(new Set(alerts.map((x) => x.jobId)), new Set(ids));
      // Recorded means written by one of them: the compare-and-set let only one write each page.
      assert.equal(a.recorded() + b.recorded(), 5);
    } finally {
      await n.close();
    }
  });

  it("a store without a cursor starts at the feed's latest change: history raises no alert", async () => {
    const n = sqliteEngine(join(dir.path, "nocursor.db"), { types: ["t"] });
    try {
      await failJobs(n.engine, 2);
      n.store.db.exec("DELETE FROM feed_cursors");
      const { r } = recorder({ store: n.store, alerts: n.schedules, schedules: n.schedules });
      await r.flush();
      assert.equal((await n.schedules.listAlerts(10)).length, 0);
      assert.equal(await n.schedules.alertCursor(), (await n.store.feedBounds()).latest);
      const [later] = await failJobs(n.engine, 1);
      await r.flush();
      assert.deepEqual(
        (await n.schedules.listAlerts(10)).map((a) => a.jobId),
        [later],
      );
    } finally {
      await n.close();
    }
  });
});
