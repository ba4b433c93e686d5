/**
 * GET /api/v1/events on a real server (SQLite) over real sockets: SSE and WebSocket with filters, cursors
 * that resume exactly once, 10,000 changes through 20 subscribers, an expired cursor, a client that stops
 * reading, and a job's log lines and progress.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { adminToken } from "../helpers/auth.ts";
import { api } from "../helpers/bosun-process.ts";
import { type EventMessage, sse, ws } from "../helpers/event-client.ts";
import { startServer, startWorker } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

type Job = { id: string; status: string };
const FAR = 365 * 24 * 3_600_000;

/** Enqueues `n` jobs on `queue`, a year away: one change each, nothing runs them. */
async function enqueueLater(base: string, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, n - i) }, () => ({
      type: "sleep",
      queue,
      payload: { durationMs: 0 },
      delayMs: FAR,
    }));
    const res = await api<{ jobs: Job[] }>(base, "POST", "/api/v1/jobs/batch", { jobs });
    assert.equal(res.status, 201, res.text);
    ids.push(...res.body.jobs.map((j) => j.id));
  }
  return ids;
}

const submit = async (base: string, body: Record<string, unknown>) => {
  const res = await api<{ job: Job }>(base, "POST", "/api/v1/jobs", body);
  assert.equal(res.status, 201, res.text);
  return res.body.job;
};

function assertIncreasing(messages: EventMessage[]): void {
  for (let i = 1; i < messages.length; i++)
    assert.ok(
      messages[i]!.seq! > messages[i - 1]!.seq!,
      `seq ${messages[i]!.seq} after ${messages[i - 1]!.seq}`,
    );
}

describe("live events API (SQLite)", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 4 });
  });
  after(() => s.stop());

  it("SSE delivers the changes of submitted jobs, filters applied, in sequence order", async () => {
    const c = await sse(s.url, "queue=sse-a&status=queued,completed");
    const wanted = await Promise.all(
      [1, 2, 3].map(() => submit(s.url, { type: "sleep", queue: "sse-a", payload: { durationMs: 0 } })),
    );
    const other = await submit(s.url, { type: "sleep", queue: "sse-b", payload: { durationMs: 0 } });
    await waitUntil(() => c.jobs().filter((m) => m.to === "completed").length === 3, {
      what: "three completions",
    });
    // The other queue's job ended too: had the filter let it through, it would be here by now.
    await waitUntil(
      async () =>
        (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${other.id}`)).body.job.status === "completed",
    );
    c.close();
    const jobs = c.jobs();
    assert.deepEqual(new Set(jobs.map((m) => m.jobId)), new Set(wanted.map((j) => j.id)));
    assert.ok(jobs.every((m) => m.queue === "sse-a" && (m.to === "queued" || m.to === "completed")));
    assert.equal(jobs.filter((m) => m.to === "queued").length, 3);
    assertIncreasing(jobs);
    // Each message's SSE id is its seq.
    const ids = c.ids.filter((_id, i) => c.messages[i]!.kind === "job");
    assert.deepEqual(
      ids,
      jobs.map((m) => String(m.seq)),
    );
  });

  it("WebSocket delivers the same changes on the same path, filters applied", async () => {
    const c = await ws(s.url, "queue=ws-a&type=sleep");
    const job = await submit(s.url, { type: "sleep", queue: "ws-a", payload: { durationMs: 0 } });
    await submit(s.url, { type: "sleep", queue: "ws-b", payload: { durationMs: 0 } });
    await waitUntil(() => c.jobs().some((m) => m.to === "completed"), { what: "the completion" });
    c.close();
    await c.ended;
    const jobs = c.jobs();
    assert.deepEqual(
      jobs.map((m) => [m.jobId, m.event]),
      [
        [job.id, "enqueue"],
        [job.id, "claim"],
        [job.id, "complete"],
      ],
    );
    assertIncreasing(jobs);
  });

  it("a client that reconnects with since=N, or Last-Event-ID: N, gets N+1… exactly once", async () => {
    const reference = await sse(s.url, "queue=resume");
    const first = await sse(s.url, "queue=resume");
    await enqueueLater(s.url, "resume", 50);
    await waitUntil(() => first.jobs().length >= 20, { what: "20 changes" });
    first.close();
    const n = first.jobs()[19]!.seq!;
    // Changes made while no one is connected.
    await enqueueLater(s.url, "resume", 50);
    await waitUntil(() => reference.jobs().length === 100, { what: "the reference's 100 changes" });
    const expected = reference
      .jobs()
      .filter((m) => m.seq! > n)
      .map((m) => m.seq);
    const reconnected = [
      await sse(s.url, `queue=resume&since=${n}`),
      // EventSource sends the header to the URL it was first given: the header wins.
      await sse(s.url, "queue=resume&since=1", { "last-event-id": String(n) }),
      await ws(s.url, `queue=resume&since=${n}`),
    ];
    // One more change, live: a repeated or late one would arrive before it.
    await enqueueLater(s.url, "resume", 1);
    await waitUntil(() => reference.jobs().length === 101, { what: "the last change" });
    expected.push(reference.jobs()[100]!.seq);
    for (const again of reconnected) {
      await waitUntil(() => again.jobs().at(-1)?.seq === expected.at(-1), { what: "the changes after N" });
      again.close();
      assert.deepEqual(
        again.jobs().map((m) => m.seq),
        expected,
      );
    }
    reference.close();
  });

  it("10,000 changes through 20 concurrent subscribers: none lost, none repeated, in order", async () => {
    const subscribers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? sse(s.url, "queue=bulk") : ws(s.url, "queue=bulk"),
      ),
    );
    const ids = await enqueueLater(s.url, "bulk", 10_000);
    const feed = (await s.server.runtime.store.readFeed(0, 1_000_000))
      .filter((e) => e.queue === "bulk")
      .map((e) => e.seq);
    assert.equal(feed.length, 10_000);
    await waitUntil(() => subscribers.every((c) => c.jobs().length >= 10_000), {
      timeoutMs: 60_000,
      what: "10,000 changes at every subscriber",
    });
    for (const c of subscribers) {
      c.close();
      const jobs = c.jobs();
      assert.equal(jobs.length, 10_000);
      assert.deepEqual(
        jobs.map((m) => m.seq),
        feed,
      );
      assert.equal(new Set(jobs.map((m) => m.jobId)).size, ids.length);
    }
  });

  it("a client that stops reading is closed once its buffer passes the bound; the server stays healthy", async () => {
    const healthy = await sse(s.url, "queue=slow");
    const url = new URL(s.url);
    // The server's end of the slow client's connection: its closing is what this waits for. Listened for
    // before connecting: the server may accept before the client hears it is connected.
    const accepted: net.Socket[] = [];
    const onConnection = (sock: net.Socket) => accepted.push(sock);
    s.server.app.server.on("connection", onConnection);
    const client = net.connect(Number(url.port), url.hostname);
    await new Promise((r) => client.once("connect", r));
    client.write(
      `GET /api/v1/events?queue=slow HTTP/1.1\r\nhost: ${url.host}\r\naccept: text/event-stream\r\nauthorization: Bearer ${await adminToken(s.url)}\r\n\r\n`,
    );
    // Never read: the kernel's buffers fill, then the server's.
    client.pause();
    const serverSide = await waitUntil(() => accepted.find((sock) => sock.remotePort === client.localPort), {
      what: "the server's socket",
    });
    s.server.app.server.off("connection", onConnection);
    let sent = 0;
    await waitUntil(
      async () => {
        if (serverSide.destroyed) return true;
        if (sent >= 100_000) throw new Error(`still open after ${sent} changes`);
        await enqueueLater(s.url, "slow", 1000);
        sent += 1000;
        return false;
      },
      { timeoutMs: 120_000, intervalMs: 0, what: "the slow client closed" },
    );
    client.destroy();
    // Everyone else still gets everything, and the server answers.
    await waitUntil(() => healthy.jobs().length === sent, { timeoutMs: 60_000, what: "every change" });
    healthy.close();
    assert.equal((await api(s.url, "GET", "/api/v1/health")).status, 200);
  });

  it("logs=true and progress=true add the job's log lines and progress, the lines before its end", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const worker = await startWorker({
      server: s.url,
      id: "events-logger",
      capacity: 1,
      pollWaitMs: 200,
      handlers: {
        "events-log": async (_job, ctx) => {
          ctx.log("first line");
          ctx.progress(40);
          await gate;
          for (let i = 0; i < 20; i++) ctx.log(`line ${i}`);
          ctx.progress(90);
          return { ok: true };
        },
      },
    });
    try {
      const job = await submit(s.url, { type: "events-log", queue: "logs", payload: {} });
      await waitUntil(
        async () =>
          (await api<{ job: Job }>(s.url, "GET", `/api/v1/jobs/${job.id}`)).body.job.status === "running",
      );
      const c = await sse(s.url, `jobId=${job.id}&logs=true&progress=true&since=0`);
      await waitUntil(() => c.messages.some((m) => m.kind === "progress" && m.progress === 40), {
        what: "progress 40",
      });
      release();
      await waitUntil(() => c.jobs().some((m) => m.event === "complete"), { what: "the completion" });
      c.close();
      const text = c.messages
        .filter((m) => m.kind === "log")
        .map((m) => m.data)
        .join("");
      const complete = c.messages.findIndex((m) => m.event === "complete");
      const lastLog = c.messages.findLastIndex((m) => m.kind === "log");
      assert.match(text, /first line/);
      assert.match(text, /line 19/);
      assert.ok(lastLog < complete, "every log line comes before the completion");
      assert.deepEqual(
        c.jobs().map((m) => m.event),
        ["enqueue", "claim", "complete"],
      );
      // Each log message's cursor is <seq>:<logSeq>; a reconnect from one repeats no line.
      const at = c.messages.findIndex((m) => m.kind === "log");
      const cursor = c.ids[at]!;
      assert.match(cursor, /^\d+:\d+$/);
      const again = await sse(s.url, `jobId=${job.id}&logs=true`, { "last-event-id": cursor });
      await waitUntil(() => again.jobs().some((m) => m.event === "complete"), { what: "the replay" });
      again.close();
      const replayed = again.messages.filter((m) => m.kind === "log").map((m) => m.logSeq);
      const later = c.messages
        .slice(at + 1)
        .filter((m) => m.kind === "log")
        .map((m) => m.logSeq);
      assert.deepEqual(replayed, later);
    } finally {
      await worker.stop();
    }
  });

  it("refuses bad queries with 400 (SSE) and 4400 (WebSocket)", async () => {
    for (const q of ["status=bogus", "logs=true", "since=abc", "nope=1"]) {
      const res = await api(s.url, "GET", `/api/v1/events?${q}`, undefined, { accept: "text/event-stream" });
      assert.equal(res.status, 400, q);
    }
    const c = await ws(s.url, "progress=true");
    await c.ended;
    assert.equal(c.closeCode, 4400);
    assert.equal(c.messages[0]?.error?.code, "VALIDATION_FAILED");
  });
});

describe("live events API: a cursor older than retention", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 0 });
  });
  after(() => s.stop());

  it("is 410 EVENTS_EXPIRED on SSE, and that error then close code 4410 on WebSocket", async () => {
    // Two batches of five: two rows of the feed (store/feed.ts), the first removed by retention.
    await enqueueLater(s.url, "old", 5);
    await enqueueLater(s.url, "old", 5);
    const store = s.server.runtime.store;
    const removed = await store.pruneFeed(Date.now() + 60_000, 1);
    assert.equal(removed, 1);
    const { oldest } = await store.feedBounds();

    const expired = await sse(s.url, "since=0");
    assert.equal(expired.status, 410);
    assert.equal(JSON.parse(expired.body!).error.code, "EVENTS_EXPIRED");
    const header = await sse(s.url, "", { "last-event-id": String(oldest - 2) });
    assert.equal(header.status, 410);

    const socket = await ws(s.url, "since=0");
    await socket.ended;
    assert.equal(socket.closeCode, 4410);
    assert.equal(socket.messages[0]?.error?.code, "EVENTS_EXPIRED");

    // The oldest kept change's predecessor is still a complete cursor.
    const ok = await sse(s.url, `since=${oldest - 1}`);
    assert.equal(ok.status, 200);
    await waitUntil(() => ok.jobs().length === 5, { what: "the five kept changes" });
    ok.close();
  });
});
