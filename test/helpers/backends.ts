/**
 * The two backends an integration test runs on: SQLite (the server's data folder) and PostgreSQL (a
 * fresh schema, dropped afterwards). `flags` go to startServer.
 */
import { freshSchema } from "./pg.ts";

export interface TestBackend {
  name: string;
  db: () => Promise<{ flags: Record<string, unknown>; drop(): Promise<void> }>;
}

export const backends = (schemaPrefix: string): TestBackend[] => [
  { name: "SQLite", db: async () => ({ flags: {}, drop: async () => undefined }) },
  {
    name: "PostgreSQL",
    db: async () => {
      const pg = await freshSchema(schemaPrefix);
      return { flags: { db: pg.url, dbSchema: pg.schema }, drop: pg.drop };
    },
  },
];
