-- Identity and access (store/identity-store.ts): users, API keys, refresh-token sessions, the token
-- signing secret and the audit log. Times are epoch milliseconds.

-- username_key is usernameKey(username), computed by Bosun so that both backends agree on which names
-- collide (SQLite's lower() folds ASCII only).
CREATE TABLE users (
  id                  TEXT PRIMARY KEY,
  username            TEXT    NOT NULL,
  username_key        TEXT    NOT NULL UNIQUE,
  role                TEXT    NOT NULL,
  password_hash       TEXT    NOT NULL,
  disabled            INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  failed_logins       INTEGER NOT NULL DEFAULT 0,
  locked_until        INTEGER,
  credentials_version INTEGER NOT NULL DEFAULT 1,
  max_running         INTEGER,
  max_queued          INTEGER
);

-- owner_id is not a foreign key: a key's owner is the principal that created it; deleting a user deletes
-- its keys in the same transaction (identity-store.ts).
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL,
  prefix       TEXT    NOT NULL,
  hash         TEXT    NOT NULL UNIQUE,
  owner_id     TEXT    NOT NULL,
  queues       TEXT,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX api_keys_owner ON api_keys (owner_id, id);

-- One row per refresh token; a family is one login's chain of rotations. Rotated rows stay until they
-- expire: presenting one again is how reuse is detected.
CREATE TABLE sessions (
  id                  TEXT PRIMARY KEY,
  family_id           TEXT    NOT NULL,
  user_id             TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash          TEXT    NOT NULL UNIQUE,
  credentials_version INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  expires_at          INTEGER NOT NULL,
  rotated_at          INTEGER,
  revoked_at          INTEGER
);
CREATE INDEX sessions_family ON sessions (family_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Secrets made once per database and shared by every node: 'signing' signs the access tokens.
CREATE TABLE identity_secrets (
  name       TEXT PRIMARY KEY,
  secret     BLOB    NOT NULL,
  created_at INTEGER NOT NULL
);

-- AUTOINCREMENT: a seq is never handed out twice, even after pruning, so keyset cursors stay valid.
CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  actor_id    TEXT,
  actor_name  TEXT,
  action      TEXT    NOT NULL,
  target_type TEXT,
  target_id   TEXT,
  ip          TEXT,
  outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
  details     TEXT
);
CREATE INDEX audit_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_action ON audit_log (action, seq);
CREATE INDEX audit_at ON audit_log (at);
