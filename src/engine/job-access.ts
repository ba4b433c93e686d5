/**
 * Jobs as one caller may see and steer them: every entry point (REST, WebSocket, gRPC, the SDK's
 * client) reaches jobs through this, so ownership is decided once. The policy table (auth/policy.ts)
 * says what a role may do; this applies it to the job at hand. A job the caller may not read does not
 * exist for it (JOB_NOT_FOUND, the same answer as an unknown id: ids are not probed); one it may read
 * but not act on is FORBIDDEN. Internal callers (scheduler, alerts, recovery) use the Engine itself.
 * Every change made here is audited (engine/audit-entry.ts), in the transaction of the change.
 */
import { authorize, listFilter } from "../auth/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { BosunError } from "../core/errors.ts";
import type { Attempt, Job } from "../core/job.ts";
import type { AuditEntry } from "../store/identity-store.ts";
import type { EnqueueOutcome, JobQuery, StoredLogChunk } from "../store/store.ts";
import { auditEntry, NO_ORIGIN, type Origin } from "./audit-entry.ts";
import type { Engine } from "./engine.ts";
import type { JobInput } from "./job-input.ts";

export class JobAccess {
  readonly #engine: Engine;
  readonly principal: Principal;
  readonly #origin: Origin;

  /** `origin`: where the request came from, for the audit log (a caller that only reads needs none). */
  constructor(engine: Engine, principal: Principal, origin: Origin = NO_ORIGIN) {
    this.#engine = engine;
    this.principal = principal;
    this.#origin = origin;
  }

  #audit(action: string, more: Partial<AuditEntry>): AuditEntry {
    return auditEntry(this.#engine.clock.now(), this.principal, action, this.#origin, more);
  }

  /**
   * Jobs are owned by the user the caller acts for (a key's jobs are its creator's). One audit entry per
   * call (a batch too), written when it created a job: a single job is its target, and the entry lists
   * the ids of the jobs created (Store.enqueue).
   */
  async enqueue(inputs: JobInput[]): Promise<EnqueueOutcome[]> {
    this.#require("create");
    const outcomes = await this.#engine.enqueue(inputs, { owner: this.principal.userId }, (jobs) =>
      this.#audit("job.submit", { targetType: "job", targetId: jobs.length === 1 ? jobs[0]!.id : null }),
    );
    // An idempotency key names an existing job of someone else: that job stays invisible.
    for (const o of outcomes)
      if (!o.created && authorize(this.principal, "job", "read", { ownerId: o.job.owner }) !== "allow")
        throw new BosunError("IDEMPOTENCY_KEY_TAKEN");
    return outcomes;
  }

  async get(id: string): Promise<Job> {
    return this.#redact(await this.#readable(id));
  }

  async #readable(id: string): Promise<Job> {
    const job = await this.#engine.get(id);
    if (authorize(this.principal, "job", "read", { ownerId: job.owner }) !== "allow")
      throw new BosunError("JOB_NOT_FOUND", `No job has the id ${id}`);
    return job;
  }

  /**
   * A caller that may read a job but not its secrets (a viewer) gets it without payload and result:
   * a payload holds commands and env values, a result what they produced (auth/policy.ts, readSecret).
   */
  #redact(job: Job): Job {
    if (authorize(this.principal, "job", "readSecret", { ownerId: job.owner }) === "allow") return job;
    return { ...job, payload: null, result: null };
  }

  /** Lists what the caller may read: a member's list is its own jobs, whatever `owner` it asks for. */
  list(query: JobQuery): Promise<Job[]> {
    const filter = listFilter(this.principal, "job");
    if (!filter) throw new BosunError("FORBIDDEN", `The ${this.principal.role} role may not list jobs`);
    if (filter.owner !== undefined && query.owner !== undefined && query.owner !== filter.owner)
      return Promise.resolve([]);
    const q = filter.owner === undefined ? query : { ...query, owner: filter.owner };
    return this.#engine.list(q).then((jobs) => jobs.map((j) => this.#redact(j)));
  }

  /**
   * Which of these jobs the caller may read: for what refers to jobs without being one (alerts), so that
   * it is shown only to those who may see its job. A job that no longer exists is readable by "all" only.
   */
  async readable(ids: string[]): Promise<Set<string>> {
    const filter = listFilter(this.principal, "job");
    if (!filter) return new Set();
    if (filter.owner === undefined) return new Set(ids);
    const jobs = await this.#engine.store.getJobs([...new Set(ids)]);
    return new Set(jobs.filter((j) => j.owner === filter.owner).map((j) => j.id));
  }

  async attempts(id: string): Promise<Attempt[]> {
    await this.#readable(id);
    return this.#engine.store.listAttempts(id);
  }

  /** A job's log is a secret of its own (output echoes what the command was given). */
  async requireLogs(id: string): Promise<Job> {
    const job = await this.#readable(id);
    if (authorize(this.principal, "job", "readSecret", { ownerId: job.owner }) !== "allow")
      throw new BosunError("FORBIDDEN", `The ${this.principal.role} role may not read job logs`);
    return job;
  }

  async logs(id: string, afterSeq: number, limit: number): Promise<StoredLogChunk[]> {
    await this.requireLogs(id);
    return this.#engine.store.readLogs(id, afterSeq, limit);
  }

  async cancel(id: string): Promise<Job> {
    await this.#act(id);
    return this.#engine.cancel(id, this.#audit("job.cancel", { targetType: "job", targetId: id }));
  }

  async retry(id: string): Promise<Job> {
    await this.#act(id);
    return this.#engine.retry(id, this.#audit("job.retry", { targetType: "job", targetId: id }));
  }

  async #act(id: string): Promise<void> {
    const job = await this.#readable(id);
    if (authorize(this.principal, "job", "act", { ownerId: job.owner }) !== "allow")
      throw new BosunError("FORBIDDEN", `You may not change job ${id}`);
  }

  #require(verb: "create"): void {
    if (authorize(this.principal, "job", verb) !== "allow")
      throw new BosunError("FORBIDDEN", `The ${this.principal.role} role may not ${verb} jobs`);
  }
}
