/**
 * Password hashing with node:crypto's scrypt, a memory-hard KDF: no native add-on to build, and no
 * dependency to keep up to date.
 *
 * Hashes are PHC strings that carry their own parameters, `$scrypt$ln=15,r=8,p=3$<salt>$<key>` (salt and
 * key in unpadded base64), so the cost can be raised later: verification reads the parameters from the
 * hash, and needsRehash tells the login path to store a new hash after a successful check.
 *
 * Parameters: N = 2^15, r = 8, p = 3, OWASP's minimum at 32 MiB (its list of equivalent settings: N=2^17
 * p=1, N=2^16 p=2, N=2^15 p=3). On the 2-core development machine one hash takes ~230 ms (p = 1: ~85 ms);
 * scrypt runs on libuv's thread pool, so it does not block the event loop.
 *
 * Passwords are NFC-normalised before hashing (RFC 8265's OpaqueString profile), so "é" typed as one code
 * point or as e + combining accent is the same password. They are at least 8 characters and at most 1024
 * bytes of UTF-8: the upper bound keeps the cost of a login attempt bounded whatever a client sends.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { BosunError } from "../core/errors.ts";

export interface ScryptParams {
  /** log2 of N, the CPU/memory cost. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelism (computed sequentially by Node: more CPU, not more memory). */
  p: number;
}

export const PASSWORD_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 3 });
export const PASSWORD_RULES = Object.freeze({ minLength: 8, maxBytes: 1024 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on parameters read from a stored hash: a corrupt or hostile row must not make one login allocate
// gigabytes or spin for minutes.
const MAX_MEMORY = 256 * 1024 * 1024;
const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22,88})\$([A-Za-z0-9+/]{43,88})$/;

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

/**
 * Throws WEAK_PASSWORD (400) unless `password` follows the rules; returns its normalised form.
 * details.rule says which rule failed: "minLength" or "maxBytes".
 */
export function checkPasswordRules(password: string): string {
  const normalized = normalize(password);
  const details = { ...PASSWORD_RULES };
  if (Buffer.byteLength(normalized, "utf8") > PASSWORD_RULES.maxBytes) {
    throw new BosunError("WEAK_PASSWORD", `A password is at most ${PASSWORD_RULES.maxBytes} bytes long`, {
      rule: "maxBytes",
      ...details,
    });
  }
  if ([...normalized].length < PASSWORD_RULES.minLength) {
    throw new BosunError(
      "WEAK_PASSWORD",
      `A password is at least ${PASSWORD_RULES.minLength} characters long`,
      { rule: "minLength", ...details },
    );
  }
  return normalized;
}

/** Hashes a password that follows the rules (else throws WEAK_PASSWORD). */
export async function hashPassword(
  password: string,
  params: Readonly<ScryptParams> = PASSWORD_PARAMS,
): Promise<string> {
  const normalized = checkPasswordRules(password);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(normalized, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Does `password` match `hash`? False for a wrong password and for a malformed hash (a user whose stored
 * hash is damaged cannot log in; nothing throws). The comparison is constant-time.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (parsed === null || typeof password !== "string") return false;
  const normalized = normalize(password);
  // Longer than any password we hash: it cannot match, and it must not buy a long KDF run.
  if (Buffer.byteLength(normalized, "utf8") > PASSWORD_RULES.maxBytes) return false;
  const key = await derive(normalized, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/**
 * Spends what a real check spends and answers false: the login path calls it when no user has the given
 * username, so response times do not tell which usernames exist.
 */
export async function dummyVerify(password: string): Promise<false> {
  const fake = `$scrypt$ln=${PASSWORD_PARAMS.ln},r=${PASSWORD_PARAMS.r},p=${PASSWORD_PARAMS.p}$${b64(
    randomBytes(SALT_BYTES),
  )}$${b64(randomBytes(KEY_BYTES))}`;
  await verifyPassword(typeof password === "string" ? password : "", fake);
  return false;
}

/** Should this hash be replaced (after a successful login) because it is weaker than `params`, or unreadable? */
export function needsRehash(hash: string, params: Readonly<ScryptParams> = PASSWORD_PARAMS): boolean {
  const h = parseHash(hash);
  return h === null || h.ln < params.ln || h.r < params.r || h.p < params.p;
}

function parseHash(hash: unknown): ParsedHash | null {
  if (typeof hash !== "string") return null;
  const m = PHC.exec(hash);
  if (m === null) return null;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || r < 1 || p < 1 || memoryOf({ ln, r, p }) > MAX_MEMORY || p > 16) return null;
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  // scrypt's output is PBKDF2's, whose prefix is a shorter output: a truncated key would still "match".
  if (salt.length < SALT_BYTES || key.length < KEY_BYTES) return null;
  return { ln, r, p, salt, key };
}

/** The bytes OpenSSL's scrypt allocates: the V array (128·r·(N+2)) and the B blocks (128·r·p). */
function memoryOf({ ln, r, p }: ScryptParams): number {
  return 128 * r * (2 ** ln + p + 2);
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const { ln, r, p } = params;
  return new Promise((resolve, reject) => {
    // maxmem must be set: Node's default (32 MiB) is just below what N = 2^15, r = 8 needs.
    const options = { N: 2 ** ln, r, p, maxmem: memoryOf(params) + 1024 * 1024 };
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function normalize(password: string): string {
  if (typeof password !== "string") {
    throw new BosunError("WEAK_PASSWORD", "A password is a string", { rule: "type", ...PASSWORD_RULES });
  }
  return password.normalize("NFC");
}

function b64(buf: Buffer): string {
  return buf.toString("base64").replace(/=+$/, "");
}
