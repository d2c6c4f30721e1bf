import { Redis, type RedisOptions } from 'ioredis';

/**
 * `failFast` connections answer "unavailable" at once while Redis is down, so an HTTP request gets a
 * 503 instead of hanging; worker connections instead wait and reconnect forever (BullMQ's advice).
 */
export function createRedis(url: string, mode: 'failFast' | 'blocking', extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  };
  if (mode === 'failFast') {
    return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  }
  return new Redis(url, { ...common, maxRetriesPerRequest: null });
}

/** ioredis options for a redis:// or rediss:// URL, for BullMQ to open its own connections with. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
