import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canGrant, effectiveKeyRole, isRole, ROLES, type Role } from "../../src/auth/roles.ts";

describe("roles", () => {
  it("knows the five roles and nothing else", () => {
    assert.deepEqual([...ROLES], ["admin", "operator", "member", "viewer", "worker"]);
    for (const r of ROLES) assert.equal(isRole(r), true);
    for (const r of ["Admin", "root", "", " admin", null, undefined, 1, {}]) assert.equal(isRole(r), false);
  });

  it("grants a role at most the creator's; worker keys come from admin and operator only", () => {
    // rows: creator; columns: granted, in ROLES order (admin, operator, member, viewer, worker)
    const expected: Record<Role, boolean[]> = {
      admin: [true, true, true, true, true],
      operator: [false, true, true, true, true],
      member: [false, false, true, true, false],
      viewer: [false, false, false, true, false],
      worker: [false, false, false, false, false],
    };
    for (const creator of ROLES) {
      assert.deepEqual(
        ROLES.map((granted) => canGrant(creator, granted)),
        expected[creator],
        creator,
      );
    }
  });

  it("caps a key at what its owner may grant today", () => {
    assert.equal(effectiveKeyRole("operator", "operator"), "operator");
    assert.equal(effectiveKeyRole("viewer", "admin"), "viewer");
    // the owner was demoted after making the key
    assert.equal(effectiveKeyRole("operator", "member"), "member");
    assert.equal(effectiveKeyRole("admin", "viewer"), "viewer");
    assert.equal(effectiveKeyRole("worker", "operator"), "worker");
    assert.equal(effectiveKeyRole("worker", "member"), null);
    assert.equal(effectiveKeyRole("member", "worker"), null);
  });
});
