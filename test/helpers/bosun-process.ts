/**
 * Starts `bosun` as a user would: a real child process of bin/bosun.js, on a real port, with its own data
 * folder. Waits for the "Bosun is up" log line and returns the URL it printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  adminToken,
  forgetToken,
  isTestServer,
  registerServer,
  TEST_ADMIN_PASSWORD,
  workerKey,
} from "./auth.ts";
import { waitUntil } from "./wait.ts";

const ROOT = join(import.meta.dirname, "../..");
export const BIN = join(ROOT, "bin/bosun.js");

export interface BosunProcess {
  url: string;
  proc: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON lines). */
  lines: string[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startBosun(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; readyLine?: string } = {},
): Promise<BosunProcess> {
  const readyLine = opts.readyLine ?? "Bosun is up";
  // A worker of a test server gets a worker key of it, as an operator would hand one out.
  const server = args[0] === "worker" ? args[args.indexOf("--server") + 1] : undefined;
  const key =
    server && isTestServer(server) && !args.includes("--token") && opts.env?.BOSUN_WORKER_TOKEN === undefined
      ? { BOSUN_WORKER_TOKEN: await workerKey(server.split(",")[0]!) }
      : {};
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      BOSUN_LOG_LEVEL: "info",
      BOSUN_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
      ...key,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bosun did not start:\n${lines.join("\n")}`)),
      opts.timeoutMs ?? 20_000,
    );
    const onLine = (line: string) => {
      lines.push(line);
      if (process.env.BOSUN_TEST_VERBOSE) console.error(line);
      if (line.includes(readyLine)) {
        try {
          clearTimeout(timer);
          resolve(JSON.parse(line).url ?? "");
        } catch (err) {
          reject(err);
        }
      }
    };
    createInterface({ input: proc.stdout! }).on("line", onLine);
    createInterface({ input: proc.stderr! }).on("line", onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bosun exited (${code}) before it was up:\n${lines.join("\n")}`));
    });
  });
  if (url) registerServer(url);
  return {
    url,
    proc,
    lines,
    exited,
    kill: (signal = "SIGTERM") => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * JSON over real HTTP, as the server's admin unless `headers` carry their own Authorization (NO_AUTH:
 * none at all).
 */
export async function api<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; text: string }> {
  const send = async (fresh: boolean) => {
    const h = { ...headers };
    if (h.authorization === undefined && isTestServer(base)) {
      if (fresh) forgetToken(base);
      h.authorization = `Bearer ${await adminToken(base)}`;
    } else if (h.authorization === "") delete h.authorization;
    return request<T>(base, method, path, body, h);
  };
  const first = await send(false);
  // A token of a server that was replaced on the same port: log in again, once.
  if (first.status === 401 && headers.authorization === undefined && isTestServer(base)) return send(true);
  return first;
}

async function request<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: T; text: string }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text/plain answers (logs)
  }
  return { status: res.status, body: parsed as T, text };
}

/** Polls a job until it is terminal (completed, failed or cancelled) and returns it. */
export async function waitDone<J extends { status: string }>(
  base: string,
  id: string,
  timeoutMs = 20_000,
): Promise<J> {
  return waitUntil(
    async () => {
      const { body } = await api<{ job: J }>(base, "GET", `/api/v1/jobs/${id}`);
      return ["completed", "failed", "cancelled"].includes(body.job.status) ? body.job : null;
    },
    { timeoutMs, what: `job ${id}` },
  );
}
