/** Runs `bosun <args>` in this process through the CLI's main(), with stdout and stderr captured. */

import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { adminToken, isTestServer } from "./auth.ts";

const ISOLATED = join(tmpdir(), "bosun-cli-test-nothing-here");

/** As the server's admin (BOSUN_TOKEN) unless env names a token, or is given `BOSUN_TOKEN: ""`. */
export async function runCli(args: string[], env: Record<string, string>) {
  // Isolated from this machine: no session of the user's config folder, no admin password of a
  // ./.bosun folder (cli/credentials.ts), unless the test names them.
  env = { XDG_CONFIG_HOME: ISOLATED, BOSUN_DATA: ISOLATED, ...env };
  const i = args.indexOf("--server");
  const server = i >= 0 ? args[i + 1] : env.BOSUN_URL;
  // A stand-in server (unit tests) has no login: the CLI sends it no token.
  if (server && isTestServer(server) && env.BOSUN_TOKEN === undefined && !args.includes("--token"))
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
