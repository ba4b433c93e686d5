/** Audited changes of jobs, schedules and workers on a real SQLite file (audit-conformance.ts). */
import { join } from "node:path";
import { SqliteClusterStore } from "../../src/store/sqlite/sqlite-cluster.ts";
import { SqliteIdentityStore } from "../../src/store/sqlite/sqlite-identity.ts";
import { SqliteScheduleStore } from "../../src/store/sqlite/sqlite-schedules.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../helpers/wait.ts";
import { auditedChangesConformance } from "./audit-conformance.ts";

auditedChangesConformance("sqlite", async () => {
  const dir = await tempDir();
  const jobs = new SqliteStore({ file: join(dir.path, "bosun.db") });
  return {
    jobs,
    schedules: new SqliteScheduleStore(jobs.db),
    cluster: new SqliteClusterStore(jobs.db),
    identity: new SqliteIdentityStore(jobs.db),
    close: async () => {
      await jobs.close();
      await dir.remove();
    },
  };
});
