/** Sessions and identity: login, logout, whoami, users (admin) and API keys. */
import type { Command } from "commander";
import { IdentityClient, logIn } from "../../sdk/identity.ts";
import type { CliContext } from "../context.ts";
import { saveSession } from "../credentials.ts";
import { ago, emit, table } from "../output.ts";
import { readSecret } from "../secret-input.ts";
import { UsageError } from "./parse.ts";

const ROLES = "admin, operator, member, viewer, worker";

export function register(program: Command, ctx: CliContext): void {
  const identity = (cmd: Command) => new IdentityClient(ctx.client(cmd));

  program
    .command("login")
    .description("log in and keep the session for this server (in your config folder)")
    .option("-u, --username <name>", "username", "admin")
    .option("--password-stdin", "read the password from standard input (else BOSUN_PASSWORD, else a prompt)")
    .action(async (f: { username: string; passwordStdin?: boolean }, cmd: Command) => {
      const password = await readSecret(ctx, "Password: ", {
        stdin: f.passwordStdin,
        envName: "BOSUN_PASSWORD",
      });
      const url = ctx.serverUrl(cmd);
      const s = await logIn(url, f.username, password);
      saveSession(ctx.env, url, s);
      emit(ctx, cmd, { user: s.user }, () => `logged in to ${url} as ${s.user.username} (${s.user.role})\n`);
    });

  program
    .command("logout")
    .description("end the stored session for this server")
    .action(async (_f, cmd: Command) => {
      const url = ctx.serverUrl(cmd);
      await identity(cmd)
        .logout()
        .catch(() => undefined);
      saveSession(ctx.env, url, null);
      emit(ctx, cmd, {}, () => `logged out of ${url}\n`);
    });

  program
    .command("token")
    .description('print an access token for scripts: curl -H "authorization: Bearer $(bosun token)"')
    .action(async (_f, cmd: Command) => {
      const token = await ctx.client(cmd).currentToken();
      if (!token) throw new UsageError("no credential: run bosun login, or set BOSUN_TOKEN");
      ctx.io.out(`${token}\n`);
    });

  program
    .command("whoami")
    .description("who the server takes you for")
    .action(async (_f, cmd: Command) => {
      const me = await identity(cmd).me();
      emit(ctx, cmd, me, () => `${me.principal.name} (${me.principal.kind}, ${me.principal.role})\n`);
    });

  const users = program.command("users").description("users and roles (admin)");
  users
    .command("add")
    .description("add a user")
    .argument("<username>")
    .requiredOption("--role <role>", ROLES)
    .option("--password-stdin", "read the password from standard input (else BOSUN_PASSWORD, else a prompt)")
    .action(async (username: string, f: { role: string; passwordStdin?: boolean }, cmd: Command) => {
      const password = await readSecret(ctx, "Password: ", {
        stdin: f.passwordStdin,
        envName: "BOSUN_PASSWORD",
      });
      const user = await identity(cmd).createUser({ username, password, role: f.role as never });
      emit(ctx, cmd, { user }, () => `${user.id} ${user.username} ${user.role}\n`);
    });
  users
    .command("list")
    .description("list users")
    .action(async (_f, cmd: Command) => {
      const items = await identity(cmd).listUsers();
      emit(ctx, cmd, { items }, () =>
        table(
          ["ID", "USERNAME", "ROLE", "DISABLED", "CREATED"],
          items.map((u) => [u.id, u.username, u.role, u.disabled ? "yes" : "no", ago(u.createdAt)]),
        ),
      );
    });
  users
    .command("set")
    .description("change a user's role, password or disabled flag (revokes its sessions and keys)")
    .argument("<userId>")
    .option("--role <role>", ROLES)
    .option("--disable", "disable the user")
    .option("--enable", "enable the user")
    .option("--password-stdin", "set a new password read from standard input")
    .action(
      async (
        userId: string,
        f: { role?: string; disable?: boolean; enable?: boolean; passwordStdin?: boolean },
        cmd: Command,
      ) => {
        const patch: Record<string, unknown> = {};
        if (f.role) patch.role = f.role;
        if (f.disable || f.enable) patch.disabled = f.disable === true;
        if (f.passwordStdin) patch.password = await readSecret(ctx, "", { stdin: true });
        const user = await identity(cmd).updateUser(userId, patch);
        emit(
          ctx,
          cmd,
          { user },
          () => `${user.id} ${user.username} ${user.role}${user.disabled ? " disabled" : ""}\n`,
        );
      },
    );
  users
    .command("rm")
    .description("delete a user with its sessions and keys")
    .argument("<userId>")
    .action(async (userId: string, _f, cmd: Command) => {
      await identity(cmd).deleteUser(userId);
      emit(ctx, cmd, {}, () => `deleted ${userId}\n`);
    });

  const keys = program.command("keys").description("API keys for systems and workers");
  keys
    .command("create")
    .description("create an API key (printed once)")
    .argument("<name>")
    .option("--role <role>", `${ROLES} (default: yours)`)
    .option("--expires <date>", "ISO date-time after which the key stops working")
    .option("--queues <list>", "worker keys: the only queues (comma-separated)")
    .action(async (name: string, f: { role?: string; expires?: string; queues?: string }, cmd: Command) => {
      const out = await identity(cmd).createApiKey({
        name,
        ...(f.role ? { role: f.role as never } : {}),
        ...(f.expires ? { expiresAt: new Date(f.expires).toISOString() } : {}),
        ...(f.queues
          ? {
              queues: f.queues
                .split(",")
                .map((q) => q.trim())
                .filter(Boolean),
            }
          : {}),
      });
      emit(ctx, cmd, out, () => `${out.key}\n(id ${out.apiKey.id}, role ${out.apiKey.role}; shown once)\n`);
    });
  keys
    .command("list")
    .description("list API keys")
    .action(async (_f, cmd: Command) => {
      const items = await identity(cmd).listApiKeys();
      emit(ctx, cmd, { items }, () =>
        table(
          ["ID", "NAME", "ROLE", "PREFIX", "LAST USED", "STATE"],
          items.map((k) => [
            k.id,
            k.name,
            k.role,
            k.prefix,
            k.lastUsedAt ? ago(k.lastUsedAt) : "never",
            k.revokedAt ? "revoked" : "active",
          ]),
        ),
      );
    });
  keys
    .command("revoke")
    .description("revoke an API key")
    .argument("<keyId>")
    .action(async (keyId: string, _f, cmd: Command) => {
      const k = await identity(cmd).revokeApiKey(keyId);
      emit(ctx, cmd, { apiKey: k }, () => `revoked ${k.id} (${k.name})\n`);
    });
}
