/**
 * Which processes have this SQLite file open: one `open:<pid>:<store>` row in store_state per open
 * store, holding the process's start time, removed on a clean close. At open, a row of a process that is gone means it
 * crashed; a row of a live one means the file is shared.
 *
 * Why it matters: claims held in memory (soft-claims.ts) are only safe while this process is the file's
 * one writer. Two `bosun start` on one data folder is not how Bosun is meant to run (PostgreSQL is the
 * shared store), but it must not run jobs twice: a store that finds another live process writes every
 * claim at once, and waits before its first claim until the other has noticed and written its own.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Statements } from "./statements.ts";

const PREFIX = "open:";
/** How often an open store looks for others (its hardener tick). */
export const SHARED_CHECK_MS = 100;
/** A store that joins a shared file waits this long before claiming: the others' next check, and more. */
export const SHARED_GRACE_MS = 3 * SHARED_CHECK_MS;

/** The process's start time (Linux: clock ticks since boot, /proc/<pid>/stat field 22), to tell a reused pid. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function alive(pid: number, started: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return started === "" || startTime(pid) === "" || startTime(pid) === started;
}

/**
 * Records this store; tells whether a previous process crashed and whether another store is open now.
 * `mark` is this store's row, for unregisterOpen.
 */
export function registerOpen(s: Statements): { mark: string; crashed: boolean; shared: boolean } {
  let crashed = false;
  let shared = false;
  for (const row of s.openMarks.all()) {
    const pid = Number(String(row.key).split(":")[1]);
    // This very process counts as another one: two stores on one file are two writers.
    if (pid === process.pid || alive(pid, String(row.value))) shared = true;
    else {
      crashed = true;
      s.deleteState.run(row.key as string);
    }
  }
  const mark = `${PREFIX}${process.pid}:${randomUUID().slice(0, 8)}`;
  s.setState.run(mark, startTime(process.pid));
  return { mark, crashed, shared };
}

/** Whether another process (or another store of this one) has the file open now. */
export function othersOpen(s: Statements): boolean {
  return Number(s.countOpenMarks.get()?.n ?? 0) > 1;
}

export function unregisterOpen(s: Statements, mark: string): void {
  s.deleteState.run(mark);
}
