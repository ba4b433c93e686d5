/** `bosun server`: a cluster node (API + scheduler), usually on PostgreSQL; flags as in start.ts. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { runServerCommand, serverOptions } from "./start.ts";

export function register(program: Command, ctx: CliContext): void {
  serverOptions(
    program
      .command("server")
      .description(
        "run a server node: API + scheduler, local workers only with --concurrency N (PostgreSQL via --db)",
      ),
  ).action(async (flags) => {
    ctx.exitCode = await runServerCommand(flags, "server");
  });
}
