/**
 * Schedules: a cron expression in a time zone that spawns one job per fire time. The TypeBox schemas are
 * the API's validation and OpenAPI; parseCron() is the one place a cron expression is checked (by croner,
 * a maintained library: seconds, ranges, steps, names, L, W, #, @macros) so the API can say what is wrong.
 * Daylight saving follows croner: a fixed local time that does not exist that day fires at the next valid
 * instant, one that happens twice fires once; wildcard fields (every minute…) fire every real interval.
 */
import { Cron } from "croner";
import { type Static, Type } from "typebox";
import { BosunError } from "../core/errors.ts";
import { BackoffSchema } from "../engine/job-input.ts";

export const ScheduleJobSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 200 }),
    payload: Type.Optional(Type.Unknown()),
    queue: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_.:/-]+$" })),
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

const OverlapSchema = Type.Union([Type.Literal("allow"), Type.Literal("skip"), Type.Literal("queue")], {
  description: "While a previous run is queued or running: fire anyway, drop the fire, or hold it",
});
const CatchUpSchema = Type.Union([Type.Literal("none"), Type.Literal("latest"), Type.Literal("all")], {
  description: "Fires missed while Bosun was down: none, the most recent one, or each of them",
});

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
  overlap: Type.Optional(OverlapSchema),
  catchUp: Type.Optional(CatchUpSchema),
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
  /** The latest fire time that was handled (enqueued, skipped or held); firing resumes after it. */
  lastFireTime: number | null;
}

export const DEFAULT_CATCH_UP_WINDOW_MS = 3_600_000;

/** Canonical zone names already checked: Intl is slow to construct and schedules share few zones. */
const zones = new Map<string, string>();

/** The canonical IANA name of a zone ("europe/berlin" → "Europe/Berlin"); INVALID_TIMEZONE otherwise. */
export function canonicalTimezone(tz: string): string {
  const known = zones.get(tz);
  if (known) return known;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat("en", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new BosunError(
      "INVALID_TIMEZONE",
      `Unknown time zone "${tz}" (use an IANA name such as Europe/Berlin, or UTC)`,
    );
  }
  if (zones.size > 10_000) zones.clear();
  zones.set(tz, canonical);
  return canonical;
}

/**
 * croner computes a zone's wall time through Intl on every step (~80 µs per next fire); a fixed offset
 * needs no zone rules (~4 µs). UTC — the default — and "+hh:mm" zones take that road.
 */
function fixedOffsetMinutes(canonical: string): number | null {
  if (canonical === "UTC") return 0;
  const m = /^([+-])(\d\d):(\d\d)$/.exec(canonical);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : null;
}

const crons = new Map<string, Cron>();

/**
 * A parsed cron expression; throws INVALID_CRON with croner's explanation. Parsed patterns are shared:
 * a Cron here is only asked for next run times, which do not change it.
 */
export function parseCron(expr: string, timezone: string): Cron {
  const tz = canonicalTimezone(timezone);
  const key = `${tz}\u0000${expr}`;
  const cached = crons.get(key);
  if (cached) return cached;
  const offset = fixedOffsetMinutes(tz);
  let cron: Cron;
  try {
    cron = new Cron(expr, {
      ...(offset === null ? { timezone: tz } : { utcOffset: offset }),
      paused: true,
      mode: "5-or-6-parts",
    });
  } catch (err) {
    const why = String((err as Error).message).replace(/^CronPattern:\s*/, "");
    throw new BosunError("INVALID_CRON", `Invalid cron expression "${expr}": ${why}`, { cron: expr });
  }
  if (crons.size > 10_000) crons.clear();
  crons.set(key, cron);
  return cron;
}

/** Throws INVALID_CRON when the expression can never fire (30 February, a year-long gap…). */
export function assertFires(cron: Cron, expr: string, now: number): void {
  if (!cron.nextRun(new Date(now)))
    throw new BosunError("INVALID_CRON", `The cron expression "${expr}" never fires`, { cron: expr });
}

/** The next fire time strictly after `after` (ms), or null when there is none (within the end). */
export function nextFire(cron: Cron, s: Pick<Schedule, "startAt" | "endAt">, after: number): number | null {
  const from = s.startAt !== null && s.startAt - 1 > after ? s.startAt - 1 : after;
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

/**
 * Fire times in (after, upTo], oldest first, at most the newest `limit` of them. Walks backwards from
 * upTo (croner's previousRuns), so a long window of a per-second schedule costs `limit` steps, not one
 * step per second of the window.
 */
export function firesBetween(
  cron: Cron,
  s: Pick<Schedule, "startAt" | "endAt">,
  after: number,
  upTo: number,
  limit: number,
): number[] {
  const end = s.endAt !== null ? Math.min(upTo, s.endAt) : upTo;
  if (end <= after || limit <= 0) return [];
  const out: number[] = [];
  // The reference is exclusive; +1 ms includes a fire at exactly `end`.
  for (const d of cron.previousRuns(limit, new Date(end + 1))) {
    const t = d.getTime();
    if (t <= after || (s.startAt !== null && t < s.startAt)) break;
    out.push(t);
  }
  return out.reverse();
}
