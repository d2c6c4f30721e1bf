import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, usageJobSchema } from '../src/queues.js';
import { applyUsage } from '../src/usage/apply-usage.js';
import { transactWithNotifications } from '../src/notify/delivery-jobs.js';
import { runStandalone } from './standalone.js';
import { observeWorker } from './observe.js';

/** Applies usage jobs to the ledger, one transaction per job (many events each). */
export function startUsageWorker(engine: Engine): Worker {
  const worker = new Worker(
    'usage',
    async (job) => {
      const parsed = usageJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed usage job: ${parsed.error.message}`);
      const now = await engine.clock.now();
      const outcomes = await transactWithNotifications(engine, (trx) => applyUsage(trx, parsed.data.events, now));
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
      concurrency: engine.config.usageConcurrency,
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

runStandalone(import.meta.url, 'usage', startUsageWorker);
