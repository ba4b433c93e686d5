/**
 * The local worker pool as GET /api/v1/workers shows it, on a real server socket: its running count
 * follows its jobs even when the pool is full and no longer polls (it used to stay at the count of its
 * last poll, 0 for a pool filled by one poll).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";
import { waitUntil } from "../helpers/wait.ts";

type Worker = { id: string; running: number; capacity: number };

describe("local pool status", () => {
  it("shows running 6 while six jobs of a pool of six run", async () => {
    // A short lease: heartbeats (a third of it) come every second.
    const s = await startServer({ concurrency: 6, leaseMs: 3000 });
    try {
      const res = await api<{ jobs: { id: string }[] }>(s.url, "POST", "/api/v1/jobs/batch", {
        jobs: Array.from({ length: 6 }, () => ({ type: "sleep", payload: { durationMs: 60_000 } })),
      });
      assert.equal(res.status, 201, res.text);
      await waitUntil(
        async () => {
          const list = await api<{ items: { status: string }[] }>(
            s.url,
            "GET",
            "/api/v1/jobs?status=running",
          );
          return list.body.items.length === 6;
        },
        { what: "six jobs running" },
      );
      const pool = await waitUntil(
        async () => {
          const { body } = await api<{ items: Worker[] }>(s.url, "GET", "/api/v1/workers");
          const w = body.items.find((x) => x.capacity === 6);
          return w?.running === 6 ? w : null;
        },
        { what: "the pool showing running 6" },
      );
      assert.equal(pool.running, 6);
    } finally {
      await s.stop();
    }
  });
});
