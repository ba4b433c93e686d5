/**
 * A password for the CLI: from standard input (--password-stdin, for scripts), an environment variable,
 * or a prompt that does not echo, in that order. Never from a flag: flags end up in shell histories and
 * in `ps`.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { UsageError } from "./commands/parse.ts";
import type { CliContext } from "./context.ts";

export async function readSecret(
  ctx: CliContext,
  prompt: string,
  opts: { stdin?: boolean; envName?: string },
): Promise<string> {
  if (opts.stdin) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.replace(/\r?\n$/, "");
  }
  const fromEnv = opts.envName ? ctx.env[opts.envName] : undefined;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY)
    throw new UsageError(`no password: use --password-stdin${opts.envName ? ` or ${opts.envName}` : ""}`);
  ctx.io.err(prompt);
  const muted = new Writable({ write: (_c, _e, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  ctx.io.err("\n");
  return answer;
}
