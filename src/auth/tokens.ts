/**
 * Access tokens: short-lived JWTs (jose), HS256 with a secret every node of a cluster shares.
 *
 * Everything a verifier accepts is pinned: the algorithm (HS256 only, so `alg: none` and the
 * public-key-as-HMAC-secret trick are refused), the type (`at+jwt`, RFC 9068, so no other JWT signed with
 * the same secret passes as an access token), issuer and audience ("bosun"), and a 5 s clock tolerance.
 * A token names the user (`sub`), its refresh session (`sid`), the role it was issued with and the user's
 * credentials version (`cv`): the server bumps that version when a password changes or a user is disabled,
 * and refuses tokens that carry an older one, so revocation does not wait for expiry.
 */
import { randomBytes } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { BosunError } from "../core/errors.ts";
import type { Principal } from "./principal.ts";
import { isRole, type Role } from "./roles.ts";

export const TOKEN_ISSUER = "bosun";
export const TOKEN_AUDIENCE = "bosun";
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** 15 minutes: a stolen access token is useful for that long at most, whatever else fails. */
export const ACCESS_TOKEN_TTL_SEC = 900;
export const CLOCK_TOLERANCE_SEC = 5;
/** HS256 wants a key at least as long as its output (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
const MAX_TOKEN_CHARS = 4096;

export type TokenSecret = string | Uint8Array;

export interface AccessClaims {
  /** The user's id. */
  sub: string;
  /** The refresh-session family. */
  sid: string;
  role: Role;
  /** The user's credentials version when the token was issued. */
  cv: number;
  /** Issued at and expires at, in seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface IssueInput {
  principal: Principal;
  credentialsVersion: number;
  sessionId: string;
}

/** A fresh random secret for signing access tokens (32 bytes, base64url). */
export function newTokenSecret(): string {
  return randomBytes(MIN_SECRET_BYTES).toString("base64url");
}

export async function issueAccessToken(
  input: IssueInput,
  secret: TokenSecret,
  opts: { ttlSec?: number; now?: number } = {},
): Promise<{ token: string; expiresIn: number }> {
  const { principal, credentialsVersion, sessionId } = input;
  // API keys are bearer credentials of their own; only a user with a session gets access tokens.
  if (principal.kind !== "user") throw new TypeError("Access tokens are issued to users only");
  if (!Number.isSafeInteger(credentialsVersion) || credentialsVersion < 0) {
    throw new TypeError("credentialsVersion must be a non-negative integer");
  }
  const ttlSec = opts.ttlSec ?? ACCESS_TOKEN_TTL_SEC;
  if (!Number.isSafeInteger(ttlSec) || ttlSec <= 0) throw new TypeError("ttlSec must be a positive integer");
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const token = await new SignJWT({ sid: sessionId, role: principal.role, cv: credentialsVersion })
    .setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYPE })
    .setSubject(principal.userId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSec)
    .sign(keyOf(secret));
  return { token, expiresIn: ttlSec };
}

/**
 * The claims of a valid access token. Throws BosunError TOKEN_EXPIRED for a genuine token past its
 * expiry (the client should refresh) and UNAUTHORIZED for anything else (bad signature, other algorithm,
 * wrong issuer, audience or type, missing or mistyped claims, garbage).
 */
export async function verifyAccessToken(
  token: string,
  secret: TokenSecret,
  now: number = Date.now(),
): Promise<AccessClaims> {
  const key = keyOf(secret);
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) throw unauthorized();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SEC,
      currentDate: new Date(now),
      requiredClaims: ["sub", "sid", "role", "cv", "iat", "exp"],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new BosunError("TOKEN_EXPIRED");
    throw unauthorized();
  }
  const { sub, sid, role, cv, iat, exp } = payload;
  if (
    typeof sub !== "string" ||
    typeof sid !== "string" ||
    !isRole(role) ||
    typeof cv !== "number" ||
    !Number.isSafeInteger(cv) ||
    typeof iat !== "number" ||
    typeof exp !== "number" ||
    // Issued in the future: a clock far off, or a token not made by issueAccessToken.
    iat > now / 1000 + CLOCK_TOLERANCE_SEC
  ) {
    throw unauthorized();
  }
  return { sub, sid, role, cv, iat, exp };
}

function keyOf(secret: TokenSecret): Uint8Array {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  // A configuration error, not a client's: fail loudly rather than sign with a guessable key.
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(`The access-token secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return key;
}

function unauthorized(): BosunError {
  return new BosunError("UNAUTHORIZED", "The access token is not valid");
}
