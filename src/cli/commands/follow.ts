/** Streams a job's log to stdout until the job ends, then returns the finished job. */
import type { BosunClient } from "../../sdk/client.ts";
import type { ApiJob } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";

export async function followUntilDone(
  client: BosunClient,
  id: string,
  ctx: CliContext,
  print: boolean,
): Promise<ApiJob> {
  if (print) {
    for await (const chunk of client.followLogs(id)) ctx.io.out(chunk);
  }
  // The stream ends when the job ends; wait() confirms (and covers a stream cut short).
  return client.wait(id);
}
