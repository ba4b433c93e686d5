/**
 * Typed HTTP client of a Bosun server (`import { BosunClient } from "bosun/client"`); the CLI is built on
 * it. It needs only the global fetch (no Node-only APIs), so a browser can use it too. Any server node
 * will do: they all answer the whole API.
 *
 * Errors are explicit (see errors.ts): BosunApiError carries the server's stable code,
 * BosunUnreachableError means nothing usable answered at the URL.
 */
import { BosunApiError, BosunUnreachableError, BosunWaitTimeoutError } from "./errors.ts";
import { apiError, decodeStream, sleep } from "./http.ts";
import { readSse } from "./sse.ts";
import type {
  ApiAttempt,
  ApiCluster,
  ApiEvent,
  ApiHealth,
  ApiJob,
  ApiMetrics,
  ApiReady,
  ApiSchedule,
  ApiScheduleRun,
  ApiWorker,
  EventsQuery,
  JobPage,
  JobStatus,
  ListQuery,
  SubmitJob,
} from "./types.ts";

export { BosunApiError, BosunUnreachableError, BosunWaitTimeoutError } from "./errors.ts";
export {
  type ApiKeyInfo,
  type ApiPrincipal,
  type ApiRole,
  type ApiSession,
  type ApiUser,
  IdentityClient,
  logIn,
  refreshSession,
} from "./identity.ts";
export type * from "./types.ts";

export interface ClientOptions {
  /** Any server node, e.g. http://127.0.0.1:8080 (http:// is assumed when the scheme is left out). */
  url: string;
  /** Sent as `Authorization: Bearer <token>`: an API key (bsn_…) or an access token. */
  token?: string;
  /**
   * Where tokens come from when they change (a CLI session): asked before each request, and asked to
   * renew once when the server answers 401. Takes the place of `token`.
   */
  credentials?: Credentials;
  /** Defaults to the global fetch; tests and custom agents pass their own. */
  fetch?: typeof fetch;
  /** Longest wait for one answer (followed logs excepted). Default 30 s: a hung server is not a slow one. */
  requestTimeoutMs?: number;
}

export interface WaitOptions {
  /** Give up after this long with BosunWaitTimeoutError (the job keeps running). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Credentials {
  token(): Promise<string | null>;
  /** A fresh token after a 401 (refresh, or log in again); null: none, the 401 stands. */
  renew(): Promise<string | null>;
}

interface SendOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** A streamed answer has no overall time limit. */
  stream?: boolean;
  headers?: Record<string, string>;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(["completed", "failed", "cancelled"]);

/** True once a job can change no more (until someone retries it). */
export const isTerminalStatus = (status: JobStatus): boolean => TERMINAL.has(status);

// wait() polls from 50 ms, doubling to 500 ms: short jobs return fast, a person watching a long one sees
// the end within half a second, and a waiting CLI costs the server two cheap reads a second.
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 500;
// followLogs() reconnects after a dropped stream (say a server node restarting) this many times in a row.
const FOLLOW_RETRIES = 5;

export class BosunClient {
  readonly url: string;
  readonly #credentials: Credentials | null;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: ClientOptions) {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.url) ? opts.url : `http://${opts.url}`;
    const parsed = URL.parse(url);
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
      throw new TypeError(`Invalid Bosun server URL "${opts.url}": use http://host:port`);
    this.url = url.replace(/\/+$/, "");
    const token = opts.token || null;
    this.#credentials =
      opts.credentials ?? (token ? { token: async () => token, renew: async () => null } : null);
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  async submit(job: SubmitJob): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", "/api/v1/jobs", { body: job })).job;
  }

  /** Enqueues all or none, in one transaction on the server (at most 1000 per call). */
  async submitMany(jobs: SubmitJob[]): Promise<ApiJob[]> {
    return (await this.#json<{ jobs: ApiJob[] }>("POST", "/api/v1/jobs/batch", { body: { jobs } })).jobs;
  }

  async get(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("GET", jobPath(id))).job;
  }

  /** One page, newest first. */
  list(q: ListQuery = {}): Promise<JobPage> {
    const params = new URLSearchParams();
    if (q.status?.length) params.set("status", Array.isArray(q.status) ? q.status.join(",") : q.status);
    if (q.queue) params.set("queue", q.queue);
    if (q.type) params.set("type", q.type);
    if (q.limit !== undefined) params.set("limit", String(q.limit));
    if (q.cursor) params.set("cursor", q.cursor);
    const qs = params.toString();
    return this.#json("GET", `/api/v1/jobs${qs ? `?${qs}` : ""}`);
  }

  /** Every job matching the query, page after page (`limit` is the page size). */
  async *listAll(q: Omit<ListQuery, "cursor"> = {}): AsyncGenerator<ApiJob> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...q, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async attempts(id: string): Promise<ApiAttempt[]> {
    return (await this.#json<{ items: ApiAttempt[] }>("GET", `${jobPath(id)}/attempts`)).items;
  }

  /** The job's log so far. */
  async logs(id: string): Promise<string> {
    const res = await this.#send("GET", `${jobPath(id)}/logs`);
    return this.#read(res, () => res.text());
  }

  /**
   * The job's log as it is written, ending when the job ends. The server replays the log from the start
   * on every request, so after a dropped connection this reconnects and skips what it already yielded.
   */
  async *followLogs(id: string, signal?: AbortSignal): AsyncGenerator<string> {
    let seen = 0;
    let failures = 0; // in a row, without a byte in between
    let idle = 0; // reconnects in a row without a byte: they back off
    for (;;) {
      try {
        const res = await this.#send("GET", `${jobPath(id)}/logs?follow=true`, { signal, stream: true });
        let skip = seen;
        for await (const text of decodeStream(res)) {
          failures = idle = 0;
          const fresh = text.slice(Math.min(skip, text.length));
          skip = Math.max(0, skip - text.length);
          seen += fresh.length;
          if (fresh) yield fresh;
        }
        // A clean end means the job ended, or the node closed the stream as it shut down: ask which.
        const { job } = await this.#json<{ job: ApiJob }>("GET", jobPath(id), { signal });
        if (isTerminalStatus(job.status)) return;
      } catch (err) {
        if (signal?.aborted || err instanceof BosunApiError) throw err;
        if (++failures > FOLLOW_RETRIES)
          throw err instanceof BosunUnreachableError ? err : new BosunUnreachableError(this.url, err);
      }
      await sleep(Math.min(2000, 100 * 2 ** idle++), signal);
    }
  }

  /**
   * Job changes (and with logs/progress a job's log lines and progress) as they happen, over SSE. After
   * a dropped stream, or the server closing a client that fell behind (EVENTS_TOO_SLOW), it reconnects
   * from the last cursor it saw (Last-Event-ID), so nothing is yielded twice or skipped. A cursor older
   * than the server keeps throws BosunApiError 410 EVENTS_EXPIRED. Ends when `signal` aborts, or with
   * `follow: false` once the retained changes after `since` are yielded.
   */
  async *events(q: EventsQuery = {}): AsyncGenerator<ApiEvent> {
    const { signal, since, follow = true, ...filters } = q;
    let cursor = since === undefined ? undefined : String(since);
    let failures = 0;
    for (;;) {
      try {
        const headers: Record<string, string> = { accept: "text/event-stream" };
        if (cursor !== undefined) headers["last-event-id"] = cursor;
        const res = await this.#send("GET", eventsPath(filters, follow), { signal, stream: true, headers });
        for await (const m of readSse(res)) {
          failures = 0;
          if ("heartbeat" in m) {
            if (m.heartbeat !== null) cursor = m.heartbeat;
            continue;
          }
          const message = JSON.parse(m.data) as ApiEvent | { kind: "ready"; cursor: string } | StreamError;
          if (message.kind === "ready") cursor ??= message.cursor;
          else if (message.kind === "error") {
            const { code, message: text, details } = message.error;
            // Expired: the changes after the cursor are gone, reconnecting cannot help. Anything else
            // (EVENTS_TOO_SLOW, a server error) ends this stream only: reconnect from the cursor.
            if (code === "EVENTS_EXPIRED") throw new BosunApiError(410, code, text, details);
            if (code !== "EVENTS_TOO_SLOW") failures++;
          } else {
            if (m.lastEventId !== null) cursor = m.lastEventId;
            yield message;
          }
        }
        if (!follow) return;
      } catch (err) {
        if (signal?.aborted || err instanceof BosunApiError) throw err;
        if (++failures > FOLLOW_RETRIES)
          throw err instanceof BosunUnreachableError ? err : new BosunUnreachableError(this.url, err);
      }
      await sleep(Math.min(2000, 100 * 2 ** failures), signal);
    }
  }

  async cancel(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `${jobPath(id)}/cancel`)).job;
  }

  async retry(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `${jobPath(id)}/retry`)).job;
  }

  /** Resolves with the job once it is completed, failed or cancelled. */
  async wait(id: string, opts: WaitOptions = {}): Promise<ApiJob> {
    const started = Date.now();
    let pause = FIRST_POLL_MS;
    for (;;) {
      const { job } = await this.#json<{ job: ApiJob }>("GET", jobPath(id), { signal: opts.signal });
      if (isTerminalStatus(job.status)) return job;
      const left = opts.timeoutMs === undefined ? pause : started + opts.timeoutMs - Date.now();
      if (left <= 0) throw new BosunWaitTimeoutError(job, opts.timeoutMs ?? 0);
      await sleep(Math.min(pause, left), opts.signal);
      pause = Math.min(MAX_POLL_MS, pause * 2);
    }
  }

  health(): Promise<ApiHealth> {
    return this.#json("GET", "/api/v1/health");
  }

  /** Rejects with BosunApiError 503 (NOT_READY, SHUTTING_DOWN) when the node cannot serve. */
  ready(): Promise<ApiReady> {
    return this.#json("GET", "/api/v1/ready");
  }

  metrics(): Promise<ApiMetrics> {
    return this.#json("GET", "/api/v1/metrics");
  }

  cluster(): Promise<ApiCluster> {
    return this.#json("GET", "/api/v1/cluster");
  }

  async workers(): Promise<ApiWorker[]> {
    return (await this.#json<{ items: ApiWorker[] }>("GET", "/api/v1/workers")).items;
  }

  /** The worker gets no new jobs and finishes its running ones; `draining: false` undoes it. */
  async drain(workerId: string, draining = true): Promise<ApiWorker> {
    const path = `/api/v1/workers/${encodeURIComponent(workerId)}/drain`;
    return (await this.#json<{ worker: ApiWorker }>("POST", path, { body: { draining } })).worker;
  }

  async createSchedule(body: Record<string, unknown>): Promise<ApiSchedule> {
    return (await this.#json<{ schedule: ApiSchedule }>("POST", "/api/v1/schedules", { body })).schedule;
  }

  async schedules(): Promise<ApiSchedule[]> {
    return (await this.#json<{ items: ApiSchedule[] }>("GET", "/api/v1/schedules?limit=500")).items;
  }

  async schedule(id: string): Promise<ApiSchedule> {
    return (await this.#json<{ schedule: ApiSchedule }>("GET", schedulePath(id))).schedule;
  }

  async scheduleAction(id: string, action: "pause" | "resume"): Promise<ApiSchedule> {
    return (await this.#json<{ schedule: ApiSchedule }>("POST", `${schedulePath(id)}/${action}`)).schedule;
  }

  async triggerSchedule(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `${schedulePath(id)}/trigger`)).job;
  }

  async deleteSchedule(id: string): Promise<void> {
    const res = await this.#send("DELETE", schedulePath(id));
    await res.body?.cancel();
  }

  async scheduleRuns(id: string, limit = 20): Promise<ApiScheduleRun[]> {
    const path = `${schedulePath(id)}/runs?limit=${limit}`;
    return (await this.#json<{ items: ApiScheduleRun[] }>("GET", path)).items;
  }

  /** The token this client sends now (null: none), checked against the server first. */
  async currentToken(): Promise<string | null> {
    await this.#json("GET", "/api/v1/me");
    return (await this.#credentials?.token()) ?? null;
  }

  /** Any API call, for what has no method here (cli/commands and sdk/identity.ts use it). */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#json<T>(method, path, { body });
  }

  async #send(method: string, path: string, opts: SendOptions = {}): Promise<Response> {
    const token = (await this.#credentials?.token()) ?? null;
    try {
      return await this.#sendWith(token, method, path, opts);
    } catch (err) {
      if (!(err instanceof BosunApiError) || err.status !== 401 || !this.#credentials) throw err;
      const renewed = await this.#credentials.renew();
      if (renewed === null || renewed === token) throw err;
      return this.#sendWith(renewed, method, path, opts);
    }
  }

  async #sendWith(token: string | null, method: string, path: string, opts: SendOptions): Promise<Response> {
    const headers: Record<string, string> = {
      accept: opts.stream ? "text/plain" : "application/json",
      ...opts.headers,
    };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const limits = [opts.signal, opts.stream ? undefined : AbortSignal.timeout(this.#timeoutMs)];
    const signal = AbortSignal.any(limits.filter((s): s is AbortSignal => s !== undefined));
    let res: Response;
    try {
      res = await this.#fetch(`${this.url}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
      });
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw new BosunUnreachableError(this.url, err);
    }
    if (!res.ok) throw await apiError(res, method, path);
    return res;
  }

  async #json<T>(method: string, path: string, opts: SendOptions = {}): Promise<T> {
    const res = await this.#send(method, path, opts);
    const text = await this.#read(res, () => res.text(), opts.signal);
    if (res.status === 204) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BosunUnreachableError(
        this.url,
        undefined,
        `${method} ${path} did not answer JSON; is it a Bosun server?`,
      );
    }
  }

  /** Reading the body can fail too (reset, timeout); that is the server going away, not an API error. */
  async #read<T>(res: Response, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await read();
    } catch (err) {
      signal?.throwIfAborted();
      throw new BosunUnreachableError(this.url, err, `the answer to ${res.url || "a request"} was cut off`);
    }
  }
}

type StreamError = { kind: "error"; error: { code: string; message: string; details?: unknown } };

function eventsPath(q: Omit<EventsQuery, "since" | "signal" | "follow">, follow: boolean): string {
  const params = new URLSearchParams();
  for (const key of ["jobId", "queue", "type", "scheduleId", "owner"] as const)
    if (q[key]) params.set(key, q[key]);
  if (q.status?.length) params.set("status", Array.isArray(q.status) ? q.status.join(",") : q.status);
  if (q.logs) params.set("logs", "true");
  if (q.progress) params.set("progress", "true");
  if (!follow) params.set("follow", "false");
  const qs = params.toString();
  return `/api/v1/events${qs ? `?${qs}` : ""}`;
}

const jobPath = (id: string) => `/api/v1/jobs/${encodeURIComponent(id)}`;
const schedulePath = (id: string) => `/api/v1/schedules/${encodeURIComponent(id)}`;
