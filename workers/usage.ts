import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, usageJobSchema } from '../src/queues.js';
import { applyUsage } from '../src/usage/apply-usage.js';
import { transactWithNotifications } from '../src/notify/delivery-jobs.js';
import { runStandalone } from './standalone.js';

/** Applies usage jobs to the ledger, one transaction per job (many events each). */
export function startUsageWorker(engine: Engine): Worker {
  const worker = new Worker(
    'usage',
    async (job) => {
      const parsed = usageJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed usage job: ${parsed.error.message}`);
      const stopTimer = engine.metrics.jobDuration.startTimer({ queue: 'usage' });
      try {
        const now = await engine.clock.now();
        const outcomes = await transactWithNotifications(engine, (trx) => applyUsage(trx, parsed.data.events, now));
        const counts = { applied: 0, rejected: 0, duplicate: 0 };
        for (const o of outcomes) {
          counts[o.status]++;
          engine.metrics.usageEvents.inc({ outcome: o.status, reason: o.reason ?? '' });
        }
        stopTimer({ outcome: 'completed' });
        return counts;
      } catch (error) {
        stopTimer({ outcome: 'failed' });
        throw error;
      }
    },
    {
      connection: engine.workerConnection,
      prefix: engine.config.queuePrefix,
      concurrency: engine.config.usageConcurrency,
      // A job whose worker died (SIGKILL, OOM, lost host) keeps its lock until it expires; stalled-job
      // detection then hands it to another worker, which settles it once (keys are claimed in usage_events).
      lockDuration: engine.config.workerLockMs,
      stalledInterval: engine.config.workerLockMs,
      settings: { backoffStrategy: cappedBackoff },
    },
  );
  worker.on('failed', (job, error) =>
    engine.log.warn({ err: error, jobId: job?.id, attempts: job?.attemptsMade }, 'usage job failed; it will be retried'),
  );
  worker.on('error', (error) => engine.log.error({ err: error }, 'usage worker error'));
  return worker;
}

runStandalone(import.meta.url, 'usage', startUsageWorker);
