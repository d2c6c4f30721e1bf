import type { Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';

/**
 * What every worker reports the same way: each job's duration by queue and outcome (the metric), a failed
 * attempt as a warning (BullMQ retries it), and a worker error.
 */
export function observeWorker(engine: Engine, worker: Worker, queue: string): Worker {
  const record = (job: { processedOn?: number | undefined; finishedOn?: number | undefined } | undefined, outcome: string) => {
    if (job?.processedOn && job.finishedOn) engine.metrics.jobDuration.observe({ queue, outcome }, (job.finishedOn - job.processedOn) / 1000);
  };
  worker.on('completed', (job) => record(job, 'completed'));
  worker.on('failed', (job, error) => {
    record(job, 'failed');
    engine.log.warn({ err: error, queue, jobId: job?.id, attempts: job?.attemptsMade }, `${queue} job failed`);
  });
  worker.on('error', (error) => engine.log.error({ err: error, queue }, `${queue} worker error`));
  return worker;
}
