/**
 * The `bosun` command line: server roles (start, server, worker) and client verbs. Every command lives in
 * its own file under commands/; main() returns the exit code (nothing calls process.exit) and takes its
 * output streams as arguments, so tests run it in-process.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../runtime/version.ts";
import { BosunApiError, BosunUnreachableError } from "../sdk/client.ts";
import * as cluster from "./commands/cluster.ts";
import * as jobs from "./commands/jobs.ts";
import * as schedules from "./commands/schedules.ts";
import * as server from "./commands/server.ts";
import * as start from "./commands/start.ts";
import * as submit from "./commands/submit.ts";
import * as worker from "./commands/worker.ts";
import { type CliContext, createContext, type Io, processIo } from "./context.ts";

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("bosun")
    .description("Bosun: a durable, distributed job orchestrator")
    .version(VERSION)
    .option("-s, --server <url>", "Bosun server URL (BOSUN_URL, default http://127.0.0.1:8080)")
    .option("--token <token>", "API token (BOSUN_TOKEN)")
    .option("-o, --output <format>", "table or json", "table")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) });
  for (const mod of [start, server, worker, submit, jobs, schedules, cluster]) mod.register(program, ctx);
  return program;
}

export async function main(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ctx = createContext(io, env);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof BosunUnreachableError) {
      io.err(
        `bosun: cannot reach the Bosun server at ${err.url} (is it running? set --server or BOSUN_URL)\n`,
      );
      return 2;
    }
    if (err instanceof BosunApiError) {
      io.err(`bosun: ${err.code}: ${err.message}\n`);
      return 1;
    }
    io.err(`bosun: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
