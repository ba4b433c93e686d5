/** The public API of the `bosun` package. */
export { Bosun, type OpenOptions } from "./sdk/bosun.ts";
export { BosunError, JobFailure, UnrecoverableError } from "./core/errors.ts";
export type { Job, JobStatus, Backoff, JobError, Attempt } from "./core/job.ts";
export type { JobInput } from "./engine/job-input.ts";
export type { Handler, HandlerContext, HandlerJob } from "./executors/handler.ts";
export { loadConfig, type Config } from "./config/config.ts";
export { BosunServer } from "./runtime/server.ts";
