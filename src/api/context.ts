/** What the API plugins need from the running node, passed in explicitly (no globals, no singletons). */
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { FeedHub } from "../engine/feed-hub.ts";
import type { PlacementAdvisor } from "../engine/placement-advice.ts";

export interface WorkerUsage {
  running: number;
  capacity: number;
}

export interface ApiContext {
  engine: Engine;
  /** The change feed as this node reads it (events API). */
  feed: FeedHub;
  /** Why a job would wait for a worker (warnings on create, `waiting` on the job). */
  advisor: PlacementAdvisor;
  config: Config;
  logger: Logger;
  nodeId: string;
  version: string;
  startedAt: number;
  /** Running attempts and capacity over the workers this node knows about. */
  workerUsage(): Promise<WorkerUsage>;
  /** False while starting or shutting down (readiness). */
  isReady(): boolean;
}
