import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, usageJobSchema } from '../src/queues.js';
import { applyUsage } from '../src/usage/apply-usage.js';
import { ApplyLanes } from '../src/usage/apply-lanes.js';
import { transactWithNotifications } from '../src/notify/delivery-jobs.js';
import { LiveFeedPublisher } from '../src/insight/live-feed.js';
import { runStandalone } from './standalone.js';
import { observeWorker } from './observe.js';

/**
 * Applies usage jobs to the ledger. The worker holds up to `usagePrefetch` jobs at once and applies them
 * in at most `usageConcurrency` transactions, merging the jobs that wait on a lane (ApplyLanes).
 */
export function startUsageWorker(engine: Engine): Worker {
  const feed = new LiveFeedPublisher(engine.redis, engine.config.queuePrefix, engine.log);
  const lanes = new ApplyLanes(
    async (events) => {
      const now = await engine.clock.now();
      return transactWithNotifications(
        engine,
        (trx) => applyUsage(trx, events, now),
        (outcomes) => feed.published(events, outcomes, now),
      );
    },
    {
      lanes: engine.config.usageConcurrency,
      maxEvents: engine.config.batchMaxEvents,
      onTransaction: (jobs) => engine.metrics.usageTransactionJobs.observe(jobs),
    },
  );
  const worker = new Worker(
    'usage',
    async (job) => {
      const parsed = usageJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed usage job: ${parsed.error.message}`);
      const outcomes = await lanes.apply(laneOf(job.name), parsed.data.events);
      const counts = { applied: 0, rejected: 0, duplicate: 0 };
      for (const o of outcomes) {
        counts[o.status]++;
        engine.metrics.usageEvents.inc({ outcome: o.status, reason: o.reason ?? '' });
      }
      return counts;
    },
    {
      connection: engine.workerConnection,
      prefix: engine.config.queuePrefix,
      concurrency: engine.config.usagePrefetch,
      // A job whose worker died (SIGKILL, OOM, lost host) keeps its lock until it expires; stalled-job
      // detection then hands it to another worker, which settles it once (settled keys are skipped), so
      // a job may stall many times before BullMQ gives up on it.
      lockDuration: engine.config.workerLockMs,
      stalledInterval: engine.config.workerLockMs,
      maxStalledCount: 20,
      settings: { backoffStrategy: cappedBackoff },
    },
  );
  return observeWorker(engine, worker, 'usage');
}

/** The batcher names a job after its shard (`shard-3`): one shard, one lane, disjoint accounts per lane. */
function laneOf(jobName: string): number {
  const shard = /^shard-(\d+)$/.exec(jobName);
  return shard ? Number(shard[1]) : 0;
}

runStandalone(import.meta.url, 'usage', startUsageWorker);
