import { z } from 'zod';
import { notifyEnvShape, toNotifyConfig, webhookSecretSchema, type NotifyConfig } from './notify-config.js';

const csv = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean));

const roles = z
  .string()
  .default('api,workers,scheduler')
  .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.enum(['api', 'workers', 'scheduler'])).min(1, 'name at least one role'));

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `host:port,host:port,...`: the seed nodes of a Redis Cluster (ioredis discovers the rest). */
const clusterNodes = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(
    z.array(
      z
        .string()
        .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'each node must be host:port, such as 10.0.0.5:6379')
        .transform((node) => {
          const at = node.lastIndexOf(':');
          return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) };
        })
        .refine((n) => n.port > 0 && n.port <= 65535, 'the port must lie in 1-65535'),
    ),
  );

const onOff = z.enum(['on', 'off']).default('off').transform((v) => v === 'on');

const milliseconds = (fallback: number) => z.coerce.number().int().min(100).max(3_600_000).default(fallback);

/** Production keys must be long enough not to be guessed (a generated dev key has 32 characters). */
export const minProductionKeyLength = 32;

export const configSchema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: z.url().default('postgres://127.0.0.1:5432/tokens'),
  DATABASE_READ_URL: z.url().optional(),
  TOKENS_DATABASE_READ_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: clusterNodes,
  TOKENS_REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).optional(),
  TOKENS_REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(500),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  TOKENS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  TOKENS_API_KEYS: csv,
  TOKENS_ADMIN_KEYS: csv,
  TOKENS_ROLES: roles,
  TOKENS_TEST_CLOCK: onOff,
  TOKENS_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]+$/).default('tokens'),
  TOKENS_USAGE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  TOKENS_USAGE_PREFETCH: z.coerce.number().int().min(1).max(1024).default(32),
  TOKENS_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).default(4),
  TOKENS_BATCH_MAX_EVENTS: z.coerce.number().int().min(1).max(5000).default(500),
  TOKENS_USAGE_TRANSACTION_MAX_EVENTS: z.coerce.number().int().min(1).max(20_000).default(2000),
  TOKENS_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(2),
  TOKENS_HOLD_TTL_SECONDS: z.coerce.number().int().min(1).default(300),
  TOKENS_IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(1).default(72),
  TOKENS_WORKER_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  TOKENS_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  TOKENS_USAGE_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(35),
  TOKENS_USAGE_MAX_BACKLOG: z.coerce.number().int().min(1).default(1_000_000),
  TOKENS_MAX_OPEN_HOLDS: z.coerce.number().int().min(1).max(100_000).default(100),
  TOKENS_PG_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  TOKENS_PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  TOKENS_BUSY_ACCOUNT_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  TOKENS_DEV_KEYS_FILE: z.string().default('.dev-keys.json'),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  TOKENS_PAYMENT_GRACE_DAYS: z.coerce.number().min(0, 'must be >= 0').max(60, 'must be at most 60 days').default(3),
  TOKENS_NOTIFY_WEBHOOK_URL: z.url().optional(),
  TOKENS_NOTIFY_WEBHOOK_SECRET: webhookSecretSchema.optional(),
  SMTP_URL: z.string().optional(),
  ...notifyEnvShape,
  TOKENS_TIMEZONE: z.string().default('UTC').refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TOKENS_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL people reach the engine at, such as https://tokens.example.com' }).optional(),
  TOKENS_HTTP_REQUEST_TIMEOUT_MS: milliseconds(30_000),
  TOKENS_HTTP_HEADERS_TIMEOUT_MS: milliseconds(10_000),
  TOKENS_HTTP_KEEP_ALIVE_TIMEOUT_MS: milliseconds(72_000),
}).superRefine((e, ctx) => {
  if (e.TOKENS_HTTP_HEADERS_TIMEOUT_MS > e.TOKENS_HTTP_REQUEST_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['TOKENS_HTTP_HEADERS_TIMEOUT_MS'], message: 'must not exceed TOKENS_HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)' });
  }
  if (e.NODE_ENV !== 'production') return;
  if (e.TOKENS_TEST_CLOCK) {
    ctx.addIssue({ code: 'custom', path: ['TOKENS_TEST_CLOCK'], message: 'must be off in production (NODE_ENV=production): a test clock lets an admin move billing time' });
  }
  for (const name of ['TOKENS_API_KEYS', 'TOKENS_ADMIN_KEYS'] as const) {
    // Which key, by position: a key itself is never printed.
    const short = e[name].map((k, i) => (k.length < minProductionKeyLength ? i + 1 : 0)).filter(Boolean);
    if (short.length) {
      ctx.addIssue({ code: 'custom', path: [name], message: `every key must be at least ${minProductionKeyLength} characters in production (too short: key ${short.join(', ')} of the list)` });
    }
  }
  if (e.TOKENS_API_KEYS.some((k) => e.TOKENS_ADMIN_KEYS.includes(k))) {
    ctx.addIssue({ code: 'custom', path: ['TOKENS_ADMIN_KEYS'], message: 'a key is in both TOKENS_API_KEYS and TOKENS_ADMIN_KEYS: a service key must not open the admin API' });
  }
});

export type Config = {
  production: boolean;
  databaseUrl: string;
  /**
   * A streaming replica for the reads that tolerate lag (analytics, dashboards' history, the admin
   * page's reports, reconcile); unset: those reads take a small pool of their own on the primary.
   */
  databaseReadUrl: string | undefined;
  /** Connections of that pool, per process. */
  databaseReadPoolSize: number;
  redisUrl: string;
  /**
   * The seed nodes of the Redis Cluster every Redis key lives on (REDIS_CLUSTER_NODES); none: the single
   * Redis of redisUrl. On a cluster, redisUrl lends only its user, password and TLS to the nodes.
   */
  redisClusterNodes: Array<{ host: string; port: number }> | undefined;
  /**
   * Replicas that must hold an accepted usage event (or a fired schedule) before the engine answers for
   * it (Redis WAIT on the queues' master); 0: none. Default 1 on a cluster, 0 on a single Redis.
   */
  redisWaitReplicas: number;
  /** How long a WAIT may take before the request answers 503 (the write may not survive a failover). */
  redisWaitTimeoutMs: number;
  port: number;
  host: string;
  /** A process without the api role serves /health and /metrics here; none when unset. */
  metricsPort: number | undefined;
  apiKeys: string[];
  adminKeys: string[];
  roles: Array<'api' | 'workers' | 'scheduler'>;
  testClock: boolean;
  /**
   * BullMQ's prefix. On a cluster it is TOKENS_QUEUE_PREFIX as a hash tag (`{tokens}`), so every key of
   * every queue, and the backlog counter that a script reads with them, lie in one slot.
   */
  queuePrefix: string;
  /** The prefix of the engine's other Redis keys (TOKENS_QUEUE_PREFIX as given): spread over the slots. */
  keyPrefix: string;
  usageConcurrency: number;
  /** Usage jobs a workers process holds at once; they are merged into at most usageConcurrency transactions. */
  usagePrefetch: number;
  usageShards: number;
  batchMaxEvents: number;
  /** Events one usage transaction applies at most when it merges waiting jobs (a larger job still goes alone). */
  usageTransactionMaxEvents: number;
  batchMaxWaitMs: number;
  holdTtlSeconds: number;
  idempotencyTtlSeconds: number;
  /** How long a usage job's lock lives without renewal, and how often stalled jobs are looked for. */
  workerLockMs: number;
  /** How long a drain waits for active jobs and Redis before closing the connections by force. */
  shutdownTimeoutMs: number;
  /** How far in the past a usage event's occurredAt may lie. */
  usageMaxAgeDays: number;
  /** Usage events waiting to be applied beyond which intake answers 429 backlogged. */
  usageMaxBacklog: number;
  /** Open holds one account may have at once. */
  maxOpenHolds: number;
  /** Every PostgreSQL session's lock_timeout and statement_timeout (ms; 0: none). */
  pgLockTimeoutMs: number;
  pgStatementTimeoutMs: number;
  /** How long a request waits its turn, in the process, behind other requests locking the same account. */
  busyAccountWaitMs: number;
  devKeysFile: string;
  stripeWebhookSecret: string | undefined;
  /** How long a Stripe-billed period stays on its paid plan unpaid, while Stripe retries the payment. */
  paymentGraceDays: number;
  notifyWebhookUrl: string | undefined;
  notifyWebhookSecret: string | undefined;
  smtpUrl: string | undefined;
  /** Delivery, e-mail and unusual-usage settings of src/notify. */
  notify: NotifyConfig;
  logLevel: string;
  /** The zone that days are counted in for rollups and analytics. */
  timeZone: string;
  /** The origin (scheme, host, port) of TOKENS_PUBLIC_URL: the only one admin state changes may come from when set. */
  publicOrigin: string | undefined;
  /** Timeouts of the API's HTTP server (src/http/server-options.ts). */
  http: { requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number };
};

export class ConfigError extends Error {}

/** The only place that reads the environment. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    production: e.NODE_ENV === 'production',
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    databaseReadPoolSize: e.TOKENS_DATABASE_READ_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES.length > 0 ? e.REDIS_CLUSTER_NODES : undefined,
    redisWaitReplicas: e.TOKENS_REDIS_WAIT_REPLICAS ?? (e.REDIS_CLUSTER_NODES.length > 0 ? 1 : 0),
    redisWaitTimeoutMs: e.TOKENS_REDIS_WAIT_TIMEOUT_MS,
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.TOKENS_METRICS_PORT,
    apiKeys: e.TOKENS_API_KEYS,
    adminKeys: e.TOKENS_ADMIN_KEYS,
    roles: e.TOKENS_ROLES,
    testClock: e.TOKENS_TEST_CLOCK,
    queuePrefix: e.REDIS_CLUSTER_NODES.length > 0 ? `{${e.TOKENS_QUEUE_PREFIX}}` : e.TOKENS_QUEUE_PREFIX,
    keyPrefix: e.TOKENS_QUEUE_PREFIX,
    usageConcurrency: e.TOKENS_USAGE_CONCURRENCY,
    usagePrefetch: Math.max(e.TOKENS_USAGE_PREFETCH, e.TOKENS_USAGE_CONCURRENCY),
    usageShards: e.TOKENS_USAGE_SHARDS,
    batchMaxEvents: e.TOKENS_BATCH_MAX_EVENTS,
    usageTransactionMaxEvents: e.TOKENS_USAGE_TRANSACTION_MAX_EVENTS,
    batchMaxWaitMs: e.TOKENS_BATCH_MAX_WAIT_MS,
    holdTtlSeconds: e.TOKENS_HOLD_TTL_SECONDS,
    idempotencyTtlSeconds: e.TOKENS_IDEMPOTENCY_TTL_HOURS * 3600,
    workerLockMs: e.TOKENS_WORKER_LOCK_MS,
    shutdownTimeoutMs: e.TOKENS_SHUTDOWN_TIMEOUT_MS,
    usageMaxAgeDays: e.TOKENS_USAGE_MAX_AGE_DAYS,
    usageMaxBacklog: e.TOKENS_USAGE_MAX_BACKLOG,
    maxOpenHolds: e.TOKENS_MAX_OPEN_HOLDS,
    pgLockTimeoutMs: e.TOKENS_PG_LOCK_TIMEOUT_MS,
    pgStatementTimeoutMs: e.TOKENS_PG_STATEMENT_TIMEOUT_MS,
    busyAccountWaitMs: e.TOKENS_BUSY_ACCOUNT_WAIT_MS,
    devKeysFile: e.TOKENS_DEV_KEYS_FILE,
    stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET,
    paymentGraceDays: e.TOKENS_PAYMENT_GRACE_DAYS,
    notifyWebhookUrl: e.TOKENS_NOTIFY_WEBHOOK_URL,
    notifyWebhookSecret: e.TOKENS_NOTIFY_WEBHOOK_SECRET,
    smtpUrl: e.SMTP_URL,
    notify: toNotifyConfig(e),
    logLevel: e.LOG_LEVEL,
    timeZone: e.TOKENS_TIMEZONE,
    publicOrigin: e.TOKENS_PUBLIC_URL ? new URL(e.TOKENS_PUBLIC_URL).origin : undefined,
    http: {
      requestTimeoutMs: e.TOKENS_HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.TOKENS_HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.TOKENS_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
  };
}
