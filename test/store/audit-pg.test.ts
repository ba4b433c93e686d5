/** Audited changes of jobs, schedules and workers on the real PostgreSQL, a fresh schema (audit-conformance.ts). */
import { PgClusterStore } from "../../src/store/postgres/pg-cluster.ts";
import { PgIdentityStore } from "../../src/store/postgres/pg-identity.ts";
import { PgScheduleStore } from "../../src/store/postgres/pg-schedules.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { freshSchema } from "../helpers/pg.ts";
import { auditedChangesConformance } from "./audit-conformance.ts";

auditedChangesConformance("postgres", async () => {
  const pg = await freshSchema("bosun_audit");
  const jobs = new PostgresStore({ url: pg.url, schema: pg.schema, poolSize: 4 });
  await jobs.migrate();
  return {
    jobs,
    schedules: new PgScheduleStore(jobs),
    cluster: new PgClusterStore(jobs),
    identity: new PgIdentityStore(jobs),
    close: async () => {
      await jobs.close();
      await pg.drop();
    },
  };
});
