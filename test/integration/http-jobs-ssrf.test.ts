/**
 * The SSRF guard as users meet it, against a real server and real targets on loopback addresses: http
 * jobs aimed at internal addresses in every notation fail their one attempt with HTTP_TARGET_DENIED
 * (not retried, nothing sent, the same answer for an open and a closed port); `httpAllow` opens exactly
 * what it names, and a redirect out of it is refused; a real `bosun worker` process applies the policy
 * its server sends at registration, not one of its own; an alert webhook is held to the same policy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { workerKey } from "../helpers/auth.ts";
import { api, type BosunProcess, startBosun, waitDone } from "../helpers/bosun-process.ts";
import { httpTarget } from "../helpers/http-target.ts";
import { startServer, startWorker } from "../helpers/in-process.ts";
import { tempDir, waitUntil } from "../helpers/wait.ts";

type Job = {
  id: string;
  status: string;
  attempts: number;
  workerId: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
};
type Attempt = { status: string; error: { code: string; message: string } | null };
type Server = Awaited<ReturnType<typeof startServer>>;
type Target = Awaited<ReturnType<typeof httpTarget>>;

async function submitAll(s: Server, urls: string[]): Promise<Job[]> {
  const res = await api<{ jobs: Job[] }>(s.url, "POST", "/api/v1/jobs/batch", {
    jobs: urls.map((url) => ({
      type: "http",
      payload: { url, method: "GET" },
      maxAttempts: 3,
      backoff: { type: "fixed", delayMs: 10 },
    })),
  });
  assert.equal(res.status, 201, res.text);
  return Promise.all(res.body.jobs.map((j) => waitDone<Job>(s.url, j.id)));
}

async function assertDenied(s: Server, job: Job, what: string): Promise<string> {
  assert.equal(job.status, "failed", what);
  assert.equal(job.error?.code, "HTTP_TARGET_DENIED", `${what}: ${job.error?.message}`);
  assert.equal(job.attempts, 1, `${what}: not retried`);
  const attempts = await api<{ items: Attempt[] }>(s.url, "GET", `/api/v1/jobs/${job.id}/attempts`);
  assert.deepEqual(
    attempts.body.items.map((a) => [a.status, a.error?.code]),
    [["failed", "HTTP_TARGET_DENIED"]],
    `${what}: recorded on the attempt`,
  );
  return job.error!.message;
}

describe("http jobs: the SSRF guard", () => {
  let sink: Target; // 127.0.0.1:P, records every request it gets
  let sink6: Target; // [::1]:P
  let inner: Target; // 127.0.0.2:P
  before(async () => {
    sink = await httpTarget();
    sink6 = await httpTarget(() => 200, { host: "::1", port: sink.port });
    inner = await httpTarget(() => 200, { host: "127.0.0.2", port: sink.port });
  });
  after(async () => {
    await sink.close();
    await sink6.close();
    await inner.close();
  });
  const sent = () => sink.received.length + sink6.received.length + inner.received.length;

  it("refuses loopback in every notation, metadata, private, unique-local and multicast by default", async () => {
    const s = await startServer({ concurrency: 4 });
    const before = sent();
    try {
      const p = sink.port;
      const cases = [
        `http://127.0.0.1:${p}/`,
        `http://localhost:${p}/`,
        `http://[::1]:${p}/`,
        `http://[::ffff:127.0.0.1]:${p}/`,
        `http://0.0.0.0:${p}/`,
        `http://2130706433:${p}/`,
        `http://0177.0.0.1:${p}/`,
        `http://127.0.0.2:${p}/`,
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.0.1/",
        "http://100.100.100.200/",
        "http://[fc00::1]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://[::]/",
      ];
      const jobs = await submitAll(s, cases);
      for (const [i, job] of jobs.entries()) await assertDenied(s, job, cases[i]!);
      assert.equal(sent(), before, "no request reached a loopback target");
    } finally {
      await s.stop();
    }
  });

  it("refuses a URL with credentials at submission (they would not be sent), storing nothing", async () => {
    const s = await startServer({ concurrency: 0 });
    try {
      for (const url of [
        "http://user:pw@example.com/",
        "https://user@example.com",
        "http://:pw@example.com?x",
      ]) {
        const res = await api<{ error: { code: string } }>(s.url, "POST", "/api/v1/jobs", {
          type: "http",
          payload: { url },
        });
        assert.equal(res.status, 400, url);
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
      }
      const ok = await api(s.url, "POST", "/api/v1/jobs", {
        type: "http",
        payload: { url: "https://example.com/a@b?c=d@e" },
      });
      assert.equal(ok.status, 201, "an @ after the host is part of the path");
      const list = await api<{ items: unknown[] }>(s.url, "GET", "/api/v1/jobs");
      assert.equal(list.body.items.length, 1);
    } finally {
      await s.stop();
    }
  });

  it("answers an open and a closed port alike: no port scan through error codes", async () => {
    const s = await startServer({ concurrency: 2 });
    try {
      const closed = await httpTarget();
      const closedPort = closed.port;
      await closed.close();
      const [open, shut] = await submitAll(s, [
        `http://127.0.0.1:${sink.port}/`,
        `http://127.0.0.1:${closedPort}/`,
      ]);
      const a = await assertDenied(s, open!, "open port");
      const b = await assertDenied(s, shut!, "closed port");
      assert.equal(a.replace(String(sink.port), "P"), b.replace(String(closedPort), "P"));
    } finally {
      await s.stop();
    }
  });

  it("--http-allow 127.0.0.1 opens exactly it: 127.0.0.2 and a redirect there stay refused", async () => {
    const s = await startServer({ concurrency: 2, httpAllow: ["127.0.0.1"] });
    const redirector = await httpTarget(() => 302, {
      headers: () => ({ location: `http://127.0.0.2:${inner.port}/internal` }),
    });
    const innerBefore = inner.received.length;
    try {
      const [ok, direct, redirected] = await submitAll(s, [
        `${sink.url}/allowed`,
        `http://127.0.0.2:${inner.port}/`,
        `${redirector.url}/go`,
      ]);
      assert.equal(ok!.status, "completed");
      assert.equal((ok!.result as { status: number }).status, 200);
      assert.ok(sink.received.some((r) => r.url === "/allowed"));
      await assertDenied(s, direct!, "127.0.0.2");
      const message = await assertDenied(s, redirected!, "a redirect to 127.0.0.2");
      assert.match(
        message,
        /redirected to http:\/\/127\.0\.0\.2:\d+\/internal: 127\.0\.0\.2 is not allowed \(loopback\)/,
      );
      assert.equal(redirector.received.length, 1, "one attempt: the refusal is not retried");
      assert.equal(inner.received.length, innerBefore);
    } finally {
      await redirector.close();
      await s.stop();
    }
  });

  it("a remote `bosun worker` applies the policy its server sends at registration, not its own", async () => {
    const s = await startServer({ concurrency: 0, httpAllow: ["127.0.0.1"] });
    const dir = await tempDir();
    let worker: BosunProcess | undefined;
    try {
      const reg = await api<{ httpPolicy: unknown }>(
        s.url,
        "POST",
        "/api/v1/workers/register",
        { id: "probe", capacity: 1, types: ["http"] },
        { authorization: `Bearer ${await workerKey(s.url)}` },
      );
      assert.equal(reg.status, 200, reg.text);
      assert.deepEqual(reg.body.httpPolicy, { allow: ["127.0.0.1"], deny: [] });
      await api(s.url, "POST", "/api/v1/workers/probe/drain");
      worker = await startBosun(
        [
          "worker",
          "--server",
          s.url,
          "--id",
          "remote",
          "--concurrency",
          "2",
          "--work-dir",
          join(dir.path, "w"),
        ],
        // Its own environment opens 127.0.0.2: the server's policy is what counts.
        { readyLine: "worker is up", env: { BOSUN_HTTP_ALLOW: "127.0.0.2" } },
      );
      const innerBefore = inner.received.length;
      const [ok, denied] = await submitAll(s, [`${sink.url}/from-worker`, `http://127.0.0.2:${inner.port}/`]);
      assert.equal(ok!.status, "completed", ok!.error?.message);
      assert.equal(ok!.workerId, "remote");
      await assertDenied(s, denied!, "127.0.0.2 from the worker");
      assert.equal(denied!.workerId, "remote");
      assert.equal(inner.received.length, innerBefore);
      assert.ok(worker.lines.some((l) => l.includes("outbound policy from the server")));
    } finally {
      await worker?.kill();
      await s.stop();
      await dir.remove();
    }
  });

  it("a worker of a server that opens nothing refuses loopback", async () => {
    const s = await startServer({ concurrency: 0 });
    const w = await startWorker({ server: s.url, id: "w", capacity: 1 });
    try {
      assert.deepEqual(w.outbound.policy.spec, { allow: [], deny: [] });
      const [job] = await submitAll(s, [`${sink.url}/`]);
      await assertDenied(s, job!, "loopback from a worker");
      assert.equal(job!.workerId, "w");
    } finally {
      await w.stop();
      await s.stop();
    }
  });

  it("refuses an alert webhook to a loopback address at once, without retrying or sending it", async () => {
    const hook = await httpTarget();
    const s = await startServer({ concurrency: 2, alertWebhookUrl: `${hook.url}/alert` });
    try {
      const res = await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", {
        type: "shell",
        payload: { command: "exit 3" },
        maxAttempts: 1,
      });
      await waitDone(s.url, res.body.job.id);
      type AlertOut = { jobId: string; status: string; attempts: number; lastError: string | null };
      const alert = await waitUntil(
        async () => {
          const list = await api<{ items: AlertOut[] }>(s.url, "GET", "/api/v1/alerts");
          const a = list.body.items.find((x) => x.jobId === res.body.job.id);
          return a && a.status !== "pending" ? a : null;
        },
        { what: "the alert's outcome" },
      );
      assert.equal(alert.status, "failed");
      assert.equal(alert.attempts, 1);
      assert.match(alert.lastError ?? "", /^HTTP_TARGET_DENIED: 127\.0\.0\.1 is not allowed \(loopback\)/);
      assert.equal(hook.received.length, 0);
    } finally {
      await s.stop();
      await hook.close();
    }
  });
});
