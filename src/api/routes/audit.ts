/** GET /api/v1/audit (admin): who did what, when and from where, newest first. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { IdentityService } from "../../engine/identity-service.ts";
import { AuditOut, auditView } from "./identity-views.ts";

const Cursor = Type.String({ pattern: "^[0-9]{1,15}$", description: "nextCursor of the previous page" });

export const auditRoutes =
  (identity: IdentityService): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      "/audit",
      {
        config: { access: { resource: "audit", verb: "read" } },
        schema: {
          operationId: "listAudit",
          tags: ["audit"],
          summary: "The audit log, newest first (keyset pagination)",
          querystring: Type.Object({
            actor: Type.Optional(Type.String({ maxLength: 200, description: "Principal id (user or key)" })),
            action: Type.Optional(
              Type.String({ maxLength: 100, description: "e.g. auth.login, job.cancel" }),
            ),
            since: Type.Optional(Type.String({ format: "date-time" })),
            cursor: Type.Optional(Cursor),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
          response: {
            200: Type.Object({
              items: Type.Array(AuditOut),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 100;
        const items = await identity.listAudit(request.principal, {
          actorId: q.actor,
          action: q.action,
          since: q.since === undefined ? undefined : Date.parse(q.since),
          beforeSeq: q.cursor === undefined ? undefined : Number(q.cursor),
          limit,
        });
        return {
          items: items.map(auditView),
          nextCursor: items.length === limit ? String(items.at(-1)!.seq) : null,
        };
      },
    );
  };
