/**
 * Account lock-out after consecutive failed logins, as pure decisions over what the store keeps per user
 * (`failedLogins`, `lockedUntil`). The store applies the returned state atomically (an increment in the
 * same statement that reads it), so parallel guesses cannot slip past the limit.
 *
 * The rule: `loginMaxFailures` (10) wrong passwords in a row lock the account for `loginLockMs` (5 min);
 * while locked, logins are refused with ACCOUNT_LOCKED (429, Retry-After) before the password is checked,
 * so a locked account gives no password oracle and costs no KDF run. When the lock is set the count starts
 * again from zero: an attacker gets at most 10 guesses per 5 minutes (~2,900 a day), a person who forgot
 * their password waits 5 minutes. A successful login clears both.
 */
import { BosunError } from "../core/errors.ts";

export const LOGIN_GUARD_DEFAULTS = Object.freeze({ loginMaxFailures: 10, loginLockMs: 5 * 60_000 });

export interface LoginGuardState {
  failedLogins: number;
  /** Epoch ms, or null when not locked. */
  lockedUntil: number | null;
}

export interface LoginGuardOptions {
  loginMaxFailures?: number;
  loginLockMs?: number;
}

export type LoginCheck = { allowed: true } | { allowed: false; retryAfterSec: number };

/** May a login attempt be evaluated now? */
export function checkLogin(state: LoginGuardState & { now: number }): LoginCheck {
  const { lockedUntil, now } = state;
  if (lockedUntil === null || lockedUntil <= now) return { allowed: true };
  // Rounded up, and at least 1: a client that waits Retry-After seconds finds the lock gone.
  return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((lockedUntil - now) / 1000)) };
}

/** The state to store after a wrong password (for an attempt checkLogin allowed). */
export function afterFailedLogin(
  state: LoginGuardState & { now: number },
  opts: LoginGuardOptions = {},
): LoginGuardState {
  const max = opts.loginMaxFailures ?? LOGIN_GUARD_DEFAULTS.loginMaxFailures;
  const lockMs = opts.loginLockMs ?? LOGIN_GUARD_DEFAULTS.loginLockMs;
  const failed = state.failedLogins + 1;
  if (failed >= max) return { failedLogins: 0, lockedUntil: state.now + lockMs };
  // A failure that raced past checkLogin while another set the lock must not lift it; a lock that has
  // run out is cleared, and the count it left (zero) carries on.
  const stillLocked = state.lockedUntil !== null && state.lockedUntil > state.now;
  return { failedLogins: failed, lockedUntil: stillLocked ? state.lockedUntil : null };
}

/** The state to store after a successful login. */
export function afterSuccessfulLogin(): LoginGuardState {
  return { failedLogins: 0, lockedUntil: null };
}

/** The error for a refused attempt; the route copies details.retryAfterSec into Retry-After. */
export function accountLockedError(retryAfterSec: number): BosunError {
  return new BosunError("ACCOUNT_LOCKED", undefined, { retryAfterSec });
}
