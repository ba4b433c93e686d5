-- Identity and access (store/identity-store.ts): users, API keys, refresh-token sessions, the token
-- signing secret and the audit log. Times are epoch milliseconds.

-- username_key is usernameKey(username), computed by Bosun so that both backends agree on which names
-- collide (lower() here would follow the database's collation).
CREATE TABLE users (
  id                  text PRIMARY KEY,
  username            text    NOT NULL,
  username_key        text    NOT NULL UNIQUE,
  role                text    NOT NULL,
  password_hash       text    NOT NULL,
  disabled            boolean NOT NULL DEFAULT false,
  created_at          bigint  NOT NULL,
  updated_at          bigint  NOT NULL,
  failed_logins       integer NOT NULL DEFAULT 0,
  locked_until        bigint,
  credentials_version integer NOT NULL DEFAULT 1,
  max_running         integer,
  max_queued          integer
);

-- owner_id is not a foreign key: a key's owner is the principal that created it; deleting a user deletes
-- its keys in the same transaction (identity-store.ts).
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  name         text   NOT NULL,
  role         text   NOT NULL,
  prefix       text   NOT NULL,
  hash         text   NOT NULL UNIQUE,
  owner_id     text   NOT NULL,
  queues       jsonb,
  created_at   bigint NOT NULL,
  expires_at   bigint,
  last_used_at bigint,
  revoked_at   bigint
);
CREATE INDEX api_keys_owner ON api_keys (owner_id, id);

-- One row per refresh token; a family is one login's chain of rotations. Rotated rows stay until they
-- expire: presenting one again is how reuse is detected.
CREATE TABLE sessions (
  id                  text PRIMARY KEY,
  family_id           text    NOT NULL,
  user_id             text    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash          text    NOT NULL UNIQUE,
  credentials_version integer NOT NULL,
  created_at          bigint  NOT NULL,
  expires_at          bigint  NOT NULL,
  rotated_at          bigint,
  revoked_at          bigint
);
CREATE INDEX sessions_family ON sessions (family_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Secrets made once per database and shared by every node: 'signing' signs the access tokens.
CREATE TABLE identity_secrets (
  name       text PRIMARY KEY,
  secret     bytea  NOT NULL,
  created_at bigint NOT NULL
);

-- seq comes from a sequence: ordered by when a row was inserted, not when it committed, so a page read
-- while writers are in flight may miss an entry that commits later with a smaller seq. Fine for reading
-- an audit log; nothing consumes it as a feed.
CREATE TABLE audit_log (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          bigint NOT NULL,
  actor_id    text,
  actor_name  text,
  action      text   NOT NULL,
  target_type text,
  target_id   text,
  ip          text,
  outcome     text   NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
  details     jsonb
);
CREATE INDEX audit_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_action ON audit_log (action, seq);
CREATE INDEX audit_at ON audit_log (at);
