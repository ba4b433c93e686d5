/** Shared by `submit --wait` and `logs -f`: stream a job's log to stdout until the job ends. */
import type { BosunClient } from "../../sdk/client.ts";
import type { ApiJob } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";

/** Prints the log as it is written (when `print`), then returns the finished job. */
export async function followUntilDone(
  client: BosunClient,
  id: string,
  ctx: CliContext,
  print: boolean,
): Promise<ApiJob> {
  if (print) for await (const chunk of client.followLogs(id)) ctx.io.out(chunk);
  // followLogs ends once the job has ended, so this is one read; without printing it polls.
  return client.wait(id);
}
