/**
 * The statements of SqliteIdentityStore (sqlite-identity.ts), prepared once per connection: login,
 * refresh and the per-request auth check run them on every call, and preparing costs as much as running
 * (the authState lookup: 36-39 µs prepared once, 75-80 µs prepared per call).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AuditFilter } from "../identity-rows.ts";

const AUDIT_PAGE = (where: string) =>
  `SELECT * FROM audit_log WHERE ${where} seq < ? AND at >= ? ORDER BY seq DESC LIMIT ?`;

export function prepareIdentity(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    auditPage: {
      all: p(AUDIT_PAGE("")),
      actor: p(AUDIT_PAGE("actor_id = ? AND")),
      action: p(AUDIT_PAGE("action = ? AND")),
      both: p(AUDIT_PAGE("actor_id = ? AND action = ? AND")),
    } satisfies Record<AuditFilter, StatementSync>,
    pruneAudit: p(`DELETE FROM audit_log WHERE seq IN
      (SELECT seq FROM audit_log INDEXED BY audit_at WHERE at < ? ORDER BY at LIMIT ?)`),

    insertUser: p(`INSERT INTO users (id, username, username_key, role, password_hash, disabled, created_at,
        updated_at, max_running, max_queued) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    user: p("SELECT * FROM users WHERE id = ?"),
    userByKey: p("SELECT * FROM users WHERE username_key = ?"),
    users: p("SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?"),
    countUsers: p("SELECT COUNT(*) AS n FROM users"),
    writeUser: p(`UPDATE users SET role = ?, password_hash = ?, disabled = ?, max_running = ?, max_queued = ?,
        credentials_version = ?, updated_at = ? WHERE id = ? RETURNING *`),
    deleteUser: p("DELETE FROM users WHERE id = ?"),
    // All right-hand sides read the row as it was: the N-th failure locks and starts the count again.
    loginFailure: p(`UPDATE users SET
        failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END,
        locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
      WHERE id = ? RETURNING failed_logins, locked_until`),
    loginSuccess: p("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?"),

    insertKey:
      p(`INSERT INTO api_keys (id, name, role, prefix, hash, owner_id, queues, created_at, expires_at,
        last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    key: p("SELECT * FROM api_keys WHERE id = ?"),
    keyByHash: p("SELECT * FROM api_keys WHERE hash = ?"),
    keys: p("SELECT * FROM api_keys ORDER BY id"),
    keysOf: p("SELECT * FROM api_keys WHERE owner_id = ? ORDER BY id"),
    revokeKey: p("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *"),
    revokeKeysOf: p("UPDATE api_keys SET revoked_at = ? WHERE owner_id = ? AND revoked_at IS NULL"),
    deleteKeysOf: p("DELETE FROM api_keys WHERE owner_id = ?"),
    touchKey: p(`UPDATE api_keys SET last_used_at = ?
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),

    insertSession:
      p(`INSERT INTO sessions (id, family_id, user_id, token_hash, credentials_version, created_at,
        expires_at, rotated_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`),
    session: p("SELECT * FROM sessions WHERE id = ?"),
    sessionByHash: p(`SELECT s.*, u.credentials_version AS owner_cv, u.disabled AS owner_disabled
      FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`),
    markRotated: p("UPDATE sessions SET rotated_at = ? WHERE id = ?"),
    familyOf: p(`SELECT family_id FROM sessions WHERE id = ?
      UNION ALL SELECT family_id FROM sessions WHERE family_id = ? LIMIT 1`),
    revokeFamily: p("UPDATE sessions SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL"),
    revokeSessionsOf: p("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"),
    pruneSessions: p(`DELETE FROM sessions WHERE id IN
      (SELECT id FROM sessions INDEXED BY sessions_expires WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`),

    // One row whatever matches: each LEFT JOIN is one primary-key lookup.
    authState: p(`SELECT u.role AS u_role, u.disabled AS u_disabled, u.credentials_version AS u_cv,
        s.user_id AS s_user, s.family_id AS s_family, s.revoked_at AS s_revoked, s.expires_at AS s_expires,
        s.credentials_version AS s_cv,
        (SELECT o.credentials_version FROM users o WHERE o.id = s.user_id) AS s_owner_cv,
        k.owner_id AS k_owner, k.role AS k_role, k.queues AS k_queues, k.revoked_at AS k_revoked,
        k.expires_at AS k_expires
      FROM (SELECT 1) AS one
      LEFT JOIN users u ON u.id = ?
      LEFT JOIN sessions s ON s.id = ?
      LEFT JOIN api_keys k ON k.id = ?`),

    secret: p("SELECT secret FROM identity_secrets WHERE name = 'signing'"),
    addSecret: p(`INSERT INTO identity_secrets (name, secret, created_at) VALUES ('signing', ?, ?)
      ON CONFLICT DO NOTHING`),
  };
}

export type IdentityStatements = ReturnType<typeof prepareIdentity>;
