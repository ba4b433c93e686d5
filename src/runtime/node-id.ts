/**
 * A node's identity must survive restarts: the jobs its local pool held before a crash are recognised by
 * it and recovered at once instead of waiting for their leases to run out.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export function resolveNodeId(opts: {
  configured: string | null;
  dataDir: string;
  shared: boolean;
  /** The port this process listens on; null when it serves no API. */
  port: number | null;
}): string {
  if (opts.configured) return opts.configured;
  // On a shared database the id must differ per process: host:port of a bound port, else a random one
  // (port 0, or a process that does not listen: its pool's id would collide with `bosun start`'s).
  if (opts.shared)
    return opts.port === null || opts.port === 0
      ? `${hostname()}-${randomBytes(3).toString("hex")}`
      : `${hostname()}:${opts.port}`;
  const file = join(opts.dataDir, "node-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = `node-${randomBytes(4).toString("hex")}`;
  mkdirSync(opts.dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}
