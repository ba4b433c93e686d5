/**
 * One client of GET /api/v1/events, whatever its transport (sse-sink.ts, ws-sink.ts): the feed's changes
 * that match its filters, from its cursor on, then live; with logs=true and progress=true the job's log
 * lines and progress too. One loop writes everything, so messages leave in one order.
 *
 * Memory per client is bounded two ways:
 * - What the stream reads itself (the feed before the live part, log lines, progress) it reads only when
 *   the transport has room (below HIGH_WATER): a client reading a long past slowly is slow, not closed.
 * - Live changes arrive when the feed has them, not when the client wants them. They wait in `pending`
 *   while the transport is full; once pending and the transport's own buffer together pass MAX_BUFFERED
 *   the client is closed with EVENTS_TOO_SLOW (it can come back with its last cursor, and loses nothing).
 *
 * The past is read here page by page rather than through FeedHub.follow from the client's cursor: follow
 * hands the whole past over at once, which from a day-old cursor on a busy store is millions of rows in
 * memory. follow is called once the pages have caught up, from where they stopped.
 */
import type { EventBus } from "../../cluster/event-bus.ts";
import { BosunError } from "../../core/errors.ts";
import { isTerminal } from "../../core/job.ts";
import type { FeedHub } from "../../engine/feed-hub.ts";
import type { FeedEvent } from "../../store/feed.ts";
import type { Store } from "../../store/store.ts";
import {
  type Cursor,
  type Frame,
  formatCursor,
  jobMessage,
  logMessage,
  progressMessage,
  readyMessage,
} from "./messages.ts";
import type { EventsRequest } from "./query.ts";

/** Past the transport's buffer holding this much, the stream stops reading and writing until it drains. */
export const HIGH_WATER = 64 * 1024;
/**
 * A client whose unsent live changes pass this is closed. 1 MiB is about 3,000 changes: a client that
 * falls that far behind the live feed is not catching up, and a thousand such clients cost 1 GiB.
 */
export const MAX_BUFFERED = 1024 * 1024;
/** Proxies close connections idle for 30–60 s; SSE comments and WebSocket heartbeats keep them open. */
export const HEARTBEAT_MS = 15_000;
// Log lines and progress written on another node reach this one by no bus: they are read again this often
// while the job is active (and at once on a local bus event or a change of the job).
const JOB_POLL_MS = 1000;
const FEED_PAGE = 1000;
// Log chunks are up to 64 KiB each: a page is read only when the transport has room for it.
const LOG_PAGE = 100;

/** What a transport offers the stream. */
export interface EventSink {
  /** Bytes handed over that the client has not taken yet. */
  buffered(): number;
  /** Resolves once buffered() is below HIGH_WATER, or the sink closed. */
  writable(): Promise<void>;
  send(frame: Frame): void;
  /** The stream says how far it has read, matching or not (a client resumes from there). */
  heartbeat(cursor: Cursor): void;
  /** Ends the stream; `error` (EVENTS_EXPIRED, EVENTS_TOO_SLOW, INTERNAL) is its last message. */
  close(error: BosunError | null): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

export interface EventStreamDeps {
  feed: FeedHub;
  store: Store;
  bus: EventBus;
  onError: (err: unknown) => void;
}

export class EventStream {
  readonly #d: EventStreamDeps;
  readonly #req: EventsRequest;
  /** What has been written: the last job change and log line sent. */
  #sent: Cursor = { seq: 0, logSeq: null };
  /** The last change read from the feed, matching or not. */
  #scanned = 0;
  #pending: { event: FeedEvent; json: string }[] = [];
  #pendingBytes = 0;
  #logsDue = false;
  #progressDue = false;
  #progress: number | null = null;
  #jobActive = false;
  #wake: (() => void) | null = null;
  readonly #cleanup: (() => void)[] = [];
  #sink: EventSink | null = null;

  constructor(deps: EventStreamDeps, req: EventsRequest) {
    this.#d = deps;
    this.#req = req;
  }

  /**
   * Where the stream starts; throws before anything is sent (JOB_NOT_FOUND for logs/progress of an unknown
   * job, EVENTS_EXPIRED for a cursor retention has passed), so SSE can still answer with a status.
   */
  async open(): Promise<void> {
    const { jobId, logs, progress, since } = this.#req;
    if (jobId && (logs || progress)) {
      const job = await this.#d.store.getJob(jobId);
      if (!job) throw new BosunError("JOB_NOT_FOUND", `No job has id ${jobId}`);
      this.#jobActive = !isTerminal(job.status);
    }
    const bounds = await this.#d.store.feedBounds();
    // The same test as FeedHub.follow: nothing after `since` may have been removed.
    if (since && since.seq < bounds.oldest - 1)
      throw new BosunError(
        "EVENTS_EXPIRED",
        `Changes after ${since.seq} are no longer kept; the oldest kept is ${bounds.oldest}`,
        { since: since.seq, oldest: bounds.oldest, latest: bounds.latest },
      );
    // Without a cursor the changes start now, and the log (logs=true) from its first line.
    this.#sent = since ?? { seq: bounds.latest, logSeq: logs ? 0 : null };
    this.#scanned = this.#sent.seq;
  }

  /** Writes to `sink` until it closes. */
  run(sink: EventSink): void {
    this.#sink = sink;
    sink.onClose(() => this.#stop());
    this.#loop().catch((err) => {
      if (sink.closed) return;
      if (err instanceof BosunError && err.code === "EVENTS_EXPIRED") sink.close(err);
      else {
        this.#d.onError(err);
        sink.close(new BosunError("INTERNAL"));
      }
    });
  }

  async #loop(): Promise<void> {
    const sink = this.#sink!;
    sink.send(this.#frame("ready", readyMessage(this.#sent)));
    if (this.#req.progress) this.#progressDue = true;
    if (this.#req.logs) this.#logsDue = true;
    // The past, a page at a time, each once the client has taken the one before.
    for (;;) {
      await this.#flush();
      if (sink.closed) return;
      const page = await this.#d.store.readFeed(this.#scanned, FEED_PAGE);
      this.#accept(page);
      if (page.length < FEED_PAGE) break;
    }
    if (!this.#req.follow) {
      await this.#flush();
      return sink.close(null);
    }
    const stopFollow = await this.#d.feed.follow(this.#scanned, (events) => this.#onLive(events));
    this.#cleanup.push(stopFollow);
    if (sink.closed) return this.#stop();
    this.#listen();
    for (;;) {
      await this.#flush();
      if (sink.closed) return;
      // Checked where the wake is set: a change that arrived since the flush is not slept through.
      await new Promise<void>((resolve) => {
        if (this.#hasWork()) resolve();
        else this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  #listen(): void {
    const { jobId } = this.#req;
    const poke = () => this.#wake?.();
    const timers: NodeJS.Timeout[] = [
      setInterval(() => this.#sink?.heartbeat(this.#resumeAt()), HEARTBEAT_MS),
    ];
    if (jobId && (this.#req.logs || this.#req.progress)) {
      timers.push(
        setInterval(() => {
          if (!this.#jobActive) return;
          this.#logsDue ||= this.#req.logs;
          this.#progressDue ||= this.#req.progress;
          poke();
        }, JOB_POLL_MS),
      );
      if (this.#req.logs)
        this.#cleanup.push(
          this.#d.bus.subscribe("log", (e) => {
            if (e.jobId !== jobId) return;
            this.#logsDue = true;
            poke();
          }),
        );
      if (this.#req.progress)
        this.#cleanup.push(
          this.#d.bus.subscribe("progress", (e) => {
            if (e.jobId !== jobId) return;
            this.#progressDue = true;
            poke();
          }),
        );
    }
    for (const t of timers) t.unref();
    this.#cleanup.push(() => {
      for (const t of timers) clearInterval(t);
    });
  }

  #onLive(events: FeedEvent[]): void {
    const sink = this.#sink;
    if (!sink || sink.closed) return;
    this.#accept(events);
    if (this.#pendingBytes + sink.buffered() > MAX_BUFFERED) {
      const err = new BosunError(
        "EVENTS_TOO_SLOW",
        `The client fell more than ${MAX_BUFFERED} bytes behind the live changes; reconnect with since=${formatCursor(this.#sent)}`,
        { cursor: formatCursor(this.#sent) },
      );
      this.#pending = [];
      this.#pendingBytes = 0;
      sink.close(err);
      return;
    }
    this.#wake?.();
  }

  #accept(events: FeedEvent[]): void {
    for (const e of events) {
      if (e.seq <= this.#scanned) continue;
      this.#scanned = e.seq;
      if (!this.#req.match(e)) continue;
      const json = JSON.stringify(jobMessage(e));
      this.#pending.push({ event: e, json });
      this.#pendingBytes += json.length;
      if (this.#req.jobId && e.to !== null) this.#jobActive = !isTerminal(e.to);
      // A job's lines are stored before its worker reports the end: read after its change, they all
      // come before it. Progress is read again on any change of the job.
      this.#logsDue ||= this.#req.logs;
      this.#progressDue ||= this.#req.progress;
    }
  }

  /** Writes what is due while the transport has room. */
  async #flush(): Promise<void> {
    const sink = this.#sink!;
    for (;;) {
      if (sink.closed) return;
      if (sink.buffered() >= HIGH_WATER) {
        await sink.writable();
        continue;
      }
      if (this.#logsDue) {
        this.#logsDue = false;
        if (await this.#sendLogs()) this.#logsDue = true;
        continue;
      }
      if (this.#progressDue) {
        this.#progressDue = false;
        await this.#sendProgress();
      }
      if (this.#pending.length === 0) return;
      while (this.#pending.length > 0 && sink.buffered() < HIGH_WATER && !sink.closed) {
        const { event, json } = this.#pending.shift()!;
        this.#pendingBytes -= json.length;
        this.#sent = { ...this.#sent, seq: event.seq };
        sink.send({ event: event.event, id: formatCursor(this.#sent), json });
      }
    }
  }

  /** One page of the job's log; true when there may be more. */
  async #sendLogs(): Promise<boolean> {
    const chunks = await this.#d.store.readLogs(this.#req.jobId!, this.#sent.logSeq ?? 0, LOG_PAGE);
    for (const c of chunks) {
      if (this.#sink!.closed) return false;
      this.#sent = { ...this.#sent, logSeq: c.seq };
      this.#sink!.send(this.#frame("log", logMessage(c), formatCursor(this.#sent)));
    }
    return chunks.length === LOG_PAGE;
  }

  async #sendProgress(): Promise<void> {
    const job = await this.#d.store.getJob(this.#req.jobId!);
    if (!job || job.progress === null || job.progress === this.#progress || this.#sink!.closed) return;
    this.#progress = job.progress;
    this.#sink!.send(this.#frame("progress", progressMessage(job.id, job.progress)));
  }

  #hasWork(): boolean {
    return this.#sink!.closed || this.#pending.length > 0 || this.#logsDue || this.#progressDue;
  }

  /** The cursor a client reconnecting now should send: past every change read, once none is waiting. */
  #resumeAt(): Cursor {
    return this.#pending.length === 0 ? { ...this.#sent, seq: this.#scanned } : this.#sent;
  }

  #frame(event: string, message: unknown, id: string | null = null): Frame {
    return { event, id, json: JSON.stringify(message) };
  }

  #stop(): void {
    for (const c of this.#cleanup.splice(0)) c();
    this.#wake?.();
  }
}
