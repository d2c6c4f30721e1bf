// npm run bench -- --redis-bytes: what Redis keeps per accepted usage event, from MEMORY USAGE of every
// key under the run's prefix: while the events wait for a worker, and once they are applied. Single
// events (one request each) with no metadata and with 4 KB of it. Knob: BENCH_REDIS_EVENTS (2000).
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runEngine, type RunningEngine } from '../src/run.js';
import { withDefaultUser } from '../src/db/database.js';
import { cleanup, isolation, type Isolation } from './isolation.js';

const EVENTS = Number(process.env.BENCH_REDIS_EVENTS ?? 2000);
const IN_FLIGHT = 10;
const KEY = 'bench-api-key';

interface Footprint {
  keys: number;
  bytes: number;
  usageKeyRecords: number;
  usageKeyBytes: number;
}

/** MEMORY USAGE (exact: SAMPLES 0) of every key under the prefix, and of the usage-key records apart. */
async function footprint(redis: Redis, prefix: string): Promise<Footprint> {
  const total: Footprint = { keys: 0, bytes: 0, usageKeyRecords: 0, usageKeyBytes: 0 };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.memory('USAGE', k, 'SAMPLES', 0);
    const sizes = (await pipeline.exec())!.map(([, n]) => Number(n ?? 0));
    keys.forEach((k, i) => {
      total.keys++;
      total.bytes += sizes[i]!;
      if (k.includes(':usage-key:')) {
        total.usageKeyRecords++;
        total.usageKeyBytes += sizes[i]!;
      }
    });
  } while (cursor !== '0');
  return total;
}

async function post(baseUrl: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

async function measure(label: string, metadata: Record<string, unknown> | undefined) {
  const iso: Isolation = isolation();
  const env = { DATABASE_URL: iso.databaseUrl, REDIS_URL: iso.redisUrl, TOKENS_QUEUE_PREFIX: iso.prefix, TOKENS_API_KEYS: KEY, TOKENS_ADMIN_KEYS: 'bench-admin-key', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'error' };
  const redis = new Redis(iso.redisUrl);
  const db = new pg.Client({ connectionString: withDefaultUser(iso.databaseUrl) });
  let api: RunningEngine | undefined;
  let workers: RunningEngine | undefined;
  try {
    api = await runEngine(loadConfig({ ...env, TOKENS_ROLES: 'api' }), createLogger('error'));
    const baseUrl = `http://127.0.0.1:${api.port}`;
    await db.connect();
    const users = Array.from({ length: 20 }, (_, i) => `bytes-${i}`);
    for (const userId of users) await post(baseUrl, '/v1/accounts', { userId, plan: 'enterprise_pro' });
    const empty = await footprint(redis, iso.prefix);
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < EVENTS) {
          const i = next++;
          const status = await post(baseUrl, '/v1/usage', { userId: users[i % users.length], feature: 'profile_basic', idempotencyKey: `bytes-${label}-${String(i).padStart(6, '0')}`, ...(metadata ? { metadata } : {}) });
          if (status !== 202) throw new Error(`event ${i}: ${status}`);
        }
      }),
    );
    const waiting = await footprint(redis, iso.prefix);
    workers = await runEngine(loadConfig({ ...env, TOKENS_ROLES: 'workers' }), createLogger('error'));
    for (;;) {
      const { rows } = await db.query('select count(*)::int as n from usage_events');
      const counts = await api.engine.queues.usage.getJobCounts('waiting', 'active', 'delayed');
      if (rows[0].n >= EVENTS && (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Let the workers finish their bookkeeping after the last commit (completion, shortened records).
    await new Promise((r) => setTimeout(r, 1000));
    const applied = await footprint(redis, iso.prefix);
    const per = (f: Footprint) => (f.bytes - empty.bytes) / EVENTS;
    return {
      label,
      events: EVENTS,
      waitingBytesPerEvent: per(waiting),
      appliedBytesPerEvent: per(applied),
      usageKeyRecordBytes: applied.usageKeyRecords ? applied.usageKeyBytes / applied.usageKeyRecords : waiting.usageKeyBytes / Math.max(1, waiting.usageKeyRecords),
      usageKeyRecordsAfter: applied.usageKeyRecords,
      keysAfter: applied.keys - empty.keys,
    };
  } finally {
    await workers?.stop();
    await api?.stop();
    await db.end().catch(() => undefined);
    redis.disconnect();
    await cleanup(iso);
  }
}

export async function runRedisBytes(): Promise<number> {
  const rows = [await measure('plain', undefined), await measure('4kb', { note: 'x'.repeat(4000) })];
  console.log('| events | waiting for a worker, B/event | after applied, B/event | one usage-key record, B | usage-key records left | other keys left |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.events} × ${r.label === 'plain' ? 'no metadata' : '4 KB metadata'} | ${r.waitingBytesPerEvent.toFixed(0)} | ${r.appliedBytesPerEvent.toFixed(0)} | ${r.usageKeyRecordBytes.toFixed(0)} | ${r.usageKeyRecordsAfter} | ${r.keysAfter - r.usageKeyRecordsAfter} |`);
  }
  return 0;
}
