import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/config.ts";

describe("loadConfig", () => {
  it("applies defaults and freezes the result", () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, ".bosun");
    assert.equal(c.db, null);
    assert.ok(Object.isFrozen(c));
  });
  it("lets flags win over BOSUN_* variables and coerces numbers", () => {
    const c = loadConfig({
      env: { BOSUN_PORT: "9000", BOSUN_DATA: "/tmp/x" },
      flags: { port: "9100", concurrency: undefined },
    });
    assert.equal(c.port, 9100);
    assert.equal(c.dataDir, "/tmp/x");
  });
  it("rejects invalid values with VALIDATION_FAILED", () => {
    assert.throws(() => loadConfig({ env: { BOSUN_PORT: "70000" } }), /port/);
    assert.throws(
      () => loadConfig({ env: {}, flags: { concurrency: "-1" } }),
      (e: Error & { code?: string }) => e.code === "VALIDATION_FAILED",
    );
  });
});
