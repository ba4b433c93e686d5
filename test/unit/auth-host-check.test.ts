import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canonicalHost,
  corsDecision,
  defaultAllowedHosts,
  isAllowedHost,
} from "../../src/auth/host-check.ts";

describe("isAllowedHost", () => {
  const local = defaultAllowedHosts("127.0.0.1");

  it("allows the loopback names, with or without a port", () => {
    assert.deepEqual(local, ["localhost", "127.0.0.1", "[::1]"]);
    for (const h of [
      "localhost",
      "localhost:8080",
      "LOCALHOST:8080",
      "localhost.",
      "localhost.:8080",
      "127.0.0.1",
      "127.0.0.1:8080",
      "[::1]",
      "[::1]:8080",
      "[0:0:0:0:0:0:0:1]:80",
      " localhost ",
    ]) {
      assert.equal(isAllowedHost(h, local), true, h);
    }
  });

  it("refuses other names, including ones that only start or end like an allowed one", () => {
    for (const h of [
      "evil.example",
      "evil.example:8080",
      "127.0.0.1.evil.example",
      "localhost.evil.example",
      "evillocalhost",
      "localhost..",
      "10.0.0.5:8080",
      "[::2]",
      "::1",
      "[::1",
      "localhost:",
      "localhost:99999",
      "localhost:80:80",
      "user@localhost",
      "localhost/x",
      "localhost#x",
      "localhost\\x",
      "",
      " ",
      undefined,
      null,
    ]) {
      assert.equal(isAllowedHost(h, local), false, String(h));
    }
  });

  it("adds the bound address and configured names, but never a wildcard address", () => {
    assert.deepEqual(defaultAllowedHosts("0.0.0.0", ["bosun.internal"]), [
      "localhost",
      "127.0.0.1",
      "[::1]",
      "bosun.internal",
    ]);
    assert.deepEqual(defaultAllowedHosts("::"), ["localhost", "127.0.0.1", "[::1]"]);
    const bound = defaultAllowedHosts("10.0.0.5", ["Bosun.Example.COM."]);
    assert.equal(isAllowedHost("10.0.0.5:8080", bound), true);
    assert.equal(isAllowedHost("bosun.example.com", bound), true);
    assert.equal(isAllowedHost("bosun.example.com.:443", bound), true);
    assert.equal(isAllowedHost("www.bosun.example.com", bound), false);
    assert.equal(isAllowedHost("0.0.0.0", defaultAllowedHosts("0.0.0.0")), false);
    const v6 = defaultAllowedHosts("fd00::5");
    assert.equal(isAllowedHost("[fd00:0::5]:8080", v6), true);
    assert.equal(isAllowedHost("[fd00::6]:8080", v6), false);
    assert.equal(isAllowedHost("[fd00::5]", ["fd00::5"]), true);
  });

  it("allows a domain and its subdomains for a .name entry, anything for *", () => {
    const allowed = [".example.com"];
    assert.equal(isAllowedHost("example.com", allowed), true);
    assert.equal(isAllowedHost("a.b.example.com:1", allowed), true);
    assert.equal(isAllowedHost("badexample.com", allowed), false);
    assert.equal(isAllowedHost("example.com.evil.example", allowed), false);
    assert.equal(isAllowedHost("evil.example", ["*"]), true);
    assert.equal(isAllowedHost("not a host", ["*"]), false);
  });

  it("accepts any IP address only when asked, and still no name", () => {
    assert.equal(isAllowedHost("10.0.0.5:8080", local, { anyIp: true }), true);
    assert.equal(isAllowedHost("[fd00::1]:8080", local, { anyIp: true }), true);
    assert.equal(isAllowedHost("evil.example", local, { anyIp: true }), false);
    assert.equal(isAllowedHost("127.0.0.1.evil.example", local, { anyIp: true }), false);
  });

  it("canonicalises as browsers do", () => {
    assert.equal(canonicalHost("LocalHost.:80"), "localhost");
    assert.equal(canonicalHost("[0:0::1]"), "[::1]");
    assert.equal(canonicalHost("127.1"), "127.0.0.1");
    assert.equal(canonicalHost("0x7f.0.0.1"), "127.0.0.1");
    assert.equal(canonicalHost("a".repeat(301)), null);
  });
});

describe("corsDecision", () => {
  const allowed = ["https://dash.example.com", "http://localhost:3000/"];

  it("sends no CORS headers at all when no origins are configured", () => {
    assert.deepEqual(corsDecision("https://dash.example.com", []), {
      allowed: false,
      headers: {},
      preflightHeaders: {},
    });
    assert.deepEqual(corsDecision(undefined, []), { allowed: false, headers: {}, preflightHeaders: {} });
  });

  it("allows a configured origin, echoing it exactly, without credentials", () => {
    const d = corsDecision("https://dash.example.com", allowed);
    assert.equal(d.allowed, true);
    assert.deepEqual(d.headers, {
      "access-control-allow-origin": "https://dash.example.com",
      vary: "Origin",
    });
    assert.equal(d.preflightHeaders["access-control-allow-headers"], "authorization, content-type");
    assert.equal("access-control-allow-credentials" in { ...d.headers, ...d.preflightHeaders }, false);
    assert.equal(corsDecision("http://localhost:3000", allowed).allowed, true);
    assert.equal(
      corsDecision("https://DASH.example.com:443", allowed).headers["access-control-allow-origin"],
      "https://dash.example.com",
    );
  });

  it("refuses other origins, but still says the answer varies by Origin", () => {
    for (const o of [
      "https://evil.example",
      "http://dash.example.com",
      "https://dash.example.com:8443",
      "https://dash.example.com.evil.example",
      "http://localhost:3001",
      "null",
      "https://dash.example.com/path",
      "file:///etc/passwd",
      "",
      undefined,
    ]) {
      assert.deepEqual(
        corsDecision(o, allowed),
        { allowed: false, headers: { vary: "Origin" }, preflightHeaders: {} },
        String(o),
      );
    }
  });

  it("allows any origin for *", () => {
    const d = corsDecision("https://anywhere.example", ["*"]);
    assert.equal(d.allowed, true);
    assert.equal(d.headers["access-control-allow-origin"], "https://anywhere.example");
    assert.equal(corsDecision("null", ["*"]).allowed, false);
  });
});
