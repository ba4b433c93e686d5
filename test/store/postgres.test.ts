import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { freshSchema } from "../helpers/pg.ts";
import { type OpenStore, storeConformance } from "./conformance.ts";
import { feedConformance } from "./feed-conformance.ts";

const open: OpenStore = async () => {
  const pg = await freshSchema("bosun_conf");
  const store = new PostgresStore({ url: pg.url, schema: pg.schema, poolSize: 8 });
  await store.migrate();
  return { store, cleanup: pg.drop };
};
storeConformance("postgres", open);
feedConformance("postgres", open);
