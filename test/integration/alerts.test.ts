/**
 * Failure alerts against real webhooks on 127.0.0.1: targets (global, per queue, per schedule), the HMAC
 * signature, delivery retries with exponential backoff, giving up, and an outbox that survives a restart.
 * Built from the parts (SQLite store, engine, AlertService) with a worker played by the test, so each
 * failure happens exactly when the test says.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AlertService } from "../../src/alerts/alert-service.ts";
import { systemClock } from "../../src/core/clock.ts";
import type { JobInput } from "../../src/engine/job-input.ts";
import { OutboundClient } from "../../src/outbound/outbound-client.ts";
import { OutboundPolicy } from "../../src/outbound/outbound-policy.ts";
import { ScheduleService } from "../../src/scheduler/schedule-service.ts";
import { httpTarget } from "../helpers/http-target.ts";
import { logger, sqliteEngine } from "../helpers/sqlite-engine.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

const W = { workerId: "w", running: 0, capacity: 10, labels: {}, queues: null, types: null };

const outbound = new OutboundClient({ policy: new OutboundPolicy({ allow: ["127.0.0.1"], deny: [] }) });

function openNode(file: string, alertOpts: Partial<ConstructorParameters<typeof AlertService>[0]> = {}) {
  const base = sqliteEngine(file, { types: ["t"] });
  const { engine, schedules: schedStore } = base;
  const alerts = new AlertService({
    engine,
    alerts: schedStore,
    schedules: schedStore,
    clock: systemClock,
    logger,
    global: null,
    perQueue: {},
    baseDelayMs: 100,
    // The webhooks are test servers on 127.0.0.1: opened as an operator would (--http-allow).
    outbound,
    ...alertOpts,
  });
  const service = new ScheduleService(engine, schedStore, systemClock, logger);
  /** Enqueues a job and fails every attempt of it, as a worker would report them. */
  const failJob = async (input: Partial<JobInput> = {}, ctx: { scheduleId?: string } = {}) => {
    const [o] = await engine.enqueue([{ type: "t", maxAttempts: 1, ...input } as JobInput], {
      owner: "o",
      ...ctx,
    });
    for (;;) {
      const [c] = await engine.poll({ ...W, slots: 1, waitMs: 0 });
      if (!c) break;
      await engine.fail([
        {
          jobId: c.id,
          lease: c.lease,
          attempt: c.attempt,
          workerId: "w",
          error: { code: "HTTP_STATUS", message: "The target answered 500" },
          retryable: true,
          httpStatus: 500,
        },
      ]);
    }
    await alerts.flush();
    return o!.job.id;
  };
  return {
    engine,
    schedStore,
    alerts,
    service,
    failJob,
    async close() {
      await alerts.close();
      await base.close();
    },
  };
}

describe("failure alerts", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    outbound.close();
    await dir.remove();
  });

  it("calls each distinct target once, signed with its secret, after the last attempt only", async () => {
    const hook = await httpTarget();
    const n = openNode(join(dir.path, "a.db"), {
      global: { webhookUrl: `${hook.url}/global`, secret: "g" },
      perQueue: {
        billing: { webhookUrl: `${hook.url}/billing` },
        same: { webhookUrl: `${hook.url}/global`, secret: "g" },
      },
    });
    try {
      n.alerts.start();
      const s = await n.service.create(
        {
          cron: "0 0 1 1 *",
          paused: true,
          job: { type: "t" },
          alert: { webhookUrl: `${hook.url}/schedule`, secret: "s3cret" },
        },
        "o",
      );
      const retried = await n.failJob({
        maxAttempts: 3,
        backoff: { type: "exponential", delayMs: 0, jitter: 0 },
        queue: "billing",
      });
      const fromSchedule = await n.failJob({}, { scheduleId: s.id });
      await n.failJob({ queue: "same" }); // global and queue name the same url: one call
      await waitUntil(() => hook.received.length >= 5, { what: "five alerts" });
      await new Promise((r) => setTimeout(r, 300));
      const byPath = (p: string) => hook.received.filter((r) => r.url === p);
      assert.equal(hook.received.length, 5);
      assert.equal(byPath("/global").length, 3);
      assert.equal(byPath("/billing").length, 1);
      assert.equal(byPath("/schedule").length, 1);

      const billing = byPath("/billing")[0]!;
      assert.equal(billing.headers["x-bosun-signature"], undefined, "no secret, no signature");
      const body = JSON.parse(billing.body);
      assert.equal(body.event, "job.failed");
      assert.equal(body.job.id, retried);
      assert.equal(body.attempts.length, 3, "alerted once, after the third attempt");
      assert.equal(body.error.code, "HTTP_STATUS");

      const sched = byPath("/schedule")[0]!;
      const signed = `sha256=${createHmac("sha256", "s3cret").update(sched.body).digest("hex")}`;
      assert.equal(sched.headers["x-bosun-signature"], signed);
      assert.ok(sched.headers["x-bosun-alert-id"]);
      assert.deepEqual(
        [JSON.parse(sched.body).job.id, JSON.parse(sched.body).schedule.id],
        [fromSchedule, s.id],
      );
      for (const g of byPath("/global"))
        assert.equal(
          g.headers["x-bosun-signature"],
          `sha256=${createHmac("sha256", "g").update(g.body).digest("hex")}`,
        );

      // Cancelled jobs and jobs still retrying raise nothing.
      const [c] = await n.engine.enqueue([{ type: "t" }], { owner: "o" });
      await n.engine.cancel(c!.job.id);
      await n.alerts.flush();
      assert.equal((await n.schedStore.listAlerts(100)).length, 5);
    } finally {
      await n.close();
      await hook.close();
    }
  });

  it("retries a failing webhook with exponential backoff, then gives up and shows why", async () => {
    let calls = 0;
    const flaky = await httpTarget(() => (++calls <= 2 ? 500 : 200));
    const down = await httpTarget(() => 503);
    const n = openNode(join(dir.path, "b.db"), {
      perQueue: { flaky: { webhookUrl: `${flaky.url}/f` }, down: { webhookUrl: `${down.url}/d` } },
      maxAttempts: 4,
    });
    try {
      n.alerts.start();
      await n.failJob({ queue: "flaky" });
      await n.failJob({ queue: "down" });
      const shown = async (url: string) => (await n.schedStore.listAlerts(10)).find((a) => a.url === url)!;
      await waitUntil(async () => (await shown(`${flaky.url}/f`)).status === "delivered", {
        what: "delivery after two failures",
      });
      await waitUntil(async () => (await shown(`${down.url}/d`)).status === "failed", {
        what: "giving up",
      });
      const gaps = (r: { at: number }[]) => r.slice(1).map((x, i) => x.at - r[i]!.at);
      const [g1, g2] = gaps(flaky.received);
      assert.ok(g1! >= 90 && g2! >= 190, `backoff doubles: ${gaps(flaky.received)}`);
      assert.equal(flaky.received.length, 3);
      assert.deepEqual(
        [(await shown(`${flaky.url}/f`)).attempts, (await shown(`${flaky.url}/f`)).lastStatus],
        [3, 200],
      );
      const gaveUp = await shown(`${down.url}/d`);
      assert.deepEqual([gaveUp.attempts, gaveUp.lastStatus, gaveUp.lastError], [4, 503, "answered 503"]);
      assert.equal(down.received.length, 4);
      // All four carried the same body and alert id: one alert, four tries.
      assert.equal(new Set(down.received.map((r) => r.headers["x-bosun-alert-id"])).size, 1);
    } finally {
      await n.close();
      await flaky.close();
      await down.close();
    }
  });

  it("keeps an undelivered alert across a restart and delivers it once back", async () => {
    const hook = await httpTarget();
    const file = join(dir.path, "c.db");
    const first = openNode(file, { global: { webhookUrl: `${hook.url}/g`, secret: "k" } });
    const jobId = await first.failJob(); // recorded (failJob flushes the recorder); nothing is sent
    assert.equal((await first.schedStore.due(Date.now(), 10)).length, 1);
    await first.close();
    assert.equal(hook.received.length, 0);

    const second = openNode(file, { global: { webhookUrl: `${hook.url}/g`, secret: "k" } });
    try {
      second.alerts.start();
      // The answer reaches the hook before the delivery is recorded: wait for the record.
      const [a] = await waitUntil(
        async () => {
          const alerts = await second.schedStore.listAlerts(10);
          return alerts[0]?.status === "delivered" ? alerts : null;
        },
        { what: "the delivery after restart, recorded" },
      );
      assert.equal(hook.received.length, 1);
      assert.equal(JSON.parse(hook.received[0]!.body).job.id, jobId);
      assert.deepEqual([a!.status, a!.attempts], ["delivered", 1]);
    } finally {
      await second.close();
      await hook.close();
    }
  });
});
