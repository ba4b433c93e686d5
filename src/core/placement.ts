/**
 * Least-loaded placement (seed 001's dispatch) as a pure function: given ready jobs in claim order and the
 * workers that are waiting, decide which worker gets which job. The store calls it inside its claim
 * transaction; it is also what makes "2 waiting workers of capacity 4, 4 jobs arrive → 2 each" hold.
 */

export interface WaitingWorker {
  workerId: string;
  /** How many jobs this worker asks for now. */
  slots: number;
  /** Jobs it runs now and how many it can run: load = running / capacity. */
  running: number;
  capacity: number;
  labels: Record<string, string>;
  /** Only these queues / types, or any when null. */
  queues: readonly string[] | null;
  types: readonly string[] | null;
}

export interface PlaceableJob {
  id: string;
  queue: string;
  type: string;
  constraints: Record<string, string>;
}

export function satisfies(labels: Record<string, string>, constraints: Record<string, string>): boolean {
  for (const key in constraints) if (labels[key] !== constraints[key]) return false;
  return true;
}

function accepts(worker: WaitingWorker, job: PlaceableJob): boolean {
  if (worker.queues !== null && !worker.queues.includes(job.queue)) return false;
  if (worker.types !== null && !worker.types.includes(job.type)) return false;
  return satisfies(worker.labels, job.constraints);
}

/** Returns jobId → workerId for the jobs that found a worker; the others stay queued. */
export function placeJobs(
  jobs: readonly PlaceableJob[],
  workers: readonly WaitingWorker[],
): Map<string, string> {
  const out = new Map<string, string>();
  if (workers.length === 1) {
    // The common case (one local pool): no load arithmetic needed.
    const w = workers[0]!;
    for (const job of jobs) {
      if (out.size >= w.slots) break;
      if (accepts(w, job)) out.set(job.id, w.workerId);
    }
    return out;
  }
  const state = workers.map((w) => ({ w, given: 0 }));
  for (const job of jobs) {
    let best: (typeof state)[number] | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const s of state) {
      if (s.given >= s.w.slots || !accepts(s.w, job)) continue;
      const load = (s.w.running + s.given) / Math.max(1, s.w.capacity);
      if (load < bestLoad) {
        best = s;
        bestLoad = load;
      }
    }
    if (best) {
      best.given++;
      out.set(job.id, best.w.workerId);
    }
  }
  return out;
}
