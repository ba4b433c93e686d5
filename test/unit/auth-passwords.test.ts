import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkPasswordRules,
  dummyVerify,
  hashPassword,
  needsRehash,
  PASSWORD_PARAMS,
  PASSWORD_RULES,
  verifyPassword,
} from "../../src/auth/passwords.ts";
import { BosunError } from "../../src/core/errors.ts";

const weak = (rule: string) => (e: unknown) =>
  e instanceof BosunError &&
  e.code === "WEAK_PASSWORD" &&
  e.status === 400 &&
  (e.details as { rule: string }).rule === rule;

describe("password hashing", () => {
  it("verifies the right password and refuses a wrong one", async () => {
    const hash = await hashPassword("correct horse battery");
    assert.equal(await verifyPassword("correct horse battery", hash), true);
    assert.equal(await verifyPassword("correct horse batterY", hash), false);
    assert.equal(await verifyPassword("correct horse battery ", hash), false);
    assert.equal(await verifyPassword("", hash), false);
  });

  it("encodes its parameters and a fresh 16-byte salt in the hash", async () => {
    const [a, b] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    const m = /^\$scrypt\$ln=15,r=8,p=3\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(a);
    assert.ok(m, a);
    assert.equal(Buffer.from(m[1]!, "base64").length, 16);
    assert.equal(Buffer.from(m[2]!, "base64").length, 32);
    assert.notEqual(a, b);
    assert.deepEqual(PASSWORD_PARAMS, { ln: 15, r: 8, p: 3 });
  });

  it("verifies with the parameters in the hash, so they can be raised later", async () => {
    const old = await hashPassword("password one", { ln: 12, r: 8, p: 1 });
    assert.match(old, /^\$scrypt\$ln=12,r=8,p=1\$/);
    assert.equal(await verifyPassword("password one", old), true);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash(await hashPassword("password one")), false);
    assert.equal(needsRehash(old, { ln: 12, r: 8, p: 1 }), false);
    assert.equal(needsRehash(old, { ln: 12, r: 8, p: 2 }), true);
  });

  it("treats a tampered or malformed hash as a mismatch, never as a match or a crash", async () => {
    const hash = await hashPassword("password two");
    const parts = hash.split("$");
    const key = Buffer.from(parts[4]!, "base64");
    key[0]! ^= 1;
    const flipped = [...parts.slice(0, 4), key.toString("base64").replace(/=+$/, "")].join("$");
    assert.equal(await verifyPassword("password two", flipped), false);
    for (const bad of [
      "",
      "plain",
      "$scrypt$ln=15,r=8,p=1$$",
      "$argon2id$v=19$m=1,t=1,p=1$aaaa$bbbb",
      hash.slice(0, -5),
    ]) {
      assert.equal(await verifyPassword("password two", bad), false, bad);
      assert.equal(needsRehash(bad), true, bad);
    }
    // parameters that would allocate gigabytes are refused, not run
    const huge = hash.replace("ln=15", "ln=24");
    assert.equal(await verifyPassword("password two", huge), false);
  });

  it("normalises Unicode, so composed and decomposed forms are the same password", async () => {
    const hash = await hashPassword("caf\u00e9 au lait");
    assert.equal(await verifyPassword("cafe\u0301 au lait", hash), true);
  });

  it("refuses passwords shorter than 8 characters or longer than 1024 bytes", async () => {
    assert.deepEqual({ ...PASSWORD_RULES }, { minLength: 8, maxBytes: 1024 });
    await assert.rejects(hashPassword("short12"), weak("minLength"));
    await assert.rejects(hashPassword("ÄÖÜäöü7"), weak("minLength"));
    assert.equal(checkPasswordRules("12345678"), "12345678");
    // 8 characters of 4 bytes each: long enough, though it is 8 characters, not 32
    assert.equal(checkPasswordRules("😀".repeat(8)), "😀".repeat(8));
    assert.equal(checkPasswordRules("a".repeat(1024)).length, 1024);
    await assert.rejects(hashPassword("a".repeat(1025)), weak("maxBytes"));
    await assert.rejects(hashPassword("é".repeat(513)), weak("maxBytes"));
    assert.throws(() => checkPasswordRules(42 as unknown as string), weak("type"));
  });

  it("refuses an over-long password at verification without deriving a key for it", async () => {
    const hash = await hashPassword("a".repeat(1024));
    assert.equal(await verifyPassword("a".repeat(1024), hash), true);
    assert.equal(await verifyPassword("a".repeat(1025), hash), false);
    assert.equal(await verifyPassword(null as unknown as string, hash), false);
  });

  it("has a dummy check for unknown users that always fails", async () => {
    assert.equal(await dummyVerify("anything at all"), false);
    assert.equal(await dummyVerify(undefined as unknown as string), false);
  });
});
