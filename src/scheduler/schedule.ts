/**
 * Schedules: a cron expression in a time zone that spawns one job per fire time. The TypeBox schemas are
 * the API's validation and OpenAPI; parseCron() is the one place a cron expression is checked (by croner,
 * a maintained library: seconds, ranges, steps, names, L, W, #, @macros) so the API can say what is wrong.
 */
import { Cron } from "croner";
import { type Static, Type } from "typebox";
import { BosunError } from "../core/errors.ts";
import { BackoffSchema } from "../engine/job-input.ts";

export const ScheduleJobSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 200 }),
    payload: Type.Optional(Type.Unknown()),
    queue: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    backoff: Type.Optional(BackoffSchema),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400_000 })),
  },
  { additionalProperties: false },
);
export type ScheduleJob = Static<typeof ScheduleJobSchema>;

export const AlertTargetSchema = Type.Object(
  {
    webhookUrl: Type.String({ format: "uri", pattern: "^https?://" }),
    secret: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type AlertTarget = Static<typeof AlertTargetSchema>;

const Overlap = Type.Union([Type.Literal("allow"), Type.Literal("skip"), Type.Literal("queue")]);
const CatchUp = Type.Union([Type.Literal("none"), Type.Literal("latest"), Type.Literal("all")]);

const fields = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  cron: Type.String({
    minLength: 1,
    maxLength: 200,
    description: "5 or 6 fields (seconds first when 6), or @hourly etc.",
  }),
  timezone: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: "IANA zone, default UTC" }),
  ),
  job: ScheduleJobSchema,
  overlap: Type.Optional(Overlap),
  catchUp: Type.Optional(CatchUp),
  catchUpWindowMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400_000 })),
  startAt: Type.Optional(Type.String({ format: "date-time" })),
  endAt: Type.Optional(Type.String({ format: "date-time" })),
  paused: Type.Optional(Type.Boolean()),
  alert: Type.Optional(AlertTargetSchema),
};

export const ScheduleInputSchema = Type.Object(fields, { additionalProperties: false });
export type ScheduleInput = Static<typeof ScheduleInputSchema>;
export const SchedulePatchSchema = Type.Partial(Type.Object(fields), { additionalProperties: false });
export type SchedulePatch = Static<typeof SchedulePatchSchema>;

export type Overlap = "allow" | "skip" | "queue";
export type CatchUp = "none" | "latest" | "all";

export interface Schedule {
  id: string;
  name: string | null;
  cron: string;
  timezone: string;
  job: ScheduleJob;
  overlap: Overlap;
  catchUp: CatchUp;
  catchUpWindowMs: number;
  startAt: number | null;
  endAt: number | null;
  paused: boolean;
  alert: AlertTarget | null;
  owner: string;
  createdAt: number;
  updatedAt: number;
  /** The latest fire time that produced (or tried to produce) a job; fires resume after it. */
  lastFireTime: number | null;
}

export const DEFAULT_CATCH_UP_WINDOW_MS = 3_600_000;

export function assertTimezone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new BosunError(
      "INVALID_TIMEZONE",
      `Unknown time zone "${tz}" (use an IANA name such as Europe/Berlin)`,
    );
  }
}

/** A parsed cron expression; throws INVALID_CRON with croner's explanation. */
export function parseCron(expr: string, timezone: string): Cron {
  assertTimezone(timezone);
  try {
    return new Cron(expr, { timezone, paused: true, mode: "5-or-6-parts" });
  } catch (err) {
    throw new BosunError("INVALID_CRON", `Invalid cron expression "${expr}": ${(err as Error).message}`);
  }
}

/** The next fire time strictly after `after` (ms), or null when there is none (within the end). */
export function nextFire(cron: Cron, s: Pick<Schedule, "startAt" | "endAt">, after: number): number | null {
  const from = Math.max(after, (s.startAt ?? Number.NEGATIVE_INFINITY) - 1);
  const next = cron.nextRun(new Date(from));
  if (!next) return null;
  const t = next.getTime();
  return s.endAt !== null && t > s.endAt ? null : t;
}

/** The next `n` fire times after `after`, for the API's `nextRuns`. */
export function nextFires(
  cron: Cron,
  s: Pick<Schedule, "startAt" | "endAt">,
  after: number,
  n: number,
): number[] {
  const out: number[] = [];
  let t: number | null = after;
  while (out.length < n && t !== null) {
    t = nextFire(cron, s, t);
    if (t !== null) out.push(t);
  }
  return out;
}
