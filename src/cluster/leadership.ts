/**
 * Who runs the singleton loops (lease reaper, cron, retention). The leader holds a TTL row in the shared
 * database and renews it every `renewMs`. On PostgreSQL the leader also holds a session advisory lock:
 * when its process dies the database drops the lock at once, the next node to try the lock wins, and it
 * takes the row over without waiting for the TTL — that is the "within 2 s" hand-over.
 *
 * Correctness never depends on there being exactly one leader (uniqueness constraints make double work
 * impossible); leadership only avoids wasted work.
 */
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { ClusterStore } from "../store/cluster-store.ts";

/** A mutual-exclusion lock that the database releases when the holder's session dies. */
export interface LeaderLock {
  tryLock(): Promise<boolean>;
  unlock(): Promise<void>;
}

export interface LeadershipOptions {
  cluster: ClusterStore;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  lock?: LeaderLock;
  ttlMs?: number;
  renewMs?: number;
  onElected: () => void;
  onDemoted: () => void;
}

export const LEADER_LEASE = "leader";

export class Leadership {
  readonly #o: LeadershipOptions;
  readonly #ttlMs: number;
  #leader: string | null = null;
  #isLeader = false;
  #holdsLock = false;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = false;

  constructor(opts: LeadershipOptions) {
    this.#o = opts;
    this.#ttlMs = opts.ttlMs ?? 5000;
  }

  get isLeader(): boolean {
    return this.#isLeader;
  }

  get leaderId(): string | null {
    return this.#leader;
  }

  async start(): Promise<void> {
    await this.tick();
    const renewMs = this.#o.renewMs ?? 1000;
    // Followers try more often than the leader renews, so a hand-over takes well under 2 s.
    const loop = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(
        () => {
          this.#ticking = this.tick().finally(loop);
        },
        this.#isLeader ? renewMs : Math.min(renewMs, 500),
      );
    };
    loop();
  }

  async tick(): Promise<void> {
    const { cluster, nodeId, clock, lock } = this.#o;
    try {
      // Asked every tick: a reconnect of the lock's session silently loses the lock.
      if (lock) this.#holdsLock = await lock.tryLock();
      const mayLead = lock ? this.#holdsLock : true;
      const state = mayLead
        ? await cluster.acquireLease(LEADER_LEASE, nodeId, this.#ttlMs, clock.now(), lock !== undefined)
        : await cluster.getLease(LEADER_LEASE);
      this.#leader = state.holder;
      this.#set(state.holder === nodeId);
    } catch (err) {
      // Unable to renew: stop acting as leader before the TTL could hand the role to someone else.
      this.#o.logger.warn({ err: String(err) }, "leader lease check failed");
      this.#set(false);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
    const wasLeader = this.#isLeader;
    this.#set(false);
    if (wasLeader) await this.#o.cluster.releaseLease(LEADER_LEASE, this.#o.nodeId).catch(() => undefined);
    await this.#o.lock?.unlock().catch(() => undefined);
    this.#holdsLock = false;
  }

  #set(leader: boolean): void {
    if (leader === this.#isLeader) return;
    this.#isLeader = leader;
    this.#o.logger.info({ nodeId: this.#o.nodeId }, leader ? "became leader" : "no longer leader");
    if (leader) this.#o.onElected();
    else this.#o.onDemoted();
  }
}
