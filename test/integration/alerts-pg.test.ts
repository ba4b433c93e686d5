/**
 * Failure alerts on a PostgreSQL cluster of two nodes (in-process servers on a fresh schema), each with
 * its own local pool: whichever node a job fails on, only the leader records alerts, from the shared
 * feed after the shared cursor, so every failure is recorded and delivered once. When the leader stops,
 * the other node takes over from the cursor: failures made meanwhile are alerted, none twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { httpTarget } from "../helpers/http-target.ts";
import { startServer } from "../helpers/in-process.ts";
import { freshSchema } from "../helpers/pg.ts";
import { countBy, waitUntil } from "../helpers/wait.ts";

type Node = Awaited<ReturnType<typeof startServer>>;
type AlertView = { jobId: string; status: string };

describe("failure alerts on a PostgreSQL cluster", () => {
  let pg: Awaited<ReturnType<typeof freshSchema>>;
  let hook: Awaited<ReturnType<typeof httpTarget>>;
  const nodes = new Map<string, Node>();

  const start = (id: string) =>
    startServer({
      db: pg.url,
      dbSchema: pg.schema,
      nodeId: id,
      concurrency: 2,
      leaseMs: 2000,
      alertWebhookUrl: `${hook.url}/hook`,
      httpAllow: ["127.0.0.1"],
    });

  before(async () => {
    pg = await freshSchema("bosun_alerts");
    hook = await httpTarget();
    for (const id of ["n1", "n2"]) nodes.set(id, await start(id));
  });
  after(async () => {
    for (const n of nodes.values()) await n.stop();
    await hook.close();
    await pg.drop();
  });

  /** Failing shell jobs, enqueued round-robin on the given nodes (each runs on some node's pool). */
  const failJobs = async (on: Node[], n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await api<{ job: { id: string } }>(on[i % on.length]!.url, "POST", "/api/v1/jobs", {
        type: "shell",
        payload: { command: "exit 3" },
        maxAttempts: 1,
      });
      assert.equal(res.status, 201);
      ids.push(res.body.job.id);
    }
    return ids;
  };
  const deliveredJobs = () => hook.received.map((r) => JSON.parse(r.body).job.id as string);
  const leaderOf = async (n: Node) =>
    (await api<{ leader: string | null }>(n.url, "GET", "/api/v1/cluster")).body.leader;

  /** Waits until each job was delivered, then a little longer, and checks each went exactly once. */
  const assertDeliveredOnce = async (ids: string[], via: Node) => {
    await waitUntil(() => ids.every((id) => deliveredJobs().includes(id)), {
      what: `alerts of ${ids.length} jobs`,
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const counts = countBy(deliveredJobs(), (id) => id);
    for (const id of ids) assert.equal(counts[id], 1, `job ${id} alerted once`);
    const outbox = (await api<{ items: AlertView[] }>(via.url, "GET", "/api/v1/alerts?limit=500")).body.items;
    const mine = outbox.filter((a) => ids.includes(a.jobId));
    assert.equal(mine.length, ids.length, "one outbox row per job");
    assert.ok(mine.every((a) => a.status === "delivered"));
  };

  it("records and delivers each failure once, whichever node it failed on", async () => {
    await waitUntil(async () => (await leaderOf(nodes.get("n1")!)) !== null, { what: "a leader" });
    const ids = await failJobs([...nodes.values()], 12);
    await assertDeliveredOnce(ids, nodes.get("n1")!);
    assert.equal(hook.received.length, ids.length, "nothing else was sent");
  });

  it("a new leader continues from the cursor: failures while it took over are alerted once", async () => {
    const leaderId = (await leaderOf(nodes.get("n1")!))!;
    const otherId = leaderId === "n1" ? "n2" : "n1";
    const other = nodes.get(otherId)!;
    await nodes.get(leaderId)!.stop();
    nodes.delete(leaderId);
    // Failures right away, while the survivor may not lead yet.
    const ids = await failJobs([other], 6);
    await waitUntil(async () => (await leaderOf(other)) === otherId, { what: `${otherId} to lead` });
    await assertDeliveredOnce(ids, other);
    const counts = countBy(deliveredJobs(), (id) => id);
    assert.ok(
      Object.values(counts).every((n) => n === 1),
      "no failure from before the takeover sent again",
    );
  });
});
