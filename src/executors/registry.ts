/** The built-in executors, and merging executor lists into the map a worker loop runs from. */
import type { Executor } from "./executor.ts";
import { HttpExecutor, type HttpExecutorOptions } from "./http.ts";
import { ShellExecutor, type ShellExecutorOptions } from "./shell.ts";
import { SleepExecutor } from "./sleep.ts";

export function builtinExecutors(
  opts: { http?: HttpExecutorOptions; shell?: ShellExecutorOptions } = {},
): Executor[] {
  return [new ShellExecutor(opts.shell), new HttpExecutor(opts.http), new SleepExecutor()];
}

export function executorMap(...lists: Executor[][]): Map<string, Executor> {
  const map = new Map<string, Executor>();
  for (const e of lists.flat()) {
    if (map.has(e.type)) throw new Error(`Two executors for job type "${e.type}"`);
    map.set(e.type, e);
  }
  return map;
}
