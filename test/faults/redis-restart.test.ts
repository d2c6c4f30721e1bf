import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { expectAppliedExactlyOnce, faultTimeouts, openDb, request, settledCount, startEngineProcess, usageEvents, UsageRecord, waitUntilSettled } from './settlement.js';

describe('Redis killed with usage still queued, and restarted from its append-only file', faultTimeouts, () => {
  const iso = isolation();
  const users = ['liz-0', 'liz-1', 'liz-2', 'liz-3'];
  const processes: EngineProcess[] = [];
  const record = new UsageRecord();
  const start: Record<string, number> = {};
  let redis: PrivateRedis;
  let env: Record<string, string>;
  let base = '';
  let db: pg.Client;

  beforeAll(async () => {
    // appendonly yes, appendfsync always, maxmemory-policy noeviction: what the README asks for.
    redis = await startPrivateRedis();
    env = { ...iso.env, REDIS_URL: redis.url, TOKENS_TEST_CLOCK: 'off', TOKENS_WORKER_LOCK_MS: '2000' };
    const api = await startEngineProcess({ ...env, TOKENS_ROLES: 'api' });
    processes.push(api);
    base = `http://127.0.0.1:${api.port}`;
    db = await openDb(iso.databaseUrl);
    for (const userId of users) {
      expect((await request(base, 'POST', '/v1/accounts', { userId, plan: 'enterprise_pro' })).status).toBe(201);
      start[userId] = (await request(base, 'GET', `/v1/accounts/${userId}`)).body.balance;
    }
  });
  afterAll(async () => {
    await db?.end();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await redis?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('every event answered 202 is applied exactly once; those refused while Redis was down never are', async () => {
    const api = processes[0]!;
    // A first stream is applied while a worker runs; that worker is then stopped, so the second waits in Redis.
    const worker = await startEngineProcess({ ...env, TOKENS_ROLES: 'workers' });
    processes.push(worker);
    const applied = usageEvents('a', 400, users);
    for (let i = 0; i < applied.length; i += 100) await record.send(base, applied.slice(i, i + 100));
    await waitUntilSettled(db, applied.map((e) => e.idempotencyKey));
    expect(await worker.stop('SIGTERM')).toBe(0);

    const waiting = usageEvents('q', 1200, users);
    for (let i = 0; i < waiting.length; i += 300) await record.send(base, waiting.slice(i, i + 300));
    expect(record.refused).toEqual([]);
    expect(await settledCount(db, waiting.map((e) => e.idempotencyKey))).toBe(0);
    expect((await request(base, 'GET', '/v1/usage/q-0')).body.status).toBe('queued');

    await redis.kill();

    // While Redis is down: usage is refused with a 503 naming redis, at once, and nothing is kept of it.
    const refusedFrom = record.refused.length;
    await record.send(base, [{ userId: 'liz-0', feature: 'resume_upload', idempotencyKey: 'down-single' }]);
    await record.send(base, usageEvents('down-batch', 20, users));
    expect(record.refused.length - refusedFrom).toBe(2);
    record.expectRefusalsNamed('redis');
    const health = await request(base, 'GET', '/health', undefined, 5_000, null);
    expect(health).toMatchObject({ status: 503, body: { postgres: 'ok', redis: 'down' } });
    const status = await request(base, 'GET', '/v1/usage/q-0');
    expect(status).toMatchObject({ status: 503, body: { error: { code: 'dependency_unavailable', details: { dependency: 'redis' } } } });

    // Restarted from the same directory: the queued jobs and the accepted keys come back from the AOF.
    await redis.start();
    await waitFor(async () => (await request(base, 'GET', '/health', undefined, 5_000, null)).status === 200, 'the API to see Redis again');
    expect(api.child.exitCode).toBeNull(); // the same API process, never restarted
    expect((await request(base, 'GET', '/v1/usage/q-0')).body.status).toBe('queued');
    for (const key of record.refusedKeys()) {
      expect((await request(base, 'GET', `/v1/usage/${key}`)).status, key).toBe(404);
    }

    processes.push(await startEngineProcess({ ...env, TOKENS_ROLES: 'workers' }));
    const after = usageEvents('after', 200, users);
    for (let i = 0; i < after.length; i += 100) expect((await record.send(base, after.slice(i, i + 100))).status).toBe(202);
    await waitUntilSettled(db, record.accepted.map((e) => e.idempotencyKey));
    await expectAppliedExactlyOnce(db, record, start);
    for (const key of record.refusedKeys()) {
      expect((await request(base, 'GET', `/v1/usage/${key}`)).status, key).toBe(404);
    }
    // With the settings it needs, the engine said nothing about them at start-up.
    expect(api.output.join('\n')).not.toMatch(/maxmemory-policy should be|appendonly is off/);
  });
});
