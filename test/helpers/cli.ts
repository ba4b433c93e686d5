/** Runs `bosun <args>` in this process through the CLI's main(), with stdout and stderr captured. */
import { main } from "../../src/cli/main.ts";

export async function runCli(args: string[], env: Record<string, string>) {
  let out = "";
  let err = "";
  const code = await main(
    ["node", "bosun", ...args],
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
    env,
  );
  return { code, out, err };
}
