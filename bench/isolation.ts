import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { redisOptionsFromUrl } from '../src/redis.js';
import { dropDatabase } from '../src/db/ensure-database.js';

const PG = process.env.BENCH_PG_URL ?? 'postgres://127.0.0.1:5432';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Isolation {
  databaseUrl: string;
  redisUrl: string;
  /** BullMQ prefix; every Redis key the run makes (engine and ceiling queue) lives under `${prefix}:`. */
  prefix: string;
  /** More engine settings (a run on a Redis Cluster: REDIS_CLUSTER_NODES, TOKENS_REDIS_WAIT_REPLICAS). */
  env?: Record<string, string>;
}

/** A throwaway database and Redis prefix of this run's own (the engine creates the database at start). */
export function isolation(): Isolation {
  const id = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  return { databaseUrl: `${PG}/tokens_bench_${id}`, redisUrl: REDIS, prefix: `tb_${id}` };
}

/** Options for BullMQ to open its own connections to the shared Redis (as the engine's workers do). */
export function bullmqConnection(iso: Isolation): ConnectionOptions {
  return { ...redisOptionsFromUrl(iso.redisUrl), maxRetriesPerRequest: null } as ConnectionOptions;
}

/** Drops the database and deletes every Redis key under the prefix. */
export async function cleanup(iso: Isolation): Promise<{ keysDeleted: number }> {
  await dropDatabase(iso.databaseUrl);
  const redis = new Redis(iso.redisUrl);
  let keysDeleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${iso.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) keysDeleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return { keysDeleted };
}
