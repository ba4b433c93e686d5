/**
 * The OpenAPI document a running server serves (issue 10, item 11): Redocly's recommended rules report
 * nothing, every operation has an operationId, its 400 and the 4xx it can answer, and `servers`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { api } from "../helpers/bosun-process.ts";
import { startServer } from "../helpers/in-process.ts";

const run = promisify(execFile);
const REDOCLY = join(import.meta.dirname, "../../node_modules/.bin/redocly");

type Operation = { operationId?: string; responses: Record<string, unknown> };
type Document = { servers?: unknown[]; paths: Record<string, Record<string, Operation>> };

describe("OpenAPI document", () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let doc: Document;
  let text: string;
  before(async () => {
    s = await startServer();
    const res = await api<Document>(s.url, "GET", "/api/v1/openapi.json");
    assert.equal(res.status, 200);
    doc = res.body;
    text = res.text;
  });
  after(() => s.stop());

  it("passes redocly lint with the recommended rules, warnings included", async () => {
    const file = join(s.dir.path, "openapi.json");
    await writeFile(file, text);
    // Redocly exits 1 on errors; warnings are counted in its summary line, which must not appear.
    const { stdout, stderr } = await run(
      REDOCLY,
      ["lint", "--extends", "recommended", "--format", "stylish", file],
      {
        cwd: s.dir.path,
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    ).catch((err: { stdout: string; stderr: string }) => {
      assert.fail(`redocly lint failed:\n${err.stdout}\n${err.stderr}`);
    });
    assert.doesNotMatch(`${stdout}\n${stderr}`, /warning|error/i, `${stdout}\n${stderr}`);
  });

  it("names every operation, documents its 400, and says where the API is served", () => {
    assert.ok(doc.servers && doc.servers.length > 0);
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(op.operationId, `${method} ${path} has no operationId`);
        assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is used twice`);
        ids.add(op.operationId);
        assert.ok(op.responses["400"], `${method} ${path} does not document 400`);
      }
    assert.ok(
      doc.paths["/api/v1/jobs/{id}/logs"]?.get?.responses["404"],
      "GET /jobs/{id}/logs documents 404",
    );
  });
});
