/**
 * The event bus across server nodes: local subscribers get every event at once (in-process), and the
 * events other nodes act on travel by PostgreSQL LISTEN/NOTIFY on one channel per schema. Payloads stay
 * far below NOTIFY's 8000-byte limit: job batches are cut to the ends of schedule runs, chunked; "ready"
 * wake-ups are coalesced per tick. A node ignores its own notifications (it already delivered them).
 */
import { EventEmitter } from "node:events";
import { isTerminal } from "../core/job.ts";
import type { Sql } from "../store/postgres/connection.ts";
import { connect } from "../store/postgres/connection.ts";
import type { BosunEvent, EventBus, EventOf, EventType } from "./event-bus.ts";

const CHUNK = 40;

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
    this.#emitter.removeAllListeners();
    await this.#sql.end({ timeout: 2 });
  }

  /** What other nodes need: wake-ups, schedule timers, cancellations, drains, log and end-of-job hints. */
  *#forRemote(event: BosunEvent): Generator<BosunEvent> {
    switch (event.type) {
      case "ready":
        if (!this.#readyPending) {
          this.#readyPending = true;
          setImmediate(() => {
            this.#readyPending = false;
            this.#notify({ type: "ready" });
          });
        }
        return;
      case "jobs": {
        // Only the ends of schedule runs travel (the leader's overlap "queue" waits for them); other job
        // events stay local — one NOTIFY per completion batch cost the PostgreSQL mode most of its throughput.
        const ended = event.jobs
          .filter((j) => j.scheduleId !== null && isTerminal(j.status))
          .map((j) => ({ ...j, error: null }));
        for (let i = 0; i < ended.length; i += CHUNK) yield { type: "jobs", jobs: ended.slice(i, i + CHUNK) };
        return;
      }
      case "started":
      case "progress":
        return; // high volume, read from the store by whoever needs them
      default:
        yield event;
    }
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
