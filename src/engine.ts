import { once } from 'node:events';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createDb, type Db } from './db/database.js';
import { readReplicaLag, type ReplicaLag } from './db/replica-lag.js';
import { createRedis, redisOptionsFromUrl, type RedisClient } from './redis.js';
import { ReplicatedWrites } from './redis-replication.js';
import { createQueues, closeQueues, type Queues } from './queues.js';
import { SharedTestClock, systemClock, type Clock } from './clock.js';
import { FeatureDirectory } from './catalog/features.js';
import { UsageStage } from './usage/usage-stage.js';
import { StageMover } from './usage/stage-mover.js';
import { IntakeLookup } from './usage/intake-lookup.js';
import { UsageIntake } from './usage/intake.js';
import { UsageBacklog } from './usage/backlog.js';
import { createMetrics, type EngineMetrics } from './metrics.js';
import { PricingCache } from './pricing/pricing-cache.js';
import { AccountGate } from './ledger/account-gate.js';
import { CheckReads } from './usage/check-reads.js';
import type { CheckDeps } from './usage/check.js';
import type { Ledger } from './ledger/run-ledger.js';
import { warningObserver } from './notify/warning-observer.js';
import type { ConnectionOptions } from 'bullmq';
import { closeWithin } from './shutdown-deadline.js';
import { Cluster } from 'ioredis';

/** Everything a role needs, built once from the configuration and passed down (no singletons). */
export interface Engine {
  config: Config;
  log: Logger;
  db: Db;
  /** The way into the ledger (src/ledger/run-ledger.ts): the database, and warnings observing every flush. */
  ledger: Ledger;
  /**
   * For the reads that tolerate lag and may be heavy: analytics, the dashboard's history, the admin
   * page's reports, reconcile's checks. The replica (DATABASE_READ_URL) when one is configured, else a
   * small pool of its own on the primary: either way they never take the connections /v1/check needs.
   * Nothing that gates spending or writes reads here (docs/operations.md, "A read replica").
   */
  readDb: Db;
  /** How far the replica is behind, for /metrics; null without DATABASE_READ_URL. */
  replicaLag: (() => Promise<ReplicaLag>) | null;
  replicaProbeDb: Db | null;
  /** A connection of /health's own, so that a busy pool never makes PostgreSQL look down. */
  healthDb: Db;
  /** One locking transaction per account at a time in this process (src/ledger/account-gate.ts). */
  accountGate: AccountGate;
  /** Fails fast while Redis is down: for request paths and producers. A Cluster with REDIS_CLUSTER_NODES. */
  redis: RedisClient;
  /** For BullMQ workers, which open their own reconnecting connections (on a cluster, duplicates of one). */
  workerConnection: ConnectionOptions;
  /** WAITs for replicas before the engine answers for a queued write (TOKENS_REDIS_WAIT_REPLICAS). */
  replication: ReplicatedWrites;
  queues: Queues;
  clock: Clock;
  testClock: SharedTestClock | null;
  features: FeatureDirectory;
  stage: UsageStage;
  /** Turns staged usage events into jobs; started by the workers role (workers/index.ts). */
  stageMover: StageMover;
  intake: UsageIntake;
  /** Usage events waiting to be applied, for back-pressure (refreshed in the background where the api role runs). */
  backlog: UsageBacklog;
  metrics: EngineMetrics;
  /** What /v1/check reads through (usage/check.ts): the catalog's prices and rules, reloaded when pricing_state.version moves, and the accounts' read batches. */
  checks: CheckDeps;
}

export async function createEngine(config: Config, log: Logger): Promise<Engine> {
  const db = createDb(config.databaseUrl, {
    max: config.roles.includes('workers') ? 20 : 10,
    lockTimeoutMs: config.pgLockTimeoutMs,
    statementTimeoutMs: config.pgStatementTimeoutMs,
  });
  const healthDb = createDb(config.databaseUrl, { max: 1, connectionTimeoutMs: 2000, statementTimeoutMs: 2000 });
  const readDb = createDb(config.databaseReadUrl ?? config.databaseUrl, {
    max: config.databaseReadPoolSize,
    lockTimeoutMs: config.pgLockTimeoutMs,
    statementTimeoutMs: config.pgStatementTimeoutMs,
    applicationName: config.databaseReadUrl ? 'tokens-replica-reads' : 'tokens-reads',
    // pg-pool's connect timeout is also how long a query waits for a free connection: an analytics
    // request's ten queries queue on a small pool, and waiting must not read as "PostgreSQL is down".
    connectionTimeoutMs: Math.max(5000, config.pgStatementTimeoutMs),
  });
  // A connection of the probe's own on the replica, so a read pool busy with analytics never hides the lag.
  const replicaProbeDb = config.databaseReadUrl ? createDb(config.databaseReadUrl, { max: 1, connectionTimeoutMs: 2000, statementTimeoutMs: 2000 }) : null;
  const replicaLag = replicaProbeDb ? () => readReplicaLag(healthDb, replicaProbeDb) : null;
  const redis = createRedis(config, 'failFast', { connectionName: 'tokens-api' });
  redis.on('error', (error: Error) => log.warn({ err: error.message }, 'redis connection error'));
  // A fail-fast connection refuses commands until it is ready; BullMQ's queues check the server at once.
  await once(redis, 'ready');
  const queues = createQueues(redis, config.queuePrefix);
  const testClock = config.testClock ? new SharedTestClock(redis, `${config.keyPrefix}:test-clock`) : null;
  const clock = testClock ?? systemClock;
  const features = new FeatureDirectory(db);
  const backlog = new UsageBacklog(redis, queues.usage, { prefix: config.queuePrefix, limit: config.usageMaxBacklog });
  if (config.roles.includes('api')) backlog.start();
  const replication = new ReplicatedWrites(redis, {
    replicas: config.redisWaitReplicas,
    timeoutMs: config.redisWaitTimeoutMs,
    slotKey: `${config.queuePrefix}:usage:id`,
  });
  const stage = new UsageStage(redis, config.queuePrefix);
  const stageMover = new StageMover(
    redis,
    queues.usage,
    stage.keys,
    { shards: config.usageShards, maxEvents: config.batchMaxEvents, maxWaitMs: config.batchMaxWaitMs },
    log,
  );
  const pricingCache = new PricingCache();
  const accountGate = new AccountGate(config.busyAccountWaitMs);
  const intake = new UsageIntake({
    redis,
    lookup: new IntakeLookup(db),
    stage,
    replication,
    features,
    clock,
    backlog,
    keyPrefix: config.keyPrefix,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    maxAgeDays: config.usageMaxAgeDays,
  });
  return {
    config,
    log,
    db,
    ledger: { db, observers: [warningObserver(queues.notification, config.notify, log)] },
    readDb,
    replicaLag,
    replicaProbeDb,
    healthDb,
    accountGate,
    redis,
    workerConnection: config.redisClusterNodes
      ? // BullMQ duplicates it for each worker's blocking connection; connected when a worker first needs it.
        createRedis(config, 'blocking', { connectionName: 'tokens-workers', lazyConnect: true })
      : ({ ...redisOptionsFromUrl(config.redisUrl), maxRetriesPerRequest: null } as ConnectionOptions),
    replication,
    queues,
    clock,
    testClock,
    features,
    stage,
    stageMover,
    intake,
    backlog,
    metrics: createMetrics(queues, { backlog: config.roles.includes('api') ? backlog : undefined, replicaLag: replicaLag ?? undefined, log }),
    checks: { pricing: pricingCache, reads: new CheckReads(db) },
  };
}

/** Lets what was accepted reach Redis, then closes every connection. */
export async function closeEngine(engine: Engine): Promise<void> {
  engine.backlog.stop();
  await closeWithin(engine.stageMover.stop(), engine.config.shutdownTimeoutMs, () => {});
  const queuesClosed = await closeWithin(closeQueues(engine.queues), engine.config.shutdownTimeoutMs, () => {});
  if (!queuesClosed) engine.log.warn('queue connections did not close in time; dropping them');
  engine.redis.disconnect();
  // A cluster client the workers shared is the engine's to close (BullMQ closes only its duplicates).
  if (engine.workerConnection instanceof Cluster) engine.workerConnection.disconnect();
  await engine.db.destroy();
  await engine.healthDb.destroy();
  await engine.readDb.destroy();
  await engine.replicaProbeDb?.destroy();
}
