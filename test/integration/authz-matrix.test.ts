/**
 * The authorization matrix (issue 12's acceptance), over real HTTP on SQLite: every route of the route
 * table × every role (two members, so own and other's objects; a member's API key, which acts for its
 * maker; a worker key; and no credentials at all) × own/other's object where the route names one. The
 * expected answer of each cell is derived from the policy table (auth/policy.ts: scopeOf, authorize,
 * listFilter), not written by hand; a route's own rule on top of the table is in its entry of
 * test/helpers/authz-cases.ts, with the reason. A refused request (401, 403, 404, 409) must leave
 * everything as it was: jobs, schedules, keys, users, alerts and workers are compared before and after.
 * A route without an entry fails the test: a new route cannot go unchecked.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccessEntry } from "../../src/api/access.ts";
import { authorize, listFilter, scopeOf } from "../../src/auth/policy.ts";
import {
  CASES,
  type Case,
  type Expected,
  FORBIDDEN,
  fromDecision,
  type Target,
  type Variant,
} from "../helpers/authz-cases.ts";
import { type Actor, bearer, World } from "../helpers/authz-world.ts";
import { api } from "../helpers/bosun-process.ts";
import { httpTarget } from "../helpers/http-target.ts";
import { startServer } from "../helpers/in-process.ts";

/** The GET a HEAD twin answers like (Fastify adds one per GET). */
const caseKey = (r: AccessEntry) => `${r.method === "HEAD" ? "GET" : r.method} ${r.url}`;

function expected(c: Case, r: AccessEntry, p: Actor, t: Target | undefined, v: Variant): Expected {
  const ok: Expected = { status: c.ok };
  const a = r.access;
  let e: Expected;
  if (p.anonymous) return a === "public" ? ok : { status: 401, code: "UNAUTHORIZED" };
  if (a === "public" || a === "signedIn") e = ok;
  // A route the role may not use at all: 403, whatever the object (docs/security.md, "404 or 403").
  else if (scopeOf(p, a.resource, a.verb) === "none") e = FORBIDDEN;
  else if (c.kind === "list") e = listFilter(p, a.resource) ? ok : FORBIDDEN;
  else if (c.kind === "one") e = fromDecision(authorize(p, a.resource, a.verb, t), c.ok, c.notFound);
  else e = fromDecision(authorize(p, a.resource, a.verb), c.ok);
  return c.rule ? c.rule(p, t, e, v) : e;
}

/** One request; an event stream or a HEAD is answered by its status line, and then closed. */
async function send(url: string, method: string, path: string, body: unknown, token: string) {
  const headers: Record<string, string> = token === "" ? {} : bearer(token);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined || method === "HEAD" ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get("content-type") ?? "";
  const endless = type.startsWith("text/event-stream") && !path.includes("follow=false");
  if (method === "HEAD" || endless) {
    await res.body?.cancel();
    return { status: res.status, body: null, text: "" };
  }
  const text = await res.text();
  const json = type.includes("json");
  return {
    status: res.status,
    body: json ? JSON.parse(text) : type.startsWith("text/event-stream") ? text : null,
    text,
  };
}

describe("authorization matrix: every role × every route × own/other's object", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let target: Awaited<ReturnType<typeof httpTarget>>;
  let w: World;

  before(async () => {
    target = await httpTarget();
    // Every failed job raises an alert, so GET /alerts has something of each member's.
    // The webhook target is on loopback, which the outbound guard refuses unless opened.
    s = await startServer({
      concurrency: 0,
      alertWebhookUrl: `${target.url}/hook`,
      httpAllow: ["127.0.0.1"],
    });
    w = new World(s);
    const admin = await w.addActor("admin", "admin");
    const operator = await w.addActor("operator", "operator");
    const [memberA, memberB] = [await w.addActor("memberA", "member"), await w.addActor("memberB", "member")];
    await w.addActor("viewer", "viewer");
    // Made by the operator, so the worker's "own" objects (its maker's) are not the admin's.
    const worker = await w.addKeyActor("worker", operator, "worker");
    // A key acts for the user who made it: member A's key owns what member A owns.
    await w.addKeyActor("memberA-key", memberA, "member");
    w.addAnonymous();
    const other = await api<{ key: string }>(w.url, "POST", "/api/v1/api-keys", {
      name: "w2",
      role: "worker",
    });
    w.otherWorkerToken = other.body.key;
    const spare = await w.addUser("member", "spare");
    w.spare = { username: "spare", password: spare.password };
    // What the lists must show or hide: each member's job (failed, with its alert), schedule and key.
    for (const m of [memberA, memberB, admin]) {
      await w.sharedJob(m);
      await w.sharedSchedule(m);
      await w.apiKey(m);
      await w.failedJobWithAlert(m, worker.token);
    }
  });
  after(async () => {
    await s.stop();
    await target.close();
  });

  it("has an entry for every route of the route table, and none for a route that is gone", () => {
    assert.ok(s.server.routes.length > 40, "the route table is filled");
    const keys = new Set(s.server.routes.map(caseKey));
    const missing = [...keys].filter((k) => !(k in CASES));
    assert.deepEqual(missing, [], "routes the matrix does not know how to call: add them to authz-cases.ts");
    assert.deepEqual(
      Object.keys(CASES).filter((k) => !keys.has(k)),
      [],
      "entries for routes that do not exist",
    );
  });

  it("answers every cell as the policy table says, and a refusal changes nothing", async () => {
    const failures: string[] = [];
    let cells = 0;
    let refused = 0;
    for (const r of s.server.routes) {
      const c = CASES[caseKey(r)];
      if (!c) continue;
      for (const p of w.actors) {
        for (const v of c.variants ?? ["-"]) {
          // Nothing is an anonymous caller's own.
          if (p.anonymous && v === "own") continue;
          const t = v === "-" || !c.target ? undefined : await c.target(w, p, v);
          if (t === null) continue;
          const req = await c.request(w, p, t);
          const want = expected(c, r, p, t, v);
          const cell = `${p.label} ${r.method} ${r.url} [${v}]`;
          // A HEAD is its GET's twin, whose refusal is compared already: the status is enough.
          const before = want.status >= 400 && r.method !== "HEAD" ? await w.snapshot() : null;
          const res = await send(w.url, r.method, req.path, req.body, req.token ?? p.token);
          cells++;
          const got = {
            status: res.status,
            ...(want.code && res.body?.error ? { code: res.body.error.code } : {}),
          };
          const wanted = r.method === "HEAD" ? { status: want.status } : want;
          const gotCmp = r.method === "HEAD" ? { status: got.status } : got;
          if (JSON.stringify(gotCmp) !== JSON.stringify(wanted)) {
            failures.push(
              `${cell}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(gotCmp)} ${res.text.slice(0, 200)}`,
            );
            continue;
          }
          if (before !== null) {
            refused++;
            try {
              assert.deepEqual(await w.snapshot(), before);
            } catch (err) {
              failures.push(
                `${cell}: the refusal changed something: ${(err as Error).message.slice(0, 600)}`,
              );
            }
            continue;
          }
          if (r.method === "HEAD") continue;
          try {
            c.check?.(p, t, res.body);
            if (c.owners && t === undefined && r.access !== "public" && r.access !== "signedIn") {
              const filter = listFilter(p, r.access.resource)!;
              const owners = await c.owners(w, res.body);
              if (filter.owner !== undefined) {
                assert.deepEqual(
                  [...new Set(owners)].filter((o) => o !== filter.owner),
                  [],
                  "only the caller's",
                );
                if (p.label.startsWith("member")) assert.ok(owners.length > 0, "its own are listed");
              } else {
                for (const m of [w.actor("memberA"), w.actor("memberB")])
                  assert.ok(owners.includes(m.userId), `${m.label}'s are listed`);
              }
            }
          } catch (err) {
            failures.push(`${cell}: ${(err as Error).message.slice(0, 400)}`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
    // Not vacuous: most cells ran, and many of them were refusals whose effect was compared.
    assert.ok(cells > 600 && refused > 200, `${cells} cells, ${refused} refusals`);
  });
});
