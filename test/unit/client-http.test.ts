/**
 * BosunClient against a real local HTTP server (node:http) that answers canned responses: the wire
 * format, error mapping, paging, followed logs (including a dropped connection) and wait().
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  BosunApiError,
  BosunClient,
  BosunUnreachableError,
  BosunWaitTimeoutError,
} from "../../src/sdk/client.ts";
import type { ApiJob } from "../../src/sdk/types.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
type Route = (req: Seen, res: ServerResponse) => void;

/** A server whose routes the tests swap; it records every request. */
function fakeServer() {
  const routes = new Map<string, Route>();
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(r);
      const route = routes.get(`${r.method} ${r.url.split("?")[0]}`);
      if (route) route(r, res);
      else send(res, 404, { error: { code: "ROUTE_NOT_FOUND", message: `no ${r.method} ${r.url}` } });
    });
  });
  return { server, routes, seen };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function job(over: Partial<ApiJob> = {}): ApiJob {
  return {
    id: "01j0000000000000000000000a",
    queue: "default",
    type: "shell",
    payload: { command: "echo hello" },
    status: "queued",
    priority: 0,
    attempts: 0,
    maxAttempts: 3,
    backoff: { type: "exponential", delayMs: 1000 },
    timeoutMs: null,
    runAt: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: null,
    startedAt: null,
    finishedAt: null,
    result: null,
    error: null,
    progress: null,
    workerId: null,
    leaseExpiresAt: null,
    idempotencyKey: null,
    owner: "local",
    tags: [],
    constraints: {},
    scheduleId: null,
    scheduledTime: null,
    ...over,
  };
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe("BosunClient", () => {
  const fake = fakeServer();
  let url = "";
  let client: BosunClient;
  before(async () => {
    await new Promise<void>((r) => fake.server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    client = new BosunClient({ url, token: "t0ken" });
  });
  after(() => {
    fake.server.closeAllConnections();
    fake.server.close();
  });

  it("submits JSON with the bearer token and returns the job", async () => {
    fake.routes.set("POST /api/v1/jobs", (_r, res) => send(res, 201, { job: job() }));
    const got = await client.submit({ type: "shell", payload: { command: "echo hello" }, priority: 5 });
    assert.equal(got.id, job().id);
    const req = fake.seen.at(-1)!;
    assert.equal(req.headers.authorization, "Bearer t0ken");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(req.body), {
      type: "shell",
      payload: { command: "echo hello" },
      priority: 5,
    });
  });

  it("submits a batch under {jobs}", async () => {
    fake.routes.set("POST /api/v1/jobs/batch", (r, res) =>
      send(res, 201, { jobs: JSON.parse(r.body).jobs.map((_: unknown, i: number) => job({ id: `j${i}` })) }),
    );
    const got = await client.submitMany([{ type: "sleep" }, { type: "sleep" }]);
    assert.deepEqual(
      got.map((j) => j.id),
      ["j0", "j1"],
    );
  });

  it("turns an error body into BosunApiError with the server's code", async () => {
    fake.routes.set("GET /api/v1/jobs/nope", (_r, res) =>
      send(res, 404, {
        error: { code: "JOB_NOT_FOUND", message: "No job has the id nope", details: { id: "nope" } },
      }),
    );
    const err = await client.get("nope").catch((e: unknown) => e);
    assert.ok(err instanceof BosunApiError);
    assert.equal(err.status, 404);
    assert.equal(err.code, "JOB_NOT_FOUND");
    assert.equal(err.message, "No job has the id nope");
    assert.deepEqual(err.details, { id: "nope" });
  });

  it("reports an error page that is not Bosun's as UNEXPECTED_RESPONSE", async () => {
    fake.routes.set("GET /api/v1/health", (_r, res) => res.writeHead(502).end("<html>Bad Gateway</html>"));
    const err = await client.health().catch((e: unknown) => e);
    assert.ok(err instanceof BosunApiError);
    assert.equal(err.code, "UNEXPECTED_RESPONSE");
    assert.match(err.message, /502.*Bad Gateway/);
  });

  it("treats a 2xx that is not JSON as not a Bosun server", async () => {
    fake.routes.set("GET /api/v1/cluster", (_r, res) => res.writeHead(200).end("<html>hi</html>"));
    await assert.rejects(client.cluster(), BosunUnreachableError);
  });

  it("throws BosunUnreachableError with the URL when nothing listens", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const err = await new BosunClient({ url: dead }).get("x").catch((e: unknown) => e);
    assert.ok(err instanceof BosunUnreachableError);
    assert.equal(err.url, dead);
    assert.match(err.message, new RegExp(`cannot reach the Bosun server at ${dead}.*ECONNREFUSED`));
  });

  it("gives up on a server that does not answer after requestTimeoutMs", async () => {
    fake.routes.set("GET /api/v1/ready", () => {}); // never answers
    const slow = new BosunClient({ url, requestTimeoutMs: 100 });
    await assert.rejects(slow.ready(), /cannot reach the Bosun server .*no answer in time/);
  });

  it("assumes http:// and rejects URLs it cannot use", () => {
    assert.equal(new BosunClient({ url: "127.0.0.1:8080/" }).url, "http://127.0.0.1:8080");
    assert.throws(() => new BosunClient({ url: "ftp://host" }), /Invalid Bosun server URL/);
  });

  it("sends list filters as query parameters and pages with listAll", async () => {
    fake.routes.set("GET /api/v1/jobs", (r, res) => {
      const cursor = new URL(r.url, url).searchParams.get("cursor");
      if (!cursor) send(res, 200, { items: [job({ id: "a" }), job({ id: "b" })], nextCursor: "2" });
      else send(res, 200, { items: [job({ id: "c" })], nextCursor: null });
    });
    await client.list({ status: ["failed", "cancelled"], queue: "q", type: "shell", limit: 2 });
    const q = new URL(fake.seen.at(-1)!.url, url).searchParams;
    assert.deepEqual(Object.fromEntries(q), {
      status: "failed,cancelled",
      queue: "q",
      type: "shell",
      limit: "2",
    });
    const ids: string[] = [];
    for await (const j of client.listAll({ limit: 2 })) ids.push(j.id);
    assert.deepEqual(ids, ["a", "b", "c"]);
    assert.equal(new URL(fake.seen.at(-1)!.url, url).searchParams.get("cursor"), "2");
  });

  it("reads attempts, logs, workers and drains", async () => {
    fake.routes.set("GET /api/v1/jobs/j1/attempts", (_r, res) => send(res, 200, { items: [{ attempt: 1 }] }));
    fake.routes.set("GET /api/v1/jobs/j1/logs", (_r, res) => res.end("line 1\nline 2\n"));
    fake.routes.set("GET /api/v1/workers", (_r, res) => send(res, 200, { items: [{ id: "w1" }] }));
    fake.routes.set("POST /api/v1/workers/w%2F1/drain", (r, res) =>
      send(res, 200, { worker: { id: "w/1", status: JSON.parse(r.body).draining ? "draining" : "active" } }),
    );
    assert.equal((await client.attempts("j1"))[0]!.attempt, 1);
    assert.equal(await client.logs("j1"), "line 1\nline 2\n");
    assert.equal((await client.workers())[0]!.id, "w1");
    assert.equal((await client.drain("w/1")).status, "draining");
    assert.equal((await client.drain("w/1", false)).status, "active");
  });

  it("follows a log as it is written, whole characters across chunk edges", async () => {
    const bytes = Buffer.from("héllo\nwörld\n");
    fake.routes.set("GET /api/v1/jobs/f1/logs", (_r, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(bytes.subarray(0, 2)); // ends inside "é"
      setTimeout(() => res.end(bytes.subarray(2)), 30);
    });
    fake.routes.set("GET /api/v1/jobs/f1", (_r, res) =>
      send(res, 200, { job: job({ status: "completed" }) }),
    );
    let text = "";
    for await (const chunk of client.followLogs("f1")) text += chunk;
    assert.equal(text, "héllo\nwörld\n");
    assert.match(fake.seen.find((r) => r.url.startsWith("/api/v1/jobs/f1/logs"))!.url, /follow=true/);
  });

  it("reconnects a dropped log stream and skips what it already yielded", async () => {
    let calls = 0;
    fake.routes.set("GET /api/v1/jobs/f2/logs", (_r, res) => {
      calls++;
      res.writeHead(200, { "content-type": "text/plain" });
      if (calls === 1) {
        res.write("one\n");
        setTimeout(() => res.socket?.destroy(), 30); // the node goes away mid-stream
      } else res.end("one\ntwo\n"); // the log from the start, as the server replays it
    });
    fake.routes.set("GET /api/v1/jobs/f2", (_r, res) =>
      send(res, 200, { job: job({ status: "completed" }) }),
    );
    let text = "";
    for await (const chunk of client.followLogs("f2")) text += chunk;
    assert.equal(text, "one\ntwo\n");
    assert.equal(calls, 2);
  });

  it("waits, polling until the job ends", async () => {
    let reads = 0;
    fake.routes.set("GET /api/v1/jobs/w1", (_r, res) =>
      send(res, 200, { job: job({ id: "w1", status: ++reads < 3 ? "running" : "failed" }) }),
    );
    const done = await client.wait("w1");
    assert.equal(done.status, "failed");
    assert.equal(reads, 3);
  });

  it("stops waiting at timeoutMs with the last state, and on abort", async () => {
    fake.routes.set("GET /api/v1/jobs/w2", (_r, res) =>
      send(res, 200, { job: job({ id: "w2", status: "running" }) }),
    );
    const err = await client.wait("w2", { timeoutMs: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof BosunWaitTimeoutError);
    assert.equal(err.code, "WAIT_TIMEOUT");
    assert.equal(err.job.status, "running");
    await assert.rejects(client.wait("w2", { signal: AbortSignal.timeout(100) }), { name: "TimeoutError" });
  });
});
