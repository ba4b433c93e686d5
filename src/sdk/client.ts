/**
 * Typed HTTP client of a Bosun server (the CLI uses it; so can any application). Errors are explicit:
 * BosunApiError carries the server's stable code; BosunUnreachableError means nothing answered.
 */
import type {
  ApiAttempt,
  ApiCluster,
  ApiJob,
  ApiMetrics,
  ApiSchedule,
  ApiScheduleRun,
  ApiWorker,
  ListQuery,
  SubmitJob,
} from "./types.ts";

export class BosunApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "BosunApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class BosunUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(`cannot reach the Bosun server at ${url}`, { cause });
    this.name = "BosunUnreachableError";
    this.url = url;
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
  fetch?: typeof fetch;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export class BosunClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? fetch;
  }

  async #raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await this.#fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new BosunUnreachableError(this.url, err);
    }
    if (!res.ok) {
      const text = await res.text();
      try {
        const e = JSON.parse(text).error;
        throw new BosunApiError(res.status, e.code, e.message, e.details);
      } catch (err) {
        if (err instanceof BosunApiError) throw err;
        throw new BosunApiError(
          res.status,
          "HTTP_STATUS",
          `${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`,
        );
      }
    }
    return res;
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.#raw(method, path, body)).json()) as T;
  }

  async submit(job: SubmitJob): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", "/api/v1/jobs", job)).job;
  }

  async submitMany(jobs: SubmitJob[]): Promise<ApiJob[]> {
    return (await this.#json<{ jobs: ApiJob[] }>("POST", "/api/v1/jobs/batch", { jobs })).jobs;
  }

  async get(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("GET", `/api/v1/jobs/${encodeURIComponent(id)}`)).job;
  }

  list(q: ListQuery = {}): Promise<{ items: ApiJob[]; nextCursor: string | null }> {
    const params = new URLSearchParams();
    if (q.status) params.set("status", Array.isArray(q.status) ? q.status.join(",") : q.status);
    for (const key of ["queue", "type", "cursor"] as const) if (q[key]) params.set(key, q[key]!);
    if (q.limit) params.set("limit", String(q.limit));
    const qs = params.toString();
    return this.#json("GET", `/api/v1/jobs${qs ? `?${qs}` : ""}`);
  }

  /** Every job matching the query, page after page. */
  async *listAll(q: Omit<ListQuery, "cursor"> = {}): AsyncGenerator<ApiJob> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...q, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async attempts(id: string): Promise<ApiAttempt[]> {
    return (
      await this.#json<{ items: ApiAttempt[] }>("GET", `/api/v1/jobs/${encodeURIComponent(id)}/attempts`)
    ).items;
  }

  async logs(id: string): Promise<string> {
    return (await this.#raw("GET", `/api/v1/jobs/${encodeURIComponent(id)}/logs`)).text();
  }

  /** The job's log as it is written, until the job ends. */
  async *followLogs(id: string, signal?: AbortSignal): AsyncGenerator<string> {
    const res = await this.#raw(
      "GET",
      `/api/v1/jobs/${encodeURIComponent(id)}/logs?follow=true`,
      undefined,
      signal,
    );
    if (!res.body) return;
    const decoder = new TextDecoder();
    for await (const chunk of res.body) yield decoder.decode(chunk as Uint8Array, { stream: true });
  }

  async cancel(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/cancel`)).job;
  }

  async retry(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/retry`)).job;
  }

  /** Waits until the job ends (polling with backoff up to 1 s) and returns it. */
  async wait(id: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ApiJob> {
    const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
    let delay = 50;
    for (;;) {
      const job = await this.get(id);
      if (TERMINAL.has(job.status)) return job;
      if (Date.now() > deadline)
        throw new BosunApiError(408, "WAIT_TIMEOUT", `job ${id} is still ${job.status}`);
      opts.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }

  health(): Promise<{ status: string; nodeId: string; version: string }> {
    return this.#json("GET", "/api/v1/health");
  }

  ready(): Promise<{ status: string }> {
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

  async createSchedule(body: Record<string, unknown>): Promise<ApiSchedule> {
    return (await this.#json<{ schedule: ApiSchedule }>("POST", "/api/v1/schedules", body)).schedule;
  }

  async schedules(): Promise<ApiSchedule[]> {
    return (await this.#json<{ items: ApiSchedule[] }>("GET", "/api/v1/schedules?limit=500")).items;
  }

  async schedule(id: string): Promise<ApiSchedule> {
    return (await this.#json<{ schedule: ApiSchedule }>("GET", `/api/v1/schedules/${encodeURIComponent(id)}`))
      .schedule;
  }

  async scheduleAction(id: string, action: "pause" | "resume"): Promise<ApiSchedule> {
    return (
      await this.#json<{ schedule: ApiSchedule }>(
        "POST",
        `/api/v1/schedules/${encodeURIComponent(id)}/${action}`,
      )
    ).schedule;
  }

  async triggerSchedule(id: string): Promise<ApiJob> {
    return (await this.#json<{ job: ApiJob }>("POST", `/api/v1/schedules/${encodeURIComponent(id)}/trigger`))
      .job;
  }

  async deleteSchedule(id: string): Promise<void> {
    await this.#raw("DELETE", `/api/v1/schedules/${encodeURIComponent(id)}`);
  }

  async scheduleRuns(id: string, limit = 20): Promise<ApiScheduleRun[]> {
    return (
      await this.#json<{ items: ApiScheduleRun[] }>(
        "GET",
        `/api/v1/schedules/${encodeURIComponent(id)}/runs?limit=${limit}`,
      )
    ).items;
  }

  async drain(workerId: string, draining = true): Promise<ApiWorker> {
    return (
      await this.#json<{ worker: ApiWorker }>(
        "POST",
        `/api/v1/workers/${encodeURIComponent(workerId)}/drain`,
        { draining },
      )
    ).worker;
  }
}
