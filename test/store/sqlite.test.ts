import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { type OpenStore, storeConformance } from "./conformance.ts";
import { feedConformance } from "./feed-conformance.ts";

const held: OpenStore = async () => {
  const dir = await tempDir();
  return { store: new SqliteStore({ file: join(dir.path, "bosun.db") }), cleanup: dir.remove };
};
storeConformance("sqlite", held);
feedConformance("sqlite", held);

// Claims are held in memory by default; softClaimMs 0 writes each one at once (also the path after a
// crash), so that path must meet the same contract.
const written: OpenStore = async () => {
  const dir = await tempDir();
  return {
    store: new SqliteStore({ file: join(dir.path, "bosun.db"), softClaimMs: 0 }),
    cleanup: dir.remove,
  };
};
storeConformance("sqlite, claims written at once", written);
feedConformance("sqlite, claims written at once", written);
