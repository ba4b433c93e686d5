/** Cluster commands: nodes, workers, drain. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { ago, table } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("nodes")
    .description("list server nodes and the leader")
    .action(async (_f, cmd: Command) => {
      const c = await ctx.client(cmd).cluster();
      if (ctx.json(cmd)) return ctx.io.out(`${JSON.stringify(c, null, 2)}\n`);
      ctx.io.out(
        table(
          ["ID", "ROLE", "ADDRESS", "LAST SEEN", "VERSION"],
          c.nodes.map((n) => [
            n.id + (n.id === c.self ? " *" : ""),
            n.role,
            n.address,
            ago(n.lastSeenAt),
            n.version,
          ]),
        ),
      );
    });

  program
    .command("workers")
    .description("list workers with their load")
    .action(async (_f, cmd: Command) => {
      const ws = await ctx.client(cmd).workers();
      if (ctx.json(cmd)) return ctx.io.out(`${JSON.stringify(ws, null, 2)}\n`);
      ctx.io.out(
        ws.length === 0
          ? "no workers\n"
          : table(
              ["ID", "STATUS", "RUNNING", "CAPACITY", "LABELS", "LAST SEEN"],
              ws.map((w) => [
                w.id,
                w.status,
                String(w.running),
                String(w.capacity),
                Object.entries(w.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(",") || "-",
                ago(w.lastSeenAt),
              ]),
            ),
      );
    });

  program
    .command("drain")
    .description("give a worker no new jobs; its running jobs finish")
    .argument("<workerId>")
    .option("--undo", "let the worker take jobs again")
    .action(async (id: string, f: { undo?: boolean }, cmd: Command) => {
      const w = await ctx.client(cmd).drain(id, !f.undo);
      ctx.io.out(ctx.json(cmd) ? `${JSON.stringify(w, null, 2)}\n` : `${w.id} ${w.status}\n`);
    });
}
