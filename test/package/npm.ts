/**
 * Runs npm (and the Node running the tests) as a newcomer's shell would, outside any npm script: the
 * tests may themselves run under `npm test`, whose npm_* variables (npm_config_local_prefix above all)
 * would point an inner `npm install` back at the repository.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

export const ROOT = join(import.meta.dirname, "../..");

const run = promisify(execFile);

/** The test's environment without npm's lifecycle variables, with this Node first on PATH. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
  return env;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a non-zero exit is returned, not thrown, so tests can assert on it. */
export async function sh(
  file: string,
  args: string[],
  opts: { cwd: string; timeoutMs?: number },
): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd: opts.cwd,
      env: cleanEnv(),
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `sh` for npm, asserting nothing. */
export const npm = (args: string[], opts: { cwd: string; timeoutMs?: number }): Promise<Ran> =>
  sh("npm", args, opts);
