-- Cluster state: server nodes, named leases (the leader lease), and registered workers.
CREATE TABLE nodes (
  id           TEXT PRIMARY KEY,
  address      TEXT NOT NULL,
  version      TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);

CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE workers (
  id            TEXT PRIMARY KEY,
  labels        TEXT NOT NULL,
  capacity      INTEGER NOT NULL,
  running       INTEGER NOT NULL,
  types         TEXT NOT NULL,
  queues        TEXT,
  draining      INTEGER NOT NULL DEFAULT 0,
  version       TEXT,
  registered_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL
);
