import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { createEngine, closeEngine } from './engine.js';
import type { AcceptedUsage } from './usage/intake.js';
import { usageEventSchema, type UsageEvent } from './usage/usage-event.js';
import { EngineError } from './errors.js';
import { describeIssues } from './validation.js';

export interface UsageProducer {
  /** Validates and enqueues one usage event on the `usage` queue: the same rules as POST /v1/usage. */
  enqueueUsage(event: UsageEvent): Promise<AcceptedUsage>;
  /** All or nothing, like POST /v1/usage/batch. */
  enqueueUsageBatch(events: UsageEvent[]): Promise<AcceptedUsage[]>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  databaseUrl?: string;
  redisUrl?: string;
  /** `host:port,...` of a Redis Cluster (REDIS_CLUSTER_NODES), instead of redisUrl. */
  redisClusterNodes?: string;
  queuePrefix?: string;
}

/**
 * The in-process producer: a service that runs beside the engine skips HTTP and enqueues directly.
 * It throws the same typed errors (`EngineError` with `code`) that HTTP maps to 400/404/409.
 */
export async function createUsageProducer(options: ProducerOptions = {}): Promise<UsageProducer> {
  const config = loadConfig({
    ...process.env,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...(options.redisClusterNodes ? { REDIS_CLUSTER_NODES: options.redisClusterNodes } : {}),
    ...(options.queuePrefix ? { TOKENS_QUEUE_PREFIX: options.queuePrefix } : {}),
    TOKENS_ROLES: 'api',
  });
  const engine = await createEngine(config, createLogger(config.logLevel, { role: 'producer' }));
  const validate = (events: unknown[]): UsageEvent[] =>
    events.map((e, index) => {
      const r = usageEventSchema.safeParse(e);
      if (!r.success) {
        throw new EngineError('validation_failed', `invalid usage event at index ${index}`, describeIssues(r.error).map((i) => ({ index, ...i })));
      }
      return r.data;
    });
  return {
    async enqueueUsage(event) {
      const [result] = await engine.intake.accept(validate([event]));
      return result!;
    },
    async enqueueUsageBatch(events) {
      const valid = validate(events);
      const accepted = new Map((await engine.intake.accept(valid)).map((r) => [r.idempotencyKey, r]));
      return valid.map((e) => accepted.get(e.idempotencyKey)!);
    },
    close: () => closeEngine(engine),
  };
}
