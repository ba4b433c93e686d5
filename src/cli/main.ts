/**
 * The `bosun` command line: server roles (start, server, worker) and the client verbs of a running server.
 * Every command lives in its own file under commands/ and exports register(program, ctx). main() returns
 * the exit code (nothing calls process.exit) and takes its output streams and environment as arguments,
 * so tests run it in-process.
 *
 * Exit codes: 0 success; 1 an API error, bad input or a failed job; 2 the server cannot be reached;
 * `wait` and `submit --wait` exit with the job's own code (124 when `wait --timeout` runs out).
 *
 * With `-o json` a result is one JSON document on stdout, and an error is one on stderr,
 * `{"error": {"code", "message"}}`, the REST API's own error shape: a script parses stdout when the exit
 * code is 0 and stderr otherwise, and never meets a human sentence in either.
 */
import { Command, CommanderError, Option } from "commander";
import { BosunError } from "../core/errors.ts";
import { VERSION } from "../runtime/version.ts";
import { BosunApiError, BosunUnreachableError } from "../sdk/client.ts";
import * as auth from "./commands/auth.ts";
import * as cluster from "./commands/cluster.ts";
import * as events from "./commands/events.ts";
import * as jobs from "./commands/jobs.ts";
import { UsageError } from "./commands/parse.ts";
import * as schedules from "./commands/schedules.ts";
import * as submit from "./commands/submit.ts";
import { type CliContext, createContext, type Io, processIo } from "./context.ts";
import { printError } from "./output.ts";

interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

const CLIENT_COMMANDS: CommandModule[] = [submit, jobs, events, schedules, cluster, auth];

// The server roles pull in the whole server (Fastify, stores, executors): about 0.9 s of imports that a
// `bosun status` does not need (0.1 s without them). They are loaded only when they may be used.
const loadRoles = async (): Promise<CommandModule[]> =>
  Promise.all([
    import("./commands/start.ts"),
    import("./commands/server.ts"),
    import("./commands/worker.ts"),
  ]);

function baseProgram(ctx: CliContext): Command {
  // Under -o json commander's own error text is held back: main() prints the error as JSON.
  const writeErr = (s: string) => (ctx.jsonErrors ? undefined : ctx.io.err(s));
  return new Command("bosun")
    .description("Bosun: a durable, distributed job orchestrator")
    .version(VERSION)
    .option("--server <url>", "Bosun server URL (BOSUN_URL, default http://127.0.0.1:8080)")
    .option("--token <token>", "API key or access token (BOSUN_TOKEN; else the session of `bosun login`)")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
    )
    .showHelpAfterError("(bosun help <command> shows the usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr });
}

/** The program with the given role modules (start, server, worker) and every client command. */
export function buildProgram(ctx: CliContext, roles: CommandModule[] = []): Command {
  const program = baseProgram(ctx);
  for (const mod of [...roles, ...CLIENT_COMMANDS]) mod.register(program, ctx);
  return program;
}

/**
 * Whether argv asks for `-o json` (before `--`). Read before parsing, so that a usage error, which
 * commander reports before any option is stored, comes out as JSON too.
 */
export function wantsJson(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return false;
    if (arg === "-ojson" || arg === "--output=json") return true;
    if ((arg === "-o" || arg === "--output") && args[i + 1] === "json") return true;
  }
  return false;
}

/**
 * The command word in argv (after node and the script), skipping global options and their values, or
 * undefined when there is none (`bosun`, `bosun --help`).
 */
export function commandWord(program: Command, args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return undefined;
    if (!arg.startsWith("-") || arg === "-") return arg;
    if (arg.includes("=")) continue;
    const opt = program.options.find((o) => o.long === arg || o.short === arg);
    if (opt && (opt.required || opt.optional)) i++;
  }
  return undefined;
}

async function rolesFor(argv: string[], ctx: CliContext): Promise<CommandModule[]> {
  const word = commandWord(baseProgram(ctx), argv.slice(2));
  const clientNames = new Set(buildProgram(ctx).commands.flatMap((c) => [c.name(), ...c.aliases()]));
  // Help, an unknown word (so commander can suggest) and the roles themselves need the full program.
  return word !== undefined && clientNames.has(word) ? [] : loadRoles();
}

export async function main(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ctx = createContext(io, env);
  ctx.jsonErrors = wantsJson(argv.slice(2));
  const fail = (code: string, message: string, exitCode: number) => {
    printError(ctx, code, message);
    return exitCode;
  };
  try {
    const program = buildProgram(ctx, await rolesFor(argv, ctx));
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0 and their text already printed.
      if (err.exitCode === 0 || !ctx.jsonErrors) return err.exitCode;
      return fail("USAGE", err.message.replace(/^error: /, ""), err.exitCode);
    }
    if (err instanceof BosunUnreachableError)
      return fail(
        "SERVER_UNREACHABLE",
        `cannot reach the Bosun server at ${err.url} (is it running? set --server or BOSUN_URL)`,
        2,
      );
    if (err instanceof BosunApiError) return fail(err.code, err.message, 1);
    // Flag values the commands refuse (USAGE), config errors (a code from the registry), anything else.
    const code = err instanceof UsageError || err instanceof BosunError ? err.code : "INTERNAL";
    return fail(code, err instanceof Error ? err.message : String(err), 1);
  }
}
