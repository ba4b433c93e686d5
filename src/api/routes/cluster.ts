/** GET /api/v1/cluster: which node answered, who leads, and every node the database knows. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { LEADER_LEASE } from "../../cluster/leadership.ts";
import { NODE_LOST_AFTER_MS } from "../../cluster/node-registry.ts";
import type { Runtime } from "../../runtime/runtime.ts";

export const clusterRoutes =
  (runtime: Runtime): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/cluster",
      {
        config: { access: { resource: "node", verb: "read" } },
        schema: {
          operationId: "getCluster",
          tags: ["cluster"],
          summary: "Nodes, the leader, and the node that answered",
          response: {
            200: Type.Object({
              self: Type.String(),
              leader: Type.Union([Type.String(), Type.Null()]),
              nodes: Type.Array(
                Type.Object({
                  id: Type.String(),
                  address: Type.String(),
                  role: Type.Union([Type.Literal("leader"), Type.Literal("follower"), Type.Literal("lost")]),
                  lastSeenAt: Type.String({ format: "date-time" }),
                  startedAt: Type.String({ format: "date-time" }),
                  version: Type.String(),
                }),
              ),
            }),
          },
        },
      },
      async () => {
        const now = runtime.clock.now();
        const [lease, nodes] = await Promise.all([
          runtime.cluster.getLease(LEADER_LEASE),
          runtime.cluster.listNodes(),
        ]);
        const leader = lease.holder !== null && (lease.expiresAt ?? 0) >= now ? lease.holder : null;
        return {
          self: runtime.nodeId,
          leader,
          nodes: nodes.map((n) => ({
            id: n.id,
            address: n.address,
            role:
              n.id === leader
                ? ("leader" as const)
                : now - n.lastSeenAt > NODE_LOST_AFTER_MS
                  ? ("lost" as const)
                  : ("follower" as const),
            lastSeenAt: new Date(n.lastSeenAt).toISOString(),
            startedAt: new Date(n.startedAt).toISOString(),
            version: n.version,
          })),
        };
      },
    );
  };
