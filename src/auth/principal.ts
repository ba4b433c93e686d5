/**
 * Who is asking: the one shape every entry point (REST, WebSocket, worker protocol, gRPC) turns its
 * credentials into before it asks the policy (policy.ts) anything.
 *
 * Ownership is always by user: an API key acts for the user who made it, so a job submitted with a key is
 * owned by that user (`userId`), and the key's owner sees it in their lists as if they had submitted it.
 */
import type { Role } from "./roles.ts";

export interface Principal {
  kind: "user" | "apiKey";
  /** The user's id, or the key's id. */
  id: string;
  /** The owner recorded on what this principal creates: the user itself, or the user who made the key. */
  userId: string;
  /** Username, or the key's name: for logs and the audit log, never for decisions. */
  name: string;
  /** For a key: the key's role (see effectiveKeyRole in roles.ts), not its owner's. */
  role: Role;
  /** The refresh-session family an access token belongs to (users logged in with a password). */
  sessionId?: string;
  /** Set when kind is "apiKey" (equal to `id`), so audit rows can say which key acted. */
  keyId?: string;
  /** Worker keys may be restricted to queues; null or absent means every queue. */
  queues?: string[] | null;
}

/**
 * The queues a worker principal asks for, narrowed to those its key allows: what the worker protocol
 * passes to the claim. `requested` null means "any queue". The result null means any queue; an empty array
 * means none of the requested queues is allowed (the poll must return no work, not every queue's).
 */
export function servableQueues(p: Principal, requested: readonly string[] | null): string[] | null {
  if (p.queues == null) return requested === null ? null : [...requested];
  if (requested === null) return [...p.queues];
  const allowed = new Set(p.queues);
  return requested.filter((q) => allowed.has(q));
}

/**
 * The process itself: the embedded SDK (Bosun.open) and the in-process worker pool act as this, without
 * credentials, because they run inside the server. Never the result of authenticating a request.
 */
export const SYSTEM_PRINCIPAL: Principal = Object.freeze({
  kind: "user",
  id: "system",
  userId: "local",
  name: "system",
  role: "admin",
});
