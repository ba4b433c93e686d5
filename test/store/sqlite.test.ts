import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { storeConformance } from "./conformance.ts";

storeConformance("sqlite", async () => {
  const dir = await tempDir();
  return { store: new SqliteStore({ file: join(dir.path, "bosun.db") }), cleanup: dir.remove };
});
