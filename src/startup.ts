import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createRedis, isCluster, type RedisClient } from './redis.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { ensureDatabase } from './db/ensure-database.js';
import { createDb, withDefaultUser } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { seedCatalog } from './catalog/seed.js';

export class StartupError extends Error {}

function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

/** Fails at once, naming the service, its address and how to start it, instead of retrying forever. */
export async function checkPostgres(config: Config): Promise<void> {
  try {
    await ensureDatabase(config.databaseUrl);
    const client = new pg.Client({ connectionString: withDefaultUser(config.databaseUrl), connectionTimeoutMillis: 5000 });
    await client.connect();
    await client.end();
  } catch (error) {
    const reason = [(error as { code?: string }).code, (error as Error).message].filter(Boolean).join(': ');
    throw new StartupError(
      `PostgreSQL is not reachable at ${where(config.databaseUrl)} (${reason}).\n` +
        `  Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n` +
        `  or point DATABASE_URL at a running server.`,
    );
  }
}

export async function checkRedis(config: Config, log: Logger): Promise<void> {
  const redis = createRedis(config, 'failFast', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  redis.on('error', () => {});
  const nodes = config.redisClusterNodes?.map((n) => `${n.host}:${n.port}`).join(', ');
  try {
    await redis.connect();
    await redis.ping();
    if (isCluster(redis)) await requireClusterOk(redis);
    await warnAboutRedisSettings(redis, log);
  } catch (error) {
    throw new StartupError(
      nodes
        ? `The Redis Cluster is not usable at ${nodes} (${(error as Error).message}).\n` +
            `  Check that its nodes run with cluster-enabled yes and that CLUSTER INFO says cluster_state:ok,\n` +
            `  or point REDIS_CLUSTER_NODES at nodes of a running cluster.`
        : `Redis is not reachable at ${where(config.redisUrl)} (${(error as Error).message}).\n` +
            `  Start it (redis-server --daemonize yes --port 6379 --appendonly yes --maxmemory-policy noeviction)\n` +
            `  or point REDIS_URL at a running server.`,
    );
  } finally {
    redis.disconnect();
  }
}

/** A cluster that lacks slots or a master for some of them answers CLUSTERDOWN to their keys. */
async function requireClusterOk(redis: RedisClient): Promise<void> {
  const info = String(await redis.cluster('INFO'));
  const state = /cluster_state:(\w+)/.exec(info)?.[1];
  if (state !== 'ok') throw new Error(`cluster_state is ${state ?? 'unknown'}`);
}

/** Queued jobs live in Redis until applied: evicting or forgetting them on restart would lose usage. */
async function warnAboutRedisSettings(redis: RedisClient, log: Logger): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    const [, aof] = (await redis.config('GET', 'appendonly')) as [string, string];
    if (policy !== 'noeviction') log.warn({ policy }, 'Redis maxmemory-policy should be noeviction, or queued jobs can be evicted');
    if (aof !== 'yes') log.warn('Redis appendonly is off: queued usage not yet applied is lost if Redis restarts');
  } catch {
    // A managed Redis may refuse CONFIG GET; its settings are the operator's to check.
  }
}

export async function migrateAndSeed(config: Config, log: Logger): Promise<void> {
  const db = createDb(config.databaseUrl, 2);
  try {
    const applied = await migrateToLatest(db);
    if (applied.length) log.info({ migrations: applied }, 'database migrated');
    const seeded = await seedCatalog(db);
    if (seeded.plans || seeded.features) log.info(seeded, 'default catalog seeded');
  } finally {
    await db.destroy();
  }
}

/**
 * Outside production, a first start without keys makes a pair of dev keys, keeps them in a file so
 * the next start uses the same, and prints the ones it made (never a configured key); production
 * refuses to start without keys.
 */
export function ensureKeys(config: Config, log: Logger): Config {
  if (config.apiKeys.length > 0 && config.adminKeys.length > 0) return config;
  if (config.production) {
    throw new StartupError('TOKENS_API_KEYS and TOKENS_ADMIN_KEYS must be set in production (NODE_ENV=production).');
  }
  let keys: { api: string; admin: string };
  if (existsSync(config.devKeysFile)) {
    keys = JSON.parse(readFileSync(config.devKeysFile, 'utf8')) as typeof keys;
  } else {
    keys = { api: `dev_api_${randomBytes(12).toString('hex')}`, admin: `dev_admin_${randomBytes(12).toString('hex')}` };
    writeFileSync(config.devKeysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  }
  const generated = {
    ...(config.apiKeys.length ? {} : { apiKey: keys.api }),
    ...(config.adminKeys.length ? {} : { adminKey: keys.admin }),
  };
  log.warn(
    { ...generated, file: config.devKeysFile },
    'no keys configured: using development keys (set TOKENS_API_KEYS and TOKENS_ADMIN_KEYS to choose your own)',
  );
  return {
    ...config,
    apiKeys: config.apiKeys.length ? config.apiKeys : [keys.api],
    adminKeys: config.adminKeys.length ? config.adminKeys : [keys.admin],
  };
}
