/**
 * The CLI run in-process through main(argv, io, env) against a real local HTTP server (node:http) with
 * canned answers: the request each command sends, what it prints, and its exit code.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { createContext } from "../../src/cli/context.ts";
import { buildProgram, commandWord } from "../../src/cli/main.ts";
import type { ApiJob } from "../../src/sdk/types.ts";
import { runCli } from "../helpers/cli.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
type Route = (req: Seen, res: ServerResponse) => void;

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
let url = "";

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const ID = "01a206d7-59be-76ab-bbe6-7eaefd71f4dd";

function job(over: Partial<ApiJob> = {}): ApiJob {
  return {
    id: ID,
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
    // Minutes, not seconds: the file may load long before a test runs on a busy machine.
    createdAt: new Date(Date.now() - 5 * 60_000 - 30_000).toISOString(),
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

/** Runs `bosun <args>` in this process against the fake server; stdout and stderr are captured. */
function bosun(args: string[], env: Record<string, string> = { BOSUN_URL: url }) {
  return runCli(args, env);
}

before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  routes.clear();
  seen.length = 0;
});

describe("bosun CLI errors", () => {
  it("exits 2 with a hint when the server cannot be reached", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    const r = await bosun(["--server", dead, "status", ID]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.equal(
      r.err,
      `bosun: cannot reach the Bosun server at ${dead} (is it running? set --server or BOSUN_URL)\n`,
    );
  });

  it("exits 1 with the API's code for an unknown job", async () => {
    routes.set("GET /api/v1/jobs/nope", (_r, res) =>
      send(res, 404, { error: { code: "JOB_NOT_FOUND", message: "No job has the id nope" } }),
    );
    const r = await bosun(["status", "nope"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "bosun: JOB_NOT_FOUND: No job has the id nope\n");
  });

  it("rejects an unknown output format and bad flag values before any request", async () => {
    assert.equal((await bosun(["-o", "yaml", "list"])).code, 1);
    const r = await bosun(["list", "--limit", "many"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /--limit must be an integer/);
    assert.equal(seen.length, 0);
  });
});

describe("bosun submit", () => {
  it("sends the words after -- as a shell command, with the flags, and prints the id", async () => {
    routes.set("POST /api/v1/jobs", (_r, res) => send(res, 201, { job: job() }));
    const flags = "--queue reports --priority 5 --max-attempts 2 --timeout 60000 --delay 1000";
    const r = await bosun([
      "submit",
      ...flags.split(" "),
      "--idempotency-key",
      "k1",
      "--tag",
      "a",
      "--tag",
      "b",
      "--",
      "echo",
      "hello",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${ID}\n`);
    assert.deepEqual(JSON.parse(seen[0]!.body), {
      type: "shell",
      payload: { command: "echo hello" },
      queue: "reports",
      priority: 5,
      maxAttempts: 2,
      timeoutMs: 60000,
      delayMs: 1000,
      idempotencyKey: "k1",
      tags: ["a", "b"],
    });
  });

  it("takes --payload JSON for other types and refuses a shell command for them", async () => {
    routes.set("POST /api/v1/jobs", (_r, res) => send(res, 201, { job: job({ type: "sleep" }) }));
    const ok = await bosun(["submit", "--type", "sleep", "--payload", '{"durationMs":10}']);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(JSON.parse(seen[0]!.body), { type: "sleep", payload: { durationMs: 10 } });
    const bad = await bosun(["submit", "--type", "sleep", "--", "echo", "hi"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--payload/);
    assert.equal(seen.length, 1);
  });

  it("--wait follows the log to stdout, marks the attempt on stderr, exits with the job's code", async () => {
    routes.set("POST /api/v1/jobs", (_r, res) => send(res, 201, { job: job() }));
    routes.set(`GET /api/v1/jobs/${ID}/logs`, (_r, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("hello\n");
      setTimeout(() => res.end("world\n"), 30);
    });
    const error = {
      code: "EXIT_NONZERO",
      message: "The command exited with status 7",
      details: { exitCode: 7 },
    };
    const failed = job({ status: "failed", attempts: 1, maxAttempts: 1, workerId: "w1", error });
    routes.set(`GET /api/v1/jobs/${ID}`, (_r, res) => send(res, 200, { job: failed }));
    routes.set(`GET /api/v1/jobs/${ID}/attempts`, (_r, res) =>
      send(res, 200, { items: [{ attempt: 1, status: "failed", workerId: "w1", exitCode: 7, error }] }),
    );
    const r = await bosun(["submit", "--wait", "--", "sh", "-c", "echo hello; echo world; exit 7"]);
    assert.deepEqual(JSON.parse(seen[0]!.body).payload, {
      command: "sh -c 'echo hello; echo world; exit 7'",
    });
    assert.equal(r.out, "hello\nworld\n");
    assert.equal(r.code, 7);
    assert.equal(
      r.err,
      `submitted ${ID}\n--- attempt 1 of 1 (worker w1) ---\n` +
        "--- attempt 1 failed: EXIT_NONZERO: The command exited with status 7 ---\n" +
        `bosun: job ${ID} failed: EXIT_NONZERO: The command exited with status 7\n`,
    );
    assert.match(seen.find((s) => s.url.includes("/logs"))!.url, /follow=true/);
  });

  it("--wait exits 0 for a completed job and 1 for a failed non-shell job", async () => {
    routes.set("POST /api/v1/jobs", (_r, res) => send(res, 201, { job: job({ type: "sleep" }) }));
    routes.set(`GET /api/v1/jobs/${ID}/logs`, (_r, res) => res.end(""));
    let status: ApiJob["status"] = "completed";
    routes.set(`GET /api/v1/jobs/${ID}`, (_r, res) =>
      send(res, 200, { job: job({ type: "sleep", status }) }),
    );
    assert.equal((await bosun(["submit", "--wait", "-t", "sleep", "--payload", "{}"])).code, 0);
    status = "failed";
    assert.equal((await bosun(["submit", "--wait", "-t", "sleep", "--payload", "{}"])).code, 1);
  });
});

describe("bosun list", () => {
  const jobs = [
    job({ id: `${ID.slice(0, -1)}1`, status: "failed", error: { code: "EXIT_NONZERO", message: "x" } }),
    job({ id: `${ID.slice(0, -1)}2`, type: "http", queue: "webhooks", status: "completed", priority: 10 }),
  ];

  it("renders an aligned table with full ids", async () => {
    routes.set("GET /api/v1/jobs", (_r, res) => send(res, 200, { items: jobs, nextCursor: null }));
    const r = await bosun(["list", "--status", "failed,completed", "--queue", "webhooks", "-n", "2"]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ID\s+TYPE\s+QUEUE\s+STATUS\s+PRI\s+ATTEMPTS\s+CREATED\s+ERROR$/);
    assert.ok(lines[1]!.startsWith(jobs[0]!.id));
    assert.ok(lines[2]!.startsWith(jobs[1]!.id));
    const col = lines[0]!.indexOf("STATUS");
    assert.equal(lines[1]!.slice(col).split(/\s+/)[0], "failed");
    assert.equal(lines[2]!.slice(col).split(/\s+/)[0], "completed");
    assert.match(lines[1]!, /5m ago\s+EXIT_NONZERO$/);
    const q = new URL(seen[0]!.url, url).searchParams;
    assert.equal(q.get("status"), "failed,completed");
    assert.equal(q.get("queue"), "webhooks");
    assert.equal(q.get("limit"), "2");
  });

  it("prints parseable JSON with -o json, before or after the command", async () => {
    routes.set("GET /api/v1/jobs", (_r, res) => send(res, 200, { items: jobs, nextCursor: "7" }));
    for (const args of [
      ["-o", "json", "list", "-n", "2"],
      ["list", "--output", "json", "-n", "2"],
    ]) {
      const r = await bosun(args);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out), { items: jobs, nextCursor: "7" });
    }
  });

  it("--all follows nextCursor to the last page", async () => {
    routes.set("GET /api/v1/jobs", (r, res) => {
      const cursor = new URL(r.url, url).searchParams.get("cursor");
      send(res, 200, cursor ? { items: [jobs[1]], nextCursor: null } : { items: [jobs[0]], nextCursor: "1" });
    });
    const r = await bosun(["-o", "json", "list", "--all"]);
    assert.deepEqual(JSON.parse(r.out), { items: jobs, nextCursor: null });
    assert.equal(seen.length, 2);
  });
});

describe("bosun status, wait, cancel, nodes", () => {
  it("status shows the job's fields and its attempts", async () => {
    routes.set(`GET /api/v1/jobs/${ID}`, (_r, res) => send(res, 200, { job: job({ status: "running" }) }));
    routes.set(`GET /api/v1/jobs/${ID}/attempts`, (_r, res) =>
      send(res, 200, {
        items: [
          {
            attempt: 1,
            status: "running",
            startedAt: null,
            finishedAt: null,
            durationMs: 1200,
            workerId: "w1",
          },
        ],
      }),
    );
    const r = await bosun(["status", ID]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^id\\s+${ID}$`, "m"));
    assert.match(r.out, /^status\s+running$/m);
    assert.match(r.out, /^progress\s+-$/m);
    assert.match(r.out, /^1\s+running\s+-\s+1\.2 s\s+w1/m);
  });

  it("status shows the progress a job reported, also once it has ended", async () => {
    routes.set(`GET /api/v1/jobs/${ID}`, (_r, res) =>
      send(res, 200, { job: job({ status: "completed", progress: 100 }) }),
    );
    routes.set(`GET /api/v1/jobs/${ID}/attempts`, (_r, res) => send(res, 200, { items: [] }));
    const r = await bosun(["status", ID]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^progress\s+100%$/m);
  });

  it("wait exits with the job's code, and 124 when --timeout runs out", async () => {
    let status: ApiJob["status"] = "completed";
    routes.set(`GET /api/v1/jobs/${ID}`, (_r, res) =>
      send(res, 200, { job: job({ status, result: { exitCode: 0, stdout: "", stderr: "" } }) }),
    );
    const done = await bosun(["wait", ID]);
    assert.equal(done.code, 0);
    assert.equal(done.out, `${ID} completed\n`);
    status = "running";
    const late = await bosun(["wait", ID, "--timeout", "100"]);
    assert.equal(late.code, 124);
    assert.match(late.err, /still running/);
  });

  it("cancel posts and reports a 409 as an API error", async () => {
    routes.set(`POST /api/v1/jobs/${ID}/cancel`, (_r, res) =>
      send(res, 409, { error: { code: "INVALID_STATE", message: "The job already completed" } }),
    );
    const r = await bosun(["cancel", ID]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "bosun: INVALID_STATE: The job already completed\n");
  });

  it("nodes marks the answering node; the token comes from BOSUN_TOKEN", async () => {
    routes.set("GET /api/v1/cluster", (_r, res) =>
      send(res, 200, {
        self: "n1",
        leader: "n1",
        nodes: [
          {
            id: "n1",
            address: "http://a:8080",
            role: "leader",
            lastSeenAt: new Date().toISOString(),
            version: "0.1.0",
          },
          {
            id: "n2",
            address: "http://b:8080",
            role: "follower",
            lastSeenAt: new Date().toISOString(),
            version: "0.1.0",
          },
        ],
      }),
    );
    const r = await bosun(["nodes"], { BOSUN_URL: url, BOSUN_TOKEN: "s3cret" });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^n1 \*\s+leader\s+http:\/\/a:8080/m);
    assert.match(r.out, /^n2\s+follower/m);
    assert.equal(seen[0]!.headers.authorization, "Bearer s3cret");
  });
});

describe("commandWord", () => {
  const program = buildProgram(createContext({ out: () => {}, err: () => {} }, {}));
  it("skips global options and their values", () => {
    assert.equal(commandWord(program, ["--server", "http://x", "-o", "json", "list"]), "list");
    assert.equal(commandWord(program, ["--server=http://x", "-ojson", "status", "id"]), "status");
    assert.equal(commandWord(program, ["--help"]), undefined);
    assert.equal(commandWord(program, []), undefined);
  });
});
