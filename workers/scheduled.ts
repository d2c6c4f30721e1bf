import { Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, scheduledJobSchema } from '../src/queues.js';
import { scheduledJobs } from '../src/jobs/scheduled-jobs.js';
import { runStandalone } from './standalone.js';
import { observeWorker } from './observe.js';

/** Runs scheduled jobs (fired by the scheduler or by an operator) as of the engine's clock. */
export function startScheduledWorker(engine: Engine): Worker {
  const worker = new Worker(
    'scheduled',
    async (job) => {
      const { name, asOf } = scheduledJobSchema.parse(job.data);
      const def = scheduledJobs[name];
      if (!def) throw new Error(`unknown scheduled job "${name}"`);
      const at = asOf ? new Date(asOf) : await engine.clock.now();
      const result = await def.run(engine, at);
      engine.log.info({ job: name, jobId: job.id, asOf: at.toISOString(), ...result }, 'scheduled job done');
      return result;
    },
    // Scheduled jobs are added with the queues' default backoff ("capped"): without the strategy, the
    // first failed attempt (PostgreSQL away) failed the job for good instead of retrying it.
    { connection: engine.workerConnection, prefix: engine.config.queuePrefix, concurrency: 2, settings: { backoffStrategy: cappedBackoff } },
  );
  return observeWorker(engine, worker, 'scheduled');
}

runStandalone(import.meta.url, 'scheduled', startScheduledWorker);
