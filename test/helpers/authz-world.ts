/**
 * The world the authorization matrix (test/integration/authz-matrix.test.ts) runs in: one in-process server
 * on SQLite, one logged-in principal per role (two members, so one's objects are "other" to the other),
 * a worker key, objects owned by each of them, and a snapshot of everything a refused request must not
 * change. Objects are made over HTTP by their owner whenever the owner may make them; a viewer's jobs and
 * schedules (what a member demoted to viewer still owns) are made through the engine, the only way they
 * can exist.
 */
import assert from "node:assert/strict";
import type { Principal } from "../../src/auth/principal.ts";
import type { Role } from "../../src/auth/roles.ts";
import { TEST_ADMIN_PASSWORD } from "./auth.ts";
import { api } from "./bosun-process.ts";
import type { startServer } from "./in-process.ts";
import { waitUntil } from "./wait.ts";

export type Server = Awaited<ReturnType<typeof startServer>>;

/** A principal as the policy sees it, with the credential that makes the server see it so. */
export interface Actor extends Principal {
  label: string;
  token: string;
  /** Users only: to log in again (a logout must not end the session the matrix goes on using). */
  password?: string;
  /** No credentials at all: refused (401) before the policy is asked, so its role is never read. */
  anonymous?: true;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** Far enough that no fixture job ever becomes due while the test runs. */
export const FAR_DELAY_MS = 300 * 86_400_000;
/** A queue no worker of the test serves: jobs made by the matrix stay where they are. */
export const IDLE_QUEUE = "authz-idle";
/** The queue the matrix's own workers register for: it is always empty, so a poll claims nothing. */
export const EMPTY_QUEUE = "authz-empty";
/** Schedules that never fire while the test runs. */
export const SCHEDULE_BODY = {
  cron: "0 0 1 1 *",
  startAt: "2100-01-01T00:00:00Z",
  job: { type: "sleep", queue: IDLE_QUEUE, payload: { durationMs: 1 } },
};
export const JOB_BODY = {
  type: "sleep",
  queue: IDLE_QUEUE,
  payload: { durationMs: 1 },
  delayMs: FAR_DELAY_MS,
};

export class World {
  readonly s: Server;
  readonly actors: Actor[] = [];
  /** A second worker credential: the owner of workers that are "other" to the matrix's worker. */
  otherWorkerToken = "";
  /** A user no one acts as, for the login and refresh cells (their sessions are of no one the matrix uses). */
  spare = { username: "", password: "" };
  readonly #shared = new Map<string, string>();
  #n = 0;

  constructor(s: Server) {
    this.s = s;
  }

  get url(): string {
    return this.s.url;
  }

  actor(label: string): Actor {
    const a = this.actors.find((x) => x.label === label);
    assert.ok(a, label);
    return a;
  }

  /** A name unique within the test. */
  fresh(prefix: string): string {
    return `${prefix}-${this.next()}`;
  }

  /** A number unique within the test. */
  next(): number {
    return ++this.#n;
  }

  async addUser(role: Role, username = this.fresh(`u-${role}`)): Promise<{ id: string; password: string }> {
    const password = `password-of-${username}`;
    const res = await api<{ user: { id: string } }>(this.url, "POST", "/api/v1/users", {
      username,
      password,
      role,
    });
    assert.equal(res.status, 201, res.text);
    return { id: res.body.user.id, password };
  }

  /** A user no one acts as, made again once a cell deleted it (users cost a password hash each). */
  async deletableUser(): Promise<string> {
    const id = this.#shared.get("deletable");
    if (id !== undefined && (await api(this.url, "GET", `/api/v1/users/${id}`)).status === 200) return id;
    const made = (await this.addUser("member")).id;
    this.#shared.set("deletable", made);
    return made;
  }

  async login(username: string, password: string): Promise<{ accessToken: string; refreshToken: string }> {
    const res = await api<{ accessToken: string; refreshToken: string }>(
      this.url,
      "POST",
      "/api/v1/auth/login",
      { username, password },
      { authorization: "" },
    );
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async addActor(label: string, role: Role): Promise<Actor> {
    const username = role === "admin" ? "admin" : label;
    const password = role === "admin" ? TEST_ADMIN_PASSWORD : (await this.addUser(role, label)).password;
    const { accessToken } = await this.login(username, password);
    const me = await api<{ principal: Principal }>(
      this.url,
      "GET",
      "/api/v1/me",
      undefined,
      bearer(accessToken),
    );
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.principal.role, role);
    const a: Actor = { ...me.body.principal, label, token: accessToken, password };
    this.actors.push(a);
    return a;
  }

  /** An API key made by `maker` (its role at most the maker's), as an actor of its own. */
  async addKeyActor(label: string, maker: Actor, role: Role): Promise<Actor> {
    const res = await api<{ key: string }>(
      this.url,
      "POST",
      "/api/v1/api-keys",
      { name: label, role },
      bearer(maker.token),
    );
    assert.equal(res.status, 201, res.text);
    const me = await api<{ principal: Principal }>(
      this.url,
      "GET",
      "/api/v1/me",
      undefined,
      bearer(res.body.key),
    );
    const a: Actor = { ...me.body.principal, label, token: res.body.key };
    this.actors.push(a);
    return a;
  }

  addAnonymous(): void {
    this.actors.push({
      kind: "user",
      id: "",
      userId: "",
      name: "",
      role: "viewer",
      label: "anonymous",
      token: "",
      anonymous: true,
    });
  }

  /** The person whose objects are `p`'s own (a key's are its maker's). */
  owner(p: Actor): Actor {
    const o = this.actors.find((a) => a.kind === "user" && a.userId === p.userId);
    assert.ok(o, `owner of ${p.label}`);
    return o;
  }

  /** Someone else: member A, or member B when `p` acts for A. */
  other(p: Actor): Actor {
    const a = this.actor("memberA");
    return p.userId === a.userId ? this.actor("memberB") : a;
  }

  ownerFor(p: Actor, variant: string): Actor {
    return variant === "own" ? this.owner(p) : this.other(p);
  }

  // ── Fixtures ───────────────────────────────────────────────────────────────────────────────────

  /** A job of `owner`, far in the future; `cancelled` for routes that need a finished job. */
  async job(owner: Actor, opts: { cancelled?: boolean } = {}): Promise<string> {
    let id: string;
    if (owner.role === "viewer") {
      const [o] = await this.s.server.runtime.engine.enqueue([JOB_BODY], { owner: owner.userId });
      id = o!.job.id;
    } else {
      const res = await api<{ job: { id: string } }>(
        this.url,
        "POST",
        "/api/v1/jobs",
        JOB_BODY,
        bearer(owner.token),
      );
      assert.equal(res.status, 201, res.text);
      id = res.body.job.id;
    }
    if (opts.cancelled) assert.equal((await api(this.url, "POST", `/api/v1/jobs/${id}/cancel`)).status, 200);
    return id;
  }

  /** One job per owner for the routes that only read. */
  async sharedJob(owner: Actor): Promise<string> {
    return this.#once(`job:${owner.userId}`, () => this.job(owner));
  }

  async schedule(owner: Actor): Promise<string> {
    if (owner.role === "viewer")
      return (await this.s.server.runtime.schedules.create(SCHEDULE_BODY, owner.userId)).id;
    const res = await api<{ schedule: { id: string } }>(
      this.url,
      "POST",
      "/api/v1/schedules",
      { ...SCHEDULE_BODY, name: this.fresh("sched") },
      bearer(owner.token),
    );
    assert.equal(res.status, 201, res.text);
    return res.body.schedule.id;
  }

  async sharedSchedule(owner: Actor): Promise<string> {
    return this.#once(`schedule:${owner.userId}`, () => this.schedule(owner));
  }

  async apiKey(owner: Actor): Promise<string> {
    const res = await api<{ apiKey: { id: string } }>(
      this.url,
      "POST",
      "/api/v1/api-keys",
      { name: this.fresh("key") },
      bearer(owner.token),
    );
    assert.equal(res.status, 201, res.text);
    return res.body.apiKey.id;
  }

  /** A worker registered with `token`, serving only the empty queue. */
  async worker(token: string): Promise<string> {
    const id = this.fresh("matrix-worker");
    const res = await api(
      this.url,
      "POST",
      "/api/v1/workers/register",
      { id, capacity: 1, types: ["sleep"], queues: [EMPTY_QUEUE] },
      bearer(token),
    );
    assert.equal(res.status, 200, res.text);
    return id;
  }

  async #once(key: string, make: () => Promise<string>): Promise<string> {
    let id = this.#shared.get(key);
    if (id === undefined) {
      id = await make();
      this.#shared.set(key, id);
    }
    return id;
  }

  /**
   * A failed job of `owner` with an alert, through the worker protocol as a remote worker would do it:
   * so GET /alerts has something of each member's to hide from the other.
   */
  async failedJobWithAlert(owner: Actor, workerToken: string): Promise<string> {
    const queue = this.fresh("authz-fail");
    const res = await api<{ job: { id: string } }>(
      this.url,
      "POST",
      "/api/v1/jobs",
      { type: "sleep", queue, payload: { durationMs: 1 }, maxAttempts: 1 },
      bearer(owner.token),
    );
    assert.equal(res.status, 201, res.text);
    const jobId = res.body.job.id;
    const workerId = this.fresh("fail-worker");
    const auth = bearer(workerToken);
    const reg = { id: workerId, capacity: 1, types: ["sleep"], queues: [queue] };
    assert.equal((await api(this.url, "POST", "/api/v1/workers/register", reg, auth)).status, 200);
    const poll = await api<{ jobs: { id: string; lease: string; attempt: number }[] }>(
      this.url,
      "POST",
      `/api/v1/workers/${workerId}/poll`,
      { slots: 1, waitMs: 5000 },
      auth,
    );
    const claim = poll.body.jobs[0];
    assert.equal(claim?.id, jobId, poll.text);
    const report = await api(
      this.url,
      "POST",
      `/api/v1/workers/${workerId}/reports`,
      {
        logs: [{ jobId, at: Date.now(), stream: "stdout", data: "secret output\n" }],
        failed: [
          {
            jobId,
            lease: claim.lease,
            attempt: claim.attempt,
            error: { code: "BOOM", message: "no" },
            retryable: false,
          },
        ],
      },
      auth,
    );
    assert.equal(report.status, 200, report.text);
    await waitUntil(
      async () => {
        const alerts = await api<{ items: { jobId: string; status: string }[] }>(
          this.url,
          "GET",
          "/api/v1/alerts",
        );
        return alerts.body.items.some((a) => a.jobId === jobId && a.status === "delivered");
      },
      { what: `the alert of job ${jobId}` },
    );
    return jobId;
  }

  // ── What a refusal must leave as it was ────────────────────────────────────────────────────────

  /**
   * Everything a request could change, read as the admin over HTTP, less what changes on its own: when a
   * key was last used (every authenticated request) and when a worker was last seen. Workers are read from
   * the cluster store because their `draining` flag is hidden behind `lost` in the API once they are quiet.
   * The audit log is left out on purpose: recording a refused attempt would be a feature, not a change.
   */
  async snapshot(): Promise<unknown> {
    const list = async (path: string) => {
      const res = await api<{ items: Record<string, unknown>[] }>(this.url, "GET", path);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      return res.body.items;
    };
    const [jobs, schedules, keys, users, alerts] = await Promise.all([
      list("/api/v1/jobs?limit=500"),
      list("/api/v1/schedules?limit=500"),
      list("/api/v1/api-keys"),
      list("/api/v1/users?limit=500"),
      list("/api/v1/alerts?limit=500"),
    ]);
    assert.ok(jobs.length < 500 && schedules.length < 500 && users.length < 500, "snapshot fits one page");
    const workers = (await this.s.server.runtime.cluster.listWorkers()).map(
      ({ lastSeenAt: _seen, running: _running, ...w }) => w,
    );
    return {
      jobs,
      schedules,
      keys: keys.map(({ lastUsedAt: _used, ...k }) => k),
      users,
      alerts,
      workers: workers.sort((a, b) => a.id.localeCompare(b.id)),
    };
  }
}
