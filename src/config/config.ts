/**
 * The one configuration schema: defaults, validation and types in one place. It is read once at start-up
 * from (in increasing precedence) defaults, an optional JSON config file, BOSUN_* environment variables and
 * command-line flags, then frozen and passed down. This is the only module that reads process.env.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Static, Type } from "typebox";
import { Compile } from "typebox/compile";
import { BosunError } from "../core/errors.ts";
import { OutboundPolicy, PolicyEntryError } from "../outbound/outbound-policy.ts";

/** What a POSIX shell accepts as a variable name; anything else (`A=B;`) would inject another variable. */
export const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

export const ConfigSchema = Type.Object(
  {
    /** Folder of the SQLite file, job working directories and the node id. */
    dataDir: Type.String({ default: ".bosun" }),
    /** postgres://… to use PostgreSQL; null = embedded SQLite in dataDir. */
    db: Type.Union([Type.String(), Type.Null()], { default: null }),
    dbSchema: Type.String({ default: "bosun" }),
    dbPoolSize: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
    host: Type.String({ default: "127.0.0.1" }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** Jobs the local worker pool runs at once; 0 = no local pool. */
    concurrency: Type.Integer({ minimum: 0, maximum: 10_000, default: 10 }),
    leaseMs: Type.Integer({ minimum: 500, default: 30_000 }),
    shutdownGraceMs: Type.Integer({ minimum: 0, default: 30_000 }),
    reapIntervalMs: Type.Integer({ minimum: 50, default: 1000 }),
    /** How long the change feed keeps a change (GET /events?since= reaches this far back). */
    feedRetentionMs: Type.Integer({ minimum: 60_000, default: 24 * 3_600_000 }),
    /** normal = SQLite synchronous=NORMAL (crash-safe in WAL); strict = FULL (survives power loss). */
    durability: Type.Union([Type.Literal("normal"), Type.Literal("strict")], { default: "normal" }),
    /** Largest job payload accepted, in bytes of JSON. */
    maxPayloadBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** Largest request body (a batch of jobs), in bytes. */
    bodyLimitBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    /** Deepest nesting of objects and arrays in a request's JSON (deeper is a 400 JSON_TOO_DEEP). */
    maxJsonDepth: Type.Integer({ minimum: 8, maximum: 1000, default: 64 }),
    /** Largest result a worker may report for an attempt, in bytes of JSON (larger fails the attempt). */
    maxResultBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
    /** Most log bytes a job keeps over all its attempts; later output is dropped after one notice line. */
    maxJobLogBytes: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
    /** Most job types an UNKNOWN_JOB_TYPE error lists (it says how many more exist). */
    maxListedTypes: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    logLevel: Type.Union(
      [
        Type.Literal("fatal"),
        Type.Literal("error"),
        Type.Literal("warn"),
        Type.Literal("info"),
        Type.Literal("debug"),
        Type.Literal("trace"),
        Type.Literal("silent"),
      ],
      { default: "info" },
    ),
    /** Stable identity of this node; defaults to one stored in dataDir (SQLite) or host:port. */
    nodeId: Type.Union([Type.String(), Type.Null()], { default: null }),
    workerLabels: Type.Record(Type.String(), Type.String(), { default: {} }),
    /**
     * What `http` jobs and alert webhooks may reach besides public addresses: host names (`.example.com`
     * with its subdomains), addresses or CIDRs. Loopback, private, link-local (cloud metadata) and other
     * special addresses are refused unless opened here (src/outbound/outbound-policy.ts).
     */
    httpAllow: Type.Array(Type.String(), { default: [] }),
    /** Hosts, addresses or CIDRs refused besides those; an httpAllow entry that matches wins. */
    httpDeny: Type.Array(Type.String(), { default: [] }),
    /** Called when any job ends failed after its last attempt. */
    alertWebhookUrl: Type.Union([Type.String({ pattern: "^https?://" }), Type.Null()], { default: null }),
    alertWebhookSecret: Type.Union([Type.String(), Type.Null()], { default: null }),
    /** Per-queue alert webhooks: {"billing": {"webhookUrl": "…", "secret": "…"}}. */
    queueAlerts: Type.Record(
      Type.String(),
      Type.Object({
        webhookUrl: Type.String({ pattern: "^https?://" }),
        secret: Type.Optional(Type.String()),
      }),
      { default: {} },
    ),
    /**
     * Server environment variables that job processes get besides PATH, LANG and TZ (always passed).
     * Nothing else of the server's environment reaches a job: BOSUN_DB and other secrets stay here.
     */
    jobEnvAllow: Type.Array(Type.String({ pattern: ENV_NAME_PATTERN }), { default: [] }),
    /** The Bosun server a `bosun worker` talks to. */
    serverUrl: Type.String({ default: "http://127.0.0.1:8080" }),
    /** Credential a `bosun worker` (or the CLI) sends to its server: an API key or an access token. */
    token: Type.Union([Type.String(), Type.Null()], { default: null }),
    /** Password of the `admin` user made on the first start; null = generated, printed once, saved 0600. */
    adminPassword: Type.Union([Type.String({ minLength: 8 }), Type.Null()], { default: null }),
    /** Lifetime of an access token (a refresh gets the next). */
    accessTokenTtlSec: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
    /** Lifetime of a refresh token (a session unused this long ends). */
    refreshTokenTtlMs: Type.Integer({ minimum: 60_000, default: 30 * 86_400_000 }),
    /** Wrong passwords in a row that lock an account, and for how long. */
    loginMaxFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
    loginLockMs: Type.Integer({ minimum: 1000, default: 5 * 60_000 }),
    /** Host names this server answers to besides localhost, 127.0.0.1, ::1 and its bound address. */
    allowedHosts: Type.Array(Type.String(), { default: [] }),
    /** Origins whose pages may call the API from a browser (CORS); none by default. */
    corsOrigins: Type.Array(Type.String(), { default: [] }),
    /** Serve GET /metrics (Prometheus) without credentials, for scrapers on a trusted network. */
    metricsPublic: Type.Boolean({ default: false }),
    /** How long the audit log keeps an entry. */
    auditRetentionMs: Type.Integer({ minimum: 3_600_000, default: 90 * 86_400_000 }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>> & {
  /**
   * Not a setting: the values of PATH, LANG, TZ and the jobEnvAllow names as this process saw them at
   * start-up, the base of every job process's environment. Captured here so that executors never read
   * process.env (a job's environment is exactly what this says plus the job's own variables).
   */
  readonly jobEnvInherited: Readonly<Record<string, string>>;
};

/** Always passed on to job processes (with fallbacks, so a job never runs without them). */
const INHERITED_ALWAYS = ["PATH", "LANG", "TZ"] as const;
const INHERITED_FALLBACK: Record<(typeof INHERITED_ALWAYS)[number], () => string> = {
  PATH: () => "/usr/local/bin:/usr/bin:/bin",
  LANG: () => "C.UTF-8",
  TZ: () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
};

function inheritedJobEnv(source: NodeJS.ProcessEnv, allow: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INHERITED_ALWAYS) out[name] = source[name] || INHERITED_FALLBACK[name]();
  for (const name of allow) {
    const v = source[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

const validator = Compile(ConfigSchema);

/** Environment variable → config key. Numbers and JSON are coerced by the schema's types. */
const ENV: Record<string, keyof Config> = {
  BOSUN_DATA: "dataDir",
  BOSUN_DB: "db",
  BOSUN_DB_SCHEMA: "dbSchema",
  BOSUN_DB_POOL_SIZE: "dbPoolSize",
  BOSUN_HOST: "host",
  BOSUN_PORT: "port",
  BOSUN_CONCURRENCY: "concurrency",
  BOSUN_LEASE_MS: "leaseMs",
  BOSUN_SHUTDOWN_GRACE_MS: "shutdownGraceMs",
  BOSUN_DURABILITY: "durability",
  BOSUN_LOG_LEVEL: "logLevel",
  BOSUN_NODE_ID: "nodeId",
  BOSUN_HTTP_ALLOW: "httpAllow",
  BOSUN_HTTP_DENY: "httpDeny",
  BOSUN_ALERT_WEBHOOK_URL: "alertWebhookUrl",
  BOSUN_ALERT_WEBHOOK_SECRET: "alertWebhookSecret",
  BOSUN_JOB_ENV_ALLOW: "jobEnvAllow",
  BOSUN_URL: "serverUrl",
  BOSUN_TOKEN: "token",
  BOSUN_WORKER_TOKEN: "token",
  BOSUN_ADMIN_PASSWORD: "adminPassword",
  BOSUN_ALLOWED_HOSTS: "allowedHosts",
  BOSUN_CORS_ORIGINS: "corsOrigins",
  BOSUN_METRICS_PUBLIC: "metricsPublic",
};

/** Keys whose environment variable or flag is a comma-separated list. */
const LISTS = new Set<keyof Config>(["httpAllow", "httpDeny", "jobEnvAllow", "allowedHosts", "corsOrigins"]);

const BOOLEANS = new Set<keyof Config>(["metricsPublic"]);

const NUMERIC = new Set<keyof Config>([
  "dbPoolSize",
  "port",
  "concurrency",
  "leaseMs",
  "shutdownGraceMs",
  "reapIntervalMs",
  "feedRetentionMs",
  "maxPayloadBytes",
  "bodyLimitBytes",
  "maxJsonDepth",
  "maxResultBytes",
  "maxJobLogBytes",
  "maxListedTypes",
  "accessTokenTtlSec",
  "refreshTokenTtlMs",
  "loginMaxFailures",
  "loginLockMs",
  "auditRetentionMs",
]);

export interface ConfigSources {
  /** Flags already parsed by the CLI; undefined values are ignored. */
  flags?: Partial<Record<keyof Config, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file (BOSUN_CONFIG also works). */
  file?: string;
  /**
   * Where job processes' PATH, LANG, TZ and jobEnvAllow variables come from (default process.env). Apart
   * from `env` so that an embedded instance can ignore BOSUN_* variables and still give jobs its PATH.
   */
  jobEnvSource?: NodeJS.ProcessEnv;
}

/**
 * The command-line flag of each key that has one (`bosun start --help` lists them). Config file keys are
 * the schema's names, not the flags' (`dataDir`, not `data`): this table lets a wrong key name its fix.
 */
export const CONFIG_FLAGS: Partial<Record<keyof Config, string>> = {
  dataDir: "--data",
  db: "--db",
  dbSchema: "--db-schema",
  host: "--host",
  port: "--port",
  concurrency: "--concurrency",
  leaseMs: "--lease-ms",
  shutdownGraceMs: "--grace",
  durability: "--durability",
  logLevel: "--log-level",
  nodeId: "--node-id",
  workerLabels: "--labels",
  httpAllow: "--http-allow",
  httpDeny: "--http-deny",
  alertWebhookUrl: "--alert-webhook-url",
  jobEnvAllow: "--job-env-allow",
  adminPassword: "--admin-password",
  allowedHosts: "--allowed-hosts",
};

/** Keys that existed once, and what took their place (a config file that names one is refused). */
const REPLACED: Record<string, string> = {
  httpAllowHosts:
    'was replaced: loopback, private and metadata addresses are now refused by default, "httpAllow" opens hosts and CIDRs, "httpDeny" refuses more (["0.0.0.0/0", "::/0"] with an httpAllow list allows only that list); see docs/security.md',
  httpDenyHosts:
    'was replaced by "httpDeny" (hosts, addresses or CIDRs, checked on the address connected to); see docs/security.md',
};

/** The JSON object of a config file, or an error that names the file and what is wrong with it. */
function readConfigFile(file: string): Record<string, unknown> {
  const path = resolve(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new BosunError("VALIDATION_FAILED", `Config file ${path}: ${why}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new BosunError("VALIDATION_FAILED", `Config file ${path}: must hold one JSON object`);
  const keys = Object.keys(ConfigSchema.properties);
  const replaced = Object.keys(parsed).filter((k) => k in REPLACED);
  if (replaced.length > 0) {
    const problems = replaced.map((k) => `"${k}" ${REPLACED[k]}`);
    throw new BosunError("VALIDATION_FAILED", `Config file ${path}: ${problems.join("; ")}`, problems);
  }
  const unknown = Object.keys(parsed).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    const problems = unknown.map((k) => unknownKey(k, keys));
    throw new BosunError("VALIDATION_FAILED", `Config file ${path}: ${problems.join("; ")}`, problems);
  }
  return parsed as Record<string, unknown>;
}

/** `"data" is not a config key; did you mean "dataDir" (--data)?` */
function unknownKey(name: string, keys: string[]): string {
  const plain = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  const byFlag = Object.entries(CONFIG_FLAGS).find(([, flag]) => plain(flag) === plain(name))?.[0];
  const byEnv = ENV[name.toUpperCase()];
  const bySpelling = keys
    .map((k) => ({ k, d: editDistance(plain(k), plain(name)) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(name.length / 4)))
    .sort((a, b) => a.d - b.d)[0]?.k;
  const key = byFlag ?? byEnv ?? bySpelling;
  if (!key) return `"${name}" is not a config key (the keys: ${keys.join(", ")})`;
  const flag = CONFIG_FLAGS[key as keyof Config];
  return `"${name}" is not a config key; did you mean "${key}"${flag ? ` (${flag})` : ""}?`;
}

/** Levenshtein distance, for "did you mean": keys are short, so the plain O(n·m) table is enough. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const merged: Record<string, unknown> = {};
  const file = sources.file ?? env.BOSUN_CONFIG;
  if (file) Object.assign(merged, readConfigFile(file));
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== "") merged[key] = v;
  }
  for (const [key, v] of Object.entries(sources.flags ?? {})) if (v !== undefined) merged[key] = v;
  for (const key of NUMERIC) {
    const v = merged[key];
    if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) merged[key] = Number(v);
  }
  for (const key of BOOLEANS) {
    const v = merged[key];
    if (v === "true" || v === "1") merged[key] = true;
    else if (v === "false" || v === "0") merged[key] = false;
  }
  for (const key of LISTS) {
    const v = merged[key];
    if (typeof v === "string") merged[key] = v.split(",").flatMap((s) => (s.trim() ? [s.trim()] : []));
  }
  const withDefaults = validator.Default(structuredClone(merged)) as Record<string, unknown>;
  if (!validator.Check(withDefaults)) {
    const problems = [...validator.Errors(withDefaults)].map((e) => `${e.instancePath || "/"} ${e.message}`);
    throw new BosunError("VALIDATION_FAILED", `Invalid configuration: ${problems.join("; ")}`, problems);
  }
  const config = withDefaults as Static<typeof ConfigSchema>;
  try {
    new OutboundPolicy({ allow: config.httpAllow, deny: config.httpDeny }, { localAddresses: [] });
  } catch (err) {
    if (!(err instanceof PolicyEntryError)) throw err;
    throw new BosunError("VALIDATION_FAILED", `Invalid configuration: ${err.message}`, [err.message]);
  }
  const jobEnvInherited = Object.freeze(
    inheritedJobEnv(sources.jobEnvSource ?? process.env, config.jobEnvAllow),
  );
  return Object.freeze({ ...config, jobEnvInherited });
}
