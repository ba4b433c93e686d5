/**
 * The environment of every process a job starts, built from an explicit list and never from the worker's
 * own process.env: a server holds secrets there (BOSUN_DB with its password, webhook secrets, tokens) and
 * a job is someone else's code. The base (PATH, LANG, TZ and the operator's allow-list) is captured once by
 * config (`jobEnvInherited`) and handed to the executors; see docs/api.md, "The job environment".
 */
import { Type } from "typebox";
import { ENV_NAME_PATTERN } from "../config/config.ts";
import { JobFailure } from "../core/errors.ts";
import type { Claim } from "../core/job.ts";

/** For executors built without a config (tests, tools): enough to find bash and friends. */
export const MINIMAL_JOB_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/local/bin:/usr/bin:/bin",
  LANG: "C.UTF-8",
  TZ: "UTC",
});

const NAME = new RegExp(ENV_NAME_PATTERN);

/**
 * A job's own variables, checked at enqueue (a 400, nothing stored). `propertyNames`, not the Record's key
 * pattern: TypeBox puts that pattern in patternProperties, which lets every other name through.
 */
export const JobEnvSchema = Type.Record(
  Type.String(),
  Type.String({ pattern: "^[^\\u0000]*$", description: "No NUL characters" }),
  {
    propertyNames: { pattern: ENV_NAME_PATTERN },
    description: `Extra environment variables of the job's processes; names match ${ENV_NAME_PATTERN}`,
  },
);

/**
 * inherited < HOME < the job's own `env` < BOSUN_JOB_ID and BOSUN_ATTEMPT. The job may move its HOME or
 * PATH, but not lie about which attempt it is.
 */
export function jobEnvironment(
  job: Pick<Claim, "id" | "attempt">,
  home: string,
  inherited: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  // Enqueue validates the same rule (the payload schemas); this catches jobs stored before it did, which
  // would otherwise smuggle a second variable in through `A=B;` or fail inside spawn on a NUL.
  for (const [name, value] of Object.entries(own ?? {}))
    if (!NAME.test(name) || typeof value !== "string" || value.includes("\0"))
      throw new JobFailure(
        "VALIDATION_FAILED",
        `The environment variable ${JSON.stringify(name)} is not valid: names match ${ENV_NAME_PATTERN}, values hold no NUL`,
        { retryable: false },
      );
  return { ...inherited, HOME: home, ...own, BOSUN_JOB_ID: job.id, BOSUN_ATTEMPT: String(job.attempt) };
}
