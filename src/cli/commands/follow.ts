/**
 * Shared by `submit --wait` and `logs -f`: stream a job's log to stdout until the job ends, and mark on
 * stderr where each attempt begins and how a failed one ended, so a retried job's output does not read
 * as one run. stdout stays the job's own output (`submit --wait -- cmd > out` holds what cmd printed).
 *
 * The log itself does not say which attempt wrote a line, so the marks come from the job: before a chunk
 * is printed the job is read again, and a new attempt number there gets its mark first. An attempt is
 * stored as claimed before it can write a line, so no line is printed before its attempt's mark; and a
 * worker stores an attempt's lines before it reports the attempt's end, so once the next attempt has
 * begun, the previous one's lines are all in. A line lands after the next attempt's mark only if that
 * attempt began (its backoff elapsed) between the line's arrival and the read: a few milliseconds,
 * against a backoff of a second by default.
 */
import type { BosunClient } from "../../sdk/client.ts";
import type { ApiAttempt, ApiJob } from "../../sdk/types.ts";
import type { CliContext } from "../context.ts";

/** Prints the log as it is written (when `print`), then returns the finished job. */
export async function followUntilDone(
  client: BosunClient,
  id: string,
  ctx: CliContext,
  print: boolean,
): Promise<ApiJob> {
  if (!print) return client.wait(id);
  const marks = new AttemptMarks(client, id, (line) => ctx.io.err(line));
  for await (const chunk of client.followLogs(id)) {
    await marks.update(await client.get(id), false);
    ctx.io.out(chunk);
  }
  // followLogs ends once the job has ended, so this is one read.
  const done = await client.wait(id);
  await marks.update(done, true);
  return done;
}

/** The attempt lines already printed, and what is still owed for the job as last read. */
class AttemptMarks {
  #begun = 0;
  #ended = 0;
  readonly #client: BosunClient;
  readonly #id: string;
  readonly #write: (line: string) => void;

  constructor(client: BosunClient, id: string, write: (line: string) => void) {
    this.#client = client;
    this.#id = id;
    this.#write = write;
  }

  /**
   * Marks up to the job's current attempt. An attempt's end is printed once the next one has begun (or,
   * `last`, the log is complete): until then lines it wrote may still be on their way, even after it
   * has been reported failed.
   */
  async update(job: ApiJob, last: boolean): Promise<void> {
    const ended = last ? job.attempts : job.attempts - 1;
    if (job.attempts <= this.#begun && ended <= this.#ended) return;
    // Attempts that began and ended unseen (no log line) are read from their records.
    const records =
      ended > this.#ended || job.attempts > this.#begun + 1 ? await this.#client.attempts(this.#id) : [];
    const record = (n: number) => records.find((a) => a.attempt === n);
    for (let n = Math.min(this.#begun, this.#ended) + 1; n <= job.attempts; n++) {
      if (n > this.#begun) {
        const worker = n === job.attempts ? job.workerId : (record(n)?.workerId ?? null);
        this.#write(`--- attempt ${n} of ${job.maxAttempts}${worker ? ` (worker ${worker})` : ""} ---\n`);
        this.#begun = n;
      }
      if (n <= ended && n > this.#ended) {
        const r = record(n);
        if (r && r.status !== "completed") this.#write(`--- attempt ${n} ${r.status}${why(r)} ---\n`);
        this.#ended = n;
      }
    }
  }
}

function why(a: ApiAttempt): string {
  return a.error ? `: ${a.error.code}: ${a.error.message}` : "";
}
