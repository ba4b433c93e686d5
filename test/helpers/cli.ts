/** Runs `bosun <args>` in this process through the CLI's main(), with stdout and stderr captured. */
import { main } from "../../src/cli/main.ts";

export async function runCli(args: string[], env: Record<string, string>) {
  let out = "";
  let err = "";
  // Both streams in the order they were written, as a terminal shows them.
  let all = "";
  const code = await main(
    ["node", "bosun", ...args],
    {
      out: (t) => {
        out += t;
        all += t;
      },
      err: (t) => {
        err += t;
        all += t;
      },
    },
    env,
  );
  return { code, out, err, all };
}
