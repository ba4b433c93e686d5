/**
 * The IdentityStore contract on the real PostgreSQL (a fresh schema), and what only a shared database can
 * show: several store instances, each with its own pool, standing in for the nodes of a cluster.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { IdentityStore } from "../../src/store/identity-store.ts";
import { PgIdentityStore } from "../../src/store/postgres/pg-identity.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { freshSchema } from "../helpers/pg.ts";
import { identityConformance } from "./identity-conformance.ts";
import { type IdentityBackend, newKey, newSession, newUser, T0 } from "./identity-fixtures.ts";

async function pgBackend(prefix: string): Promise<IdentityBackend> {
  const pg = await freshSchema(prefix);
  return {
    open: async () => {
      const store = new PostgresStore({ url: pg.url, schema: pg.schema, poolSize: 4 });
      await store.migrate();
      return { identity: new PgIdentityStore(store), close: () => store.close() };
    },
    cleanup: pg.drop,
  };
}

identityConformance("postgres", () => pgBackend("bosun_ident"));

describe("IdentityStore on PostgreSQL across nodes", () => {
  let backend: IdentityBackend;
  const nodes: { identity: IdentityStore; close: () => Promise<void> }[] = [];
  before(async () => {
    backend = await pgBackend("bosun_ident_nodes");
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await backend.cleanup();
  });

  it("makes one signing secret when nodes race for it on a fresh database", async () => {
    // Migrations serialize on their advisory lock, so the nodes open one after the other.
    for (let i = 0; i < 3; i++) nodes.push(await backend.open());
    const secrets = await Promise.all(nodes.map((n) => n.identity.signingSecret()));
    for (const s of secrets) assert.deepEqual(Buffer.from(s), Buffer.from(secrets[0]!));
    assert.equal(secrets[0]!.length, 32);
  });

  it("lets exactly one of two nodes rotate a token; the other sees reuse and the family is revoked", async () => {
    const [a, b] = [nodes[0]!.identity, nodes[1]!.identity];
    const u = await a.createUser(newUser());
    for (let i = 0; i < 20; i++) {
      const s = await a.createSession(newSession(u.id));
      const nexts = [newSession(u.id), newSession(u.id)];
      const outs = await Promise.all([
        a.rotateSession(s.tokenHash, nexts[0]!, T0 + 1),
        b.rotateSession(s.tokenHash, nexts[1]!, T0 + 1),
      ]);
      assert.deepEqual(outs.map((o) => o.kind).sort(), ["reused", "rotated"]);
      // The winner's new session was seen by the loser's family revocation.
      for (const n of nexts) {
        const saved = await a.getSession(n.id);
        assert.ok(saved === null || saved.revokedAt === T0 + 1, "no live session survives the reuse");
      }
    }
  });

  it("leaves no live session when one node revokes a user's sessions while another rotates them", async () => {
    const [a, b] = [nodes[0]!.identity, nodes[2]!.identity];
    for (let i = 0; i < 20; i++) {
      const u = await a.createUser(newUser());
      const s = await a.createSession(newSession(u.id));
      const next = newSession(u.id);
      const [rotated] = await Promise.all([
        b.rotateSession(s.tokenHash, next, T0 + 1),
        a.revokeUserSessions(u.id, T0 + 2),
      ]);
      const saved = await a.getSession(next.id);
      if (rotated.kind === "rotated") assert.equal(saved?.revokedAt, T0 + 2);
      else assert.equal(saved, null);
      assert.equal((await a.authState(u.id, next.id, null)).session?.revoked ?? true, true);
    }
  });

  it("sees another node's revocation of an API key at once", async () => {
    const [a, b] = [nodes[0]!.identity, nodes[1]!.identity];
    const u = await a.createUser(newUser());
    const k = await a.createApiKey(newKey(u.id));
    assert.equal((await b.authState(u.id, null, k.id)).key?.revoked, false);
    await a.revokeApiKey(k.id, T0 + 1);
    assert.equal((await b.authState(u.id, null, k.id)).key?.revoked, true);
    // Both nodes stamp the key in one moment: neither waits for the other, the stamp only moves forward.
    await Promise.all([
      a.touchApiKeys([{ id: k.id, lastUsedAt: T0 + 5 }]),
      b.touchApiKeys([{ id: k.id, lastUsedAt: T0 + 6 }]),
    ]);
    assert.ok([T0 + 5, T0 + 6].includes((await b.getApiKey(k.id))!.lastUsedAt!));
  });
});
