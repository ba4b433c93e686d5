/**
 * Why no live worker can take a job (issue 10, item 9d). A job that no registered worker accepts (its
 * type, queue or constraints) is still accepted — a worker may come later — but the API says so: on
 * create as `warnings`, and on the job while it is queued as `waiting`. Advisory only: computed from the
 * worker registry at the time of the request, never consulted by the claim.
 */
import { type PlaceableJob, satisfies, type WorkerFit } from "../core/placement.ts";

export type WaitingCode = "NO_WORKER_FOR_TYPE" | "NO_WORKER_FOR_QUEUE" | "NO_WORKER_MATCHES_CONSTRAINTS";

export interface WaitingReason {
  code: WaitingCode;
  message: string;
}

/** The first filter (type, then queue, then constraints) that leaves no worker; null if one accepts it. */
export function whyUnplaceable(job: PlaceableJob, workers: readonly WorkerFit[]): WaitingReason | null {
  const byType = workers.filter((w) => w.types === null || w.types.includes(job.type));
  if (byType.length === 0)
    return { code: "NO_WORKER_FOR_TYPE", message: `No live worker runs type "${job.type}"` };
  const byQueue = byType.filter((w) => w.queues === null || w.queues.includes(job.queue));
  if (byQueue.length === 0)
    return {
      code: "NO_WORKER_FOR_QUEUE",
      message: `No live worker that runs type "${job.type}" takes queue "${job.queue}"`,
    };
  if (byQueue.some((w) => satisfies(w.labels, job.constraints))) return null;
  const wanted = Object.entries(job.constraints)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return {
    code: "NO_WORKER_MATCHES_CONSTRAINTS",
    message: `No live worker for type "${job.type}" in queue "${job.queue}" has the labels ${wanted}`,
  };
}

/**
 * Answers for many requests from one read of the live workers: requests that arrive while a read is in
 * flight share it, so a burst of enqueues costs one registry read, and no answer is older than one read.
 */
export class PlacementAdvisor {
  readonly #liveWorkers: () => Promise<WorkerFit[]>;
  #read: Promise<WorkerFit[]> | null = null;

  constructor(liveWorkers: () => Promise<WorkerFit[]>) {
    this.#liveWorkers = liveWorkers;
  }

  async explain(jobs: readonly PlaceableJob[]): Promise<(WaitingReason | null)[]> {
    if (jobs.length === 0) return [];
    if (!this.#read) {
      this.#read = this.#liveWorkers();
      const clear = () => {
        this.#read = null;
      };
      this.#read.then(clear, clear);
    }
    const workers = await this.#read;
    return jobs.map((j) => whyUnplaceable(j, workers));
  }
}
