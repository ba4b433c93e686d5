/** How users, API keys and audit entries look over the API: never a hash, never a secret. */
import { Type } from "typebox";
import { ROLES } from "../../auth/roles.ts";
import type { ApiKeyRecord, AuditRecord, UserRecord } from "../../store/identity-store.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Time = Type.Union([Type.Null(), Type.String({ format: "date-time" })]);
export const RoleSchema = Type.Union(
  [
    Type.Literal("admin"),
    Type.Literal("operator"),
    Type.Literal("member"),
    Type.Literal("viewer"),
    Type.Literal("worker"),
  ],
  { description: ROLES.join(", ") },
);

export const UserOut = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  createdAt: Time,
  updatedAt: Time,
  lockedUntil: Time,
  maxRunning: Type.Union([Type.Null(), Type.Integer()]),
  maxQueued: Type.Union([Type.Null(), Type.Integer()]),
});

export const userView = (u: UserRecord) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  createdAt: iso(u.createdAt),
  updatedAt: iso(u.updatedAt),
  lockedUntil: u.lockedUntil !== null && u.lockedUntil > Date.now() ? iso(u.lockedUntil) : null,
  maxRunning: u.maxRunning,
  maxQueued: u.maxQueued,
});

export const ApiKeyOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  prefix: Type.String({ description: "The key's first characters, to recognise it; the key is shown once" }),
  ownerId: Type.String(),
  queues: Type.Union([Type.Null(), Type.Array(Type.String())]),
  createdAt: Time,
  expiresAt: Time,
  lastUsedAt: Time,
  revokedAt: Time,
});

export const apiKeyView = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  ownerId: k.ownerId,
  queues: k.queues,
  createdAt: iso(k.createdAt),
  expiresAt: iso(k.expiresAt),
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
});

export const AuditOut = Type.Object({
  seq: Type.Integer(),
  at: Time,
  actorId: Type.Union([Type.Null(), Type.String()]),
  actorName: Type.Union([Type.Null(), Type.String()]),
  action: Type.String(),
  targetType: Type.Union([Type.Null(), Type.String()]),
  targetId: Type.Union([Type.Null(), Type.String()]),
  ip: Type.Union([Type.Null(), Type.String()]),
  outcome: Type.Union([Type.Literal("ok"), Type.Literal("denied"), Type.Literal("failed")]),
  details: Type.Union([Type.Null(), Type.Record(Type.String(), Type.Unknown())]),
});

export const auditView = (a: AuditRecord) => ({ ...a, at: iso(a.at) });
