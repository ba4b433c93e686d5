/**
 * Which credential the CLI sends, in order: --token, BOSUN_TOKEN, the session `bosun login` stored for
 * this server (refreshed when its access token expires), and on the machine that runs `bosun start` the
 * admin password the first start wrote to the data folder (BOSUN_DATA, default ./.bosun) — so the README
 * tour works without a login. Sessions live in the user's config folder, readable by the user only.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { Credentials } from "../sdk/client.ts";
import { type ApiSession, logIn, refreshSession } from "../sdk/identity.ts";

interface Stored {
  accessToken: string;
  refreshToken: string;
  username: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function sessionsFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "bosun", "sessions.json");
}

function readAll(file: string): Record<string, Stored> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, Stored>;
  } catch {
    return {};
  }
}

export function saveSession(env: NodeJS.ProcessEnv, url: string, s: ApiSession | null): void {
  const file = sessionsFile(env);
  const all = readAll(file);
  if (s) all[url] = { accessToken: s.accessToken, refreshToken: s.refreshToken, username: s.user.username };
  else delete all[url];
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
}

/** The admin password of a server on this machine that uses the default (or BOSUN_DATA) data folder. */
function localAdminPassword(url: string, env: NodeJS.ProcessEnv): string | null {
  if (!LOOPBACK.has(new URL(url).hostname)) return null;
  try {
    return readFileSync(join(env.BOSUN_DATA || ".bosun", "admin-password"), "utf8").trim() || null;
  } catch {
    return null;
  }
}

export function cliCredentials(
  url: string,
  env: NodeJS.ProcessEnv,
  flagToken?: string,
): Credentials | undefined {
  const fixed = flagToken || env.BOSUN_TOKEN;
  if (fixed) return { token: async () => fixed, renew: async () => null };
  let stored: Stored | undefined = readAll(sessionsFile(env))[url];
  const local = async (): Promise<string | null> => {
    const password = localAdminPassword(url, env);
    if (!password) return null;
    const s = await logIn(url, "admin", password).catch(() => null);
    if (!s) return null;
    saveSession(env, url, s);
    stored = { accessToken: s.accessToken, refreshToken: s.refreshToken, username: s.user.username };
    return s.accessToken;
  };
  return {
    token: async () => stored?.accessToken ?? local(),
    renew: async () => {
      if (stored) {
        const s = await refreshSession(url, stored.refreshToken).catch(() => null);
        if (s) {
          saveSession(env, url, s);
          stored = { accessToken: s.accessToken, refreshToken: s.refreshToken, username: s.user.username };
          return s.accessToken;
        }
      }
      return local();
    },
  };
}
