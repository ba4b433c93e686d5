/**
 * Schedules as one caller may see and steer them (the schedule counterpart of engine/job-access.ts): the
 * policy table decides, ownership is the schedule's owner, and a schedule the caller may not read answers
 * SCHEDULE_NOT_FOUND like an unknown id. A schedule's jobs belong to its owner, whoever triggers it.
 */
import { authorize, listFilter, type Verb } from "../auth/policy.ts";
import type { Principal } from "../auth/principal.ts";
import { BosunError } from "../core/errors.ts";
import type { Job } from "../core/job.ts";
import type { Schedule, ScheduleInput, SchedulePatch } from "./schedule.ts";
import type { ScheduleService } from "./schedule-service.ts";
import type { ScheduleRun } from "./schedule-store.ts";

export class ScheduleAccess {
  readonly #service: ScheduleService;
  readonly #p: Principal;

  constructor(service: ScheduleService, principal: Principal) {
    this.#service = service;
    this.#p = principal;
  }

  create(input: ScheduleInput): Promise<Schedule> {
    if (authorize(this.#p, "schedule", "create") !== "allow")
      throw new BosunError("FORBIDDEN", `The ${this.#p.role} role may not create schedules`);
    return this.#service.create(input, this.#p.userId);
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

  async update(id: string, patch: SchedulePatch): Promise<Schedule> {
    await this.#allowed(id, "update");
    return this.#service.update(id, patch);
  }

  async delete(id: string): Promise<void> {
    await this.#allowed(id, "delete");
    await this.#service.delete(id);
  }

  async setPaused(id: string, paused: boolean): Promise<Schedule> {
    await this.#allowed(id, "act");
    return this.#service.setPaused(id, paused);
  }

  async trigger(id: string): Promise<Job> {
    await this.#allowed(id, "act");
    return this.#service.trigger(id);
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
