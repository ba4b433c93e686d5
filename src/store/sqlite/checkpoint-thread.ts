/**
 * Body of the checkpoint thread (checkpointer.ts): its own connection to the node's SQLite file runs a
 * PASSIVE checkpoint whenever the WAL has frames the database file lacks. PASSIVE never waits for the
 * writer or readers, so the node's commits are never held up by it.
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

const { file, synchronous, intervalMs } = workerData as {
  file: string;
  synchronous: "NORMAL" | "FULL";
  intervalMs: number;
};

const db = new DatabaseSync(file);
db.exec(`PRAGMA synchronous = ${synchronous}; PRAGMA wal_autocheckpoint = 0;`);
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");

const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch (err) {
    parentPort?.postMessage({ error: String(err) });
  }
}, intervalMs);

parentPort?.on("message", (m: unknown) => {
  if (m !== "stop") return;
  clearInterval(timer);
  db.close();
  parentPort?.postMessage("stopped");
});
