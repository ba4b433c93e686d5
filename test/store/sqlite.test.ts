import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { storeConformance } from "./conformance.ts";

storeConformance("sqlite", async () => {
  const dir = await tempDir();
  return { store: new SqliteStore({ file: join(dir.path, "bosun.db") }), cleanup: dir.remove };
});

// Claims are held in memory by default; softClaimMs 0 writes each one at once (also the path after a
// crash), so that path must meet the same contract.
storeConformance("sqlite, claims written at once", async () => {
  const dir = await tempDir();
  return {
    store: new SqliteStore({ file: join(dir.path, "bosun.db"), softClaimMs: 0 }),
    cleanup: dir.remove,
  };
});
