import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, cleanup, isolation, waitFor } from '../support/engine.js';
import type { EngineProcess } from '../support/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { expectAppliedExactlyOnce, faultTimeouts, openDb, request, startEngineProcess, usageEvents, UsageRecord, waitUntilSettled, type Answer, type UsageEvent } from './settlement.js';

describe('the HTTP API while Redis is down, and after it is back', faultTimeouts, () => {
  const iso = isolation();
  let redis: PrivateRedis;
  let engine: EngineProcess;
  let base = '';
  let db: pg.Client;
  const service = (method: string, path: string, body?: unknown) => request(base, method, path, body, 5_000);
  const admin = (method: string, path: string, body?: unknown) => request(base, method, path, body, 5_000, ADMIN_KEY);
  const health = () => request(base, 'GET', '/health', undefined, 5_000, null);
  const openAccounts = async (users: string[]) => {
    const start: Record<string, number> = {};
    for (const userId of users) {
      expect((await service('POST', '/v1/accounts', { userId, plan: 'enterprise_pro' })).status).toBe(201);
      start[userId] = (await service('GET', `/v1/accounts/${userId}`)).body.balance;
    }
    return start;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    // One process with the API and the workers: both lose Redis together, and neither is restarted.
    engine = await startEngineProcess({ ...iso.env, REDIS_URL: redis.url, TOKENS_TEST_CLOCK: 'off', TOKENS_WORKER_LOCK_MS: '2000' });
    base = `http://127.0.0.1:${engine.port}`;
    db = await openDb(iso.databaseUrl);
  });
  afterAll(async () => {
    await db?.end();
    await engine?.stop('SIGKILL');
    await redis?.remove();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('answers 503 naming redis where it needs Redis, never a 500 or a hang, and recovers by itself', async () => {
    const users = ['max-0', 'max-1', 'max-2'];
    const start = await openAccounts(users);
    await openAccounts(['max-sweep']);
    const record = new UsageRecord();
    const before = usageEvents('before', 300, users);
    for (let i = 0; i < before.length; i += 100) await record.send(base, before.slice(i, i + 100));
    await waitUntilSettled(db, before.map((e) => e.idempotencyKey));

    // Killed between requests: each request below is refused whole (see README, "Failure behaviour").
    await redis.kill();

    await record.send(base, [{ userId: 'max-0', feature: 'resume_upload', idempotencyKey: 'down-1' }]);
    await record.send(base, usageEvents('down-batch', 30, users));
    expect(record.refused).toHaveLength(2);
    record.expectRefusalsNamed('redis');
    expect(await health()).toEqual({ status: 503, body: { postgres: 'ok', redis: 'down', down: ['redis'] } });

    // Every other route answers at once: from PostgreSQL alone where it can, else a 503 naming redis.
    const answers: Record<string, Answer> = {
      'GET /v1/usage/{settled}': await service('GET', '/v1/usage/before-0'),
      'GET /v1/usage/{not settled}': await service('GET', '/v1/usage/down-1'),
      'GET /metrics': await request(base, 'GET', '/metrics', undefined, 5_000, null),
      'POST /admin/api/jobs/renewals/run': await admin('POST', '/admin/api/jobs/renewals/run', {}),
      'GET /v1/accounts/{userId}': await service('GET', '/v1/accounts/max-sweep'),
      'POST /v1/accounts': await service('POST', '/v1/accounts', { userId: 'max-new' }),
      'GET ledger': await service('GET', '/v1/accounts/max-sweep/ledger?limit=5'),
      'GET dashboard': await service('GET', '/v1/accounts/max-sweep/dashboard'),
      'GET billing': await service('GET', '/v1/accounts/max-sweep/billing'),
      'POST /v1/check': await service('POST', '/v1/check', { userId: 'max-sweep', feature: 'resume_upload' }),
      'POST /v1/check reserve': await service('POST', '/v1/check', { userId: 'max-sweep', feature: 'resume_upload', reserve: true }),
      'GET /v1/features': await service('GET', '/v1/features'),
      'GET /v1/plans': await service('GET', '/v1/plans'),
      'GET analytics': await admin('GET', '/admin/api/analytics'),
      'GET alerts': await admin('GET', '/admin/api/alerts'),
      'GET notifications': await admin('GET', '/admin/api/notifications'),
      'POST grant': await admin('POST', '/admin/api/accounts/max-sweep/grants', { tokens: 7, reason: 'during the outage' }),
    };
    const summary = Object.fromEntries(Object.entries(answers).map(([route, a]) => [route, a.status === 503 ? a.body.error?.details?.dependency : a.status]));
    expect(summary).toEqual({
      'GET /v1/usage/{settled}': 200, // settled events are read from the ledger
      'GET /v1/usage/{not settled}': 'redis', // it could be waiting in the queue: only Redis can say
      'GET /metrics': 'redis', // queue depths
      'POST /admin/api/jobs/renewals/run': 'redis', // nothing to enqueue into
      'GET /v1/accounts/{userId}': 200,
      'POST /v1/accounts': 201,
      'GET ledger': 200,
      'GET dashboard': 200,
      'GET billing': 200,
      'POST /v1/check': 200,
      'POST /v1/check reserve': 200,
      'GET /v1/features': 200,
      'GET /v1/plans': 200,
      'GET analytics': 200,
      'GET alerts': 200,
      'GET notifications': 200,
      'POST grant': 201,
    });
    for (const a of Object.values(answers).filter((x) => x.status === 503)) expect(a.body.error.code).toBe('dependency_unavailable');

    // Back, from its append-only file: the same process sees it again, takes usage and applies it.
    await redis.start();
    await waitFor(async () => (await health()).status === 200, 'the engine to reconnect to Redis');
    expect(engine.child.exitCode).toBeNull();
    expect((await service('GET', '/v1/usage/down-1')).status).toBe(404); // refused: nothing was kept
    const after = usageEvents('after', 300, users);
    for (let i = 0; i < after.length; i += 100) expect((await record.send(base, after.slice(i, i + 100))).status).toBe(202);
    await waitUntilSettled(db, record.accepted.map((e) => e.idempotencyKey));
    await expectAppliedExactlyOnce(db, record, start);
    expect((await request(base, 'GET', '/metrics', undefined, 5_000, null)).status).toBe(200);
  });

  it('a client that sends again what was refused gets each event applied once, even those in flight when Redis died', async () => {
    const users = ['ned-0', 'ned-1', 'ned-2', 'ned-3'];
    const start = await openAccounts(users);
    const events = usageEvents('ned', 1600, users);
    const pending: UsageEvent[][] = [];
    for (let i = 0; i < events.length; i += 20) pending.push(events.slice(i, i + 20));
    const answered: number[] = [];
    const first = new UsageRecord();

    // Four clients stream batches; Redis is killed while they do, and comes back a second later.
    let next = 0;
    const client = async () => {
      while (next < pending.length) answered.push((await first.send(base, pending[next++]!)).status);
    };
    const outage = (async () => {
      await waitFor(async () => answered.length >= 10, 'the stream to be under way');
      await redis.kill();
      await waitFor(async () => answered.filter((s) => s === 503).length >= 5, 'requests refused during the outage');
      await redis.start();
    })();
    await Promise.all([client(), client(), client(), client(), outage]);
    expect(new Set(answered)).toEqual(new Set([202, 503])); // no 500, no hang, no other refusal
    first.expectRefusalsNamed('redis');

    // What the engine refused is sent again, with the same keys, once it is back.
    await waitFor(async () => (await health()).status === 200, 'the engine to reconnect to Redis');
    const record = new UsageRecord();
    record.accepted.push(...first.accepted);
    for (const { events: refused } of first.refused) expect((await record.send(base, refused)).status).toBe(202);
    expect(record.accepted).toHaveLength(events.length);
    await waitUntilSettled(db, events.map((e) => e.idempotencyKey));
    await expectAppliedExactlyOnce(db, record, start);
  });

  it('a full Redis (noeviction at maxmemory) refuses usage with a 503 naming redis, and takes it again once there is room', async () => {
    const users = ['oli-0', 'oli-1'];
    const start = await openAccounts(users);
    const record = new UsageRecord();
    const own = new Redis(redis.url);
    try {
      // Below what it already holds: every write that could add memory is refused (OOM), as when full.
      const used = Number(/used_memory:(\d+)/.exec(await own.info('memory'))![1]);
      await own.config('SET', 'maxmemory', String(Math.floor(used / 2)));
      await expect(own.set('probe', 'x')).rejects.toThrow(/^OOM /);

      await record.send(base, [{ userId: 'oli-0', feature: 'resume_upload', idempotencyKey: 'full-1' }]);
      await record.send(base, usageEvents('full-batch', 10, users));
      expect(record.refused).toHaveLength(2);
      record.expectRefusalsNamed('redis');

      await own.config('SET', 'maxmemory', '0');
      const after = usageEvents('roomy', 50, users);
      expect((await record.send(base, after)).status).toBe(202);
      await waitUntilSettled(db, after.map((e) => e.idempotencyKey));
      await expectAppliedExactlyOnce(db, record, start);
    } finally {
      await own.config('SET', 'maxmemory', '0').catch(() => undefined);
      own.disconnect();
    }
  });
});
