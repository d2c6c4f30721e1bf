import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runEngine, type RunningEngine } from '../../src/run.js';
import { API_KEY, call, cleanup, isolation, waitFor } from '../support/engine.js';
import { engineState } from '../support/state.js';

const LIMIT = 20;

describe('back-pressure: past TOKENS_USAGE_MAX_BACKLOG waiting events, usage is refused with 429 and nothing of it is queued', () => {
  const iso = isolation();
  let api: RunningEngine;
  let workers: RunningEngine | undefined;
  let baseUrl = '';
  const post = (path: string, body: unknown) => call<any>(baseUrl, API_KEY, 'POST', path, body);
  const get = (path: string) => call<any>(baseUrl, API_KEY, 'GET', path);
  const use = (idempotencyKey: string) => ({ userId: 'flood', feature: 'profile_basic', idempotencyKey });
  const waiting = async () => Number(/^tokens_usage_backlog_events (\d+)$/m.exec((await get('/metrics')).body)?.[1]);
  const state = () => engineState({ databaseUrl: iso.databaseUrl, prefix: iso.prefix, running: api });

  beforeAll(async () => {
    // No worker runs at first: the backlog only grows, as behind a paused or overwhelmed worker fleet.
    api = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'api', TOKENS_USAGE_MAX_BACKLOG: String(LIMIT) }), createLogger('error'));
    baseUrl = `http://127.0.0.1:${api.port}`;
    expect((await post('/v1/accounts', { userId: 'flood', plan: 'enterprise_pro' })).status).toBe(201);
  });
  afterAll(async () => {
    await workers?.stop();
    await api.stop();
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('refuses single events and batches alike once the backlog is over the limit, and queues nothing of them', async () => {
    const accepted = Array.from({ length: LIMIT + 5 }, (_, i) => `early-${i}`);
    // One request, admitted while the backlog was under the limit, takes it past: nothing refused yet.
    expect((await post('/v1/usage/batch', { events: accepted.map(use) })).status).toBe(202);
    await waitFor(async () => (await waiting()) === accepted.length, 'the backlog figure to count every accepted event');

    const before = await state();
    const refused = await fetch(`${baseUrl}/v1/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(use('late-1')),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as any).error).toMatchObject({ code: 'backlogged', details: { waiting: accepted.length, limit: LIMIT } });
    const batch = await post('/v1/usage/batch', { events: [use('late-2'), use('late-3')] });
    expect([batch.status, batch.body.error.code]).toEqual([429, 'backlogged']);
    // A replay of an accepted event is refused as well: it would queue the event again.
    expect((await post('/v1/usage', use('early-0'))).status).toBe(429);

    expect(await state()).toEqual(before);
    for (const key of ['late-1', 'late-2', 'late-3']) expect((await get(`/v1/usage/${key}`)).status).toBe(404);
    // Checks and reads go on: back-pressure is on intake only.
    expect((await post('/v1/check', { userId: 'flood', feature: 'profile_basic' })).body).toMatchObject({ allowed: true });
  });

  it('the events accepted before are applied once workers catch up, and intake reopens', async () => {
    workers = await runEngine(loadConfig({ ...iso.env, TOKENS_ROLES: 'workers' }), createLogger('error'));
    const statuses = await waitFor(async () => {
      const all = await Promise.all(Array.from({ length: LIMIT + 5 }, (_, i) => get(`/v1/usage/early-${i}`)));
      return all.every((r) => r.body.status === 'applied') ? all : undefined;
    }, 'every accepted event to be applied');
    expect(statuses).toHaveLength(LIMIT + 5);
    expect((await get('/v1/accounts/flood')).body).toMatchObject({ usedThisPeriod: LIMIT + 5 });
    await waitFor(async () => (await waiting()) === 0, 'the backlog figure to fall to zero');
    expect((await post('/v1/usage', use('after-1'))).status).toBe(202);
  });

  it('a completed usage job keeps no payload in Redis, and a settled key is forgotten within minutes', async () => {
    await waitFor(async () => (await get('/v1/usage/after-1')).body.status === 'applied', 'the last event to be applied');
    const queue = api.engine.queues.usage;
    expect(await queue.getJobCounts('completed', 'waiting', 'active', 'failed')).toEqual({ completed: 0, waiting: 0, active: 0, failed: 0 });
    const redis = new Redis(iso.redisUrl);
    try {
      const jobHashes: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${iso.prefix}:usage:*`, 'COUNT', 1000);
        cursor = next;
        jobHashes.push(...keys.filter((k) => /:usage:\d+$/.test(k)));
      } while (cursor !== '0');
      expect(jobHashes).toEqual([]);
      // The key's record outlives its settling by minutes, not TOKENS_IDEMPOTENCY_TTL_HOURS.
      const ttl = await waitFor(async () => {
        const seconds = await redis.ttl(`${iso.prefix}:usage-key:after-1`);
        return seconds > 0 && seconds <= 300 ? seconds : undefined;
      }, 'the settled key to be kept for minutes only');
      expect(ttl).toBeLessThanOrEqual(300);
    } finally {
      redis.disconnect();
    }
  });
});
