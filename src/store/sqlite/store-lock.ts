/**
 * One writer per SQLite file, enforced by the operating system: a store holds an exclusive lock on
 * `<file>.lock` (an empty SQLite file beside the data) for as long as it is open, so a second store —
 * another `bosun start`, a `Bosun.open`, or a second store in this very process — fails at once with
 * DATA_DIR_LOCKED instead of running the same jobs twice.
 *
 * Why SQLite's locking and not flock: node:sqlite is built in (flock needs a native addon), its POSIX
 * locks are dropped by the kernel when the holder dies however it dies (kill -9 never blocks a restart),
 * and SQLite tracks its locks per inode inside the process, so a second connection here is refused
 * too (plain fcntl locks would let it through). The lock is not on bosun.db itself: that file is in WAL
 * mode and read by other connections (the checkpoint thread, readers), which an exclusive lock would
 * shut out. Nothing else in this process may open `<file>.lock`: closing any descriptor of it would drop
 * the process's POSIX lock, which is why the holder's pid goes to a separate file.
 *
 * The lock replaced a timing window (rows of store_state that each store polled every 100 ms): a
 * holder whose event loop stalled longer than the window let another process claim its held jobs.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BosunError } from "../../core/errors.ts";
import type { Statements } from "./statements.ts";

/** SQLite's SQLITE_BUSY: the lock is held by another connection. */
const SQLITE_BUSY = 5;

/**
 * Every lock held by this process, until release(). node:sqlite closes a connection its object is
 * garbage-collected with, which drops the lock: a store nobody referenced any more (its timers still
 * running its file) let a second process in. Found by test/store/sqlite-lock.test.ts under load.
 */
const HELD = new Set<DatabaseSync>();

export class StoreLock {
  readonly #lock: DatabaseSync;
  readonly #pidFile: string;

  private constructor(lock: DatabaseSync, pidFile: string) {
    this.#lock = lock;
    this.#pidFile = pidFile;
  }

  /** Takes the file's lock, or throws DATA_DIR_LOCKED naming the folder and the holder's pid. */
  static acquire(file: string): StoreLock {
    const path = resolve(file);
    const lockFile = `${path}.lock`;
    const pidFile = `${path}.pid`;
    // timeout 0: a held lock is an answer, not something to wait for.
    const db = new DatabaseSync(lockFile, { timeout: 0 });
    try {
      // EXCLUSIVE locking mode keeps the lock after the transaction; the transaction takes it now.
      db.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE");
    } catch (err) {
      db.close();
      if ((err as { errcode?: number }).errcode !== SQLITE_BUSY) throw err;
      throw lockedError(path, lockFile, readPid(pidFile));
    }
    // Written after the lock is ours and renamed into place, so a reader sees a whole pid.
    const tmp = `${pidFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${process.pid}\n`);
    renameSync(tmp, pidFile);
    HELD.add(db);
    return new StoreLock(db, pidFile);
  }

  /** After the store's connections are closed: the pid file goes first, then the lock. */
  release(): void {
    if (!this.#lock.isOpen) return;
    rmSync(this.#pidFile, { force: true });
    this.#lock.close();
    HELD.delete(this.#lock);
  }
}

function readPid(pidFile: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function lockedError(file: string, lockFile: string, pid: number | null): BosunError {
  const folder = dirname(file);
  const who = pid === process.pid ? `this process (pid ${pid})` : pid ? `process ${pid}` : "another process";
  return new BosunError(
    "DATA_DIR_LOCKED",
    `The data folder ${folder} is in use by ${who}: one process per data folder. ` +
      "Stop that process first, use another --data folder, or share jobs between processes through PostgreSQL (--db).",
    { folder, file, lockFile, pid },
  );
}

const MARK = `open:${process.pid}`;

/**
 * Marks the file open, under the lock; true if the previous holder never removed its mark (it
 * crashed or was killed). `open:%` also matches the rows of versions before the lock.
 */
export function markOpen(s: Statements): boolean {
  const crashed = Number(s.clearOpenMarks.run().changes) > 0;
  s.setState.run(MARK, String(Date.now()));
  return crashed;
}

/** On a clean close, before the connection closes. */
export function markClosed(s: Statements): void {
  s.deleteState.run(MARK);
}
