import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { freshSchema } from "../helpers/pg.ts";
import { storeConformance } from "./conformance.ts";

storeConformance("postgres", async () => {
  const pg = await freshSchema("bosun_conf");
  const store = new PostgresStore({ url: pg.url, schema: pg.schema, poolSize: 8 });
  await store.migrate();
  return { store, cleanup: pg.drop };
});
