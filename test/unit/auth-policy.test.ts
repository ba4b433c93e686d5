import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  authorize,
  type Decision,
  describePolicy,
  listFilter,
  POLICY,
  RESOURCES,
  type Resource,
  type Scope,
  scopeOf,
  throwUnlessAllowed,
  VERBS,
  type Verb,
} from "../../src/auth/policy.ts";
import { type Principal, servableQueues } from "../../src/auth/principal.ts";
import { ROLES, type Role } from "../../src/auth/roles.ts";
import { BosunError } from "../../src/core/errors.ts";

const user = (role: Role, id = `u-${role}`): Principal => ({ kind: "user", id, userId: id, name: id, role });
const ME = "u-me";
const OTHER = "u-other";
const me = (role: Role): Principal => user(role, ME);
const RANK: Record<Scope, number> = { none: 0, own: 1, all: 2 };

describe("the policy table", () => {
  it("has a scope for every role, resource and verb, and nothing else", () => {
    assert.deepEqual(Object.keys(POLICY).sort(), [...ROLES].sort());
    for (const role of ROLES) {
      assert.deepEqual(Object.keys(POLICY[role]).sort(), [...RESOURCES].sort(), role);
      for (const r of RESOURCES) {
        assert.deepEqual(Object.keys(POLICY[role][r]).sort(), [...VERBS].sort(), `${role} ${r}`);
        for (const v of VERBS) assert.ok(POLICY[role][r][v] in RANK, `${role} ${r} ${v}`);
      }
    }
  });

  it("is frozen", () => {
    assert.throws(() => {
      (POLICY.member.job as Record<Verb, Scope>).read = "all";
    }, TypeError);
    assert.equal(POLICY.member.job.read, "own");
  });

  // A lower role never may more than the one above it; viewer and member are not comparable.
  const below: [Role, Role][] = [
    ["operator", "admin"],
    ["member", "operator"],
    ["viewer", "operator"],
    ["worker", "admin"],
  ];
  for (const [low, high] of below) {
    it(`gives ${low} nothing ${high} lacks`, () => {
      for (const r of RESOURCES) {
        for (const v of VERBS) {
          assert.ok(RANK[POLICY[low][r][v]] <= RANK[POLICY[high][r][v]], `${low} ${r} ${v}`);
        }
      }
    });
  }

  it("never lets a role read secrets of what it may not read", () => {
    for (const role of ROLES) {
      for (const r of RESOURCES) {
        assert.ok(RANK[POLICY[role][r].readSecret] <= RANK[POLICY[role][r].read], `${role} ${r}`);
      }
    }
  });

  it("keeps operations that do not exist closed to every role, admin included", () => {
    const noOps: [Resource, Verb][] = [
      ["audit", "create"],
      ["audit", "update"],
      ["audit", "delete"],
      ["node", "create"],
      ["worker", "create"],
      ["apiKey", "readSecret"],
      ["user", "readSecret"],
      ["metrics", "delete"],
      ["event", "create"],
    ];
    for (const [r, v] of noOps)
      for (const role of ROLES) assert.equal(POLICY[role][r][v], "none", `${role} ${r} ${v}`);
  });

  it("lets a viewer change nothing but its own API keys, and read no secret", () => {
    for (const r of RESOURCES) {
      for (const v of VERBS) {
        if (v === "read") continue;
        const expected = r === "apiKey" && v !== "act" && v !== "readSecret" ? "own" : "none";
        assert.equal(POLICY.viewer[r][v], expected, `${r} ${v}`);
      }
    }
  });

  it("gives a worker the worker protocol and nothing else", () => {
    for (const r of RESOURCES) {
      for (const v of VERBS) {
        const expected = r === "workerProtocol" && v !== "create" && v !== "update" && v !== "delete";
        assert.equal(POLICY.worker[r][v], expected ? "all" : "none", `${r} ${v}`);
      }
    }
    assert.equal(authorize(user("worker"), "workerProtocol", "act"), "allow");
    for (const role of ["operator", "member", "viewer"] as const) {
      assert.equal(authorize(user(role), "workerProtocol", "act"), "forbidden", role);
    }
  });

  it("keeps users and the audit log to admin", () => {
    for (const role of ["operator", "member", "viewer", "worker"] as const) {
      assert.equal(scopeOf(user(role), "audit", "read"), "none", role);
      for (const v of ["create", "update", "delete", "act"] as const) {
        assert.equal(scopeOf(user(role), "user", v), "none", `${role} ${v}`);
      }
    }
  });
});

describe("authorize", () => {
  const mine = { ownerId: ME };
  const theirs = { ownerId: OTHER };
  const nobodys = { ownerId: null };
  type Case = [Role, Resource, Verb, { ownerId: string | null } | undefined, Decision];
  const cases: Case[] = [
    // member: its own things only; others' are invisible (404), not forbidden (403)
    ["member", "job", "read", mine, "allow"],
    ["member", "job", "act", mine, "allow"],
    ["member", "job", "readSecret", mine, "allow"],
    ["member", "job", "read", theirs, "hidden"],
    ["member", "job", "act", theirs, "hidden"],
    ["member", "job", "delete", theirs, "hidden"],
    ["member", "job", "read", nobodys, "hidden"],
    ["member", "job", "create", undefined, "allow"],
    ["member", "job", "create", mine, "allow"],
    ["member", "job", "create", theirs, "forbidden"],
    ["member", "schedule", "update", theirs, "hidden"],
    ["member", "file", "readSecret", theirs, "hidden"],
    ["member", "queue", "read", nobodys, "allow"],
    ["member", "queue", "act", nobodys, "forbidden"],
    ["member", "worker", "read", undefined, "allow"],
    ["member", "worker", "act", nobodys, "forbidden"],
    ["member", "node", "read", undefined, "allow"],
    ["member", "event", "read", mine, "allow"],
    ["member", "event", "read", theirs, "hidden"],
    ["member", "metrics", "read", undefined, "forbidden"],
    ["member", "audit", "read", undefined, "forbidden"],
    ["member", "user", "read", mine, "allow"],
    ["member", "user", "read", theirs, "hidden"],
    ["member", "user", "update", mine, "forbidden"],
    ["member", "user", "create", undefined, "forbidden"],
    ["member", "apiKey", "create", undefined, "allow"],
    ["member", "apiKey", "delete", mine, "allow"],
    ["member", "apiKey", "delete", theirs, "hidden"],
    // viewer: reads everything but secrets, changes nothing
    ["viewer", "job", "read", theirs, "allow"],
    ["viewer", "job", "readSecret", theirs, "forbidden"],
    ["viewer", "job", "readSecret", mine, "forbidden"],
    ["viewer", "job", "act", theirs, "forbidden"],
    ["viewer", "job", "create", undefined, "forbidden"],
    ["viewer", "schedule", "delete", mine, "forbidden"],
    ["viewer", "file", "readSecret", mine, "forbidden"],
    ["viewer", "event", "readSecret", theirs, "forbidden"],
    ["viewer", "metrics", "read", undefined, "allow"],
    ["viewer", "audit", "read", undefined, "forbidden"],
    ["viewer", "apiKey", "create", undefined, "allow"],
    ["viewer", "apiKey", "read", theirs, "hidden"],
    // operator: every owner's work, not people
    ["operator", "job", "act", theirs, "allow"],
    ["operator", "job", "readSecret", theirs, "allow"],
    ["operator", "job", "read", nobodys, "allow"],
    ["operator", "job", "create", theirs, "forbidden"],
    ["operator", "schedule", "delete", theirs, "allow"],
    ["operator", "queue", "act", nobodys, "allow"],
    ["operator", "node", "act", nobodys, "allow"],
    ["operator", "user", "create", undefined, "forbidden"],
    ["operator", "user", "read", theirs, "hidden"],
    ["operator", "user", "read", mine, "allow"],
    ["operator", "audit", "read", undefined, "forbidden"],
    ["operator", "apiKey", "delete", theirs, "hidden"],
    ["operator", "apiKey", "delete", mine, "allow"],
    // admin: everything that exists
    ["admin", "user", "create", undefined, "allow"],
    ["admin", "user", "update", theirs, "allow"],
    ["admin", "apiKey", "delete", theirs, "allow"],
    ["admin", "apiKey", "readSecret", theirs, "forbidden"],
    ["admin", "audit", "read", undefined, "allow"],
    ["admin", "audit", "delete", nobodys, "forbidden"],
    ["admin", "job", "create", theirs, "allow"],
    ["admin", "workerProtocol", "act", undefined, "allow"],
    // worker: nothing outside its protocol, and other objects are invisible
    ["worker", "job", "read", undefined, "forbidden"],
    ["worker", "job", "read", mine, "hidden"],
    ["worker", "job", "create", undefined, "forbidden"],
    ["worker", "queue", "read", nobodys, "hidden"],
    ["worker", "workerProtocol", "readSecret", undefined, "allow"],
  ];
  for (const [role, resource, verb, target, expected] of cases) {
    const whose =
      target === undefined
        ? "—"
        : target.ownerId === null
          ? "nobody's"
          : target.ownerId === ME
            ? "own"
            : "other's";
    it(`${role} ${verb} ${resource} (${whose}) → ${expected}`, () => {
      assert.equal(authorize(me(role), resource, verb, target), expected);
    });
  }

  it("judges ownership by the user a key acts for, not by the key's id", () => {
    const key: Principal = { kind: "apiKey", id: "k1", keyId: "k1", userId: ME, name: "ci", role: "member" };
    assert.equal(authorize(key, "job", "act", { ownerId: ME }), "allow");
    assert.equal(authorize(key, "job", "read", { ownerId: "k1" }), "hidden");
    assert.deepEqual(listFilter(key, "job"), { owner: ME });
  });

  it("acts with the key's role, not its owner's", () => {
    const key: Principal = { kind: "apiKey", id: "k2", userId: ME, name: "dash", role: "viewer" };
    assert.equal(authorize(key, "job", "act", { ownerId: ME }), "forbidden");
  });
});

describe("listFilter", () => {
  it("lists every owner's, only one's own, or nothing", () => {
    assert.deepEqual(listFilter(me("admin"), "job"), {});
    assert.deepEqual(listFilter(me("operator"), "schedule"), {});
    assert.deepEqual(listFilter(me("viewer"), "file"), {});
    assert.deepEqual(listFilter(me("member"), "job"), { owner: ME });
    assert.deepEqual(listFilter(me("member"), "event"), { owner: ME });
    assert.deepEqual(listFilter(me("member"), "queue"), {});
    assert.deepEqual(listFilter(me("operator"), "apiKey"), { owner: ME });
    assert.deepEqual(listFilter(me("admin"), "apiKey"), {});
    assert.equal(listFilter(me("worker"), "job"), null);
    assert.equal(listFilter(me("viewer"), "audit"), null);
    assert.equal(listFilter(me("member"), "metrics"), null);
  });
});

describe("throwUnlessAllowed", () => {
  it("answers hidden with the resource's not-found and forbidden with 403", () => {
    assert.doesNotThrow(() => throwUnlessAllowed("allow", "JOB_NOT_FOUND"));
    assert.throws(
      () => throwUnlessAllowed("hidden", "JOB_NOT_FOUND"),
      (e: unknown) => e instanceof BosunError && e.code === "JOB_NOT_FOUND" && e.status === 404,
    );
    assert.throws(
      () => throwUnlessAllowed("forbidden", "JOB_NOT_FOUND"),
      (e: unknown) => e instanceof BosunError && e.code === "FORBIDDEN" && e.status === 403,
    );
  });
});

describe("queue restrictions of worker keys", () => {
  const worker = (queues: string[] | null): Principal => ({ ...user("worker"), kind: "apiKey", queues });
  it("allows every queue without a restriction", () => {
    assert.equal(servableQueues(worker(null), null), null);
    assert.deepEqual(servableQueues(worker(null), ["a"]), ["a"]);
    assert.equal(servableQueues({ ...user("worker") }, null), null);
  });
  it("narrows a worker's requested queues to those its key allows", () => {
    const w = worker(["a", "b"]);
    assert.deepEqual(servableQueues(w, null), ["a", "b"]);
    assert.deepEqual(servableQueues(w, ["b", "c"]), ["b"]);
    assert.deepEqual(servableQueues(w, ["c"]), []);
    assert.deepEqual(servableQueues(worker([]), null), []);
  });
});

describe("describePolicy", () => {
  const md = describePolicy();
  it("renders one row per resource and one column per role", () => {
    const rows = md.split("\n").filter((l) => l.startsWith("| "));
    assert.equal(rows[0], `| resource | ${ROLES.join(" | ")} |`);
    for (const r of RESOURCES)
      assert.ok(
        rows.some((l) => l.startsWith(`| ${r} | `)),
        r,
      );
    assert.match(
      md,
      /\| job \| all: read, create, update, delete, act, readSecret \| all: read, update, delete, act, readSecret; own: create \| own: read, create, update, delete, act, readSecret \| all: read \| — \|/,
    );
  });
  it("is what docs/security.md shows", () => {
    const doc = readFileSync(join(import.meta.dirname, "../../docs/security.md"), "utf8");
    assert.ok(doc.includes(md), "docs/security.md is out of date: paste describePolicy()'s output into it");
  });
});
