/** /api/v1/api-keys: credentials for systems and workers, shown once, stored as a hash. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { IdentityService } from "../../engine/identity-service.ts";
import { errors, IdParams } from "../schemas.ts";
import { ApiKeyOut, apiKeyView, RoleSchema } from "./identity-views.ts";

export const apiKeyRoutes =
  (identity: IdentityService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ["api keys"];
    app.post(
      "/api-keys",
      {
        config: { access: { resource: "apiKey", verb: "create" } },
        schema: {
          operationId: "createApiKey",
          tags,
          summary: "Create an API key (its role at most yours); the key is in this answer only",
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 200 }),
              role: Type.Optional(RoleSchema),
              expiresAt: Type.Optional(Type.Union([Type.Null(), Type.String({ format: "date-time" })])),
              queues: Type.Optional(
                Type.Union(
                  [Type.Null(), Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })],
                  {
                    description: "Worker keys: the only queues their workers are given jobs from",
                  },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ apiKey: ApiKeyOut, key: Type.String({ description: "bsn_…, shown once" }) }),
            ...errors(403),
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const expiresAt = b.expiresAt == null ? null : Date.parse(b.expiresAt);
        const { apiKey, key } = await identity.createKey(
          request.principal,
          { name: b.name, role: b.role, expiresAt, queues: b.queues ?? null },
          { ip: request.ip },
        );
        return reply.status(201).send({ apiKey: apiKeyView(apiKey), key });
      },
    );

    app.get(
      "/api-keys",
      {
        config: { access: { resource: "apiKey", verb: "read" } },
        schema: {
          operationId: "listApiKeys",
          tags,
          summary: "Your API keys (an admin: everyone's)",
          response: { 200: Type.Object({ items: Type.Array(ApiKeyOut) }) },
        },
      },
      async (request) => ({ items: (await identity.listKeys(request.principal)).map(apiKeyView) }),
    );

    app.delete(
      "/api-keys/:id",
      {
        config: { access: { resource: "apiKey", verb: "delete" } },
        schema: {
          operationId: "revokeApiKey",
          tags,
          summary: "Revoke an API key (refused on every node within a second)",
          params: IdParams,
          response: { 200: Type.Object({ apiKey: ApiKeyOut }), ...errors(404) },
        },
      },
      async (request) => ({
        apiKey: apiKeyView(
          await identity.revokeKey(request.principal, request.params.id, { ip: request.ip }),
        ),
      }),
    );
  };
