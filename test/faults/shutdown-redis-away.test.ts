import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, isolation } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { faultTimeouts, openDb, request, startEngineProcess, waitUntilSettled } from './settlement.js';

describe('SIGTERM while Redis is away', faultTimeouts, () => {
  const iso = isolation();
  let redis: PrivateRedis | undefined;
  let engine: EngineProcess | undefined;

  afterAll(async () => {
    await engine?.stop('SIGKILL');
    await redis?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('the process still exits, after dropping the connections its workers could not close', async () => {
    redis = await startPrivateRedis();
    engine = await startEngineProcess({ ...iso.env, REDIS_URL: redis.url, TOKENS_TEST_CLOCK: 'off', TOKENS_SHUTDOWN_TIMEOUT_MS: '1000' });
    const base = `http://127.0.0.1:${engine.port}`;
    expect((await request(base, 'POST', '/v1/accounts', { userId: 'sam', plan: 'free_starter' })).status).toBe(201);
    expect((await request(base, 'POST', '/v1/usage', { userId: 'sam', feature: 'resume_upload', idempotencyKey: 'sam-1' })).status).toBe(202);
    const db = await openDb(iso.databaseUrl);
    await waitUntilSettled(db, ['sam-1']);
    await db.end();

    await redis.kill();
    // BullMQ's Worker.close waits for a Redis that is not there (taskforcesh/bullmq#4656); an orchestrator's
    // SIGTERM must still end the process, or it waits for its own SIGKILL.
    expect(await engine.stop('SIGTERM')).toBe(0);
    expect(engine.output.join('\n')).toContain('workers did not stop in time');
  });
});
