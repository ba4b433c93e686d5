import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  API_KEY_PATTERN,
  classifyBearer,
  hashSecret,
  keyPrefix,
  newApiKey,
  newRefreshToken,
  parseBearer,
  safeEqual,
  secretKind,
} from "../../src/auth/secrets.ts";

describe("API keys", () => {
  it("look like bsn_ and 46 base62 characters, with a 12-character display prefix", () => {
    const { key, prefix, hash } = newApiKey();
    assert.match(key, /^bsn_[0-9A-Za-z]{46}$/);
    assert.equal(prefix, key.slice(0, 12));
    assert.equal(keyPrefix(key), prefix);
    assert.match(prefix, /^bsn_[0-9A-Za-z]{8}$/);
    assert.equal(hash, createHash("sha256").update(key).digest("hex"));
    assert.equal(hashSecret(key), hash);
    assert.ok(API_KEY_PATTERN.test(`leaked: ${key} in a log`));
  });

  it("are random: no repeats, and every base62 character in use", () => {
    const keys = Array.from({ length: 500 }, () => newApiKey().key);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(keys.map(keyPrefix)).size, keys.length);
    const chars = new Set(keys.flatMap((k) => [...k.slice(4, 44)]));
    assert.equal(chars.size, 62);
  });

  it("carry a checksum that rejects typos and made-up keys without a lookup", () => {
    const { key } = newApiKey();
    assert.equal(secretKind(key), "apiKey");
    const i = 20;
    const typo = key.slice(0, i) + (key[i] === "a" ? "b" : "a") + key.slice(i + 1);
    assert.equal(secretKind(typo), null);
    assert.equal(secretKind(`bsn_${"A".repeat(46)}`), null);
    assert.equal(secretKind(key.slice(0, -1)), null);
    assert.equal(secretKind(`${key}x`), null);
    // the kind is under the checksum: a key relabelled as a refresh token is not one
    assert.equal(secretKind(`bsr_${key.slice(4)}`), null);
  });
});

describe("refresh tokens", () => {
  it("look like bsr_ tokens and are told apart from keys", () => {
    const { token, hash } = newRefreshToken();
    assert.match(token, /^bsr_[0-9A-Za-z]{46}$/);
    assert.equal(hash, hashSecret(token));
    assert.equal(secretKind(token), "refreshToken");
    assert.notEqual(newRefreshToken().token, token);
  });
});

describe("classifyBearer", () => {
  it("sorts access tokens, keys, refresh tokens and junk by shape", () => {
    assert.equal(classifyBearer("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"), "accessToken");
    assert.equal(classifyBearer(newApiKey().key), "apiKey");
    assert.equal(classifyBearer(newRefreshToken().token), "refreshToken");
    assert.equal(classifyBearer("hunter2"), null);
    assert.equal(classifyBearer("a.b"), null);
    assert.equal(classifyBearer(""), null);
  });
});

describe("safeEqual", () => {
  it("compares strings of any lengths", () => {
    assert.equal(safeEqual("abc", "abc"), true);
    assert.equal(safeEqual("", ""), true);
    assert.equal(safeEqual("abc", "abd"), false);
    assert.equal(safeEqual("abc", "abcd"), false);
    assert.equal(safeEqual("", "a"), false);
    assert.equal(safeEqual("é", "e\u0301"), false);
    const long = "x".repeat(100_000);
    assert.equal(safeEqual(long, long), true);
    assert.equal(safeEqual(long, `${long}y`), false);
  });
});

describe("parseBearer", () => {
  it("takes the credential of a Bearer header", () => {
    const { key } = newApiKey();
    assert.equal(parseBearer(`Bearer ${key}`), key);
    assert.equal(parseBearer(`bearer ${key}`), key);
    assert.equal(parseBearer(`BEARER   ${key}  `), key);
    assert.equal(parseBearer("Bearer a.b.c"), "a.b.c");
    assert.equal(parseBearer("Bearer abc+/=="), "abc+/==");
  });

  it("refuses other schemes, empty or spaced credentials, arrays and huge headers", () => {
    for (const bad of [
      undefined,
      null,
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNz",
      "Token abc",
      "Bearerabc",
      "Bearer abc def",
      "Bearer abc\r\nX-Evil: 1",
      "Bearer =abc",
      `Bearer ${"a".repeat(5000)}`,
    ]) {
      assert.equal(parseBearer(bad), null, String(bad));
    }
    assert.equal(parseBearer(["Bearer a", "Bearer b"]), null);
  });
});
