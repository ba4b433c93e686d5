-- Cluster state: server nodes, named leases (the leader lease), and registered workers.
CREATE TABLE nodes (
  id           text PRIMARY KEY,
  address      text   NOT NULL,
  version      text   NOT NULL,
  started_at   bigint NOT NULL,
  last_seen_at bigint NOT NULL
);

CREATE TABLE leases (
  name       text PRIMARY KEY,
  holder     text   NOT NULL,
  expires_at bigint NOT NULL
);

CREATE TABLE workers (
  id            text PRIMARY KEY,
  labels        jsonb   NOT NULL,
  capacity      integer NOT NULL,
  running       integer NOT NULL,
  types         jsonb   NOT NULL,
  queues        jsonb,
  draining      boolean NOT NULL DEFAULT false,
  version       text,
  registered_at bigint  NOT NULL,
  last_seen_at  bigint  NOT NULL
);
