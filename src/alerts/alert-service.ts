/**
 * Failure alerts (seed 002's AlertService). When a job ends `failed` after its last attempt, one alert per
 * configured webhook (global, per queue, per schedule) goes into an outbox in the store — unique per (job,
 * url). Both loops run on the leader: the recorder (alert-recorder.ts) reads failures from the change feed
 * after a durable cursor and writes their alerts together with the moved cursor, so a failure is recorded
 * exactly once even across a `kill -9`; delivery POSTs each alert with
 * `X-Bosun-Signature: sha256=<HMAC-SHA256 of the raw body>` and retries with exponential backoff. The
 * outbox survives restarts, so does an undelivered alert; outcomes are visible at GET /api/v1/alerts.
 *
 * Webhooks go through the same outbound guard as http jobs (src/outbound/): a URL the policy refuses
 * (loopback, private, metadata addresses… unless opened with --http-allow) fails the alert at once, with
 * `HTTP_TARGET_DENIED` as its last error, and is not retried.
 *
 * Delivery is at least once: before each attempt the alert is leased (its next attempt pushed past the
 * request's timeout), so a new leader does not send it again while the old one is still waiting for an
 * answer — but a receiver should still treat X-Bosun-Alert-Id as an idempotency key.
 */
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.ts";
import type { Engine } from "../engine/engine.ts";
import { OutboundClient, OutboundDenied } from "../outbound/outbound-client.ts";
import type { Alert, AlertStore, ScheduleStore } from "../scheduler/schedule-store.ts";
import type { AlertTargetConfig } from "./alert-body.ts";
import { AlertRecorder } from "./alert-recorder.ts";

export type { AlertTargetConfig } from "./alert-body.ts";

/** Defaults: 5 tries, 1 s, 2 s, 4 s, 8 s apart; 10 s per request. */
const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 1000;
const TIMEOUT_MS = 10_000;
const POLL_MS = 500;
const BATCH = 50;

export interface AlertServiceOptions {
  engine: Engine;
  alerts: AlertStore;
  schedules: ScheduleStore;
  clock: Clock;
  logger: Logger;
  global: AlertTargetConfig | null;
  perQueue: Record<string, AlertTargetConfig>;
  /**
   * The guarded client webhooks are sent through, so that an alert cannot reach what an http job may not
   * (default: one with the default policy, refusing loopback, private and metadata addresses).
   */
  outbound?: OutboundClient;
  /** Wakes the recorder when this process failed jobs, to record them at once rather than at the next poll. */
  subscribe?: (fn: () => void) => () => void;
  /** How often the recorder reads the feed without a wake-up. */
  recordPollMs?: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

export const signature = (secret: string, body: string): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export class AlertService {
  readonly #o: AlertServiceOptions;
  readonly #recorder: AlertRecorder;
  readonly #outbound: OutboundClient;
  readonly #ownsOutbound: boolean;
  #loop: NodeJS.Timeout | null = null;
  #delivering: Promise<void> | null = null;

  constructor(opts: AlertServiceOptions) {
    this.#o = opts;
    this.#outbound = opts.outbound ?? new OutboundClient();
    this.#ownsOutbound = opts.outbound === undefined;
    this.#recorder = new AlertRecorder({
      store: opts.engine.store,
      alerts: opts.alerts,
      schedules: opts.schedules,
      targets: { global: opts.global, perQueue: opts.perQueue },
      clock: opts.clock,
      logger: opts.logger,
      ...(opts.subscribe ? { subscribe: opts.subscribe } : {}),
      ...(opts.recordPollMs ? { pollMs: opts.recordPollMs } : {}),
      onRecorded: () => this.kick(),
    });
  }

  /** Starts recording and delivery (the leader's singleton). */
  start(): void {
    this.#recorder.start();
    this.startDelivery();
  }

  stop(): void {
    this.#recorder.stop();
    this.stopDelivery();
  }

  /** Records the failures the change feed holds now, leader or not (tests). */
  flush(): Promise<void> {
    return this.#recorder.flush();
  }

  /** Starts the delivery loop (leader only). */
  startDelivery(): void {
    if (this.#loop) return;
    this.#loop = setInterval(() => this.kick(), POLL_MS);
    this.#loop.unref();
    this.kick();
  }

  stopDelivery(): void {
    if (this.#loop) clearInterval(this.#loop);
    this.#loop = null;
  }

  kick(): void {
    if (!this.#loop || this.#delivering) return;
    this.#delivering = this.#deliverDue().finally(() => {
      this.#delivering = null;
    });
  }

  async #deliverDue(): Promise<void> {
    try {
      const due = await this.#o.alerts.due(this.#o.clock.now(), BATCH);
      await Promise.all(due.map((a) => this.#deliver(a)));
    } catch (err) {
      this.#o.logger.error({ err: String(err) }, "alert delivery loop failed");
    }
  }

  async #deliver(a: Alert): Promise<void> {
    const max = this.#o.maxAttempts ?? MAX_ATTEMPTS;
    const timeoutMs = this.#o.timeoutMs ?? TIMEOUT_MS;
    const attempts = a.attempts + 1;
    // The lease: nobody picks this alert up again before this attempt has had its answer or timed out.
    await this.#o.alerts.record(a.id, {
      status: "pending",
      attempts: a.attempts,
      nextAttemptAt: this.#o.clock.now() + timeoutMs + 5000,
      lastError: a.lastError,
      lastStatus: a.lastStatus,
      deliveredAt: null,
    });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "bosun-alerts",
      // Stable across retries of this alert: the receiver's idempotency key.
      "x-bosun-alert-id": a.id,
    };
    if (a.secret) headers["x-bosun-signature"] = signature(a.secret, a.body);
    let status: number | null = null;
    let error: string | null = null;
    let denied = false;
    try {
      // A redirect is an answer like any other non-2xx: a webhook is called at the URL it was given.
      const res = await this.#outbound.request({
        url: new URL(a.url),
        method: "POST",
        headers,
        body: a.body,
        signal: AbortSignal.timeout(timeoutMs),
        redirects: "manual",
        maxBodyBytes: 0,
      });
      status = res.status;
      if (res.status < 200 || res.status > 299) error = `answered ${res.status}`;
    } catch (err) {
      denied = err instanceof OutboundDenied;
      error = denied ? `HTTP_TARGET_DENIED: ${(err as Error).message}` : String(err);
    }
    const now = this.#o.clock.now();
    if (error === null) {
      await this.#o.alerts.record(a.id, {
        status: "delivered",
        attempts,
        nextAttemptAt: now,
        lastError: null,
        lastStatus: status,
        deliveredAt: now,
      });
      return;
    }
    // A target the policy refuses stays refused: trying again cannot help.
    const giveUp = denied || attempts >= max;
    const delay = (this.#o.baseDelayMs ?? BASE_DELAY_MS) * 2 ** (attempts - 1);
    this.#o.logger.warn(
      { alertId: a.id, url: a.url, attempts, error },
      giveUp ? "alert delivery failed for good" : "alert delivery failed; will retry",
    );
    await this.#o.alerts.record(a.id, {
      status: giveUp ? "failed" : "pending",
      attempts,
      nextAttemptAt: now + delay,
      lastError: error,
      lastStatus: status,
      deliveredAt: null,
    });
  }

  async close(): Promise<void> {
    this.stop();
    await this.#recorder.idle();
    await this.#delivering;
    if (this.#ownsOutbound) this.#outbound.close();
  }
}
