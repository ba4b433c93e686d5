/**
 * The `http` executor on its own, against real servers on 127.0.0.1 (opened by its policy): what an
 * attempt sends and records, and each way it fails, with its code (HTTP_STATUS, NETWORK_ERROR, TIMEOUT,
 * TOO_MANY_REDIRECTS) and whether it is retried.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { JobFailure } from "../../src/core/errors.ts";
import type { Claim } from "../../src/core/job.ts";
import type { ExecContext } from "../../src/executors/executor.ts";
import { BODY_LIMIT_CHARS, HttpExecutor, MAX_REDIRECTS } from "../../src/executors/http.ts";
import { OutboundClient } from "../../src/outbound/outbound-client.ts";
import { OutboundPolicy } from "../../src/outbound/outbound-policy.ts";
import { httpTarget } from "../helpers/http-target.ts";

const claim = (payload: unknown): Claim => ({
  id: "j1",
  attempt: 1,
  workerId: "w",
  lease: "l",
  queue: "default",
  type: "http",
  payload,
  timeoutMs: null,
  maxAttempts: 3,
  leaseExpiresAt: Date.now() + 60_000,
  scheduledTime: null,
});

function context(signal = new AbortController().signal): ExecContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    signal,
    lines,
    log: (data) => lines.push(data),
    progress: () => {},
    workDir: async () => "/nonexistent",
  };
}

async function failure(p: Promise<unknown>): Promise<JobFailure> {
  const err = await p.then(
    () => assert.fail("the attempt succeeded"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof JobFailure, String(err));
  return err;
}

describe("http executor", () => {
  const client = new OutboundClient({ policy: new OutboundPolicy({ allow: ["127.0.0.1"], deny: [] }) });
  const http = new HttpExecutor({ client });
  let silent: Server; // accepts and never answers
  let silentUrl: string;
  before(async () => {
    silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(async () => {
    client.close();
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });

  it("sends the method, headers and a JSON body, and records status, body and duration", async () => {
    const target = await httpTarget(() => 201);
    try {
      const ctx = context();
      const out = await http.run(
        claim({ url: `${target.url}/hook?x=1`, headers: { "X-Token": "t" }, body: { a: 1 } }),
        ctx,
      );
      const [r] = target.received;
      assert.equal(r!.method, "POST");
      assert.equal(r!.url, "/hook?x=1");
      assert.equal(r!.headers["x-token"], "t");
      assert.equal(r!.headers["content-type"], "application/json");
      assert.equal(r!.body, '{"a":1}');
      assert.equal(out.httpStatus, 201);
      const result = out.result as { status: number; body: string; durationMs: number };
      assert.equal(result.status, 201);
      assert.equal(result.body, "ok");
      assert.ok(Number.isInteger(result.durationMs));
      assert.match(ctx.lines.join(""), /POST http:\/\/127\.0\.0\.1:\d+\/hook → 201/);
    } finally {
      await target.close();
    }
  });

  it("fails a non-2xx answer with HTTP_STATUS, retryable, with the status and body", async () => {
    const target = await httpTarget(() => 503);
    try {
      const err = await failure(http.run(claim({ url: target.url, method: "GET" }), context()));
      assert.equal(err.code, "HTTP_STATUS");
      assert.equal(err.retryable, true);
      assert.equal(err.httpStatus, 503);
      assert.deepEqual(err.details, { status: 503, body: "ok" });
    } finally {
      await target.close();
    }
  });

  it("keeps the first BODY_LIMIT_CHARS characters of a long answer", async () => {
    const big = createServer((_req, res) => res.end("é".repeat(BODY_LIMIT_CHARS * 3)));
    await new Promise<void>((r) => big.listen(0, "127.0.0.1", r));
    try {
      const out = await http.run(
        claim({ url: `http://127.0.0.1:${(big.address() as AddressInfo).port}/`, method: "GET" }),
        context(),
      );
      assert.equal((out.result as { body: string }).body, "é".repeat(BODY_LIMIT_CHARS));
    } finally {
      big.closeAllConnections();
      await new Promise((r) => big.close(r));
    }
  });

  it("fails a closed port with NETWORK_ERROR (retryable) where the policy allows the address", async () => {
    const gone = await httpTarget();
    const url = gone.url;
    await gone.close();
    const err = await failure(http.run(claim({ url, method: "GET" }), context()));
    assert.equal(err.code, "NETWORK_ERROR");
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(err.retryable, true);
  });

  it("fails with TIMEOUT after timeoutMs, and gives the worker's abort reason when it aborts", async () => {
    const err = await failure(http.run(claim({ url: silentUrl, method: "GET", timeoutMs: 300 }), context()));
    assert.equal(err.code, "TIMEOUT");
    const abort = new AbortController();
    const running = http.run(claim({ url: silentUrl, method: "GET" }), context(abort.signal));
    const reason = new Error("cancelled by the test");
    setTimeout(() => abort.abort(reason), 100);
    await assert.rejects(running, (e) => e === reason);
  });

  it(`follows ${MAX_REDIRECTS} redirects and fails the next with TOO_MANY_REDIRECTS, not retried`, async () => {
    const loop = await httpTarget(() => 302, { headers: (r) => ({ location: `${r.url}x` }) });
    try {
      const err = await failure(http.run(claim({ url: `${loop.url}/`, method: "GET" }), context()));
      assert.equal(err.code, "TOO_MANY_REDIRECTS");
      assert.equal(err.retryable, false);
      assert.equal(loop.received.length, MAX_REDIRECTS + 1);
    } finally {
      await loop.close();
    }
  });

  it("refuses credentials in the URL instead of dropping them silently", async () => {
    const target = await httpTarget();
    try {
      const url = target.url.replace("http://", "http://user:pw@");
      const err = await failure(http.run(claim({ url, method: "GET" }), context()));
      assert.equal(err.retryable, false);
      assert.match(err.message, /credentials in the URL/);
      assert.equal(target.received.length, 0);
    } finally {
      await target.close();
    }
  });
});
