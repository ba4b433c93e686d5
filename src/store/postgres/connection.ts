/**
 * Connections and migrations for the PostgreSQL backend. Every connection sets search_path to Bosun's
 * schema, so SQL names tables plainly. Migrations run in one transaction under an advisory lock: several
 * nodes starting at once apply each migration exactly once, and the others wait, then see it applied.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";

export type Sql = postgres.Sql;

const MIGRATIONS_DIR = join(import.meta.dirname, "migrations");

export interface ConnectOptions {
  url: string;
  schema: string;
  max: number;
  /**
   * Commits do not wait for the WAL flush (one fsync per claim and per completion batch was most of the
   * cost). A PostgreSQL crash may forget the last few hundred milliseconds of claims and completions,
   * which at-least-once absorbs: a lost claim puts the job back; a lost completion is retried when its
   * lease runs out. Enqueue transactions switch synchronous_commit back on: an accepted job is on disk.
   */
  asyncCommit?: boolean;
}

export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name "${schema}"`);
  return schema;
}

export function connect(opts: ConnectOptions): Sql {
  return postgres(opts.url, {
    max: opts.max,
    onnotice: () => undefined,
    // Bosun's queries are keyset walks of partial indexes. Right after a bulk enqueue the statistics are
    // stale and the planner bitmap-scans and sorts every queued job per claim (30-40 ms at 50,000 jobs);
    // without bitmap scans it walks jobs_ready in order and stops at the LIMIT.
    connection: {
      search_path: assertSchemaName(opts.schema),
      application_name: "bosun",
      enable_bitmapscan: "off",
      // Batches join at most a few thousand input rows to jobs by id: a nested loop over the id index.
      // A hash join would read every job that matches the rest of the WHERE (postgres-store.ts).
      enable_hashjoin: "off",
      enable_mergejoin: "off",
      ...(opts.asyncCommit ? { synchronous_commit: "off" } : {}),
    },
    // bigint columns hold epoch milliseconds: well inside Number's exact range.
    types: {
      bigint: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
    },
  });
}

export async function migrate(sql: Sql, schema: string): Promise<number[]> {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`bosun:migrate:${schema}`}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${assertSchemaName(schema)}`);
    await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;
    const applied = new Set((await tx`SELECT version FROM schema_migrations`).map((r) => Number(r.version)));
    const done: number[] = [];
    for (const file of files) {
      const [, v, name] = /^(\d+)_(.+)\.sql$/.exec(file)!;
      const version = Number(v);
      if (applied.has(version)) continue;
      await tx.unsafe(readFileSync(join(MIGRATIONS_DIR, file), "utf8"));
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${version}, ${name!}, ${Date.now()})`;
      done.push(version);
    }
    return done;
  });
}
