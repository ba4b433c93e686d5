/** Runs `bosun <args>` in this process through the CLI's main(), with stdout and stderr captured. */
import { main } from "../../src/cli/main.ts";
import { adminToken } from "./auth.ts";

/** As the server's admin (BOSUN_TOKEN) unless env names a token, or is given `BOSUN_TOKEN: ""`. */
export async function runCli(args: string[], env: Record<string, string>) {
  const i = args.indexOf("--server");
  const server = i >= 0 ? args[i + 1] : env.BOSUN_URL;
  if (server && env.BOSUN_TOKEN === undefined && !args.includes("--token"))
    env = { ...env, BOSUN_TOKEN: await adminToken(server.split(",")[0]!) };
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
