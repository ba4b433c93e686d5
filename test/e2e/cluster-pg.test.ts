/**
 * The cluster on the real PostgreSQL: three `bosun server` processes and two `bosun worker` processes,
 * all real, talking over real sockets. Proves exactly-once completion under load, leader failover by
 * kill -9, recovery of a killed worker's job, and that a server restart does not lose a worker's jobs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { api, type BosunProcess, startBosun } from "../helpers/bosun-process.ts";
import { freshSchema } from "../helpers/pg.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string; workerId: string | null; attempts: number };
type Cluster = { self: string; leader: string | null; nodes: { id: string; role: string }[] };

const LEASE_MS = "3000";

describe("cluster on PostgreSQL", () => {
  let pg: Awaited<ReturnType<typeof freshSchema>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: NodeJS.ProcessEnv;
  const servers = new Map<string, BosunProcess>();
  const workers = new Map<string, BosunProcess>();
  let sql: postgres.Sql;

  const startServer = async (id: string, port = "0") => {
    const p = await startBosun(
      [
        "server",
        "--port",
        port,
        "--node-id",
        id,
        "--lease-ms",
        LEASE_MS,
        "--data",
        `${dir.path}/${id}`,
        "--log-level",
        "info",
      ],
      { env },
    );
    servers.set(id, p);
    return p;
  };
  const startWorker = async (id: string, server: string) => {
    const p = await startBosun(
      ["worker", "--server", server, "--id", id, "--concurrency", "4", "--log-level", "info"],
      {
        env,
        readyLine: "worker is up",
      },
    );
    workers.set(id, p);
    return p;
  };
  const url = (id: string) => servers.get(id)!.url;

  before(async () => {
    pg = await freshSchema("bosun_cluster");
    dir = await tempDir();
    env = { BOSUN_DB: pg.url, BOSUN_DB_SCHEMA: pg.schema };
    for (const id of ["n1", "n2", "n3"]) await startServer(id);
    await startWorker("wA", url("n2"));
    await startWorker("wB", url("n3"));
    sql = postgres(pg.url, { max: 2, onnotice: () => undefined, connection: { search_path: pg.schema } });
  });

  after(async () => {
    for (const p of [...workers.values(), ...servers.values()]) await p.kill("SIGKILL");
    await sql.end();
    await pg.drop();
    await dir.remove();
  });

  it("every node answers, one leads, and both workers are registered", async () => {
    for (const id of ["n1", "n2", "n3"]) {
      const c = await api<Cluster>(url(id), "GET", "/api/v1/cluster");
      assert.equal(c.body.self, id);
      assert.ok(c.body.leader && ["n1", "n2", "n3"].includes(c.body.leader));
      assert.equal(c.body.nodes.length, 3);
    }
    const ws = await api<{ items: { id: string; status: string }[] }>(url("n1"), "GET", "/api/v1/workers");
    assert.deepEqual(
      ws.body.items.map((w) => [w.id, w.status]),
      [
        ["wA", "active"],
        ["wB", "active"],
      ],
    );
  });

  it("completes 2,000 jobs submitted round-robin to three nodes exactly once", async () => {
    const ids: string[] = [];
    const nodes = ["n1", "n2", "n3"];
    for (let i = 0; i < 2000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          api<{ job: Job }>(url(nodes[(i + k) % 3]!), "POST", "/api/v1/jobs", {
            type: "sleep",
            payload: { durationMs: 0 },
            queue: "bulk",
          }),
        ),
      );
      for (const r of batch) {
        assert.equal(r.status, 201);
        ids.push(r.body.job.id);
      }
    }
    await waitUntil(
      async () => {
        const [r] =
          await sql`SELECT COUNT(*)::int AS n FROM jobs WHERE queue = 'bulk' AND status = 'completed'`;
        return r!.n === 2000;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: "2,000 completions" },
    );
    const [row] = await sql`
      SELECT COUNT(DISTINCT j.id)::int AS jobs, COUNT(a.*)::int AS attempts, COUNT(DISTINCT a.worker_id)::int AS workers
      FROM jobs j JOIN job_attempts a ON a.job_id = j.id WHERE j.queue = 'bulk'`;
    const {
      jobs,
      attempts,
      workers: workersUsed,
    } = row as { jobs: number; attempts: number; workers: number };
    assert.equal(jobs, 2000);
    assert.equal(attempts, 2000, "one attempt per job: no double completion");
    assert.equal(workersUsed, 2);
    assert.equal(new Set(ids).size, 2000);
  });

  // Runs after the 2,000 short jobs, so both workers prefetch (they ask for up to three capacities).
  it("places a batch of 4 on two idle workers of capacity 4, on different nodes, 2 and 2", async () => {
    await waitUntil(
      async () => {
        const ws = await api<{ items: { id: string; running: number }[] }>(
          url("n1"),
          "GET",
          "/api/v1/workers",
        );
        return ws.body.items.every((w) => w.running === 0);
      },
      { what: "both workers idle" },
    );
    const r = await api<{ jobs: Job[] }>(url("n1"), "POST", "/api/v1/jobs/batch", {
      jobs: Array.from({ length: 4 }, () => ({ type: "sleep", payload: { durationMs: 300 }, queue: "pair" })),
    });
    assert.equal(r.status, 201);
    await waitUntil(
      async () => {
        const [row] =
          await sql`SELECT COUNT(*)::int AS n FROM jobs WHERE queue = 'pair' AND status = 'completed'`;
        return row!.n === 4;
      },
      { what: "the batch to complete" },
    );
    const rows = await sql`SELECT worker_id, COUNT(*)::int AS n FROM jobs WHERE queue = 'pair'
      GROUP BY worker_id ORDER BY worker_id`;
    assert.deepEqual(
      rows.map((x) => [x.worker_id, x.n]),
      [
        ["wA", 2],
        ["wB", 2],
      ],
    );
  });

  it('overlap "queue": a run that ends through another node releases the held fire (the change feed carries it)', async () => {
    const created = await api<{ schedule: { id: string } }>(url("n1"), "POST", "/api/v1/schedules", {
      cron: "* * * * * *",
      overlap: "queue",
      job: { type: "sleep", payload: { durationMs: 1200 }, queue: "overlap" },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.schedule.id;
    type Run = { status: string };
    const runs = async () =>
      (await api<{ items: Run[] }>(url("n3"), "GET", `/api/v1/schedules/${id}/runs?limit=50`)).body.items;
    // Fires every second, each run takes 1.2 s: every fire after the first is held until the run before
    // it ends, on whichever node its worker reports to. Three runs that finished means two releases.
    await waitUntil(async () => (await runs()).filter((r) => r.status === "completed").length >= 3, {
      timeoutMs: 20_000,
      what: "three runs in a row",
    });
    const rows = await sql`SELECT started_at, finished_at FROM jobs
        WHERE schedule_id = ${id} AND status = 'completed' ORDER BY started_at`;
    for (let i = 1; i < rows.length; i++)
      assert.ok(
        Number(rows[i]!.started_at) >= Number(rows[i - 1]!.finished_at),
        "each run starts after the one before it ended",
      );
    await api(url("n1"), "DELETE", `/api/v1/schedules/${id}`);
  });

  it("retries the job of a worker killed with -9 on the other worker once its lease runs out", async () => {
    const job = (
      await api<{ job: Job }>(url("n1"), "POST", "/api/v1/jobs", {
        type: "sleep",
        payload: { durationMs: 2500 },
      })
    ).body.job;
    const running = await waitUntil(async () => {
      const j = (await api<{ job: Job }>(url("n1"), "GET", `/api/v1/jobs/${job.id}`)).body.job;
      return j.status === "running" ? j : null;
    });
    const victim = running.workerId!;
    await workers.get(victim)!.kill("SIGKILL");
    workers.delete(victim);
    const done = await waitUntil(
      async () => {
        const j = (await api<{ job: Job }>(url("n2"), "GET", `/api/v1/jobs/${job.id}`)).body.job;
        return j.status === "completed" ? j : null;
      },
      { timeoutMs: 20_000, what: "retry on the surviving worker" },
    );
    assert.notEqual(done.workerId, victim);
    assert.equal(done.attempts, 2);
    const attempts = await api<{ items: { error: { code: string } | null }[] }>(
      url("n3"),
      "GET",
      `/api/v1/jobs/${job.id}/attempts`,
    );
    assert.equal(attempts.body.items[0]!.error?.code, "LEASE_EXPIRED");
    // Bring a second worker back for the next tests.
    await startWorker(victim === "wA" ? "wA2" : "wB2", `${url("n2")},${url("n3")}`);
  });

  it("hands leadership over within 2 s of kill -9 of the leader; the others keep serving and reaping", async () => {
    const sched = await api<{ schedule: { id: string } }>(url("n1"), "POST", "/api/v1/schedules", {
      cron: "*/1 * * * * *",
      job: { type: "sleep", payload: { durationMs: 0 } },
    });
    assert.equal(sched.status, 201);
    await new Promise((r) => setTimeout(r, 2500));
    const { leader } = (await api<Cluster>(url("n1"), "GET", "/api/v1/cluster")).body;
    assert.ok(leader);
    const survivors = ["n1", "n2", "n3"].filter((n) => n !== leader);
    const killedAt = Date.now();
    await servers.get(leader)!.kill("SIGKILL");
    servers.delete(leader);
    const next = await waitUntil(
      async () => {
        const c = (await api<Cluster>(url(survivors[0]!), "GET", "/api/v1/cluster")).body;
        return c.leader && c.leader !== leader ? c.leader : null;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: "a new leader" },
    );
    const handover = Date.now() - killedAt;
    assert.ok(survivors.includes(next));
    assert.ok(handover <= 2000, `hand-over took ${handover} ms`);
    // The new leader reaps: a lease nobody renews is failed and retried.
    await sql`INSERT INTO jobs (id, queue, type, payload, status, priority, attempts, max_attempts, attempt_budget, backoff,
        run_at, created_at, updated_at, started_at, worker_id, lease_expires_at, owner, lease_token)
      VALUES ('orphan-1', 'default', 'sleep', '{"durationMs": 1}', 'running', 0, 1, 3, 3,
        '{"type": "fixed", "delayMs": 0}', 0, 0, 0, 0, 'gone-worker', 1, 'test', 'orphan-lease')`;
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(url(survivors[1]!), "GET", "/api/v1/jobs/orphan-1")).body.job.status ===
        "completed",
      { timeoutMs: 15_000, what: "the orphan reaped and rerun" },
    );
    for (const n of survivors) assert.equal((await api(url(n), "GET", "/api/v1/health")).status, 200);
    // The every-second schedule paused for at most 2 s around the failover and never fired twice.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 5000 - Date.now())));
    await api(url(survivors[0]!), "POST", `/api/v1/schedules/${sched.body.schedule.id}/pause`);
    const fires = (
      await sql`SELECT scheduled_time AS t FROM jobs WHERE schedule_id = ${sched.body.schedule.id} ORDER BY scheduled_time`
    ).map((r) => Number(r.t));
    assert.equal(new Set(fires).size, fires.length, "no fire time has two jobs");
    const gaps = fires.slice(1).map((t, i) => t - fires[i]!);
    assert.ok(
      fires.some((t) => t > killedAt + 2000),
      "fires resumed after the failover",
    );
    assert.ok(Math.max(...gaps) <= 3000, `longest pause between fires: ${Math.max(...gaps)} ms`);
  });

  it("a server restart does not lose the running jobs of its workers", async () => {
    const [node, other] = [...servers.keys()] as [string, string];
    const port = new URL(url(node)).port;
    // As a cluster's workers are run (docs/cluster.md): with a second server to fail over to, so that
    // heartbeats go on while its server restarts, however long a loaded machine takes to start one.
    await startWorker("wR", `${url(node)},${url(other)}`);
    const job = (
      await api<{ job: Job }>(url(node), "POST", "/api/v1/jobs", {
        type: "sleep",
        payload: { durationMs: 3000 },
        constraints: {},
      })
    ).body.job;
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(url(node), "GET", `/api/v1/jobs/${job.id}`)).body.job.status === "running",
    );
    const holder = (await api<{ job: Job }>(url(node), "GET", `/api/v1/jobs/${job.id}`)).body.job.workerId;
    await servers.get(node)!.kill("SIGTERM");
    await startServer(node, port);
    const done = await waitUntil(
      async () => {
        const j = (await api<{ job: Job }>(url(node), "GET", `/api/v1/jobs/${job.id}`)).body.job;
        return j.status === "completed" ? j : null;
      },
      { timeoutMs: 20_000, what: "the job to finish after the restart" },
    );
    assert.equal(done.attempts, 1, "the attempt survived the restart");
    assert.equal(done.workerId, holder);
  });
});
