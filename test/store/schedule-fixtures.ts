/** Schedule records for the store tests (schedule-store.test.ts, audit-conformance.ts). */
import { newId } from "../../src/core/ids.ts";
import type { Schedule } from "../../src/scheduler/schedule.ts";

const T0 = 1_800_000_000_000;

export const schedule = (over: Partial<Schedule> = {}): Schedule => ({
  id: newId(),
  name: null,
  cron: "* * * * * *",
  timezone: "UTC",
  job: { type: "t", payload: { n: 1 } },
  overlap: "allow",
  catchUp: "none",
  catchUpWindowMs: 60_000,
  startAt: null,
  endAt: null,
  paused: false,
  alert: null,
  owner: "alice",
  createdAt: T0,
  updatedAt: T0,
  lastFireTime: null,
  ...over,
});
