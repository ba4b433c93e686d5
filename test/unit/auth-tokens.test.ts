import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignJWT, UnsecuredJWT } from "jose";
import type { Principal } from "../../src/auth/principal.ts";
import {
  ACCESS_TOKEN_TTL_SEC,
  issueAccessToken,
  newTokenSecret,
  verifyAccessToken,
} from "../../src/auth/tokens.ts";
import { BosunError } from "../../src/core/errors.ts";

const SECRET = newTokenSecret();
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const alice: Principal = { kind: "user", id: "u-alice", userId: "u-alice", name: "alice", role: "operator" };
const issue = (opts: { ttlSec?: number; now?: number } = {}) =>
  issueAccessToken({ principal: alice, credentialsVersion: 3, sessionId: "s-1" }, SECRET, {
    now: T0,
    ...opts,
  });

const fails = (code: "UNAUTHORIZED" | "TOKEN_EXPIRED") => (e: unknown) =>
  e instanceof BosunError && e.code === code && e.status === 401;

/** A token signed with our secret but not by issueAccessToken: only the named parts differ. */
async function forge(
  over: { alg?: string; typ?: string; claims?: Record<string, unknown>; iss?: string; aud?: string } = {},
) {
  const iat = Math.floor(T0 / 1000);
  const claims = { sid: "s-1", role: "operator", cv: 3, ...over.claims };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: over.alg ?? "HS256", typ: over.typ ?? "at+jwt" })
    .setSubject("u-alice")
    .setIssuer(over.iss ?? "bosun")
    .setAudience(over.aud ?? "bosun")
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .sign(new TextEncoder().encode(SECRET));
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString("base64url");
}

describe("access tokens", () => {
  it("carry the user, session, role and credentials version, for 15 minutes by default", async () => {
    const { token, expiresIn } = await issue();
    assert.equal(expiresIn, 900);
    assert.equal(ACCESS_TOKEN_TTL_SEC, 900);
    const claims = await verifyAccessToken(token, SECRET, T0 + 1000);
    const iat = Math.floor(T0 / 1000);
    assert.deepEqual(claims, { sub: "u-alice", sid: "s-1", role: "operator", cv: 3, iat, exp: iat + 900 });
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString());
    assert.deepEqual(header, { alg: "HS256", typ: "at+jwt" });
  });

  it("accepts the forger's token when nothing is changed (so the refusals below test one change each)", async () => {
    assert.equal((await verifyAccessToken(await forge(), SECRET, T0)).sub, "u-alice");
  });

  it("expire, with a few seconds' tolerance for clocks", async () => {
    const { token } = await issue({ ttlSec: 60 });
    await verifyAccessToken(token, SECRET, T0 + 59_000);
    await verifyAccessToken(token, SECRET, T0 + 64_000);
    await assert.rejects(verifyAccessToken(token, SECRET, T0 + 66_000), fails("TOKEN_EXPIRED"));
    await assert.rejects(verifyAccessToken(token, SECRET, T0 + 86_400_000), fails("TOKEN_EXPIRED"));
  });

  it("are refused when issued in the future", async () => {
    const { token } = await issue({ now: T0 + 60_000 });
    await verifyAccessToken(token, SECRET, T0 + 56_000);
    await assert.rejects(verifyAccessToken(token, SECRET, T0), fails("UNAUTHORIZED"));
  });

  it("are refused when any part is tampered with", async () => {
    const { token } = await issue();
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    const promoted = `${h}.${b64url({ ...payload, role: "admin" })}.${s}`;
    await assert.rejects(verifyAccessToken(promoted, SECRET, T0), fails("UNAUTHORIZED"));
    const sig = Buffer.from(s, "base64url");
    sig[0]! ^= 1;
    await assert.rejects(
      verifyAccessToken(`${h}.${p}.${sig.toString("base64url")}`, SECRET, T0),
      fails("UNAUTHORIZED"),
    );
    await assert.rejects(verifyAccessToken(`${h}.${p}.`, SECRET, T0), fails("UNAUTHORIZED"));
    // a forged signature on an expired token is a forgery, not an expiry
    await assert.rejects(verifyAccessToken(promoted, SECRET, T0 + 86_400_000), fails("UNAUTHORIZED"));
  });

  it("are refused when signed with another secret", async () => {
    const { token } = await issue();
    await assert.rejects(verifyAccessToken(token, newTokenSecret(), T0), fails("UNAUTHORIZED"));
  });

  it("refuse alg none, other algorithms and other token types", async () => {
    const iat = Math.floor(T0 / 1000);
    const unsecured = new UnsecuredJWT({ sid: "s-1", role: "admin", cv: 3 })
      .setSubject("u-alice")
      .setIssuer("bosun")
      .setAudience("bosun")
      .setIssuedAt(iat)
      .setExpirationTime(iat + 900)
      .encode();
    await assert.rejects(verifyAccessToken(unsecured, SECRET, T0), fails("UNAUTHORIZED"));
    const payload = unsecured.split(".")[1]!;
    for (const header of [{ alg: "none", typ: "at+jwt" }, { alg: "None" }, { alg: "RS256", typ: "at+jwt" }]) {
      await assert.rejects(
        verifyAccessToken(`${b64url(header)}.${payload}.c2ln`, SECRET, T0),
        fails("UNAUTHORIZED"),
      );
    }
    await assert.rejects(verifyAccessToken(await forge({ alg: "HS512" }), SECRET, T0), fails("UNAUTHORIZED"));
    await assert.rejects(verifyAccessToken(await forge({ typ: "JWT" }), SECRET, T0), fails("UNAUTHORIZED"));
  });

  it("refuse another issuer or audience, and missing or mistyped claims", async () => {
    for (const over of [
      { iss: "someone-else" },
      { aud: "another-service" },
      { claims: { role: "root" } },
      { claims: { cv: "3" } },
      { claims: { cv: 1.5 } },
      { claims: { sid: 7 } },
      { claims: { cv: undefined } },
      { claims: { sid: undefined } },
    ]) {
      await assert.rejects(
        verifyAccessToken(await forge(over), SECRET, T0),
        fails("UNAUTHORIZED"),
        JSON.stringify(over),
      );
    }
  });

  it("refuse garbage", async () => {
    for (const bad of ["", "abc", "a.b.c", "....", `${"a".repeat(5000)}.b.c`, 42 as unknown as string]) {
      await assert.rejects(verifyAccessToken(bad, SECRET, T0), fails("UNAUTHORIZED"), String(bad));
    }
  });

  it("are issued to users only, with a sound secret and lifetime", async () => {
    const key: Principal = { ...alice, kind: "apiKey", id: "k1", keyId: "k1" };
    await assert.rejects(
      issueAccessToken({ principal: key, credentialsVersion: 0, sessionId: "s" }, SECRET),
      TypeError,
    );
    await assert.rejects(
      issueAccessToken({ principal: alice, credentialsVersion: 0, sessionId: "s" }, "short secret"),
      TypeError,
    );
    await assert.rejects(verifyAccessToken("a.b.c", "short secret"), TypeError);
    await assert.rejects(issue({ ttlSec: 0 }), TypeError);
    await assert.rejects(
      issueAccessToken({ principal: alice, credentialsVersion: -1, sessionId: "s" }, SECRET),
      TypeError,
    );
    const bytes = new Uint8Array(32).fill(7);
    const { token } = await issueAccessToken(
      { principal: alice, credentialsVersion: 0, sessionId: "s" },
      bytes,
      {
        now: T0,
      },
    );
    assert.equal((await verifyAccessToken(token, bytes, T0)).cv, 0);
  });
});
