import { Queue, Worker } from 'bullmq';
import { retryingJob } from '../src/queues.js';
import { bullmqConnection, type Isolation } from './isolation.js';

export interface CeilingLoad {
  jobs: number;
  /** Jobs per addBulk call. */
  bulk: number;
  concurrency: number;
}

export interface BullmqCeiling {
  jobs: number;
  concurrency: number;
  seconds: number;
  jobsPerSecond: number;
}

/**
 * BullMQ alone on the same Redis: a worker whose processor does nothing, at the usage worker's
 * concurrency, with the engine's job options; from the first addBulk to the last job completed.
 */
export async function measureBullmqCeiling(iso: Isolation, load: CeilingLoad): Promise<BullmqCeiling> {
  const connection = bullmqConnection(iso);
  const queue = new Queue('noop-ceiling', { connection, prefix: iso.prefix, defaultJobOptions: retryingJob });
  const worker = new Worker('noop-ceiling', async () => {}, {
    connection,
    prefix: iso.prefix,
    concurrency: load.concurrency,
  });
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    let completed = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      worker.on('completed', () => {
        if (++completed === load.jobs) resolve();
      });
      worker.on('failed', (_job, error) => reject(error));
      timer = setTimeout(() => reject(new Error(`no-op ceiling: ${completed}/${load.jobs} jobs done after 120 s`)), 120_000);
    }).finally(() => clearTimeout(timer));

    const t0 = performance.now();
    for (let start = 0; start < load.jobs; start += load.bulk) {
      const n = Math.min(load.bulk, load.jobs - start);
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'noop', data: { n: start + i } })));
    }
    await done;
    const seconds = (performance.now() - t0) / 1000;
    return { jobs: load.jobs, concurrency: load.concurrency, seconds, jobsPerSecond: load.jobs / seconds };
  } finally {
    await worker.close();
    await queue.close();
  }
}

export interface CeilingSweep {
  /** The best trial: the ceiling the engine is held to. */
  best: BullmqCeiling;
  trials: BullmqCeiling[];
}

/**
 * The no-op ceiling at each concurrency in turn (a fresh queue each, so no trial inherits another's
 * keys), and the best of them: BullMQ's ceiling is a curve, and the engine is held to its peak.
 */
export async function sweepBullmqCeiling(iso: Isolation, load: Omit<CeilingLoad, 'concurrency'>, concurrencies: number[]): Promise<CeilingSweep> {
  const trials: BullmqCeiling[] = [];
  for (const concurrency of concurrencies) trials.push(await measureBullmqCeiling({ ...iso, prefix: `${iso.prefix}:c${concurrency}` }, { ...load, concurrency }));
  const best = trials.reduce((a, b) => (b.jobsPerSecond > a.jobsPerSecond ? b : a));
  return { best, trials };
}
