/**
 * The per-job log cap. Workers cap each attempt's log (8 MiB by default), which left a job free to store
 * that much for each of up to 1,000 attempts, and a worker of another language no cap at all. Every log
 * line reaches the store through the engine, so the engine caps the whole job here: the chunk that
 * crosses the limit keeps its head, one `system` notice line says what happened, and later output of the
 * job is dropped.
 *
 * The count of a job's stored bytes is kept in memory, read from the store the first time a job is seen
 * on this node (one SUM per job, not per batch: a chatty job has hundreds of thousands of rows). SQLite has
 * one process per data folder, so it is exact there; on a PostgreSQL cluster two nodes receiving the same
 * job's logs may together overshoot by what each accepted before it saw the other's rows.
 */
import type { LogChunk } from "../store/store.ts";

/** Jobs whose count is remembered; the oldest are forgotten and read again if they log again. */
const REMEMBERED = 10_000;

export const truncationNotice = (limit: number) =>
  `[log truncated: this job's log reached ${limit} bytes (maxJobLogBytes); later output is dropped]\n`;

/** The head of `text` that fits in `bytes` of UTF-8, without a split character at the end. */
function headBytes(text: string, bytes: number): string {
  if (bytes <= 0) return "";
  return Buffer.from(text, "utf8")
    .subarray(0, bytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

export class LogCap {
  readonly #limit: number;
  readonly #storedBytes: (jobIds: string[]) => Promise<Map<string, number>>;
  readonly #bytes = new Map<string, number>();

  constructor(limit: number, storedBytes: (jobIds: string[]) => Promise<Map<string, number>>) {
    this.#limit = limit;
    this.#storedBytes = storedBytes;
  }

  /** The chunks to store: those that fit, the head of the one that crosses, and one notice per job. */
  async admit(chunks: LogChunk[]): Promise<LogChunk[]> {
    const unseen = [...new Set(chunks.map((c) => c.jobId))].filter((id) => !this.#bytes.has(id));
    if (unseen.length > 0) {
      const stored = await this.#storedBytes(unseen);
      // Another batch may have counted the job while the store answered: its count is the newer one.
      for (const id of unseen) if (!this.#bytes.has(id)) this.#remember(id, stored.get(id) ?? 0);
    }
    const out: LogChunk[] = [];
    for (const c of chunks) {
      const used = this.#bytes.get(c.jobId) ?? 0;
      if (used >= this.#limit) continue;
      const size = Buffer.byteLength(c.data, "utf8");
      if (used + size <= this.#limit) {
        this.#bytes.set(c.jobId, used + size);
        out.push(c);
        continue;
      }
      const head = headBytes(c.data, this.#limit - used);
      if (head) out.push({ ...c, data: head.endsWith("\n") ? head : `${head}\n` });
      out.push({ jobId: c.jobId, at: c.at, stream: "system", data: truncationNotice(this.#limit) });
      this.#bytes.set(c.jobId, this.#limit);
    }
    return out;
  }

  #remember(id: string, bytes: number): void {
    if (this.#bytes.size >= REMEMBERED) this.#bytes.delete(this.#bytes.keys().next().value!);
    this.#bytes.set(id, bytes);
  }
}
