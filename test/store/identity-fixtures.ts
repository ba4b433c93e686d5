/** Records for the IdentityStore tests (identity-conformance.ts and the backend files). */
import { randomBytes } from "node:crypto";
import { newId } from "../../src/core/ids.ts";
import type {
  ApiKeyRecord,
  AuditEntry,
  IdentityStore,
  NewUser,
  SessionRecord,
} from "../../src/store/identity-store.ts";

export const T0 = 1_800_000_000_000;
export const HOUR = 3_600_000;

/** One database, opened as many times as a test needs (SQLite: one at a time, the file's lock). */
export interface IdentityBackend {
  open(): Promise<{ identity: IdentityStore; close: () => Promise<void> }>;
  cleanup(): Promise<void>;
}

const token = () => randomBytes(16).toString("hex");

export const newUser = (over: Partial<NewUser> = {}): NewUser => ({
  id: newId(),
  username: `user-${token().slice(0, 10)}`,
  role: "member",
  passwordHash: `scrypt$${token()}`,
  disabled: false,
  createdAt: T0,
  maxRunning: null,
  maxQueued: null,
  ...over,
});

export const newKey = (ownerId: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: newId(),
  name: "ci",
  role: "member",
  prefix: `bsn_${token().slice(0, 8)}`,
  hash: token(),
  ownerId,
  queues: null,
  createdAt: T0,
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  ...over,
});

export const newSession = (userId: string, over: Partial<SessionRecord> = {}): SessionRecord => {
  const id = newId();
  return {
    id,
    familyId: id,
    userId,
    tokenHash: token(),
    credentialsVersion: 1,
    createdAt: T0,
    expiresAt: T0 + HOUR,
    rotatedAt: null,
    revokedAt: null,
    ...over,
  };
};

export const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  at: T0,
  actorId: null,
  actorName: null,
  action: "test.action",
  targetType: null,
  targetId: null,
  ip: "127.0.0.1",
  outcome: "ok",
  details: null,
  ...over,
});
