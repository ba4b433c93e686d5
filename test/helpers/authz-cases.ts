/**
 * How the authorization matrix calls each route: one entry per `${method} ${url}` of the route table
 * (HEAD twins use their GET's entry). An entry makes a valid request (the body validates, the object
 * exists), says which object it names and whose it is, and how its expected answer follows from the policy
 * table (`kind`). Where a route has a rule of its own on top of the table, `rule` applies it and says why;
 * nothing else is written by hand per cell.
 */
import assert from "node:assert/strict";
import { authorize, type Decision } from "../../src/auth/policy.ts";
import type { ErrorCode } from "../../src/core/errors.ts";
import { type Actor, EMPTY_QUEUE, JOB_BODY, SCHEDULE_BODY, type World } from "./authz-world.ts";
import { api } from "./bosun-process.ts";

/** "-": the route names no object; "own"/"other": the caller's or another member's; "unowned": no owner. */
export type Variant = "-" | "own" | "other" | "unowned";
export interface Target {
  id: string;
  ownerId: string | null;
}
export interface Req {
  path: string;
  body?: unknown;
  /** Another credential of the same principal (a logout must not end the session the matrix uses). */
  token?: string;
}
export interface Expected {
  status: number;
  code?: string;
}
// biome-ignore lint/suspicious/noExplicitAny: answers are JSON of many shapes
type Json = any;

export interface Case {
  /**
   * How the answer follows from the table: "open" (public or any signed-in caller), "list" (listFilter),
   * "resource" (authorize without a target: a create, or a resource without instances), "one" (authorize
   * on the named object: 404 when hidden, 403 when forbidden).
   */
  kind: "open" | "list" | "resource" | "one";
  ok: number;
  notFound?: ErrorCode;
  variants?: Variant[];
  /** The object a variant names; null when no such object can exist (the variant is skipped). */
  target?: (w: World, p: Actor, v: Variant) => Promise<Target | null>;
  request: (w: World, p: Actor, t: Target | undefined) => Promise<Req> | Req;
  rule?: (p: Actor, t: Target | undefined, fromPolicy: Expected, v: Variant) => Expected;
  /** A list's items: whose each one is (to check a list shows only what the caller may read). */
  owners?: (w: World, body: Json) => Promise<(string | null)[]>;
  /** More to check on an allowed answer. */
  check?: (p: Actor, t: Target | undefined, body: Json) => void;
}

export const FORBIDDEN: Expected = { status: 403, code: "FORBIDDEN" };

export function fromDecision(d: Decision, ok: number, notFound?: ErrorCode): Expected {
  if (d === "hidden") return { status: 404, code: notFound };
  if (d === "forbidden") return FORBIDDEN;
  return { status: ok };
}

const OWN_OTHER: Variant[] = ["own", "other"];
const owned =
  (make: (w: World, owner: Actor) => Promise<string>) =>
  async (w: World, p: Actor, v: Variant): Promise<Target> => {
    const owner = w.ownerFor(p, v);
    return { id: await make(w, owner), ownerId: owner.userId };
  };
/**
 * The user record of the caller itself ("own": a user record's owner is that user) or another's: member
 * A's (B's for A), or for a delete a user that exists only to be deleted.
 */
const userTarget =
  (deletable: boolean) =>
  async (w: World, p: Actor, v: Variant): Promise<Target> => {
    const id = v === "own" ? p.userId : deletable ? await w.deletableUser() : w.other(p).userId;
    return { id, ownerId: id };
  };

/**
 * Own rule of logs: a job's log is one of its secrets (output echoes what the command was given), so
 * reading it needs readSecret besides read: a viewer reads the job but gets 403 for its log.
 */
const logsRule = (p: Actor, t: Target | undefined, e: Expected): Expected => {
  if (!t || e.status >= 300) return e;
  const read = authorize(p, "job", "read", t);
  return read !== "allow"
    ? fromDecision(read, e.status, "JOB_NOT_FOUND")
    : fromDecision(authorize(p, "job", "readSecret", t), e.status);
};

/**
 * Own rule of the worker protocol: a worker id is bound to the credential that registered it (it is no
 * owned object of the table, and no secret either: registering a taken id answers WORKER_ID_TAKEN). Another
 * credential speaking for it gets 403, unless it is an admin's or an operator's, which manage workers.
 */
const boundWorker = (p: Actor, _t: Target | undefined, e: Expected, v: Variant): Expected =>
  v === "other" && e.status < 300 && p.role !== "admin" && p.role !== "operator" ? FORBIDDEN : e;

const workerTarget = async (w: World, p: Actor, v: Variant): Promise<Target | null> => {
  const worker = w.actor("worker");
  if (v === "own")
    // Only a credential that speaks the protocol can have a worker of its own.
    return p.role === "admin" || p.role === "worker" ? { id: await w.worker(p.token), ownerId: null } : null;
  const registrar = p.id === worker.id ? w.otherWorkerToken : worker.token;
  return { id: await w.worker(registrar), ownerId: null };
};

/** A worker-protocol call for a worker of the caller's credential or of another's. */
const protocol = (verb: string, body: unknown): Case => ({
  kind: "resource",
  ok: 200,
  variants: OWN_OTHER,
  target: workerTarget,
  request: (_w, _p, t) => ({ path: `/api/v1/workers/${t!.id}/${verb}`, body }),
  rule: boundWorker,
});

const items = (body: Json): Json[] => body.items;
/** The JSON of each `data:` line of an SSE body. */
const sseData = (text: string): Json[] =>
  text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => JSON.parse(l.slice(6)));
const jobPath = (t: Target | undefined, rest = "") => `/api/v1/jobs/${t!.id}${rest}`;
const schedulePath = (t: Target | undefined, rest = "") => `/api/v1/schedules/${t!.id}${rest}`;
/** Without readSecret (a viewer), the payload is not shown. */
const redacted = (p: Actor, t: Target | undefined, payload: unknown, resource: "job" | "schedule") =>
  assert.equal(payload === null, authorize(p, resource, "readSecret", t) !== "allow", `${p.label}: payload`);

const one = (notFound: ErrorCode, make: (w: World, owner: Actor) => Promise<string>) => ({
  kind: "one" as const,
  notFound,
  variants: OWN_OTHER,
  target: owned(make),
});
const sharedJob = one("JOB_NOT_FOUND", (w, o) => w.sharedJob(o));
const freshJob = one("JOB_NOT_FOUND", (w, o) => w.job(o));
const sharedSchedule = one("SCHEDULE_NOT_FOUND", (w, o) => w.sharedSchedule(o));
const freshSchedule = one("SCHEDULE_NOT_FOUND", (w, o) => w.schedule(o));

export const CASES: Record<string, Case> = {
  // ── Jobs ──
  "POST /api/v1/jobs": {
    kind: "resource",
    ok: 201,
    request: () => ({ path: "/api/v1/jobs", body: JOB_BODY }),
    check: (p, _t, b) => assert.equal(b.job.owner, p.userId, "a job is its creator's (a key's: its maker's)"),
  },
  "POST /api/v1/jobs/batch": {
    kind: "resource",
    ok: 201,
    request: () => ({ path: "/api/v1/jobs/batch", body: { jobs: [JOB_BODY, JOB_BODY] } }),
  },
  "GET /api/v1/jobs": {
    kind: "list",
    ok: 200,
    request: () => ({ path: "/api/v1/jobs?limit=500" }),
    owners: async (_w, b) => items(b).map((j) => j.owner),
    check: (p, _t, b) => {
      for (const j of items(b)) redacted(p, { id: j.id, ownerId: j.owner }, j.payload, "job");
    },
  },
  "GET /api/v1/jobs/:id": {
    ...sharedJob,
    ok: 200,
    request: (_w, _p, t) => ({ path: jobPath(t) }),
    check: (p, t, b) => redacted(p, t, b.job.payload, "job"),
  },
  "GET /api/v1/jobs/:id/attempts": {
    ...sharedJob,
    ok: 200,
    request: (_w, _p, t) => ({ path: jobPath(t, "/attempts") }),
  },
  "GET /api/v1/jobs/:id/logs": {
    ...sharedJob,
    ok: 200,
    request: (_w, _p, t) => ({ path: jobPath(t, "/logs") }),
    rule: logsRule,
  },
  "POST /api/v1/jobs/:id/cancel": {
    ...freshJob,
    ok: 200,
    request: (_w, _p, t) => ({ path: jobPath(t, "/cancel") }),
  },
  "POST /api/v1/jobs/:id/retry": {
    ...one("JOB_NOT_FOUND", (w, o) => w.job(o, { cancelled: true })),
    ok: 200,
    request: (_w, _p, t) => ({ path: jobPath(t, "/retry") }),
  },
  "GET /api/v1/events": {
    // The stream of what the caller may read; naming a job for its log is the log's rule.
    kind: "list",
    ok: 200,
    variants: ["-", ...OWN_OTHER],
    target: owned((w, o) => w.sharedJob(o)),
    // Without a job: the whole retained feed, then the end (follow=false), to see whose changes it holds.
    request: (_w, _p, t) => ({
      path: t ? `/api/v1/events?jobId=${t.id}&logs=true` : "/api/v1/events?since=0&follow=false",
    }),
    rule: logsRule,
    owners: async (_w, b) =>
      b === null
        ? []
        : sseData(b)
            .filter((m) => m.kind === "job")
            .map((m) => m.owner),
  },
  "GET /api/v1/alerts": {
    // Alerts are about jobs: the caller sees those of the jobs it may read.
    kind: "list",
    ok: 200,
    request: () => ({ path: "/api/v1/alerts?limit=500" }),
    owners: async (w, b) =>
      Promise.all(
        items(b).map(async (a) => (await api<Json>(w.url, "GET", `/api/v1/jobs/${a.jobId}`)).body.job.owner),
      ),
  },

  // ── System ──
  "GET /api/v1/health": { kind: "open", ok: 200, request: () => ({ path: "/api/v1/health" }) },
  "GET /api/v1/ready": { kind: "open", ok: 200, request: () => ({ path: "/api/v1/ready" }) },
  "GET /api/v1/openapi.json": { kind: "open", ok: 200, request: () => ({ path: "/api/v1/openapi.json" }) },
  "GET /api/v1/metrics": { kind: "resource", ok: 200, request: () => ({ path: "/api/v1/metrics" }) },
  "GET /metrics": { kind: "resource", ok: 200, request: () => ({ path: "/metrics" }) },
  "GET /api/v1/cluster": { kind: "resource", ok: 200, request: () => ({ path: "/api/v1/cluster" }) },
  "GET /api/v1/audit": { kind: "resource", ok: 200, request: () => ({ path: "/api/v1/audit" }) },

  // ── People and keys ──
  "POST /api/v1/auth/login": {
    kind: "open",
    ok: 200,
    request: (w) => ({
      path: "/api/v1/auth/login",
      body: { username: w.spare.username, password: w.spare.password },
    }),
  },
  "POST /api/v1/auth/refresh": {
    kind: "open",
    ok: 200,
    request: async (w) => ({
      path: "/api/v1/auth/refresh",
      body: { refreshToken: (await w.login(w.spare.username, w.spare.password)).refreshToken },
    }),
  },
  "POST /api/v1/auth/logout": {
    kind: "open",
    ok: 204,
    request: async (w, p) => ({
      path: "/api/v1/auth/logout",
      token: p.password ? (await w.login(p.name, p.password)).accessToken : undefined,
    }),
  },
  "GET /api/v1/me": {
    kind: "open",
    ok: 200,
    request: () => ({ path: "/api/v1/me" }),
    check: (p, _t, b) => assert.deepEqual([b.principal.id, b.principal.role], [p.id, p.role]),
  },
  "POST /api/v1/users": {
    kind: "resource",
    ok: 201,
    request: (w) => ({
      path: "/api/v1/users",
      body: { username: w.fresh("created"), password: "password-created", role: "member" },
    }),
  },
  "GET /api/v1/users": {
    kind: "list",
    ok: 200,
    request: () => ({ path: "/api/v1/users?limit=500" }),
    owners: async (_w, b) => items(b).map((u) => u.id),
  },
  "GET /api/v1/users/:id": {
    kind: "one",
    ok: 200,
    notFound: "USER_NOT_FOUND",
    variants: OWN_OTHER,
    target: userTarget(false),
    request: (_w, _p, t) => ({ path: `/api/v1/users/${t!.id}` }),
  },
  "PATCH /api/v1/users/:id": {
    kind: "one",
    ok: 200,
    notFound: "USER_NOT_FOUND",
    variants: OWN_OTHER,
    target: userTarget(false),
    // A value no cell sent before: a change that should have been refused shows in the snapshot.
    request: (w, _p, t) => ({ path: `/api/v1/users/${t!.id}`, body: { maxQueued: w.next() } }),
  },
  "DELETE /api/v1/users/:id": {
    kind: "one",
    ok: 204,
    notFound: "USER_NOT_FOUND",
    variants: OWN_OTHER,
    target: userTarget(true),
    request: (_w, _p, t) => ({ path: `/api/v1/users/${t!.id}` }),
    // Own rule: no one deletes the user it acts for (an admin would lock itself out).
    rule: (p, t, e) => (e.status < 300 && t!.id === p.userId ? { status: 409, code: "INVALID_STATE" } : e),
  },
  "POST /api/v1/api-keys": {
    kind: "resource",
    ok: 201,
    request: (w) => ({ path: "/api/v1/api-keys", body: { name: w.fresh("made") } }),
    check: (p, _t, b) => assert.deepEqual([b.apiKey.ownerId, b.apiKey.role], [p.userId, p.role]),
  },
  "GET /api/v1/api-keys": {
    kind: "list",
    ok: 200,
    request: () => ({ path: "/api/v1/api-keys" }),
    owners: async (_w, b) => items(b).map((k) => k.ownerId),
  },
  "DELETE /api/v1/api-keys/:id": {
    ...one("API_KEY_NOT_FOUND", (w, o) => w.apiKey(o)),
    ok: 200,
    request: (_w, _p, t) => ({ path: `/api/v1/api-keys/${t!.id}` }),
  },

  // ── Workers ──
  "GET /api/v1/workers": { kind: "resource", ok: 200, request: () => ({ path: "/api/v1/workers" }) },
  "POST /api/v1/workers/:id/drain": {
    kind: "one",
    ok: 200,
    notFound: "WORKER_NOT_FOUND",
    variants: ["unowned"],
    target: async (w) => ({ id: await w.worker(w.actor("worker").token), ownerId: null }),
    request: (_w, _p, t) => ({ path: `/api/v1/workers/${t!.id}/drain` }),
  },
  "POST /api/v1/workers/register": {
    kind: "resource",
    ok: 200,
    request: (w) => ({
      path: "/api/v1/workers/register",
      body: { id: w.fresh("registered"), capacity: 1, types: ["sleep"], queues: [EMPTY_QUEUE] },
    }),
  },
  "POST /api/v1/workers/:id/poll": protocol("poll", { slots: 1, waitMs: 0 }),
  "POST /api/v1/workers/:id/heartbeat": protocol("heartbeat", { leases: [], running: 0 }),
  "POST /api/v1/workers/:id/reports": protocol("reports", { logs: [], completed: [] }),

  // ── Schedules ──
  "POST /api/v1/schedules": {
    kind: "resource",
    ok: 201,
    request: () => ({ path: "/api/v1/schedules", body: SCHEDULE_BODY }),
    check: (p, _t, b) => assert.equal(b.schedule.owner, p.userId),
  },
  "GET /api/v1/schedules": {
    kind: "list",
    ok: 200,
    request: () => ({ path: "/api/v1/schedules?limit=500" }),
    owners: async (_w, b) => items(b).map((s) => s.owner),
  },
  "GET /api/v1/schedules/:id": {
    ...sharedSchedule,
    ok: 200,
    request: (_w, _p, t) => ({ path: schedulePath(t) }),
    check: (p, t, b) => redacted(p, t, b.schedule.job.payload ?? null, "schedule"),
  },
  "GET /api/v1/schedules/:id/runs": {
    ...sharedSchedule,
    ok: 200,
    request: (_w, _p, t) => ({ path: schedulePath(t, "/runs") }),
  },
  "PATCH /api/v1/schedules/:id": {
    ...freshSchedule,
    ok: 200,
    // Names are unique among all schedules: each rename its own.
    request: (w, _p, t) => ({ path: schedulePath(t), body: { name: w.fresh("renamed") } }),
  },
  "DELETE /api/v1/schedules/:id": {
    ...freshSchedule,
    ok: 204,
    request: (_w, _p, t) => ({ path: schedulePath(t) }),
  },
  "POST /api/v1/schedules/:id/pause": {
    ...freshSchedule,
    ok: 200,
    request: (_w, _p, t) => ({ path: schedulePath(t, "/pause") }),
  },
  "POST /api/v1/schedules/:id/resume": {
    ...freshSchedule,
    ok: 200,
    request: (_w, _p, t) => ({ path: schedulePath(t, "/resume") }),
  },
  "POST /api/v1/schedules/:id/trigger": {
    ...freshSchedule,
    ok: 201,
    request: (_w, _p, t) => ({ path: schedulePath(t, "/trigger") }),
    check: (_p, t, b) => assert.equal(b.job.owner, t!.ownerId, "a schedule's jobs are its owner's"),
  },
};
