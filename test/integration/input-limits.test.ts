/**
 * Input the API must refuse or bound, found by fuzzing and load (issue 10, items 8 and 9): non-finite and
 * out-of-range numbers, deep nesting, oversized schedule payloads, empty JSON bodies, unknown query
 * parameters and the tag filter. Each answer is a 4xx with a stable code, and nothing is stored.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { authedFetch } from "../helpers/auth.ts";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { freshSchema } from "../helpers/pg.ts";

type Job = { id: string; status: string; tags: string[] };
type ErrorBody = { error: { code: string; message: string } };

const sleepJob = (extra: Record<string, unknown> = {}) => ({
  type: "sleep",
  payload: { durationMs: 1 },
  ...extra,
});

/** A JSON text nested `depth` arrays deep. */
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

async function raw(
  url: string,
  method: string,
  path: string,
  body: string,
  contentType = "application/json",
) {
  const res = await authedFetch(`${url}${path}`, { method, headers: { "content-type": contentType }, body });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

function checks(name: string, open: () => Promise<Awaited<ReturnType<typeof startServer>>>) {
  describe(`input limits (${name})`, () => {
    let s: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      s = await open();
    });
    after(() => s.stop());

    const jobCount = async () =>
      (await api<{ items: Job[] }>(s.url, "GET", "/api/v1/jobs?limit=500")).body.items.length;

    it("refuses non-finite, fractional and out-of-range numbers with 400 and stores nothing", async () => {
      const before = await jobCount();
      // As JSON text: strings that look like numbers, a fraction, and a number literal beyond a double.
      for (const field of ["delayMs", "priority", "maxAttempts", "timeoutMs"])
        for (const value of [
          '"Infinity"',
          '"1e400"',
          '"-Infinity"',
          '"NaN"',
          "1.5",
          '"5"',
          "1e400",
          "-1e400",
        ]) {
          const body = `{"type":"sleep","payload":{"durationMs":1},"${field}":${value}}`;
          const res = await raw(s.url, "POST", "/api/v1/jobs", body);
          assert.equal(res.status, 400, `${field}=${value}: ${res.text}`);
          assert.equal((res.body as ErrorBody).error.code, "VALIDATION_FAILED");
        }
      assert.equal(await jobCount(), before);
      const list = await api(s.url, "GET", "/api/v1/jobs");
      assert.equal(list.status, 200, list.text);
    });

    it("refuses limit and cursor values that are not bounded integers", async () => {
      for (const q of [
        "limit=Infinity",
        "limit=1e400",
        "limit=1e2",
        "limit=05",
        "limit=0x10",
        "limit=5.5",
        "limit=501",
        "limit=0",
        "cursor=9223372036854775808",
        "cursor=-1",
        "cursor=abc",
      ]) {
        const res = await api<ErrorBody>(s.url, "GET", `/api/v1/jobs?${q}`);
        assert.equal(res.status, 400, `${q}: ${res.text}`);
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
      }
      const ok = await api(s.url, "GET", "/api/v1/jobs?limit=5&cursor=999999999999999");
      assert.equal(ok.status, 200, ok.text);
    });

    it("refuses JSON nested deeper than maxJsonDepth with 400 JSON_TOO_DEEP", async () => {
      const deep = `{"type":"sleep","payload":{"durationMs":1,"x":${nested(5000)}}}`;
      const res = await raw(s.url, "POST", "/api/v1/jobs", deep);
      assert.equal(res.status, 400, res.text);
      assert.equal((res.body as ErrorBody).error.code, "JSON_TOO_DEEP");
      // Brackets inside strings do not count; a payload of normal depth passes.
      const text = `{"type":"http","delayMs":60000,"idempotencyKey":"\\"${"[".repeat(300)}","payload":{"url":"http://127.0.0.1:9/","body":${nested(20)}}}`;
      assert.equal((await raw(s.url, "POST", "/api/v1/jobs", text)).status, 201);
      const schedule = `{"name":"deep","cron":"0 0 * * *","job":{"type":"sleep","payload":${nested(5000)}}}`;
      const sres = await raw(s.url, "POST", "/api/v1/schedules", schedule);
      assert.equal(sres.status, 400, sres.text);
      assert.equal((sres.body as ErrorBody).error.code, "JSON_TOO_DEEP");
    });

    it("refuses a schedule whose job payload is over maxPayloadBytes (413) on create and update", async () => {
      const big = { durationMs: 1, pad: "x".repeat(1024 * 1024 + 10) };
      const res = await api<ErrorBody>(s.url, "POST", "/api/v1/schedules", {
        name: "big",
        cron: "0 0 * * *",
        job: { type: "sleep", payload: big },
      });
      assert.equal(res.status, 413, res.text);
      assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
      const list = await api<{ items: unknown[] }>(s.url, "GET", "/api/v1/schedules");
      assert.equal(list.body.items.length, 0);
      const small = await api<{ schedule: { id: string } }>(s.url, "POST", "/api/v1/schedules", {
        name: "small",
        cron: "0 0 * * *",
        job: { type: "sleep", payload: { durationMs: 1 } },
      });
      assert.equal(small.status, 201, small.text);
      const patch = await api<ErrorBody>(s.url, "PATCH", `/api/v1/schedules/${small.body.schedule.id}`, {
        job: { type: "sleep", payload: big },
      });
      assert.equal(patch.status, 413, patch.text);
      await api(s.url, "DELETE", `/api/v1/schedules/${small.body.schedule.id}`);
    });

    it("takes an empty JSON body as {} on cancel and retry", async () => {
      const job = (await api<{ job: Job }>(s.url, "POST", "/api/v1/jobs", sleepJob({ delayMs: 60_000 }))).body
        .job;
      const cancelled = await raw(s.url, "POST", `/api/v1/jobs/${job.id}/cancel`, "");
      assert.equal(cancelled.status, 200, cancelled.text);
      assert.equal((cancelled.body as { job: Job }).job.status, "cancelled");
      const retried = await raw(s.url, "POST", `/api/v1/jobs/${job.id}/retry`, "");
      assert.equal(retried.status, 200, retried.text);
      await api(s.url, "POST", `/api/v1/jobs/${job.id}/cancel`);
      const empty = await raw(s.url, "POST", "/api/v1/jobs", "");
      assert.equal(empty.status, 400, empty.text);
      assert.equal((empty.body as ErrorBody).error.code, "VALIDATION_FAILED");
    });

    it("filters jobs by tag and refuses unknown query parameters", async () => {
      const tagged = (
        await api<{ job: Job }>(
          s.url,
          "POST",
          "/api/v1/jobs",
          sleepJob({ tags: ["needle", "b"], delayMs: 60_000 }),
        )
      ).body.job;
      await api(s.url, "POST", "/api/v1/jobs", sleepJob({ tags: ["hay"], delayMs: 60_000 }));
      const found = await api<{ items: Job[] }>(s.url, "GET", "/api/v1/jobs?tag=needle");
      assert.deepEqual(
        found.body.items.map((j) => j.id),
        [tagged.id],
      );
      assert.equal((await api<{ items: Job[] }>(s.url, "GET", "/api/v1/jobs?tag=none")).body.items.length, 0);
      for (const path of ["/api/v1/jobs?tags=needle", "/api/v1/schedules?bogus=1", "/api/v1/workers?x=1"]) {
        const res = await api<ErrorBody>(s.url, "GET", path);
        assert.equal(res.status, 400, `${path}: ${res.text}`);
        assert.equal(res.body.error.code, "VALIDATION_FAILED");
        assert.match(res.body.error.message, /unknown/);
      }
    });
  });
}

checks("SQLite", () => startServer({ concurrency: 0 }));

const pg = await freshSchema("bosun_limits");
after(() => pg.drop());
checks("PostgreSQL", () => startServer({ concurrency: 0, db: pg.url, dbSchema: pg.schema }));
