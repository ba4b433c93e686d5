/** /api/v1/auth/login|refresh|logout and /api/v1/me: sessions of people (systems use API keys). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { BosunError } from "../../core/errors.ts";
import type { IdentityService, Session } from "../../engine/identity-service.ts";
import { errors } from "../schemas.ts";
import { RoleSchema, UserOut, userView } from "./identity-views.ts";

const SessionOut = Type.Object({
  accessToken: Type.String({ description: "Send as Authorization: Bearer …" }),
  refreshToken: Type.String({ description: "Works once: POST it to /auth/refresh for the next pair" }),
  expiresIn: Type.Integer({ description: "Seconds the access token is valid" }),
  user: UserOut,
});

const sessionView = (s: Session) => ({ ...s, user: userView(s.user) });

export const authRoutes =
  (identity: IdentityService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const tags = ["auth"];
    app.post(
      "/auth/login",
      {
        config: { access: "public" },
        schema: {
          operationId: "login",
          tags,
          summary: "Log in with a username and password",
          description:
            "Ten wrong passwords in a row lock the account for a while: 429 ACCOUNT_LOCKED with Retry-After.",
          body: Type.Object(
            {
              username: Type.String({ minLength: 1, maxLength: 200 }),
              password: Type.String({ maxLength: 4096 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: SessionOut, ...errors(401, 429) },
        },
      },
      async (request, reply) => {
        try {
          const s = await identity.login(request.body.username, request.body.password, { ip: request.ip });
          return sessionView(s);
        } catch (err) {
          const retry = (err as BosunError).details as { retryAfterSec?: number } | undefined;
          if (err instanceof BosunError && err.code === "ACCOUNT_LOCKED" && retry?.retryAfterSec)
            reply.header("retry-after", String(retry.retryAfterSec));
          throw err;
        }
      },
    );

    app.post(
      "/auth/refresh",
      {
        config: { access: "public" },
        schema: {
          operationId: "refreshSession",
          tags,
          summary: "Trade a refresh token for a new pair (the old one stops working)",
          description:
            "A refresh token that was already used revokes its whole session (401 TOKEN_REUSED): whoever holds a copy is locked out with the holder.",
          body: Type.Object(
            { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 200: SessionOut, ...errors(401) },
        },
      },
      async (request) => sessionView(await identity.refresh(request.body.refreshToken, { ip: request.ip })),
    );

    app.post(
      "/auth/logout",
      {
        config: { access: "signedIn" },
        schema: {
          operationId: "logout",
          tags,
          summary: "End this session (its refresh token and, within a second, its access tokens)",
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await identity.logout(request.principal, { ip: request.ip });
        return reply.status(204).send(null);
      },
    );

    app.get(
      "/me",
      {
        config: { access: "signedIn" },
        schema: {
          operationId: "getMe",
          tags,
          summary: "Who the credential is",
          response: {
            200: Type.Object({
              principal: Type.Object({
                kind: Type.Union([Type.Literal("user"), Type.Literal("apiKey")]),
                id: Type.String(),
                userId: Type.String(),
                name: Type.String(),
                role: RoleSchema,
              }),
              user: Type.Union([Type.Null(), UserOut]),
            }),
          },
        },
      },
      async (request) => {
        const p = request.principal;
        const user = await identity.store.getUser(p.userId);
        return {
          principal: { kind: p.kind, id: p.id, userId: p.userId, name: p.name, role: p.role },
          user: user ? userView(user) : null,
        };
      },
    );
  };
