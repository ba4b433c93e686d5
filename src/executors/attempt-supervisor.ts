/**
 * Starts an attempt's command under supervisor.sh, so that every process of the attempt ends when its
 * worker ends. Killing the process group on timeout or cancel (process-group.ts) only works while the
 * worker lives; after a kill -9 of `bosun start` or `bosun worker` nothing would be left to send it, and the
 * commands would keep running while the job is retried elsewhere. The supervisor holds a pipe from the
 * worker instead: the kernel closes it when the worker dies, and the supervisor kills the group.
 *
 * The script is an asset next to this module (dist/ must ship it beside the compiled file). It is read
 * once and passed to bash with -c, which also keeps `$0` and error messages those of `bash -c`.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { JobFailure } from "../core/errors.ts";

export const SUPERVISOR_PATH = fileURLToPath(new URL("./supervisor.sh", import.meta.url));

let script: Promise<string> | undefined;

function supervisorScript(): Promise<string> {
  script ??= readFile(SUPERVISOR_PATH, "utf8").then(
    (text) =>
      text
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"))
        .join("\n"),
    (err: Error) => {
      script = undefined;
      throw new JobFailure("SPAWN_FAILED", `The attempt supervisor is missing: ${err.message}`);
    },
  );
  return script;
}

export type SupervisedChild = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * `bash -c command` in `cwd` with exactly `env`, as the leader of its own process group (so the caller can
 * still signal the group: `kill(-child.pid)`), stdin /dev/null, stdout and stderr piped to the caller.
 * The caller must keep the child object (its stdin is the pipe the supervisor watches) and never write.
 */
export async function spawnSupervised(
  command: string,
  opts: { cwd: string; env: Record<string, string> },
): Promise<SupervisedChild> {
  const child = spawn("bash", ["-c", await supervisorScript(), "bash", command], {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  // Nothing is ever written; an EPIPE on close after the supervisor exited is no news.
  child.stdin.on("error", () => {});
  return child;
}
