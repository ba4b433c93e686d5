/** What every CLI command gets: where to write, how to format, and a client for the chosen server. */
import type { Command } from "commander";
import { BosunClient } from "../sdk/client.ts";
import { cliCredentials } from "./credentials.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

export interface CliContext {
  io: Io;
  /** Set by a command to become the process exit code. */
  exitCode: number;
  /** `-o json` was asked for: errors are printed as JSON (see main.ts). */
  jsonErrors: boolean;
  client(cmd: Command): BosunClient;
  /** The server URL the command talks to. */
  serverUrl(cmd: Command): string;
  env: NodeJS.ProcessEnv;
  json(cmd: Command): boolean;
}

export function createContext(io: Io, env: NodeJS.ProcessEnv): CliContext {
  const serverUrl = (cmd: Command) => {
    const g = cmd.optsWithGlobals() as { server?: string };
    return new BosunClient({ url: g.server ?? env.BOSUN_URL ?? "http://127.0.0.1:8080" }).url;
  };
  return {
    io,
    env,
    exitCode: 0,
    jsonErrors: false,
    serverUrl,
    client: (cmd) => {
      const g = cmd.optsWithGlobals() as { token?: string };
      const url = serverUrl(cmd);
      return new BosunClient({ url, credentials: cliCredentials(url, env, g.token) });
    },
    json: (cmd) => (cmd.optsWithGlobals() as { output?: string }).output === "json",
  };
}
