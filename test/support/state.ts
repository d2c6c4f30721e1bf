import { Redis } from 'ioredis';
import pg from 'pg';
import type { TestEngine } from './engine.js';
import { withDefaultUser } from '../../src/db/database.js';

/**
 * What a refused request must leave as it was: every account's tokens, the rows of the ledger and of
 * everything written beside it, every queue's jobs and the engine's other Redis keys. Compare two with
 * `toEqual`.
 */
export interface EngineState {
  accounts: Array<{ user_id: string; balance: number; held: number; period_used: number; period_allocated: number; plan_id: string }>;
  rows: Record<string, number>;
  queues: Record<string, Record<string, number>>;
  redisKeys: number;
}

const tables = ['accounts', 'grants', 'holds', 'ledger_entries', 'usage_events', 'audit_log', 'notifications', 'pricing_rules', 'campaigns', 'plans', 'feature_prices'];

export async function engineState(engine: Pick<TestEngine, 'databaseUrl' | 'prefix' | 'running'>): Promise<EngineState> {
  const client = new pg.Client({ connectionString: withDefaultUser(engine.databaseUrl) });
  await client.connect();
  const redis = new Redis(engine.running.engine.config.redisUrl);
  try {
    const accounts = (await client.query('select user_id, balance, held, period_used, period_allocated, plan_id from accounts order by user_id')).rows;
    const counts = await client.query(tables.map((t) => `select '${t}' as t, count(*)::int as n from ${t}`).join(' union all '));
    const queues: EngineState['queues'] = {};
    for (const [name, queue] of Object.entries(engine.running.engine.queues)) queues[name] = await queue.getJobCounts();
    let redisKeys = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${engine.prefix}:*`, 'COUNT', 10_000);
      cursor = next;
      // The test clock, the schedule locks and the usage mover's lease move on their own; everything else is the engine's data.
      redisKeys += keys.filter((k) => !k.endsWith(':test-clock') && !k.includes(':schedule:') && !k.includes(':usage-backlog') && !k.includes(':usage-mover')).length;
    } while (cursor !== '0');
    return { accounts, rows: Object.fromEntries(counts.rows.map((r) => [r.t, r.n])), queues, redisKeys };
  } finally {
    await client.end();
    redis.disconnect();
  }
}
