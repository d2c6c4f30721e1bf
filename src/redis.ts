import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A single Redis or a Redis Cluster: every Redis use of the engine takes either. */
export type RedisClient = Redis | Cluster;

/** Where the engine's Redis keys live (from the configuration: REDIS_URL, or REDIS_CLUSTER_NODES). */
export interface RedisTarget {
  redisUrl: string;
  redisClusterNodes?: Array<{ host: string; port: number }> | undefined;
}

/** How long after a node of the cluster failed its unexplained errors still count as Redis being away. */
const UNSETTLED_MS = 5_000;
const unsettledUntil = new WeakMap<Cluster, number>();

/**
 * The one factory of Redis connections. `failFast` connections answer "unavailable" at once while Redis
 * is down, so an HTTP request gets a 503 instead of hanging; `blocking` ones (workers, XREAD) wait and
 * reconnect forever (BullMQ's advice). On a cluster ioredis follows MOVED/ASK and refreshes the slots
 * after a failover; a command to a master that just died is retried every 100 ms (16 times) and then
 * fails, so a request sees the new master or a 503 within about two seconds.
 */
export function createRedis(target: RedisTarget, mode: 'failFast' | 'blocking', extra: RedisOptions = {}): RedisClient {
  if (target.redisClusterNodes) return createCluster(target, mode, extra);
  const common: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  };
  if (mode === 'failFast') {
    return new Redis(target.redisUrl, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  }
  return new Redis(target.redisUrl, { ...common, maxRetriesPerRequest: null });
}

function createCluster(target: RedisTarget, mode: 'failFast' | 'blocking', extra: RedisOptions): Cluster {
  const { host: _host, port: _port, db: _db, ...credentials } = redisOptionsFromUrl(target.redisUrl);
  // The cluster reconnects as a whole (its nodes do not: it follows the slots to the new masters).
  const { lazyConnect, retryStrategy, ...nodeOptions } = extra;
  const options: ClusterOptions = {
    lazyConnect: lazyConnect ?? false,
    clusterRetryStrategy: retryStrategy ?? ((times) => Math.min(times * 200, 2000)),
    // A pipeline may only touch one node: commands on keys of many slots (one claim per event) are
    // sent one by one and ioredis groups them into one pipeline per node.
    enableAutoPipelining: mode === 'failFast',
    enableOfflineQueue: mode === 'blocking',
    redisOptions: { ...credentials, ...nodeOptions, maxRetriesPerRequest: mode === 'failFast' ? 1 : null },
  };
  const cluster = new Cluster(target.redisClusterNodes!, options);
  const trouble = () => unsettledUntil.set(cluster, Date.now() + UNSETTLED_MS);
  cluster.on('node error', trouble);
  cluster.on('-node', trouble);
  cluster.on('error', trouble);
  return cluster;
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * Whether the connection can be trusted to be up: a single Redis while it is connected, a cluster while
 * it is connected and none of its nodes failed in the last few seconds (during a failover ioredis fails
 * commands with plain errors, which are Redis' then, not the engine's: a 503, never a 500).
 */
export function redisSettled(redis: RedisClient): boolean {
  if (redis.status !== 'ready') return false;
  // A socket that has just closed fails commands ("Stream isn't writeable") before the status leaves 'ready'.
  if (!isCluster(redis)) return redis.stream?.writable !== false;
  return (unsettledUntil.get(redis) ?? 0) < Date.now();
}

export type Reply = [error: Error | null, result: unknown];

/**
 * Sends commands that each touch one key, all at once, and returns their replies in order (like
 * `pipeline.exec()`): one pipeline on a single Redis; on a cluster, whose pipelines may only touch one
 * node, one command each, which auto-pipelining sends as one pipeline per node.
 */
export async function eachKey<C>(redis: RedisClient, commands: Array<(client: C) => unknown>): Promise<Reply[]> {
  if (commands.length === 0) return [];
  if (isCluster(redis)) {
    return Promise.all(
      commands.map((command) =>
        Promise.resolve(command(redis as unknown as C)).then(
          (result): Reply => [null, result],
          (error: unknown): Reply => [error as Error, null],
        ),
      ),
    );
  }
  const pipeline = redis.pipeline();
  // Queued on the pipeline (typed as the client for custom commands); exec() returns the replies.
  for (const command of commands) void command(pipeline as unknown as C);
  return ((await pipeline.exec()) ?? []) as Reply[];
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
