/**
 * Killing a job means killing everything it started. Each shell attempt runs as the leader of its own
 * process group (spawn with detached: true), so `kill(-pid)` reaches background children and grandchildren
 * too — `sleep 100 &` included — instead of leaving orphans behind a timeout. The same group is what the
 * attempt's supervisor (supervisor.sh) kills when the worker itself dies.
 */

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is already gone
  }
}

/** SIGTERM to the group, then SIGKILL after `graceMs` unless `exited` resolved first. */
export async function terminateGroup(
  pid: number | undefined,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  if (!killGroup(pid, "SIGTERM")) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  await Promise.race([exited, grace]);
  clearTimeout(timer);
  // Whatever is left in the group (children that ignored SIGTERM, or outlived the leader) goes now.
  killGroup(pid, "SIGKILL");
}
