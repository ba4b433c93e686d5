/** The IdentityStore contract on a real SQLite file (the connection SqliteStore opens and migrates). */
import { join } from "node:path";
import { SqliteIdentityStore } from "../../src/store/sqlite/sqlite-identity.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { identityConformance } from "./identity-conformance.ts";

identityConformance("sqlite", async () => {
  const dir = await tempDir();
  const file = join(dir.path, "bosun.db");
  return {
    open: async () => {
      const store = new SqliteStore({ file });
      return { identity: new SqliteIdentityStore(store.db), close: () => store.close() };
    },
    cleanup: dir.remove,
  };
});
