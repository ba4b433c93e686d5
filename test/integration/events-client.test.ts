/**
 * The clients of GET /api/v1/events: BosunClient.events() (follows live, resumes after a cut stream from
 * its Last-Event-ID without repeating or skipping, ends with follow: false, 410 on an expired cursor) and
 * `bosun events` (prints the retained changes and exits; -o json as JSON Lines).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BosunApiError, BosunClient } from "../../src/sdk/client.ts";
import type { ApiJobEvent } from "../../src/sdk/types.ts";
import { adminToken } from "../helpers/auth.ts";
import { api } from "../helpers/bosun-process.ts";
import { runCli } from "../helpers/cli.ts";
import { startServer } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

const FAR = 365 * 24 * 3_600_000;

async function enqueueLater(base: string, queue: string, n: number): Promise<string[]> {
  const jobs = Array.from({ length: n }, () => ({
    type: "sleep",
    queue,
    payload: { durationMs: 0 },
    delayMs: FAR,
  }));
  const res = await api<{ jobs: { id: string }[] }>(base, "POST", "/api/v1/jobs/batch", { jobs });
  assert.equal(res.status, 201, res.text);
  return res.body.jobs.map((j) => j.id);
}

describe("events clients: SDK and CLI", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer({ concurrency: 0 });
  });
  after(() => s.stop());

  const feedOf = async (queue: string) =>
    (await s.server.runtime.store.readFeed(0, 100_000)).filter((e) => e.queue === queue).map((e) => e.seq);

  it("BosunClient.events() follows live and resumes a cut stream from its last cursor, once each", async () => {
    // The first two answers are cut at 4 KiB: the client must reconnect twice, with Last-Event-ID.
    const sent: (string | null)[] = [];
    const cutting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes("/events")) return res;
      sent.push(new Headers(init?.headers).get("last-event-id"));
      if (sent.length > 2) return res;
      let bytes = 0;
      const reader = res.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          // Cut mid-message: the half message must not be yielded, and comes again whole.
          if (bytes + value.length > 4096) {
            controller.enqueue(value.slice(0, 4096 - bytes));
            await reader.cancel();
            return controller.error(new Error("cut"));
          }
          bytes += value.length;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const client = new BosunClient({ url: s.url, fetch: cutting, token: await adminToken(s.url) });
    const abort = new AbortController();
    const got: ApiJobEvent[] = [];
    // From the feed's end as it is now: the changes below are made after it, whenever the stream opens.
    const { latest } = await s.server.runtime.store.feedBounds();
    const reading = (async () => {
      for await (const e of client.events({ queue: "sdk", since: latest, signal: abort.signal }))
        if (e.kind === "job") got.push(e);
    })().catch((err) => {
      if (!abort.signal.aborted) throw err;
    });
    await waitUntil(() => sent.length === 1, { what: "the first request" });
    const ids = [...(await enqueueLater(s.url, "sdk", 100)), ...(await enqueueLater(s.url, "sdk", 100))];
    const feed = await feedOf("sdk");
    await waitUntil(() => got.length >= feed.length, { what: "every change" });
    abort.abort();
    await reading;
    assert.ok(sent.length >= 3, `reconnected (${sent.length} requests)`);
    assert.equal(sent[0], String(latest));
    assert.ok(
      sent.slice(1).every((h) => h !== null && Number(h) > latest),
      String(sent),
    );
    assert.deepEqual(
      got.map((e) => e.seq),
      feed,
    );
    assert.equal(new Set(got.map((e) => e.jobId)).size, ids.length);
  });

  it("events({follow: false}) ends after the retained changes; an expired cursor is 410", async () => {
    await enqueueLater(s.url, "sdk-past", 5);
    const client = new BosunClient({ url: s.url, token: await adminToken(s.url) });
    const past: number[] = [];
    for await (const e of client.events({ since: 0, queue: "sdk-past", follow: false }))
      if (e.kind === "job") past.push(e.seq);
    assert.deepEqual(past, await feedOf("sdk-past"));
    await s.server.runtime.store.pruneFeed(Date.now() + 60_000, 1);
    await assert.rejects(
      async () => {
        for await (const _ of client.events({ since: 0, follow: false })) break;
      },
      (err) => err instanceof BosunApiError && err.status === 410 && err.code === "EVENTS_EXPIRED",
    );
  });

  it("`bosun events` prints the retained changes that match and exits; -o json prints JSON Lines", async () => {
    const ids = await enqueueLater(s.url, "cli-events", 3);
    const { oldest } = await s.server.runtime.store.feedBounds();
    const env = { BOSUN_URL: s.url };
    const human = await runCli(["events", "--queue", "cli-events", "--since", String(oldest - 1)], env);
    assert.equal(human.code, 0, human.all);
    const lines = human.out.trim().split("\n");
    assert.equal(lines.length, 3, human.out);
    for (const [i, l] of lines.entries()) assert.match(l, new RegExp(`${ids[i]}  enqueue  - → scheduled`));

    const json = await runCli(
      ["events", "--queue", "cli-events", "--since", String(oldest - 1), "-o", "json"],
      env,
    );
    assert.equal(json.code, 0, json.all);
    const rows = json.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ApiJobEvent);
    assert.deepEqual(
      rows.map((r) => [r.jobId, r.event, r.to]),
      ids.map((id) => [id, "enqueue", "scheduled"]),
    );

    const bad = await runCli(["events", "--since", "yesterday"], env);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--since/);
  });
});
