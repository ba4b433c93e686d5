/**
 * A second opener in a process of its own, as a second `bosun start` would be: tries to open the store
 * on argv[2] and prints one JSON line, `{"opened":true}` (it then closes the store) or the error's code,
 * message and details. Checking a child's lock from the test process itself would ask that process's
 * SQLite, which keeps per-inode state across the many stores a test file opens and deletes.
 */
import { BosunError } from "../../src/core/errors.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: sqlite-open-probe.ts <file>");
try {
  const store = new SqliteStore({ file, softClaimMs: 60_000 });
  await store.close();
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
} catch (err) {
  if (!(err instanceof BosunError)) throw err;
  process.stdout.write(`${JSON.stringify({ code: err.code, message: err.message, details: err.details })}\n`);
}
