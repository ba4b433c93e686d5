/**
 * The first start of a server makes the `admin` user, so that authentication can be on from the first
 * second with zero set-up: its password is BOSUN_ADMIN_PASSWORD (--admin-password) when given, otherwise
 * generated, printed once and written to a 0600 file in the data folder, where the CLI on this machine
 * finds it (cli/credentials.ts). Nodes of a cluster that start together race on the insert; the loser
 * finds the user made.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { hashPassword } from "../auth/passwords.ts";
import type { Clock } from "../core/clock.ts";
import { BosunError } from "../core/errors.ts";
import type { IdentityStore } from "../store/identity-store.ts";

export const ADMIN_USERNAME = "admin";
export const ADMIN_PASSWORD_FILE = "admin-password";

export async function bootstrapAdmin(o: {
  identity: IdentityStore;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  password: string | null;
}): Promise<void> {
  if ((await o.identity.countUsers()) > 0) return;
  const file = join(o.dataDir, ADMIN_PASSWORD_FILE);
  // A data folder that already holds an admin password (a server of this folder on another database)
  // gives the new admin the same one: the CLI on this machine reads one file.
  const saved = o.password === null ? readSaved(file) : null;
  const generated = o.password === null && saved === null;
  const password = o.password ?? saved ?? randomBytes(18).toString("base64url");
  try {
    await o.identity.createUser(
      {
        id: "admin",
        username: ADMIN_USERNAME,
        role: "admin",
        passwordHash: await hashPassword(password),
        disabled: false,
        createdAt: o.clock.now(),
        maxRunning: null,
        maxQueued: null,
      },
      {
        at: o.clock.now(),
        actorId: null,
        actorName: "bosun",
        action: "user.create",
        targetType: "user",
        targetId: "admin",
        ip: null,
        outcome: "ok",
        details: { username: ADMIN_USERNAME, role: "admin", firstStart: true },
      },
    );
  } catch (err) {
    if (err instanceof BosunError && err.code === "USERNAME_TAKEN") return;
    throw err;
  }
  if (saved !== null) o.logger.info({ file }, "first start: admin user created with the saved password");
  if (!generated) return;
  mkdirSync(o.dataDir, { recursive: true });
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  // Printed once, on purpose: the one time a person starting Bosun needs it. Never logged again.
  process.stderr.write(
    `\nBosun made the user "admin" with the password ${password}\n(also in ${file}, readable by you only; the CLI on this machine uses it)\n\n`,
  );
  o.logger.info({ file }, "first start: admin user created");
}

function readSaved(file: string): string | null {
  try {
    return readFileSync(file, "utf8").trim() || null;
  } catch {
    return null;
  }
}
