/** Each server node announces itself every second; GET /api/v1/cluster lists what the database knows. */
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { ClusterStore, NodeRecord } from "../store/cluster-store.ts";

/** A node not seen for this long is shown as lost; after an hour it is forgotten. */
export const NODE_LOST_AFTER_MS = 5000;
const NODE_FORGET_AFTER_MS = 3_600_000;

export class NodeRegistry {
  readonly #cluster: ClusterStore;
  readonly #self: Omit<NodeRecord, "lastSeenAt">;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;

  constructor(o: {
    cluster: ClusterStore;
    self: Omit<NodeRecord, "lastSeenAt">;
    clock: Clock;
    logger: Logger;
  }) {
    this.#cluster = o.cluster;
    this.#self = o.self;
    this.#clock = o.clock;
    this.#logger = o.logger;
  }

  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), 1000);
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    try {
      await this.#cluster.heartbeatNode({ ...this.#self, lastSeenAt: this.#clock.now() });
    } catch (err) {
      this.#logger.warn({ err: String(err) }, "node heartbeat failed");
    }
  }

  /** Leader housekeeping: forget nodes gone for an hour. */
  prune(): Promise<number> {
    return this.#cluster.pruneNodes(this.#clock.now() - NODE_FORGET_AFTER_MS);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
