/** whyUnplaceable: the first of type, queue and constraints that leaves no live worker names the reason. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WorkerFit } from "../../src/core/placement.ts";
import { whyUnplaceable } from "../../src/engine/placement-advice.ts";

const job = (o: { type?: string; queue?: string; constraints?: Record<string, string> } = {}) => ({
  id: "j",
  type: o.type ?? "email.send",
  queue: o.queue ?? "default",
  constraints: o.constraints ?? {},
});
const fit = (o: Partial<WorkerFit> = {}): WorkerFit => ({ labels: {}, queues: null, types: null, ...o });

describe("whyUnplaceable", () => {
  it("names the type, then the queue, then the constraints; null when one worker accepts the job", () => {
    assert.equal(whyUnplaceable(job(), [])?.code, "NO_WORKER_FOR_TYPE");
    assert.equal(whyUnplaceable(job(), [fit({ types: ["shell"] })])?.code, "NO_WORKER_FOR_TYPE");
    assert.equal(
      whyUnplaceable(job({ queue: "mail" }), [fit({ types: ["email.send"], queues: ["bulk"] })])?.code,
      "NO_WORKER_FOR_QUEUE",
    );
    assert.equal(
      whyUnplaceable(job({ constraints: { gpu: "yes" } }), [fit({ labels: { gpu: "no" } })])?.code,
      "NO_WORKER_MATCHES_CONSTRAINTS",
    );
    // One worker of several accepting it is enough.
    assert.equal(
      whyUnplaceable(job({ constraints: { gpu: "yes" } }), [
        fit({ labels: { gpu: "no" } }),
        fit({ labels: { gpu: "yes" } }),
      ]),
      null,
    );
  });
});
