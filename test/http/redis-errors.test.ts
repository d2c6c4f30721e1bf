import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyUnavailable } from '../../src/errors.js';
import { asDependencyError } from '../../src/http/errors.js';
import { redisSettled } from '../../src/redis.js';
import { REDIS } from '../support/engine.js';

describe('a Redis connection whose socket has just closed', () => {
  let redis: Redis | undefined;
  afterEach(() => redis?.disconnect());

  it('fails the next command as Redis unavailable (a 503), not as an unknown error (a 500)', async () => {
    // The engine's own settings for its command connection: no offline queue, so a command on a lost
    // socket fails at once instead of waiting for the reconnect.
    redis = new Redis(REDIS, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    const client = redis;

    client.stream.destroy();
    const failure = await client.pipeline().set('tokens-test:socket-gone', '1').exec().then(
      (results) => results?.[0]?.[0],
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(Error);
    expect(asDependencyError(failure, { redisReady: () => redisSettled(client) })).toBeInstanceOf(DependencyUnavailable);
  });
});

describe('a Redis Cluster reply that a slot moved under the request', () => {
  let redis: Redis | undefined;
  afterEach(() => redis?.disconnect());

  // Mid-failover, ioredis hands MOVED and ASK back when one automatic pipeline got different redirections
  // (test/faults/redis-cluster-failover.test.ts saw it); Redis's own reply, raised here by a script.
  it.each(['MOVED 801 127.0.0.1:7001', 'ASK 3875 127.0.0.1:7002'])('%s is Redis unavailable (a 503), not an unknown error (a 500)', async (reply) => {
    redis = new Redis(REDIS, { lazyConnect: true });
    await redis.connect();
    const failure = await redis.eval('return redis.error_reply(ARGV[1])', 0, reply).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect((failure as Error).message).toBe(reply);
    expect(asDependencyError(failure, { redisReady: () => true })).toBeInstanceOf(DependencyUnavailable);
  });
});
