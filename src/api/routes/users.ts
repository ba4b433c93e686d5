/** /api/v1/users (admin): people, their roles and limits. Disabling or a new password revokes at once. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { IdentityService } from "../../engine/identity-service.ts";
import { errors, IdParams } from "../schemas.ts";
import { RoleSchema, UserOut, userView } from "./identity-views.ts";

const Username = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9][A-Za-z0-9._@-]*$" });
const Password = Type.String({ minLength: 1, maxLength: 4096 });
const Limit = Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 10_000_000 })]);

export const userRoutes =
  (identity: IdentityService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ["users"];
    app.post(
      "/users",
      {
        config: { access: { resource: "user", verb: "create" } },
        schema: {
          operationId: "createUser",
          tags,
          summary: "Add a user",
          body: Type.Object(
            { username: Username, password: Password, role: RoleSchema },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ user: UserOut }), ...errors(409) },
        },
      },
      async (request, reply) =>
        reply.status(201).send({
          user: userView(await identity.createUser(request.principal, request.body, { ip: request.ip })),
        }),
    );

    app.get(
      "/users",
      {
        config: { access: { resource: "user", verb: "read" } },
        schema: {
          operationId: "listUsers",
          tags,
          summary: "Users in creation order (keyset pagination)",
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            cursor: Type.Optional(Type.String({ maxLength: 100 })),
          }),
          response: {
            200: Type.Object({
              items: Type.Array(UserOut),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 100;
        const users = await identity.listUsers(request.principal, limit, request.query.cursor);
        return {
          items: users.map(userView),
          nextCursor: users.length === limit ? (users.at(-1)?.id ?? null) : null,
        };
      },
    );

    app.get(
      "/users/:id",
      {
        config: { access: { resource: "user", verb: "read" } },
        schema: {
          operationId: "getUser",
          tags,
          summary: "Get a user",
          params: IdParams,
          response: { 200: Type.Object({ user: UserOut }), ...errors(404) },
        },
      },
      async (request) => ({ user: userView(await identity.getUser(request.principal, request.params.id)) }),
    );

    app.patch(
      "/users/:id",
      {
        config: { access: { resource: "user", verb: "update" } },
        schema: {
          operationId: "updateUser",
          tags,
          summary: "Change a user's role, password, disabled flag or limits",
          params: IdParams,
          body: Type.Object(
            {
              role: Type.Optional(RoleSchema),
              password: Type.Optional(Password),
              disabled: Type.Optional(Type.Boolean()),
              maxRunning: Type.Optional(Limit),
              maxQueued: Type.Optional(Limit),
            },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: Type.Object({ user: UserOut }), ...errors(404) },
        },
      },
      async (request) => ({
        user: userView(
          await identity.updateUser(request.principal, request.params.id, request.body, { ip: request.ip }),
        ),
      }),
    );

    app.delete(
      "/users/:id",
      {
        config: { access: { resource: "user", verb: "delete" } },
        schema: {
          operationId: "deleteUser",
          tags,
          summary: "Delete a user with its sessions and API keys (its jobs stay)",
          params: IdParams,
          response: { 204: Type.Null(), ...errors(404, 409) },
        },
      },
      async (request, reply) => {
        await identity.deleteUser(request.principal, request.params.id, { ip: request.ip });
        return reply.status(204).send(null);
      },
    );
  };
