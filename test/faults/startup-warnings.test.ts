import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, isolation } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { faultTimeouts, startEngineProcess } from './settlement.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';

describe('start-up against a Redis that could lose queued usage', faultTimeouts, () => {
  const iso = isolation();
  let redis: PrivateRedis | undefined;
  let engine: EngineProcess | undefined;
  afterAll(async () => {
    await engine?.stop('SIGKILL');
    await redis?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('warns when appendonly is off and when maxmemory-policy evicts, and starts anyway', async () => {
    redis = await startPrivateRedis(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    engine = await startEngineProcess({ ...iso.env, REDIS_URL: redis.url, TOKENS_ROLES: 'api' });
    const warnings = engine.output
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as { level: number; msg: string; policy?: string }];
        } catch {
          return [];
        }
      })
      .filter((entry) => entry.level === 40 && entry.msg.startsWith('Redis '));
    expect(warnings).toEqual([
      expect.objectContaining({ policy: 'allkeys-lru', msg: 'Redis maxmemory-policy should be noeviction, or queued jobs can be evicted' }),
      expect.objectContaining({ msg: 'Redis appendonly is off: queued usage not yet applied is lost if Redis restarts' }),
    ]);
    expect(engine.port).toBeGreaterThan(0);
  });
});
