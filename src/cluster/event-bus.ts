/**
 * The one channel for things that happened: job state changes (in batches), log lines, progress, and
 * "jobs are ready" wake-ups. In `bosun start` it is in-process; on PostgreSQL a LISTEN/NOTIFY bus
 * implements the same interface across nodes. Subscribers must be cheap: publishing is on the hot path.
 */
import { EventEmitter } from "node:events";
import type { Claim, JobState } from "../core/job.ts";

export type BosunEvent =
  /** Jobs changed state (one event per batch). */
  | { type: "jobs"; jobs: JobState[] }
  /** New log chunks exist for a job (read them from the store). */
  /** Workers started attempts. */
  | { type: "started"; claims: Claim[]; at: number }
  /** Running jobs were cancelled: their workers must abort them. */
  | { type: "cancelled"; jobIds: string[] }
  | { type: "log"; jobId: string }
  | { type: "progress"; jobId: string; progress: number }
  /** A schedule was created, changed or deleted: the leader re-plans it. */
  | { type: "schedule"; id: string }
  /** A worker was drained or undrained (every node drops its long-polls and refreshes its cache). */
  | { type: "worker"; workerId: string; draining: boolean }
  /** Jobs became ready now (enqueue, retry, promotion): waiting workers should claim. */
  | { type: "ready" }
  /** A job was scheduled for later: dispatchers re-arm their timer if this is sooner. */
  | { type: "scheduled"; runAt: number }
  /** Another node wrote to the change feed: read it now rather than at the next poll. */
  | { type: "feed" };

export type EventType = BosunEvent["type"];
export type EventOf<T extends EventType> = Extract<BosunEvent, { type: T }>;

export interface EventBus {
  publish(event: BosunEvent): void;
  subscribe<T extends EventType>(type: T, fn: (event: EventOf<T>) => void): () => void;
  close(): Promise<void>;
}

export class LocalEventBus implements EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Log followers and WebSocket clients may be many; they are accounted for by their owners.
    this.#emitter.setMaxListeners(0);
  }

  publish(event: BosunEvent): void {
    this.#emitter.emit(event.type, event);
  }

  subscribe<T extends EventType>(type: T, fn: (event: EventOf<T>) => void): () => void {
    this.#emitter.on(type, fn);
    return () => this.#emitter.off(type, fn);
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}
