/**
 * A Bosun runtime: store + bus + engine + executors + (optionally) the local worker pool. The SDK embeds
 * one; `bosun start` and `bosun server` wrap one in the HTTP API (runtime/server.ts).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { AlertService } from "../alerts/alert-service.ts";
import type { EventBus } from "../cluster/event-bus.ts";
import { type LeaderLock, Leadership } from "../cluster/leadership.ts";
import type { Config } from "../config/config.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import { Authenticator } from "../engine/authenticator.ts";
import { Engine } from "../engine/engine.ts";
import { FeedHub } from "../engine/feed-hub.ts";
import { IdentityService } from "../engine/identity-service.ts";
import { PeerDirectory } from "../engine/peer-workers.ts";
import { PlacementAdvisor } from "../engine/placement-advice.ts";
import { Retention } from "../engine/retention.ts";
import { WorkerService } from "../engine/worker-service.ts";
import type { Executor } from "../executors/executor.ts";
import { HandlerRegistry } from "../executors/handler.ts";
import { builtinExecutors } from "../executors/registry.ts";
import { OutboundClient } from "../outbound/outbound-client.ts";
import { OutboundPolicy } from "../outbound/outbound-policy.ts";
import { DriftMeter } from "../scheduler/drift.ts";
import { ScheduleService } from "../scheduler/schedule-service.ts";
import type { AlertStore, ScheduleStore } from "../scheduler/schedule-store.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { ClusterStore } from "../store/cluster-store.ts";
import type { IdentityStore } from "../store/identity-store.ts";
import type { Store } from "../store/store.ts";
import { LocalTransport } from "../worker/local-transport.ts";
import { WorkerLoop } from "../worker/worker-loop.ts";
import { redaction } from "./log-redaction.ts";
import { resolveNodeId } from "./node-id.ts";
import { openStore } from "./open-store.ts";

export interface RuntimeOptions {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /**
   * True when this process serves the API on `config.port`: only then is host:port its own on a shared
   * database. An embedding application (the SDK) does not listen, so two of them, or one beside
   * `bosun start`, would otherwise share a node id and so the id of their local pools.
   */
  servesHttp?: boolean;
}

export class Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly store: Store;
  readonly bus: EventBus;
  readonly engine: Engine;
  readonly cluster: ClusterStore;
  readonly workers: WorkerService;
  readonly identity: IdentityService;
  readonly authenticator: Authenticator;
  /** Why a job would wait: no live worker takes its type, queue or constraints (advisory). */
  readonly advisor: PlacementAdvisor;
  /** This node's reader of the change feed: the events API and everything else that follows jobs. */
  readonly feed: FeedHub;
  readonly scheduleStore: ScheduleStore & AlertStore;
  readonly schedules: ScheduleService;
  readonly scheduler: Scheduler;
  readonly alerts: AlertService;
  readonly drift = new DriftMeter();
  readonly clock: Clock;
  readonly handlers = new HandlerRegistry();
  /** The guarded HTTP client of http jobs and alert webhooks (src/outbound/). */
  readonly outbound: OutboundClient;
  readonly #builtins: Executor[];
  readonly #leaderLock: LeaderLock | undefined;
  readonly #singletons: { start: () => void; stop: () => void }[] = [];
  #leadership: Leadership | null = null;
  #pool: WorkerLoop | null = null;

  private constructor(o: {
    config: Config;
    logger: Logger;
    nodeId: string;
    store: Store;
    bus: EventBus;
    cluster: ClusterStore;
    schedules: ScheduleStore & AlertStore;
    identity: IdentityStore;
    leaderLock?: LeaderLock;
    clock: Clock;
  }) {
    this.config = o.config;
    this.clock = o.clock;
    this.cluster = o.cluster;
    this.#leaderLock = o.leaderLock;
    this.logger = o.logger;
    this.nodeId = o.nodeId;
    this.store = o.store;
    this.bus = o.bus;
    this.engine = new Engine({
      store: o.store,
      bus: o.bus,
      clock: o.clock,
      logger: o.logger,
      leaseMs: o.config.leaseMs,
      reapIntervalMs: o.config.reapIntervalMs,
      maxPayloadBytes: o.config.maxPayloadBytes,
      maxJobLogBytes: o.config.maxJobLogBytes,
      maxResultBytes: o.config.maxResultBytes,
      maxListedTypes: o.config.maxListedTypes,
    });
    // One guard for every request this node makes for someone: its http jobs and its alert webhooks.
    const httpPolicy = { allow: [...o.config.httpAllow], deny: [...o.config.httpDeny] };
    this.outbound = new OutboundClient({ policy: new OutboundPolicy(httpPolicy) });
    this.#builtins = builtinExecutors({
      http: { client: this.outbound },
      shell: { inheritedEnv: o.config.jobEnvInherited },
    });
    for (const e of this.#builtins) this.engine.catalog.add(e.type, e.payloadSchema);
    // Remote workers get the same policy when they register.
    this.workers = new WorkerService(this.engine, o.cluster, { httpPolicy });
    this.identity = new IdentityService({
      store: o.identity,
      clock: o.clock,
      accessTokenTtlSec: o.config.accessTokenTtlSec,
      refreshTokenTtlMs: o.config.refreshTokenTtlMs,
      loginMaxFailures: o.config.loginMaxFailures,
      loginLockMs: o.config.loginLockMs,
    });
    this.authenticator = new Authenticator(o.identity, o.clock);
    this.addSingleton(
      new Retention({
        prune: (before, limit) => o.identity.pruneAudit(before, limit),
        clock: o.clock,
        retentionMs: o.config.auditRetentionMs,
        onError: (err) => o.logger.error({ err }, "audit log retention failed"),
      }),
    );
    // Sessions past their expiry are dead already; they are kept a day for the audit of a reuse.
    this.addSingleton(
      new Retention({
        prune: (before, limit) => o.identity.pruneSessions(before, limit),
        clock: o.clock,
        retentionMs: 86_400_000,
        onError: (err) => o.logger.error({ err }, "session retention failed"),
      }),
    );
    this.engine.setTypeSource(() => this.workers.liveTypes());
    this.advisor = new PlacementAdvisor(async () =>
      (await this.workers.list()).filter((w) => w.status === "active"),
    );
    if (o.store.features.shared) {
      // Seen within two heartbeats: a worker that still beats is most likely waiting or busy.
      const peers = new PeerDirectory({
        cluster: o.cluster,
        clock: o.clock,
        freshMs: 2 * this.workers.heartbeatMs,
      });
      this.engine.setPeerSource(() => peers.list());
    }
    this.addSingleton({ start: () => this.engine.startReaper(), stop: () => this.engine.stopReaper() });
    this.feed = new FeedHub({
      store: o.store,
      bus: o.bus,
      // Alone on SQLite, every change is made here and wakes the hub at once; on a shared store other
      // nodes' changes are read within this.
      pollMs: o.store.features.shared ? 50 : 1000,
      onError: (err) => o.logger.error({ err }, "reading the change feed failed"),
    });
    // Alone on SQLite every change is made in this process and the bus carries it; on a shared store the
    // other nodes' changes arrive through the feed.
    if (o.store.features.shared) this.engine.followFeed(this.feed);
    this.addSingleton(
      new Retention({
        prune: (before, limit) => o.store.pruneFeed(before, limit),
        clock: o.clock,
        retentionMs: o.config.feedRetentionMs,
        onError: (err) => o.logger.error({ err }, "change feed retention failed"),
      }),
    );

    this.scheduleStore = o.schedules;
    this.schedules = new ScheduleService(this.engine, o.schedules, o.clock);
    this.scheduler = new Scheduler({
      engine: this.engine,
      store: o.schedules,
      clock: o.clock,
      logger: o.logger,
      drift: this.drift,
      feed: o.store.features.shared ? this.feed : undefined,
    });
    this.addSingleton({
      start: () =>
        void this.scheduler.start().catch((err) => o.logger.error({ err }, "scheduler failed to start")),
      stop: () => void this.scheduler.stop(),
    });
    const c = o.config;
    this.alerts = new AlertService({
      engine: this.engine,
      alerts: o.schedules,
      schedules: o.schedules,
      clock: o.clock,
      logger: o.logger,
      global: c.alertWebhookUrl
        ? { webhookUrl: c.alertWebhookUrl, ...(c.alertWebhookSecret ? { secret: c.alertWebhookSecret } : {}) }
        : null,
      perQueue: c.queueAlerts,
      outbound: this.outbound,
      // Failures made here wake the recorder at once; it reads them from the feed after its stored cursor.
      subscribe: (fn) =>
        this.bus.subscribe("jobs", (e) => {
          if (e.jobs.some((j) => j.status === "failed")) fn();
        }),
    });
    // Recording and delivery: the leader turns the feed's failures into alerts and sends them.
    this.addSingleton({ start: () => this.alerts.start(), stop: () => this.alerts.stop() });
    // Start drift is measured wherever the job starts (any node): the claim carries its fire time.
    this.bus.subscribe("started", (e) => this.drift.recordStarts(e.claims, e.at));
  }

  /** A loop that must run on one node only (reaper, cron, retention, alerts): started when this node leads. */
  addSingleton(loop: { start: () => void; stop: () => void }): void {
    this.#singletons.push(loop);
    if (this.#leadership?.isLeader) loop.start();
  }

  get leadership(): Leadership | null {
    return this.#leadership;
  }

  /** Joins the leader election; the singleton loops run while this node holds the lease. */
  async startLeadership(): Promise<void> {
    if (this.#leadership) return;
    this.#leadership = new Leadership({
      cluster: this.cluster,
      nodeId: this.nodeId,
      clock: this.clock,
      logger: this.logger,
      lock: this.#leaderLock,
      onElected: () => {
        for (const l of this.#singletons) l.start();
      },
      onDemoted: () => {
        for (const l of this.#singletons) l.stop();
      },
    });
    await this.#leadership.start();
  }

  static async open(opts: RuntimeOptions): Promise<Runtime> {
    const { config } = opts;
    const logger = opts.logger ?? pino({ level: config.logLevel, redact: redaction });
    const shared = config.db !== null;
    const nodeId = resolveNodeId({
      configured: config.nodeId,
      dataDir: config.dataDir,
      shared,
      port: opts.servesHttp ? config.port : null,
    });
    const opened = await openStore(config, nodeId);
    return new Runtime({ config, logger, nodeId, ...opened, clock: opts.clock ?? systemClock });
  }

  /** The id of this node's local pool; stable across restarts so a restart can recover its jobs. */
  get localWorkerId(): string {
    return `${this.nodeId}/local`;
  }

  get pool(): WorkerLoop | null {
    return this.#pool;
  }

  define(
    type: string,
    handler: Parameters<HandlerRegistry["define"]>[1],
    opts?: Parameters<HandlerRegistry["define"]>[2],
  ): void {
    this.handlers.define(type, handler, opts);
    this.engine.catalog.add(type, opts?.payloadSchema);
  }

  executors(): Map<string, Executor> {
    const map = new Map<string, Executor>();
    for (const e of [...this.#builtins, ...this.handlers.executors()]) map.set(e.type, e);
    return map;
  }

  /**
   * Recovers what this node's pool held when it last died (kill -9, power loss): those attempts are
   * failed with WORKER_LOST and retried now, instead of after their leases run out.
   */
  async recoverOwnJobs(): Promise<number> {
    if (this.store.recoveredFromCrash)
      this.logger.warn(
        "the data folder was not closed cleanly; claims are written at once for a minute, so a job that brings the process down spends its attempts",
      );
    const jobs = await this.engine.reapWorkers([this.localWorkerId], "WORKER_LOST");
    if (jobs.length > 0)
      this.logger.warn({ count: jobs.length }, "recovered jobs left running by this node's previous run");
    return jobs.length;
  }

  async startPool(concurrency: number): Promise<void> {
    if (this.#pool || concurrency <= 0) return;
    const executors = this.executors();
    this.#pool = new WorkerLoop({
      identity: {
        workerId: this.localWorkerId,
        labels: { ...this.config.workerLabels },
        capacity: concurrency,
        types: [...executors.keys()],
        queues: null,
        instance: randomUUID(),
      },
      transport: new LocalTransport(this.engine, this.workers, (err) =>
        this.logger.error({ err }, "local worker report failed"),
      ),
      executors,
      logger: this.logger.child({ worker: this.localWorkerId }),
      workRoot: join(this.config.dataDir, "work"),
    });
    await this.#pool.start();
  }

  async stopPool(graceMs: number): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.stop(graceMs);
  }

  async close(graceMs = this.config.shutdownGraceMs): Promise<void> {
    await this.stopPool(graceMs);
    await this.#leadership?.stop();
    this.#leadership = null;
    await this.scheduler.stop();
    await this.feed.stop();
    await this.alerts.close();
    this.outbound.close();
    await this.engine.close();
    await this.bus.close();
    await this.store.close();
  }
}
