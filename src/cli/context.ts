/** What every CLI command gets: where to write, how to format, and a client for the chosen server. */
import type { Command } from "commander";
import { BosunClient } from "../sdk/client.ts";

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
  json(cmd: Command): boolean;
}

export function createContext(io: Io, env: NodeJS.ProcessEnv): CliContext {
  return {
    io,
    exitCode: 0,
    jsonErrors: false,
    client: (cmd) => {
      const g = cmd.optsWithGlobals() as { server?: string; token?: string };
      return new BosunClient({
        url: g.server ?? env.BOSUN_URL ?? "http://127.0.0.1:8080",
        token: g.token ?? env.BOSUN_TOKEN,
      });
    },
    json: (cmd) => (cmd.optsWithGlobals() as { output?: string }).output === "json",
  };
}
