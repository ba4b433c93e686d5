/**
 * Schedules as one caller may see and steer them (the schedule counterpart of engine/job-access.ts): the
 * policy table decides, ownership is the schedule's owner, and a schedule the caller may not read answers
 * SCHEDULE_NOT_FOUND like an unknown id. A schedule's jobs belong to its owner, whoever triggers it.
 * Every change made here is audited (engine/audit-entry.ts), in the transaction of the change.
 */
import { authorize, listFilter, type Verb } from "../auth/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { BosunError } from "../core/errors.ts";
import type { Job } from "../core/job.ts";
import { auditEntry, NO_ORIGIN, type Origin } from "../engine/audit-entry.ts";
import type { AuditEntry } from "../store/identity-store.ts";
import type { Schedule, ScheduleInput, SchedulePatch } from "./schedule.ts";
import type { ScheduleService } from "./schedule-service.ts";
import type { ScheduleRun } from "./schedule-store.ts";

export class ScheduleAccess {
  readonly #service: ScheduleService;
  readonly #p: Principal;
  readonly #origin: Origin;

  /** `origin`: where the request came from, for the audit log (a caller that only reads needs none). */
  constructor(service: ScheduleService, principal: Principal, origin: Origin = NO_ORIGIN) {
    this.#service = service;
    this.#p = principal;
    this.#origin = origin;
  }

  /** The entry of a change to schedule `id`. */
  #audit(action: string, id: string, details: Record<string, unknown> | null = null): AuditEntry {
    const at = this.#service.clock.now();
    return auditEntry(at, this.#p, action, this.#origin, { targetType: "schedule", targetId: id, details });
  }

  create(input: ScheduleInput): Promise<Schedule> {
    if (authorize(this.#p, "schedule", "create") !== "allow")
      throw new BosunError("FORBIDDEN", `The ${this.#p.role} role may not create schedules`);
    return this.#service.create(input, this.#p.userId, (s) => this.#audit("schedule.create", s.id));
  }

  async get(id: string): Promise<Schedule> {
    return this.#redact(await this.#allowed(id, "read"));
  }

  async list(limit: number, afterId?: string): Promise<Schedule[]> {
    const filter = listFilter(this.#p, "schedule");
    if (!filter) throw new BosunError("FORBIDDEN", `The ${this.#p.role} role may not list schedules`);
    return (await this.#service.list(limit, afterId, filter.owner)).map((s) => this.#redact(s));
  }

  /** Without readSecret (a viewer), the job a schedule makes is shown without its payload. */
  #redact(s: Schedule): Schedule {
    if (authorize(this.#p, "schedule", "readSecret", { ownerId: s.owner }) === "allow") return s;
    return { ...s, job: { ...s.job, payload: null } };
  }

  /** The entry names the fields the patch set, not their values (a job template may hold secrets). */
  async update(id: string, patch: SchedulePatch): Promise<Schedule> {
    await this.#allowed(id, "update");
    const fields = Object.keys(patch).filter((k) => patch[k as keyof SchedulePatch] !== undefined);
    return this.#service.update(id, patch, this.#audit("schedule.update", id, { fields }));
  }

  async delete(id: string): Promise<void> {
    await this.#allowed(id, "delete");
    await this.#service.delete(id, this.#audit("schedule.delete", id));
  }

  async setPaused(id: string, paused: boolean): Promise<Schedule> {
    await this.#allowed(id, "act");
    return this.#service.setPaused(
      id,
      paused,
      this.#audit(paused ? "schedule.pause" : "schedule.resume", id),
    );
  }

  /** The entry's details list the job the trigger made (Store.enqueue). */
  async trigger(id: string): Promise<Job> {
    await this.#allowed(id, "act");
    return this.#service.trigger(id, this.#audit("schedule.trigger", id));
  }

  async runs(id: string, opts: { limit: number; beforeSeq?: number }): Promise<ScheduleRun[]> {
    await this.#allowed(id, "read");
    return this.#service.runs(id, opts);
  }

  async #allowed(id: string, verb: Verb): Promise<Schedule> {
    const s = await this.#service.get(id);
    const target = { ownerId: s.owner };
    if (authorize(this.#p, "schedule", "read", target) !== "allow")
      throw new BosunError("SCHEDULE_NOT_FOUND", `No schedule has the id ${id}`);
    if (verb !== "read" && authorize(this.#p, "schedule", verb, target) !== "allow")
      throw new BosunError("FORBIDDEN", `You may not ${verb} schedule ${id}`);
    return s;
  }
}
