import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isolation } from '../support/engine.js';
import { UsageStage } from '../../src/usage/usage-stage.js';
import type { QueuedUsageEvent } from '../../src/usage/usage-event.js';

const event = (key: string): QueuedUsageEvent => ({ userId: 'kim', feature: 'profile_basic', idempotencyKey: key, occurredAt: '2026-12-02T10:00:00.000Z', payloadHash: `h-${key}` });

describe('a batch claimed and staged by one script', () => {
  const iso = isolation();
  const redis = new Redis(iso.redisUrl);
  const stage = new UsageStage(redis, iso.prefix);
  const key = (k: string) => `${iso.prefix}:usage-key:${k}`;
  afterAll(async () => {
    const keys = await redis.keys(`${iso.prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('claims every key, stages every event in order and counts them when all keys are new', async () => {
    const claims = Array.from({ length: 1000 }, (_, i) => ({ key: key(`new-${i}`), record: `r${i}`, event: event(`new-${i}`) }));
    expect(await stage.claimAndStageAll(claims, 60)).toBe(true);
    const staged = await redis.lrange(stage.keys.staged, 0, -1);
    expect(staged.map((s) => (JSON.parse(s) as QueuedUsageEvent).idempotencyKey)).toEqual(claims.map((c) => c.event.idempotencyKey));
    expect(await redis.get(stage.keys.backlog)).toBe('1000');
    expect(await redis.get(key('new-999'))).toBe('r999');
    expect(await redis.ttl(key('new-0'))).toBeGreaterThan(50);
  });

  it('writes nothing at all when one key has a record already, so the caller can judge that key', async () => {
    await redis.set(key('taken'), 'theirs');
    const before = await redis.llen(stage.keys.staged);
    const claims = ['free-a', 'taken', 'free-b'].map((k) => ({ key: key(k), record: `ours-${k}`, event: event(k) }));
    expect(await stage.claimAndStageAll(claims, 60)).toBe(false);
    expect(await redis.llen(stage.keys.staged)).toBe(before);
    expect(await redis.get(stage.keys.backlog)).toBe('1000');
    expect(await redis.exists(key('free-a'), key('free-b'))).toBe(0);
    expect(await redis.get(key('taken'))).toBe('theirs');
  });

  it('shortens the lives of settled keys\' records, however many', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => key(`new-${i % 1000}`)).concat(key('never-claimed'));
    await stage.expire(keys, 5);
    expect(await redis.ttl(key('new-0'))).toBeLessThanOrEqual(5);
    expect(await redis.ttl(key('new-999'))).toBeLessThanOrEqual(5);
    expect(await redis.ttl(key('new-999'))).toBeGreaterThan(0);
    expect(await redis.exists(key('never-claimed'))).toBe(0);
  });
});
