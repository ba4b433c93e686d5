/**
 * Least-loaded placement (seed 001's dispatch) as a pure function: given ready jobs in claim order and the
 * workers that are waiting, decide which worker gets which job. The store calls it inside its claim
 * transaction; it is also what makes "2 waiting workers of capacity 4, 4 jobs arrive → 2 each" hold.
 *
 * Peers are workers that wait elsewhere (long-polling another node of the cluster): a job placed on a
 * peer is left queued for the peer's own node to claim, so one node's waiter cannot take a whole batch
 * while a worker on another node sits idle. Ties go to the waiters here, so nothing waits for a peer
 * that is no less loaded.
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

/** What a worker accepts, without its load: what the claim's SQL filters ready rows by. */
export interface WorkerFit {
  labels: Record<string, string>;
  queues: readonly string[] | null;
  types: readonly string[] | null;
}

export function satisfies(labels: Record<string, string>, constraints: Record<string, string>): boolean {
  for (const key in constraints) if (labels[key] !== constraints[key]) return false;
  return true;
}

export function accepts(worker: WorkerFit, job: PlaceableJob): boolean {
  if (worker.queues !== null && !worker.queues.includes(job.queue)) return false;
  if (worker.types !== null && !worker.types.includes(job.type)) return false;
  return satisfies(worker.labels, job.constraints);
}

/** The distinct fits of these workers (usually one: a pool, or identical remote workers). */
export function distinctFits(workers: readonly WorkerFit[]): WorkerFit[] {
  const seen = new Map<string, WorkerFit>();
  for (const w of workers) {
    const fit = { labels: w.labels, queues: w.queues, types: w.types };
    const key = fitKey(fit);
    if (!seen.has(key)) seen.set(key, fit);
  }
  return [...seen.values()];
}

/** A stable text for a fit, with sorted keys and lists (equal fits give equal keys). */
export function fitKey(fit: WorkerFit): string {
  const labels = Object.keys(fit.labels)
    .sort()
    .map((k) => [k, fit.labels[k]]);
  const sorted = (l: readonly string[] | null) => (l === null ? null : [...l].sort());
  return JSON.stringify([labels, sorted(fit.queues), sorted(fit.types)]);
}

/**
 * Returns jobId → workerId for the jobs that found a worker (a waiter or a peer); the others stay queued.
 * A peer's `slots` is what it can still take (its capacity minus what it runs).
 */
export function placeJobs(
  jobs: readonly PlaceableJob[],
  workers: readonly WaitingWorker[],
  peers: readonly WaitingWorker[] = [],
): Map<string, string> {
  const out = new Map<string, string>();
  if (workers.length === 1 && peers.length === 0) {
    // The common case (one local pool): no load arithmetic needed.
    const w = workers[0]!;
    for (const job of jobs) {
      if (out.size >= w.slots) break;
      if (accepts(w, job)) out.set(job.id, w.workerId);
    }
    return out;
  }
  // Waiters first: the first of equally loaded candidates wins.
  const state = [...workers, ...peers].map((w) => ({ w, given: 0 }));
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
