/**
 * The IdentityStore contract (src/store/identity-store.ts) as tests, run by identity-sqlite.test.ts and
 * identity-pg.test.ts against a real SQLite file and a fresh PostgreSQL schema. Each test makes its own
 * users (unique names and an actor id of its own), so tests share one database without seeing each other.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../../src/core/ids.ts";
import type { AuditEntry, IdentityStore } from "../../src/store/identity-store.ts";
import { entry, HOUR, type IdentityBackend, newKey, newSession, newUser, T0 } from "./identity-fixtures.ts";

export function identityConformance(name: string, make: () => Promise<IdentityBackend>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let backend: IdentityBackend;
    let id: IdentityStore;
    let close: () => Promise<void>;
    before(async () => {
      backend = await make();
      ({ identity: id, close } = await backend.open());
    });
    after(async () => {
      await close();
      await backend.cleanup();
    });
    /** The audit entries of one actor, oldest first. */
    const auditOf = async (actorId: string) =>
      (await id.listAudit({ actorId, limit: 1000 })).reverse().map((r) => r.action);

    it("creates users, finds them by id and by name in any case, lists and counts them", async () => {
      const before = await id.countUsers();
      const u = await id.createUser(newUser({ username: "Émile-Admin", role: "admin", maxQueued: 50 }));
      assert.deepEqual(
        [u.role, u.failedLogins, u.lockedUntil, u.credentialsVersion, u.updatedAt, u.maxQueued, u.maxRunning],
        ["admin", 0, null, 1, T0, 50, null],
      );
      assert.deepEqual(await id.getUser(u.id), u);
      assert.deepEqual(await id.getUserByName("émile-admin"), u);
      assert.deepEqual(await id.getUserByName("ÉMILE-ADMIN"), u);
      assert.equal(await id.getUserByName("emile-admin"), null, "accents are not case");
      assert.equal(await id.getUser(newId()), null);
      const more = [await id.createUser(newUser()), await id.createUser(newUser())];
      assert.equal(await id.countUsers(), before + 3);
      const all = await id.listUsers({ limit: 1000 });
      assert.deepEqual(
        all.map((x) => x.id),
        all.map((x) => x.id).sort(),
      );
      const page = await id.listUsers({ limit: 2, afterId: u.id });
      assert.ok(page.every((x) => x.id > u.id) && page.length === 2);
      assert.ok(more.every((m) => all.some((x) => x.id === m.id)));
    });

    it("refuses a taken username in any letter case, and the refused change writes no audit row", async () => {
      const actorId = newId();
      const u = await id.createUser(
        newUser({ username: "Ops-Team" }),
        entry({ actorId, action: "user.create" }),
      );
      await assert.rejects(
        id.createUser(newUser({ username: "ops-TEAM" }), entry({ actorId, action: "user.create.dup" })),
        { code: "USERNAME_TAKEN", status: 409 },
      );
      assert.deepEqual(await auditOf(actorId), ["user.create"]);
      assert.equal((await id.getUserByName("OPS-team"))?.id, u.id);
    });

    it("undoes the change when its audit entry cannot be written: one transaction", async () => {
      const bad = { ...entry(), outcome: "maybe" } as unknown as AuditEntry;
      const u = newUser();
      await assert.rejects(id.createUser(u, bad));
      assert.equal(await id.getUser(u.id), null);
      const saved = await id.createUser(u);
      await assert.rejects(id.updateUser(u.id, { role: "admin" }, T0 + 1, bad));
      assert.deepEqual(await id.getUser(u.id), saved);
    });

    it("updates role and limits without touching credentials", async () => {
      const actorId = newId();
      const u = await id.createUser(newUser({ maxRunning: 3 }));
      const s = await id.createSession(newSession(u.id));
      const k = await id.createApiKey(newKey(u.id));
      const v = await id.updateUser(
        u.id,
        { role: "operator", maxRunning: null, maxQueued: 9 },
        T0 + 5,
        entry({ actorId, action: "user.update" }),
      );
      assert.deepEqual(v, { ...u, role: "operator", maxRunning: null, maxQueued: 9, updatedAt: T0 + 5 });
      assert.equal((await id.getSession(s.id))?.revokedAt, null);
      assert.equal((await id.getApiKey(k.id))?.revokedAt, null);
      assert.equal(
        await id.updateUser(newId(), { role: "admin" }, T0, entry({ actorId, action: "x" })),
        null,
      );
      assert.deepEqual(await auditOf(actorId), ["user.update"], "nothing changed, nothing audited");
    });

    it("a new password or disabling bumps credentialsVersion and revokes sessions and keys", async () => {
      for (const patch of [{ passwordHash: "scrypt$new" }, { disabled: true }]) {
        const u = await id.createUser(newUser());
        const other = await id.createUser(newUser());
        const s = await id.createSession(newSession(u.id));
        const k = await id.createApiKey(newKey(u.id));
        const otherKey = await id.createApiKey(newKey(other.id));
        const v = (await id.updateUser(u.id, patch, T0 + 7))!;
        assert.equal(v.credentialsVersion, 2);
        assert.equal((await id.getSession(s.id))?.revokedAt, T0 + 7);
        assert.equal((await id.getApiKey(k.id))?.revokedAt, T0 + 7);
        assert.equal((await id.getApiKey(otherKey.id))?.revokedAt, null);
        const state = await id.authState(u.id, s.id, k.id);
        assert.equal(state.session?.revoked, true);
        assert.equal(state.key?.revoked, true);
      }
      const off = await id.createUser(newUser({ disabled: true }));
      assert.equal((await id.updateUser(off.id, { disabled: false }, T0))?.credentialsVersion, 1);
      assert.equal((await id.updateUser(off.id, { disabled: false }, T0))?.disabled, false);
    });

    it("a session opened under old credentials is dead even if it escaped the revocation", async () => {
      const u = await id.createUser(newUser());
      await id.updateUser(u.id, { passwordHash: "scrypt$changed" }, T0 + 1);
      // A login that checked the old password and wrote its session after the change committed.
      const late = await id.createSession(newSession(u.id, { credentialsVersion: 1 }));
      assert.equal((await id.authState(u.id, late.id, null)).session?.revoked, true);
      const out = await id.rotateSession(late.tokenHash, newSession(u.id), T0 + 2);
      assert.deepEqual(out, { kind: "revoked", familyId: late.familyId });
      assert.equal((await id.getSession(late.id))?.revokedAt, T0 + 2);
    });

    it("deletes a user with its sessions and keys, and only its own", async () => {
      const actorId = newId();
      const u = await id.createUser(newUser());
      const other = await id.createUser(newUser());
      const s = await id.createSession(newSession(u.id));
      const k = await id.createApiKey(newKey(u.id));
      const kept = await id.createApiKey(newKey(other.id));
      assert.equal(await id.deleteUser(u.id, entry({ actorId, action: "user.delete" })), true);
      assert.equal(await id.deleteUser(u.id, entry({ actorId, action: "user.delete" })), false);
      assert.deepEqual(await auditOf(actorId), ["user.delete"]);
      assert.equal(await id.getUser(u.id), null);
      assert.equal(await id.getSession(s.id), null);
      assert.equal(await id.getApiKey(k.id), null);
      assert.ok(await id.getApiKey(kept.id));
      const state = await id.authState(u.id, s.id, k.id);
      assert.deepEqual(state, { user: null, session: null, key: null });
    });

    it("locks an account after N failures in a row, then counts again; a success resets", async () => {
      const actorId = newId();
      const u = await id.createUser(newUser());
      const policy = { maxFailures: 3, lockMs: 60_000 };
      const fail = (now: number) =>
        id.recordLoginFailure(u.id, now, policy, entry({ actorId, action: "login.failed" }));
      assert.deepEqual(await fail(T0), { failedLogins: 1, lockedUntil: null });
      assert.deepEqual(await fail(T0 + 1), { failedLogins: 2, lockedUntil: null });
      assert.deepEqual(await fail(T0 + 2), { failedLogins: 0, lockedUntil: T0 + 60_002 });
      assert.equal((await id.getUser(u.id))?.lockedUntil, T0 + 60_002);
      assert.deepEqual(await fail(T0 + 70_000), { failedLogins: 1, lockedUntil: T0 + 60_002 });
      await id.recordLoginSuccess(u.id, entry({ actorId, action: "login" }));
      const after = (await id.getUser(u.id))!;
      assert.deepEqual([after.failedLogins, after.lockedUntil], [0, null]);
      assert.equal(await id.recordLoginFailure(newId(), T0, policy, entry({ actorId })), null);
      await id.recordLoginSuccess(newId(), entry({ actorId }));
      assert.deepEqual(await auditOf(actorId), [...Array(4).fill("login.failed"), "login"]);
      // Concurrent failures are each counted once.
      const v = await id.createUser(newUser());
      await Promise.all(Array.from({ length: 7 }, () => id.recordLoginFailure(v.id, T0, policy)));
      assert.deepEqual(
        [(await id.getUser(v.id))?.failedLogins, (await id.getUser(v.id))?.lockedUntil],
        [1, T0 + 60_000],
      );
    });

    it("stores API keys by hash, lists them by owner, revokes once and stamps use forward only", async () => {
      const actorId = newId();
      const u = await id.createUser(newUser());
      const k = await id.createApiKey(
        newKey(u.id, { role: "worker", queues: ["gpu", "io"], expiresAt: T0 + HOUR }),
        entry({ actorId, action: "key.create" }),
      );
      const k2 = await id.createApiKey(newKey(u.id));
      assert.deepEqual(await id.getApiKey(k.id), k);
      assert.deepEqual(await id.getApiKeyByHash(k.hash), k);
      assert.deepEqual(k.queues, ["gpu", "io"]);
      assert.equal(await id.getApiKeyByHash("nope"), null);
      await assert.rejects(id.createApiKey(newKey(u.id, { hash: k.hash })));
      assert.deepEqual(
        (await id.listApiKeys({ ownerId: u.id })).map((x) => x.id),
        [k.id, k2.id],
      );
      assert.ok((await id.listApiKeys({})).some((x) => x.id === k2.id));
      const r = await id.revokeApiKey(k.id, T0 + 10, entry({ actorId, action: "key.revoke" }));
      assert.equal(r?.revokedAt, T0 + 10);
      assert.equal((await id.revokeApiKey(k.id, T0 + 20))?.revokedAt, T0 + 10, "the first revocation stays");
      assert.equal(await id.revokeApiKey(newId(), T0, entry({ actorId, action: "key.revoke" })), null);
      assert.deepEqual(await auditOf(actorId), ["key.create", "key.revoke"]);
      await id.touchApiKeys([]);
      await id.touchApiKeys([
        { id: k2.id, lastUsedAt: T0 + 5 },
        { id: k2.id, lastUsedAt: T0 + 9 },
        { id: newId(), lastUsedAt: T0 },
      ]);
      assert.equal((await id.getApiKey(k2.id))?.lastUsedAt, T0 + 9);
      await id.touchApiKeys([{ id: k2.id, lastUsedAt: T0 + 1 }]);
      assert.equal((await id.getApiKey(k2.id))?.lastUsedAt, T0 + 9, "never backwards");
      const state = await id.authState(u.id, null, k.id);
      assert.deepEqual(state.key, {
        ownerId: u.id,
        role: "worker",
        queues: ["gpu", "io"],
        revoked: true,
        expiresAt: T0 + HOUR,
      });
      assert.deepEqual(state.user, { role: "member", disabled: false, credentialsVersion: 1 });
      assert.equal(state.session, null);
      assert.equal((await id.authState(u.id, null, k2.id)).key?.revoked, false);
    });

    it("rotates a refresh token once; a reused token revokes the family, and the holder's next fails", async () => {
      const u = await id.createUser(newUser());
      const first = await id.createSession(newSession(u.id));
      const next = newSession(u.id, { familyId: "ignored", createdAt: T0 + 1, expiresAt: T0 + 2 * HOUR });
      const out = await id.rotateSession(first.tokenHash, next, T0 + 1);
      assert.equal(out.kind, "rotated");
      if (out.kind !== "rotated") return;
      assert.deepEqual(out.previous, first);
      assert.deepEqual(out.session, { ...next, familyId: first.familyId });
      assert.equal((await id.getSession(first.id))?.rotatedAt, T0 + 1);
      assert.deepEqual(await id.getSession(next.id), out.session);
      const live = await id.authState(u.id, next.id, null);
      assert.deepEqual(live.session, {
        userId: u.id,
        familyId: first.familyId,
        revoked: false,
        expiresAt: T0 + 2 * HOUR,
      });
      // The stolen first token comes back.
      const stolen = await id.rotateSession(first.tokenHash, newSession(u.id), T0 + 2);
      assert.deepEqual(stolen, { kind: "reused", familyId: first.familyId });
      assert.equal((await id.getSession(next.id))?.revokedAt, T0 + 2);
      assert.equal((await id.authState(u.id, next.id, null)).session?.revoked, true);
      const holder = await id.rotateSession(next.tokenHash, newSession(u.id), T0 + 3);
      assert.deepEqual(holder, { kind: "revoked", familyId: first.familyId });
      assert.deepEqual(await id.rotateSession("no-such-token", newSession(u.id), T0), { kind: "unknown" });
      const old = await id.createSession(newSession(u.id, { expiresAt: T0 + 10 }));
      assert.deepEqual(await id.rotateSession(old.tokenHash, newSession(u.id), T0 + 10), { kind: "expired" });
      assert.equal((await id.getSession(old.id))?.revokedAt, null, "expiry revokes nothing");
    });

    it("of two concurrent rotations of one token exactly one wins, the other is reuse", async () => {
      const u = await id.createUser(newUser());
      for (let i = 0; i < 10; i++) {
        const s = await id.createSession(newSession(u.id));
        const outs = await Promise.all([
          id.rotateSession(s.tokenHash, newSession(u.id), T0 + 1),
          id.rotateSession(s.tokenHash, newSession(u.id), T0 + 1),
        ]);
        assert.deepEqual(outs.map((o) => o.kind).sort(), ["reused", "rotated"]);
      }
    });

    it("revokes a session's family by session id or family id, and every session of a user", async () => {
      const actorId = newId();
      const u = await id.createUser(newUser());
      const a = await id.createSession(newSession(u.id));
      const a2 = newSession(u.id);
      await id.rotateSession(a.tokenHash, a2, T0 + 1);
      const b = await id.createSession(newSession(u.id));
      const c = await id.createSession(newSession(u.id));
      assert.equal(await id.revokeSession(a.id, T0 + 2, entry({ actorId, action: "logout" })), true);
      assert.equal((await id.getSession(a2.id))?.revokedAt, T0 + 2, "the whole family");
      assert.equal((await id.getSession(b.id))?.revokedAt, null);
      assert.equal(await id.revokeSession(b.familyId, T0 + 3), true);
      assert.equal((await id.getSession(b.id))?.revokedAt, T0 + 3);
      assert.equal(await id.revokeSession(newId(), T0, entry({ actorId, action: "logout" })), false);
      assert.equal(await id.revokeUserSessions(u.id, T0 + 4, entry({ actorId, action: "logout.all" })), 1);
      assert.equal((await id.getSession(c.id))?.revokedAt, T0 + 4);
      assert.equal((await id.getSession(a.id))?.revokedAt, T0 + 2, "earlier revocations stay");
      assert.deepEqual(await auditOf(actorId), ["logout", "logout.all"]);
    });

    it("prunes sessions that expired, in batches", async () => {
      const u = await id.createUser(newUser());
      const far = T0 + 1000 * HOUR;
      const gone = await Promise.all(
        [1, 2, 3].map((n) => id.createSession(newSession(u.id, { expiresAt: far + n }))),
      );
      const kept = await id.createSession(newSession(u.id, { expiresAt: far + 100 }));
      assert.ok((await id.pruneSessions(far + 4, 2)) >= 2);
      let n = 0;
      while ((await id.pruneSessions(far + 4, 2)) > 0) n++;
      assert.ok(n < 100);
      for (const s of gone) assert.equal(await id.getSession(s.id), null);
      assert.ok(await id.getSession(kept.id));
    });

    it("answers authState for unknown ids with nulls", async () => {
      const u = await id.createUser(newUser({ role: "viewer", disabled: true }));
      assert.deepEqual(await id.authState(u.id, newId(), newId()), {
        user: { role: "viewer", disabled: true, credentialsVersion: 1 },
        session: null,
        key: null,
      });
      assert.deepEqual(await id.authState(newId(), null, null), { user: null, session: null, key: null });
    });

    it("makes one signing secret and keeps it across reopening", async () => {
      const s = await id.signingSecret();
      assert.ok(s instanceof Uint8Array && s.length >= 32);
      assert.deepEqual(await id.signingSecret(), s);
      await close();
      ({ identity: id, close } = await backend.open());
      assert.deepEqual(Buffer.from(await id.signingSecret()), Buffer.from(s));
    });

    it("pages the audit log newest first by seq, filters it, and prunes the oldest in batches", async () => {
      const actorId = newId();
      const base = T0 + 10_000 * HOUR;
      await id.appendAudit([]);
      await id.appendAudit(
        Array.from({ length: 7 }, (_, i) =>
          entry({
            at: base + i,
            actorId,
            actorName: "alice",
            action: i % 2 ? "job.cancel" : "job.submit",
            targetType: "job",
            targetId: `j${i}`,
            outcome: i === 6 ? "denied" : "ok",
            details: i === 0 ? { queue: "q", n: [1, 2] } : null,
          }),
        ),
      );
      const pages: string[][] = [];
      for (let cursor: number | undefined; ; ) {
        const page = await id.listAudit({ actorId, beforeSeq: cursor, limit: 3 });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.targetId!));
        cursor = page.at(-1)!.seq;
      }
      assert.deepEqual(pages, [["j6", "j5", "j4"], ["j3", "j2", "j1"], ["j0"]]);
      const [oldest] = await id
        .listAudit({ actorId, action: "job.submit", since: base, limit: 100 })
        .then((r) => r.slice(-1));
      assert.deepEqual(
        { ...oldest, seq: 0 },
        {
          ...entry({ at: base, actorId, actorName: "alice", action: "job.submit" }),
          targetType: "job",
          targetId: "j0",
          details: { queue: "q", n: [1, 2] },
          seq: 0,
        },
      );
      assert.deepEqual(
        (await id.listAudit({ action: "job.cancel", actorId, limit: 10 })).map((r) => r.targetId),
        ["j5", "j3", "j1"],
      );
      assert.deepEqual(
        (await id.listAudit({ actorId, since: base + 5, limit: 10 })).map((r) => [r.targetId, r.outcome]),
        [
          ["j6", "denied"],
          ["j5", "ok"],
        ],
      );
      assert.ok((await id.listAudit({ limit: 2 })).length === 2);
      // Pruning takes the oldest first, a batch at a time; this actor's rows are the newest in the log.
      let pruned = 0;
      for (let n = -1; n !== 0; pruned += n) n = await id.pruneAudit(base + 3, 2);
      assert.ok(pruned >= 3);
      assert.deepEqual(
        (await id.listAudit({ actorId, limit: 10 })).map((r) => r.targetId),
        ["j6", "j5", "j4", "j3"],
      );
    });
  });
}
