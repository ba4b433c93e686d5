/**
 * The event bus across server nodes: local subscribers get every event at once (in-process), and what
 * other nodes need travels by PostgreSQL LISTEN/NOTIFY on one channel per schema. Job state changes do
 * not travel themselves: they are rows of the change feed, which every node reads (engine/feed-hub.ts);
 * a "feed" notification (at most one per FEED_NOTIFY_MS) only tells the others to read it now. "ready"
 * wake-ups still travel (coalesced per tick): placement leaves queued jobs for a peer's worker without
 * writing anything. A node ignores its own notifications (it already delivered them).
 */
import { EventEmitter } from "node:events";
import type { Sql } from "../store/postgres/connection.ts";
import { connect } from "../store/postgres/connection.ts";
import type { BosunEvent, EventBus, EventOf, EventType } from "./event-bus.ts";

/** The most often a node announces its feed writes: 100 a second whatever its throughput. */
const FEED_NOTIFY_MS = 10;

interface Wire {
  from: string;
  e: BosunEvent;
}

export class PgEventBus implements EventBus {
  readonly #emitter = new EventEmitter();
  readonly #sql: Sql;
  readonly #channel: string;
  readonly #nodeId: string;
  #readyPending = false;
  #feedTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: { url: string; schema: string; nodeId: string }) {
    this.#sql = connect({ url: opts.url, schema: opts.schema, max: 2 });
    this.#channel = `bosun_${opts.schema}`;
    this.#nodeId = opts.nodeId;
    this.#emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.#sql.listen(this.#channel, (payload) => {
      let wire: Wire;
      try {
        wire = JSON.parse(payload) as Wire;
      } catch {
        return;
      }
      if (wire.from !== this.#nodeId) this.#emitter.emit(wire.e.type, wire.e);
    });
  }

  publish(event: BosunEvent): void {
    this.#emitter.emit(event.type, event);
    for (const e of this.#forRemote(event)) this.#notify(e);
  }

  subscribe<T extends EventType>(type: T, fn: (event: EventOf<T>) => void): () => void {
    this.#emitter.on(type, fn);
    return () => this.#emitter.off(type, fn);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#feedTimer) clearTimeout(this.#feedTimer);
    this.#emitter.removeAllListeners();
    await this.#sql.end({ timeout: 2 });
  }

  /** What other nodes need: wake-ups, feed writes, schedule changes, drains, log hints. */
  *#forRemote(event: BosunEvent): Generator<BosunEvent> {
    switch (event.type) {
      case "ready":
        this.#feedWritten();
        if (!this.#readyPending) {
          this.#readyPending = true;
          setImmediate(() => {
            this.#readyPending = false;
            this.#notify({ type: "ready" });
          });
        }
        return;
      case "jobs":
      case "started":
      case "cancelled":
      case "scheduled":
        // Job changes: the feed has them; the others are told to read it (one NOTIFY per completion
        // batch cost the PostgreSQL mode most of its throughput, hence the throttle).
        this.#feedWritten();
        return;
      case "progress":
      case "feed":
        return;
      default:
        yield event;
    }
  }

  #feedWritten(): void {
    if (this.#feedTimer || this.#closed) return;
    this.#feedTimer = setTimeout(() => {
      this.#feedTimer = null;
      this.#notify({ type: "feed" });
    }, FEED_NOTIFY_MS);
    this.#feedTimer.unref();
  }

  #notify(event: BosunEvent): void {
    if (this.#closed) return;
    this.#sql
      .notify(this.#channel, JSON.stringify({ from: this.#nodeId, e: event } satisfies Wire))
      .catch(() => {
        // A lost notification only delays other nodes until their one-second sweep.
      });
  }
}
