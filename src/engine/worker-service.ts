/**
 * The server side of the worker protocol, shared by the local pool and remote HTTP workers: registration,
 * long-poll for jobs, heartbeats, batched reports, and draining. Registrations live in the shared
 * database (any node can list them and drain a worker); each node caches the workers that talk to it so
 * the hot poll path does no extra write.
 */
import { type Principal, SYSTEM_PRINCIPAL, servableQueues } from "../auth/principal.ts";
import { BosunError } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";
import type { OutboundPolicySpec } from "../outbound/outbound-policy.ts";
import type { ClusterStore, WorkerRecord } from "../store/cluster-store.ts";
import type { CompleteInput, FailInput, LeaseId, LeaseRef, LogChunk } from "../store/store.ts";
import { auditEntry, type Origin } from "./audit-entry.ts";
import type { Engine } from "./engine.ts";

export type WorkerStatus = "active" | "draining" | "lost";

export interface WorkerView extends WorkerRecord {
  status: WorkerStatus;
}

export interface Registration {
  id: string;
  labels: Record<string, string>;
  capacity: number;
  types: string[];
  queues: string[] | null;
  version: string | null;
  running?: number;
  /** Random per worker process (see docs/worker-protocol.md, "Registration instance"). */
  instance?: string | null;
}

export interface Reports {
  logs?: LogChunk[];
  progress?: (LeaseId & { progress: number })[];
  completed?: Omit<CompleteInput, "workerId">[];
  failed?: Omit<FailInput, "workerId">[];
  released?: Omit<LeaseRef, "workerId">[];
}

/** Only the credential that registered a worker id may speak for it (admins and operators too). */
function speaksFor(principal: Principal, w: WorkerRecord): void {
  if (w.principal === null || w.principal === principal.id) return;
  if (principal.role === "admin" || principal.role === "operator") return;
  throw new BosunError("FORBIDDEN", `Worker ${w.id} is registered with another credential`);
}

/** Longest long-poll a server grants, whatever the worker asks. */
export const MAX_POLL_WAIT_MS = 30_000;

export class WorkerService {
  readonly #engine: Engine;
  readonly #cluster: ClusterStore;
  readonly #known = new Map<string, WorkerRecord>();
  /** What http jobs may reach, sent to every worker that registers (the server's httpAllow/httpDeny). */
  readonly httpPolicy: OutboundPolicySpec;

  constructor(engine: Engine, cluster: ClusterStore, opts: { httpPolicy?: OutboundPolicySpec } = {}) {
    this.#engine = engine;
    this.#cluster = cluster;
    this.httpPolicy = opts.httpPolicy ?? { allow: [], deny: [] };
    // A drain decided on any node reaches this one through the bus: forget the cached record so the next
    // poll reads the new state, and end the worker's current long-polls here.
    engine.bus.subscribe("worker", (e) => {
      const cached = this.#known.get(e.workerId);
      if (cached) this.#known.set(e.workerId, { ...cached, draining: e.draining });
      if (e.draining) engine.dropWaiters(e.workerId);
    });
  }

  /** A worker silent for this long is shown as lost (its leases run out soon after). */
  get lostAfterMs(): number {
    return Math.max(this.#engine.leaseMs, 3 * this.heartbeatMs);
  }

  get heartbeatMs(): number {
    return Math.max(200, Math.min(Math.floor(this.#engine.leaseMs / 3), 5000));
  }

  /**
   * Registers a worker. When the id was last registered by another instance, that process is gone
   * (restarted after a crash): its attempts are ended now as WORKER_LOST, through the same store
   * transition as any dead worker's, before the new process can claim anything under the id. The same
   * instance registering again (after a network blip, or a server restart) keeps its leases.
   */
  async register(r: Registration, principal: Principal): Promise<WorkerRecord> {
    const instance = r.instance ?? null;
    const now = this.#engine.clock.now();
    const upserted = await this.#cluster.upsertWorker(
      {
        id: r.id,
        labels: r.labels,
        capacity: r.capacity,
        running: r.running ?? 0,
        types: r.types,
        queues: servableQueues(principal, r.queues),
        version: r.version,
        instance,
        principal: principal.id,
        lastSeenAt: now,
      },
      now - this.lostAfterMs,
    );
    if ("taken" in upserted)
      throw new BosunError("WORKER_ID_TAKEN", `Worker ${r.id} is registered with another credential`);
    const { worker: record, previousInstance } = upserted;
    if (instance !== null && previousInstance !== null && previousInstance !== instance)
      await this.#engine.reapWorkers([r.id], "WORKER_LOST");
    this.#known.set(record.id, record);
    for (const t of r.types) this.#engine.catalog.add(t);
    return record;
  }

  async #worker(id: string, principal: Principal): Promise<WorkerRecord> {
    let w = this.#known.get(id);
    if (!w) {
      const stored = await this.#cluster.getWorker(id);
      if (!stored) throw new BosunError("WORKER_NOT_FOUND", `Worker ${id} is not registered; register again`);
      this.#known.set(id, stored);
      w = stored;
    }
    speaksFor(principal, w);
    return w;
  }

  async poll(
    workerId: string,
    args: { slots: number; running: number; waitMs: number; signal?: AbortSignal },
    principal: Principal,
  ): Promise<{ jobs: Claim[]; drain: boolean }> {
    const w = await this.#worker(workerId, principal);
    if (w.draining) return { jobs: [], drain: true };
    const jobs = await this.#engine.poll({
      workerId,
      // Up to three times the capacity: a worker may hold twice as many again while its jobs are short.
      slots: Math.min(args.slots, 3 * w.capacity),
      running: args.running,
      capacity: w.capacity,
      labels: w.labels,
      queues: w.queues,
      types: w.types,
      waitMs: Math.min(Math.max(0, args.waitMs), MAX_POLL_WAIT_MS),
      signal: args.signal,
    });
    return { jobs, drain: false };
  }

  /** Renews leases; answers which jobs to abort and whether to drain. */
  async heartbeat(
    workerId: string,
    leases: LeaseId[],
    running: number,
    principal: Principal,
  ): Promise<{ abort: string[]; drain: boolean }> {
    await this.#worker(workerId, principal);
    const record = await this.#cluster.touchWorker(workerId, running, this.#engine.clock.now());
    if (!record)
      throw new BosunError("WORKER_NOT_FOUND", `Worker ${workerId} is not registered; register again`);
    this.#known.set(workerId, record);
    const abort = await this.#engine.heartbeat(workerId, leases);
    return { abort, drain: record.draining };
  }

  /** Applies a batch of reports in a safe order: logs and progress first, then the ends of attempts. */
  async report(workerId: string, reports: Reports, principal: Principal): Promise<{ stale: string[] }> {
    await this.#worker(workerId, principal);
    // The ends of attempts are matched to this worker by the store (lease token and worker id); logs and
    // progress name no lease holder there, so a remote worker's are kept to the jobs it runs.
    const r: Reports & { foreign?: string[] } =
      principal === SYSTEM_PRINCIPAL ? reports : await this.#ownProgress(workerId, reports);
    if (r.logs?.length) await this.#engine.appendLogs(r.logs);
    if (r.progress?.length) await this.#engine.progress(r.progress);
    const outcomes = await Promise.all([
      r.completed?.length ? this.#engine.complete(r.completed.map((c) => ({ ...c, workerId }))) : [],
      r.failed?.length ? this.#engine.fail(r.failed.map((f) => ({ ...f, workerId }))) : [],
      r.released?.length ? this.#engine.release(r.released.map((l) => ({ ...l, workerId }))) : [],
    ]);
    const stale = outcomes.flat().flatMap((o) => (o.ok ? [] : [o.jobId]));
    const foreign = [...(r.foreign ?? []), ...(stale.length > 0 ? await this.#others(workerId, stale) : [])];
    // After the worker's own reports are applied: a worker speaking for jobs another worker holds is
    // told so (409), not silently ignored; those reports changed nothing.
    if (foreign.length > 0)
      throw new BosunError("LEASE_LOST", "These jobs are held by another worker", {
        jobIds: [...new Set(foreign)],
      });
    return { stale };
  }

  /** Of these jobs, those another worker ran or runs (read only on the rare stale path). */
  async #others(workerId: string, ids: string[]): Promise<string[]> {
    return (await this.#engine.store.getJobs(ids))
      .filter((j) => j.workerId !== null && j.workerId !== workerId)
      .map((j) => j.id);
  }

  /** Logs only for jobs that exist and are not another worker's; progress not for another's. */
  async #ownProgress(workerId: string, r: Reports): Promise<Reports & { foreign?: string[] }> {
    if (!r.logs?.length && !r.progress?.length) return r;
    const ids = [...new Set([...(r.logs ?? []), ...(r.progress ?? [])].map((x) => x.jobId))];
    const jobs = await this.#engine.store.getJobs(ids);
    const others = new Set(
      jobs.filter((j) => j.workerId !== null && j.workerId !== workerId).map((j) => j.id),
    );
    const known = new Set(jobs.map((j) => j.id));
    return {
      ...r,
      logs: r.logs?.filter((l) => known.has(l.jobId) && !others.has(l.jobId)),
      progress: r.progress?.filter((p) => !others.has(p.jobId)),
      foreign: r.progress?.filter((p) => others.has(p.jobId)).map((p) => p.jobId),
    };
  }

  /** A drain (or its undoing) asked by `by`, audited with the change; one by an unknown id is not. */
  async drain(
    id: string,
    draining: boolean,
    by: { principal: Principal; origin: Origin },
  ): Promise<WorkerView> {
    const audit = auditEntry(
      this.#engine.clock.now(),
      by.principal,
      draining ? "worker.drain" : "worker.undrain",
      by.origin,
      { targetType: "worker", targetId: id },
    );
    const record = await this.#cluster.setWorkerDraining(id, draining, audit);
    if (!record) throw new BosunError("WORKER_NOT_FOUND", `No worker has the id ${id}`);
    this.#known.set(id, record);
    this.#engine.bus.publish({ type: "worker", workerId: id, draining });
    return this.view(record);
  }

  async list(): Promise<WorkerView[]> {
    return (await this.#cluster.listWorkers()).map((w) => this.view(w));
  }

  view(w: WorkerRecord): WorkerView {
    const lost = this.#engine.clock.now() - w.lastSeenAt > this.lostAfterMs;
    return { ...w, status: lost ? "lost" : w.draining ? "draining" : "active" };
  }

  /** Types advertised by live workers anywhere in the cluster (for nodes that did not see them register). */
  async liveTypes(): Promise<string[]> {
    return this.#cluster.workerTypes(this.#engine.clock.now() - this.lostAfterMs);
  }

  forget(id: string): void {
    this.#known.delete(id);
  }
}
