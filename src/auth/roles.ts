/**
 * The roles of Bosun's principals, and which role may hand which on.
 *
 * The four human roles form one ladder, highest first:
 *
 *     admin > operator > member > viewer
 *
 * A principal may grant (give an API key) any role at or below its own on that ladder: an operator may
 * create operator, member and viewer keys; a viewer only viewer keys (read-only dashboards). `worker` is
 * off the ladder: it may do nothing but speak the worker protocol, so it is neither "below" nor "above"
 * anyone; worker keys may be created by admin and operator only (the roles that manage workers), and a
 * worker grants nothing.
 *
 * What each role may do is not here but in the one policy table (policy.ts).
 */

export const ROLES = ["admin", "operator", "member", "viewer", "worker"] as const;
export type Role = (typeof ROLES)[number];

/** The ladder of human roles; a higher number may do and grant everything a lower one may. */
const LADDER: Readonly<Partial<Record<Role, number>>> = Object.freeze({
  admin: 4,
  operator: 3,
  member: 2,
  viewer: 1,
});

/** The roles that may create worker keys. */
const WORKER_KEY_GRANTORS: readonly Role[] = ["admin", "operator"];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** May a principal of role `creator` create a credential (API key) of role `granted`? */
export function canGrant(creator: Role, granted: Role): boolean {
  if (granted === "worker") return WORKER_KEY_GRANTORS.includes(creator);
  const c = LADDER[creator];
  const g = LADDER[granted];
  return c !== undefined && g !== undefined && g <= c;
}

/**
 * The role a key acts with today. A key's role was at most its owner's when it was made, but the owner may
 * have been demoted since: an operator key of a user who is now a member must not keep operator powers.
 * The key then acts with the owner's current (lower) role; a worker key whose owner may no longer grant
 * worker keys, or any key of an owner with the worker role, is unusable (null).
 */
export function effectiveKeyRole(keyRole: Role, ownerRole: Role): Role | null {
  if (canGrant(ownerRole, keyRole)) return keyRole;
  if (keyRole === "worker" || ownerRole === "worker") return null;
  return ownerRole;
}
