/**
 * PostgreSQL for tests: the real server on 127.0.0.1:5432, a fresh schema per test file (dropped at the
 * end unless BOSUN_KEEP_SCHEMA is set, so a failure can be inspected).
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export const PG_URL = process.env.BOSUN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export async function freshSchema(
  prefix: string,
): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `${prefix}_${randomBytes(4).toString("hex")}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return {
    url: PG_URL,
    schema,
    drop: async () => {
      if (process.env.BOSUN_KEEP_SCHEMA) return;
      const sql = postgres(PG_URL, { max: 1, onnotice: () => undefined });
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end();
    },
  };
}
