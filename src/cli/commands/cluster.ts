/** Cluster commands: nodes (and the leader), workers with their load, drain a worker. */
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { ago, emit, labels, table } from "../output.ts";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("nodes")
    .description("list server nodes and the leader (* marks the node that answered)")
    .action(async (_f, cmd: Command) => {
      const c = await ctx.client(cmd).cluster();
      // A list like every other: the nodes as items, beside which node answered and which one leads.
      emit(ctx, cmd, { items: c.nodes, self: c.self, leader: c.leader }, () =>
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
      const items = await ctx.client(cmd).workers();
      emit(ctx, cmd, { items }, () =>
        items.length === 0
          ? "no workers\n"
          : table(
              ["ID", "STATUS", "RUNNING", "CAPACITY", "LABELS", "LAST SEEN"],
              items.map((w) => [
                w.id,
                w.status,
                String(w.running),
                String(w.capacity),
                labels(w.labels),
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
      emit(ctx, cmd, { worker: w }, () => `${w.id} ${w.status}\n`);
    });
}
