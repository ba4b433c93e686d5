import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  accountLockedError,
  afterFailedLogin,
  afterSuccessfulLogin,
  checkLogin,
  LOGIN_GUARD_DEFAULTS,
  type LoginGuardState,
} from "../../src/auth/login-guard.ts";

const T0 = 1_000_000;

describe("login guard", () => {
  it("locks after 10 wrong passwords in a row, for 5 minutes", () => {
    assert.deepEqual({ ...LOGIN_GUARD_DEFAULTS }, { loginMaxFailures: 10, loginLockMs: 300_000 });
    let s: LoginGuardState = { failedLogins: 0, lockedUntil: null };
    for (let i = 1; i <= 9; i++) {
      assert.deepEqual(checkLogin({ ...s, now: T0 + i }), { allowed: true }, `attempt ${i}`);
      s = afterFailedLogin({ ...s, now: T0 + i });
      assert.deepEqual(s, { failedLogins: i, lockedUntil: null });
    }
    s = afterFailedLogin({ ...s, now: T0 + 10 });
    assert.deepEqual(s, { failedLogins: 0, lockedUntil: T0 + 10 + 300_000 });
    assert.deepEqual(checkLogin({ ...s, now: T0 + 10 }), { allowed: false, retryAfterSec: 300 });
    assert.deepEqual(checkLogin({ ...s, now: T0 + 10 + 299_001 }), { allowed: false, retryAfterSec: 1 });
    assert.deepEqual(checkLogin({ ...s, now: T0 + 10 + 299_999 }), { allowed: false, retryAfterSec: 1 });
    assert.deepEqual(checkLogin({ ...s, now: T0 + 10 + 300_000 }), { allowed: true });
  });

  it("rounds Retry-After up, so waiting that long is always enough", () => {
    const s = { failedLogins: 0, lockedUntil: T0 + 1500 };
    assert.deepEqual(checkLogin({ ...s, now: T0 }), { allowed: false, retryAfterSec: 2 });
  });

  it("gives a full count again after a lock runs out", () => {
    let s: LoginGuardState = { failedLogins: 0, lockedUntil: T0 };
    s = afterFailedLogin({ ...s, now: T0 + 1 });
    assert.deepEqual(s, { failedLogins: 1, lockedUntil: null });
  });

  it("never lifts a lock when a failure that raced past the check is recorded", () => {
    const s = afterFailedLogin({ failedLogins: 0, lockedUntil: T0 + 300_000, now: T0 });
    assert.deepEqual(s, { failedLogins: 1, lockedUntil: T0 + 300_000 });
  });

  it("counts consecutive failures only: a success clears the count", () => {
    let s: LoginGuardState = { failedLogins: 0, lockedUntil: null };
    for (let i = 0; i < 9; i++) s = afterFailedLogin({ ...s, now: T0 });
    s = afterSuccessfulLogin();
    assert.deepEqual(s, { failedLogins: 0, lockedUntil: null });
    s = afterFailedLogin({ ...s, now: T0 });
    assert.equal(s.lockedUntil, null);
  });

  it("takes its limits from options", () => {
    const opts = { loginMaxFailures: 3, loginLockMs: 1000 };
    let s: LoginGuardState = { failedLogins: 0, lockedUntil: null };
    s = afterFailedLogin({ ...s, now: T0 }, opts);
    s = afterFailedLogin({ ...s, now: T0 }, opts);
    assert.equal(s.lockedUntil, null);
    s = afterFailedLogin({ ...s, now: T0 }, opts);
    assert.equal(s.lockedUntil, T0 + 1000);
  });

  it("refuses with ACCOUNT_LOCKED, 429, and the seconds to wait", () => {
    const e = accountLockedError(42);
    assert.equal(e.code, "ACCOUNT_LOCKED");
    assert.equal(e.status, 429);
    assert.deepEqual(e.details, { retryAfterSec: 42 });
  });
});
