/**
 * Bearer secrets that are not JWTs: API keys (`bsn_…`) and refresh tokens (`bsr_…`), and the helpers that
 * handle any credential (constant-time comparison, the Authorization header).
 *
 * Format: a 4-character kind prefix, 40 random base62 characters (~238 bits), and a 6-character base62
 * CRC32 of everything before it, 50 characters in all, like GitHub's tokens. The fixed prefix lets secret
 * scanners find leaked keys (API_KEY_PATTERN); the checksum lets them, and us, reject a mistyped or
 * made-up key without a database lookup. The first 12 characters (`bsn_` + 8 random) are stored in clear
 * and shown in key lists, so a person can tell keys apart without the secret.
 *
 * Stored as sha256, not scrypt: a slow KDF protects secrets people choose, which can be guessed; these
 * carry ~238 random bits, beyond any brute force at any hash speed. A fast hash also keeps a key check to
 * microseconds on every request (scrypt would cost ~100 ms and 32 MiB, a denial-of-service lever), and
 * makes the hash a lookup key (`WHERE key_hash = $1`), so no candidate rows are scanned.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

export const API_KEY_PREFIX = "bsn_";
export const REFRESH_TOKEN_PREFIX = "bsr_";
/** How much of a key is kept in clear for display: the kind prefix and 8 random characters. */
export const DISPLAY_PREFIX_LENGTH = 12;
/** What a secret scanner looks for. */
export const API_KEY_PATTERN = /\bbsn_[0-9A-Za-z]{46}\b/;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS = 40;
const CHECKSUM_CHARS = 6;
const SECRET = /^(bsn_|bsr_)([0-9A-Za-z]{40})([0-9A-Za-z]{6})$/;
// RFC 6750's b64token, bounded: JWTs and bsn_ keys are far shorter than 4 KiB.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_BEARER = 4096;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type SecretKind = "apiKey" | "refreshToken";

export interface NewApiKey {
  /** Shown to the creator once, never stored. */
  key: string;
  /** Stored in clear, shown in lists. */
  prefix: string;
  /** Stored; what a presented key is looked up by. */
  hash: string;
}

export interface NewRefreshToken {
  token: string;
  hash: string;
}

export function newApiKey(): NewApiKey {
  const key = newSecret(API_KEY_PREFIX);
  return { key, prefix: keyPrefix(key), hash: hashSecret(key) };
}

export function newRefreshToken(): NewRefreshToken {
  const token = newSecret(REFRESH_TOKEN_PREFIX);
  return { token, hash: hashSecret(token) };
}

/** The part of a key kept in clear. */
export function keyPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** sha256 hex of a secret: what is stored and looked up (see the header for why not a slow KDF). */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Which kind of secret `s` is, if it is well-formed with a valid checksum; null otherwise. */
export function secretKind(s: string): SecretKind | null {
  const m = SECRET.exec(s);
  if (m === null) return null;
  if (checksum(m[1]! + m[2]!) !== m[3]) return null;
  return m[1] === API_KEY_PREFIX ? "apiKey" : "refreshToken";
}

/**
 * What a bearer credential is, by its shape alone: an access token (a JWT, verified by tokens.ts), an API
 * key, a refresh token (which must never be accepted as a bearer: it is sent only to the refresh route),
 * or null (answer 401 without any lookup).
 */
export function classifyBearer(token: string): "accessToken" | SecretKind | null {
  if (JWT_SHAPE.test(token)) return "accessToken";
  return secretKind(token);
}

/**
 * Constant-time equality of two strings of any lengths: both are hashed to 32 bytes first, so the time
 * depends on neither where they differ nor (beyond hashing) how long the secret is.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/** The credential of an `Authorization: Bearer <token>` header, or null when there is none or it is malformed. */
export function parseBearer(header: string | string[] | undefined | null): string | null {
  if (typeof header !== "string" || header.length > MAX_BEARER) return null;
  const m = BEARER.exec(header.trim());
  return m === null ? null : m[1]!;
}

function newSecret(prefix: string): string {
  const body = prefix + randomBase62(RANDOM_CHARS);
  return body + checksum(body);
}

/** Uniform base62 by rejection: bytes ≥ 248 (= 4·62) are dropped, so every character is equally likely. */
function randomBase62(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += ALPHABET[b % 62];
    }
  }
  return out;
}

function checksum(s: string): string {
  let v = crc32(s);
  let out = "";
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}
