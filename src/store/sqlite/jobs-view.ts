/**
 * The one read path for jobs on SQLite: `jobs` is a TEMP VIEW on this store's connection, over the file's
 * rows (`main.jobs`) with the claims held in memory (soft-claims.ts) shown as the running jobs they are.
 * A TEMP name comes first in SQLite's name lookup, so every unqualified `jobs` in a read — lists,
 * counts, lookups, any query written later (quotas, flows) — sees what a store that writes its claims
 * would show, and no reader has to know that claims are held.
 *
 * The rule for SQL on this connection:
 * - Reads say `jobs`.
 * - Writes say `main.jobs`: a write to the view fails ("cannot modify jobs because it is a view"), so a
 *   write cannot forget. The writer's own reads that name an index (INDEXED BY works on tables only)
 *   read `main.jobs` too, and each says why a held claim cannot change its answer: it runs after the
 *   claims it could meet are written (`harden`), or it reads rows or columns a held claim never
 *   changes (scheduled rows, scheduled_time).
 *
 * The view is two arms of a UNION ALL: the file's rows that are not held, and the held rows with the
 * columns a written claim would set (status, attempts, worker, start, lease, progress, token) taken
 * from memory through a connection-local function. Both arms have the same column affinities (the
 * CASTs), which lets SQLite flatten the view into each query: a list by status over 1,000,000 rows
 * reads the same index and stops at its LIMIT (0.8–1.5 ms, as on the table), counts cost what they
 * cost on the table (docs/benchmarks.md, `npm run bench:claims`). Arms of different affinities were
 * not flattened: every list sorted all its matching rows (up to 1.2 s). The held claims come from a
 * function, not a TEMP table: mirroring them into a table cost 6–7 µs per job on the claim path (about
 * two thirds of the store's work per job); the function costs nothing until something reads, then one
 * JSON array per statement.
 */
import type { DatabaseSync } from "node:sqlite";
import { ROW_FIELDS, type SoftClaims } from "./soft-claims.ts";

/** Columns a held claim overlays that are not in its JSON row: as claimMany writes them. */
const CONSTANT: Record<string, string> = { status: "'running'", progress: "NULL" };

/**
 * Creates the view for this connection, after migrations (so it has every column) and before any
 * statement is prepared (so each binds `jobs` to the view).
 */
export function createJobsView(db: DatabaseSync, held: SoftClaims): void {
  db.function("bosun_held_seqs", { deterministic: false }, () => held.seqsJson());
  db.function("bosun_held_rows", { deterministic: false }, () => held.rowsJson());
  const columns = db.prepare("PRAGMA main.table_info(jobs)").all() as { name: string; type: string }[];
  // Each overlaid column is CAST to its declared type: an arm of a different affinity keeps SQLite from
  // flattening the view (every list then sorted all its matching rows). The id comes from memory too,
  // so a lookup by id passes over the other held rows without reading them from the table.
  const column = ({ name, type }: { name: string; type: string }) => {
    const at = ROW_FIELDS.findIndex(([c]) => c === name);
    if (at >= 0 && name !== "seq") return `CAST(h.value ->> ${at} AS ${type}) AS ${name}`;
    if (name in CONSTANT) return `CAST(${CONSTANT[name]} AS ${type}) AS ${name}`;
    return `j.${name} AS ${name}`;
  };
  // CROSS JOIN keeps the held rows first (a few hundred at most), each row found by its seq.
  db.exec(`CREATE TEMP VIEW jobs AS
    SELECT * FROM main.jobs WHERE seq NOT IN (SELECT value FROM json_each(bosun_held_seqs()))
    UNION ALL
    SELECT ${columns.map(column).join(", ")}
    FROM json_each(bosun_held_rows()) h CROSS JOIN main.jobs j ON j.seq = h.value ->> 0`);
}
