/** The public API of the `bosun` package. */

export { type Config, loadConfig } from "./config/config.ts";
export { BosunError, JobFailure, UnrecoverableError } from "./core/errors.ts";
export type { Attempt, Backoff, Job, JobError, JobStatus } from "./core/job.ts";
export type { JobInput } from "./engine/job-input.ts";
export type { Handler, HandlerContext, HandlerJob } from "./executors/handler.ts";
export { BosunServer } from "./runtime/server.ts";
export { Bosun, type OpenOptions } from "./sdk/bosun.ts";
