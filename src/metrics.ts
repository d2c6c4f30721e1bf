import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queues } from './queues.js';
import type { ReplicaLag } from './db/replica-lag.js';
import type { Logger } from './log.js';

/**
 * The engine's Prometheus metrics, one registry per engine (not prom-client's global), so that several
 * engines in one process (tests) never share counters.
 */
export interface EngineMetrics {
  registry: Registry;
  usageEvents: Counter<'outcome' | 'reason'>;
  jobDuration: Histogram<'queue' | 'outcome'>;
  usageTransactionJobs: Histogram;
  notificationFailures: Counter<'channel'>;
  reconcileViolations: Gauge<'check'>;
  ledgerInvariantViolations: Counter<'queue'>;
}

export interface MetricSources {
  backlog?: { readonly waiting: number } | undefined;
  /** The read replica's lag (DATABASE_READ_URL), read when scraped. */
  replicaLag?: (() => Promise<ReplicaLag>) | undefined;
  log?: Logger;
}

export function createMetrics(queues: Queues, sources: MetricSources = {}): EngineMetrics {
  const { backlog, replicaLag, log } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tokens_process_' });
  const usageEvents = new Counter({
    name: 'tokens_usage_events_total',
    help: 'Usage events settled by this process, by outcome (applied, rejected, duplicate) and rejection reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'tokens_job_duration_seconds',
    help: 'Time to process one job, by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const usageTransactionJobs = new Histogram({
    name: 'tokens_usage_transaction_jobs',
    help: 'Usage jobs applied together in one ledger transaction (more when the workers have a backlog)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const notificationFailures = new Counter({
    name: 'tokens_notification_failures_total',
    help: 'Notification delivery attempts that failed, by channel (webhook, email)',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const ledgerInvariantViolations = new Counter({
    name: 'tokens_ledger_invariant_violations_total',
    help: 'Jobs failed for good because applying them broke a ledger invariant (an engine bug), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const reconcileViolations = new Gauge({
    name: 'tokens_reconcile_violations',
    help: 'Invariant violations found by the last reconcile run, by check',
    labelNames: ['check'] as const,
    registers: [registry],
  });
  if (backlog) {
    new Gauge({
      name: 'tokens_usage_backlog_events',
      help: 'Usage events waiting to be applied, as this process last read it (back-pressure refuses usage above TOKENS_USAGE_MAX_BACKLOG)',
      registers: [registry],
      collect() {
        this.set(backlog.waiting);
      },
    });
  }
  if (replicaLag) {
    // The three gauges from one reading per scrape (a registry collects its metrics together). An
    // unreachable replica reads NaN, never 0, which would say it had caught up.
    let reading: Promise<ReplicaLag | null> | null = null;
    const read = () =>
      (reading ??= replicaLag()
        .catch((error: unknown) => {
          log?.warn({ err: error instanceof Error ? error.message : error }, 'replica lag unreadable');
          return null;
        })
        .finally(() => {
          reading = null;
        }));
    new Gauge({
      name: 'tokens_database_replica_up',
      help: 'Whether the read replica (DATABASE_READ_URL) and the primary answered the lag probe (1) or not (0)',
      registers: [registry],
      async collect() {
        this.set((await read()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tokens_database_replica_lag_seconds',
      help: 'How far the read replica (DATABASE_READ_URL) is behind the primary: 0 once it has replayed all the primary flushed, else the age of the last transaction it replayed; NaN when unreadable',
      registers: [registry],
      async collect() {
        this.set((await read())?.seconds ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'tokens_database_replica_lag_bytes',
      help: 'WAL the primary has flushed that the read replica has not replayed yet; NaN when unreadable',
      registers: [registry],
      async collect() {
        this.set((await read())?.bytes ?? Number.NaN);
      },
    });
  }
  // Queue depth and age are read from Redis when scraped, so every process reports the shared truth.
  new Gauge({
    name: 'tokens_queue_jobs',
    help: 'Jobs in each queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [name, queue] of Object.entries(queues)) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) this.set({ queue: name, state }, n);
      }
    },
  });
  new Gauge({
    name: 'tokens_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in each queue (0 when empty)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const [name, queue] of Object.entries(queues)) {
        const [oldest] = await queue.getJobs(['waiting'], -1, -1, true);
        this.set({ queue: name }, oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0);
      }
    },
  });
  return { registry, usageEvents, jobDuration, usageTransactionJobs, notificationFailures, reconcileViolations, ledgerInvariantViolations };
}
