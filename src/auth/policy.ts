/**
 * Who may do what: ONE table of role × resource × verb → scope, and the three questions every entry point
 * asks of it (scopeOf, authorize, listFilter). No route, handler or protocol decides access on its own;
 * they ask here, so REST, WebSocket, the worker protocol and gRPC cannot drift apart.
 *
 * Scopes: "all" (any object, whoever owns it), "own" (objects whose owner is the principal's user),
 * "none". Ownership is by user: a key acts for the user who made it (principal.ts). An object without an
 * owner (ownerId null: queues, nodes, or jobs from before identity existed) is covered by "all" only.
 *
 * Two refusals, because a caller must not learn that something exists when it may not see it:
 * - "hidden": the caller may not even read that object; the route answers 404, exactly as for an id that
 *   does not exist.
 * - "forbidden": the caller may read it (or the verb is not about one object) but may not do this; 403.
 *
 * A verb that is no operation on a resource (deleting an audit row, creating a node) is "none" for every
 * role, admin included, so a new route for it must change this table first. docs/security.md holds the
 * rendered table (describePolicy); a test keeps it equal to this one.
 */
import { BosunError, type ErrorCode } from "../core/errors.ts";
import type { Principal } from "./principal.ts";
import { ROLES, type Role } from "./roles.ts";

export const RESOURCES = [
  "job",
  "schedule",
  "flow",
  "file",
  "queue",
  "type",
  "worker",
  "node",
  "user",
  "apiKey",
  "audit",
  "event",
  "metrics",
  "workerProtocol",
] as const;
export type Resource = (typeof RESOURCES)[number];

export const VERBS = ["read", "create", "update", "delete", "act", "readSecret"] as const;
export type Verb = (typeof VERBS)[number];

export type Scope = "all" | "own" | "none";
export type Decision = "allow" | "forbidden" | "hidden";

/** What a verb means for each resource, where it is not obvious; rendered into docs/security.md. */
export const RESOURCE_NOTES: Readonly<Record<Resource, string>> = Object.freeze({
  job: "act: cancel, retry, promote. readSecret: payload, env values, result and logs",
  schedule: "act: pause, resume, trigger now. readSecret: the payload and env of the jobs it makes",
  flow: "act: cancel, retry. readSecret: its steps' payloads and results",
  file: "read: metadata. create: upload. readSecret: download the content",
  queue: "update: limits. act: pause, resume, drain",
  type: "per-type limits. act: pause, resume",
  worker: "workers register through the worker protocol, not here. act: drain. delete: forget",
  node: "nodes join by starting. act: drain",
  user: "owner of a user record is that user (own = oneself, e.g. GET /me). act: unlock, revoke sessions",
  apiKey: "owner is the user who made the key. The key is shown once and stored as a hash: no one reads it",
  audit: "append-only, written with the action it records; removed only by retention",
  event: "the change feed; an event's owner is its job's owner. readSecret: payloads in events",
  metrics: "Prometheus /metrics and the statistics endpoints",
  workerProtocol:
    "act: register, poll, heartbeat, report (the lease itself is checked by the store). readSecret: receive payloads",
});

type Verbs = Readonly<Record<Verb, Scope>>;
type PolicyTable = Readonly<Record<Role, Readonly<Record<Resource, Verbs>>>>;

const A = "all";
const O = "own";
const N = "none";
const NOTHING: Verbs = { read: N, create: N, update: N, delete: N, act: N, readSecret: N };
const READ_ALL: Verbs = { ...NOTHING, read: A };
const OWN_KEYS: Verbs = { read: O, create: O, update: O, delete: O, act: N, readSecret: N };
const ONESELF: Verbs = { ...NOTHING, read: O };

export const POLICY: PolicyTable = deepFreeze({
  admin: {
    job: { read: A, create: A, update: A, delete: A, act: A, readSecret: A },
    schedule: { read: A, create: A, update: A, delete: A, act: A, readSecret: A },
    flow: { read: A, create: A, update: A, delete: A, act: A, readSecret: A },
    file: { read: A, create: A, update: A, delete: A, act: N, readSecret: A },
    queue: { read: A, create: A, update: A, delete: A, act: A, readSecret: N },
    type: { read: A, create: A, update: A, delete: A, act: A, readSecret: N },
    worker: { read: A, create: N, update: A, delete: A, act: A, readSecret: N },
    node: { read: A, create: N, update: A, delete: A, act: A, readSecret: N },
    user: { read: A, create: A, update: A, delete: A, act: A, readSecret: N },
    apiKey: { read: A, create: A, update: A, delete: A, act: N, readSecret: N },
    audit: READ_ALL,
    event: { ...READ_ALL, readSecret: A },
    metrics: READ_ALL,
    // The zero-set-up credential of the machine running `bosun start` is admin's, and the README tour
    // starts a worker with it; every other human role needs a worker key.
    workerProtocol: { ...NOTHING, read: A, act: A, readSecret: A },
  },
  operator: {
    job: { read: A, create: O, update: A, delete: A, act: A, readSecret: A },
    schedule: { read: A, create: O, update: A, delete: A, act: A, readSecret: A },
    flow: { read: A, create: O, update: A, delete: A, act: A, readSecret: A },
    file: { read: A, create: O, update: A, delete: A, act: N, readSecret: A },
    queue: { read: A, create: A, update: A, delete: A, act: A, readSecret: N },
    type: { read: A, create: A, update: A, delete: A, act: A, readSecret: N },
    worker: { read: A, create: N, update: A, delete: A, act: A, readSecret: N },
    node: { read: A, create: N, update: A, delete: A, act: A, readSecret: N },
    user: ONESELF,
    apiKey: OWN_KEYS,
    audit: NOTHING,
    event: { ...READ_ALL, readSecret: A },
    metrics: READ_ALL,
    workerProtocol: NOTHING,
  },
  member: {
    job: { read: O, create: O, update: O, delete: O, act: O, readSecret: O },
    schedule: { read: O, create: O, update: O, delete: O, act: O, readSecret: O },
    flow: { read: O, create: O, update: O, delete: O, act: O, readSecret: O },
    file: { read: O, create: O, update: O, delete: O, act: N, readSecret: O },
    queue: READ_ALL,
    type: READ_ALL,
    worker: READ_ALL,
    // The dashboard shows cluster health to everyone who logs in; a node list holds no one's data.
    node: READ_ALL,
    user: ONESELF,
    apiKey: OWN_KEYS,
    audit: NOTHING,
    event: { ...NOTHING, read: O, readSecret: O },
    // Scrapers use viewer keys; a member's view of load is its queue and worker lists.
    metrics: NOTHING,
    workerProtocol: NOTHING,
  },
  viewer: {
    job: READ_ALL,
    schedule: READ_ALL,
    flow: READ_ALL,
    file: READ_ALL,
    queue: READ_ALL,
    type: READ_ALL,
    worker: READ_ALL,
    node: READ_ALL,
    user: ONESELF,
    // The one change a viewer may make: keys for itself (only viewer keys, see canGrant), so a wall
    // dashboard or a scraper need not hold a person's password.
    apiKey: OWN_KEYS,
    audit: NOTHING,
    event: READ_ALL,
    metrics: READ_ALL,
    workerProtocol: NOTHING,
  },
  worker: {
    job: NOTHING,
    schedule: NOTHING,
    flow: NOTHING,
    file: NOTHING,
    queue: NOTHING,
    type: NOTHING,
    worker: NOTHING,
    node: NOTHING,
    user: NOTHING,
    apiKey: NOTHING,
    audit: NOTHING,
    event: NOTHING,
    metrics: NOTHING,
    workerProtocol: { ...NOTHING, read: A, act: A, readSecret: A },
  },
});

/** An existing (or, for create, the proposed) object: whose it is. */
export interface Target {
  ownerId: string | null;
}

export function scopeOf(p: Principal, resource: Resource, verb: Verb): Scope {
  return POLICY[p.role][resource][verb];
}

function covers(scope: Scope, p: Principal, target: Target): boolean {
  if (scope === "all") return true;
  return scope === "own" && target.ownerId !== null && target.ownerId === p.userId;
}

/**
 * May `p` do `verb` on `target`?
 *
 * With a target (an object that exists, or for create the object about to be made, owner included), the
 * answer is "hidden" when the caller may not read that object (404), "forbidden" when it may read it but
 * not do this (403), else "allow".
 *
 * Without a target the question is about the resource as a whole: a create (the new object will be owned
 * by the caller: the route sets ownerId = p.userId), or a verb on something that has no instances
 * (metrics, the worker protocol). Then only "all" allows, and "own" allows create; anything else is
 * "forbidden". Lists do not ask this: they use listFilter.
 */
export function authorize(p: Principal, resource: Resource, verb: Verb, target?: Target): Decision {
  const scope = scopeOf(p, resource, verb);
  if (target === undefined) {
    return scope === "all" || (scope === "own" && verb === "create") ? "allow" : "forbidden";
  }
  if (verb !== "create" && !covers(scopeOf(p, resource, "read"), p, target)) return "hidden";
  return covers(scope, p, target) ? "allow" : "forbidden";
}

/** The filter of a list query: `{}` every owner's, `{ owner }` only that user's, null may not list at all. */
export function listFilter(p: Principal, resource: Resource): { owner?: string } | null {
  const scope = scopeOf(p, resource, "read");
  if (scope === "all") return {};
  if (scope === "own") return { owner: p.userId };
  return null;
}

/**
 * Turns a refusal into the error the caller receives: the resource's not-found code for "hidden" (the same
 * answer as for an unknown id), FORBIDDEN for "forbidden".
 */
export function throwUnlessAllowed(decision: Decision, notFound: ErrorCode): void {
  if (decision === "hidden") throw new BosunError(notFound);
  if (decision === "forbidden") throw new BosunError("FORBIDDEN");
}

/** The table as Markdown, one row per resource and one column per role: the body of docs/security.md. */
export function describePolicy(): string {
  const cell = (role: Role, resource: Resource): string => {
    const verbs = POLICY[role][resource];
    const groups = (["all", "own"] as const)
      .map((scope) => [scope, VERBS.filter((v) => verbs[v] === scope)] as const)
      .filter(([, vs]) => vs.length > 0)
      .map(([scope, vs]) => `${scope}: ${vs.join(", ")}`);
    return groups.length === 0 ? "—" : groups.join("; ");
  };
  const lines = [
    `| resource | ${ROLES.join(" | ")} |`,
    `| --- | ${ROLES.map(() => "---").join(" | ")} |`,
    ...RESOURCES.map((r) => `| ${r} | ${ROLES.map((role) => cell(role, r)).join(" | ")} |`),
    "",
    "| resource | what the verbs mean |",
    "| --- | --- |",
    ...RESOURCES.map((r) => `| ${r} | ${RESOURCE_NOTES[r]} |`),
  ];
  return lines.join("\n") + "\n";
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
  return Object.freeze(o);
}
