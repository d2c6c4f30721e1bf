import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullmqConnection, type Isolation } from './isolation.js';
import { spread, type Spread } from './stats.js';
import type { BenchEngine } from './engine.js';
import { hasRole } from './topology.js';

export interface UsageJobs {
  /** Usage jobs added during the phase (BullMQ's job id counter). */
  added: number;
  /** Accepted events per job added: how well the API's batcher filled the jobs. */
  eventsPerJob: number;
  /** Ledger transactions the workers ran for the phase (their /metrics), and jobs per transaction. */
  transactions: number;
  jobsPerTransaction: number;
  /** Completed jobs of the phase still kept by BullMQ (at most the last 10,000) that the times are from. */
  sampled: number;
  /** processedOn → finishedOn of each sampled job: the worker's transaction plus BullMQ's bookkeeping. */
  jobMs: Spread;
}

/** The usage queue's job id counter: every job ever added (the engine never sets job ids on usage jobs). */
export async function usageJobsAdded(iso: Isolation): Promise<number> {
  const redis = new Redis(iso.redisUrl);
  try {
    return Number((await redis.get(`${iso.prefix}:usage:id`)) ?? 0);
  } finally {
    redis.disconnect();
  }
}

/** Usage transactions and the jobs they carried so far, summed over the processes that run workers. */
export async function usageTransactions(engine: BenchEngine): Promise<{ transactions: number; jobs: number }> {
  const total = { transactions: 0, jobs: 0 };
  for (const { role, url } of engine.metricsUrls.filter((m) => hasRole(m.role, 'workers'))) {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const transactions = sample('tokens_usage_transaction_jobs_count');
    if (Number.isNaN(transactions)) throw new Error(`${role.name}: no tokens_usage_transaction_jobs in ${url}`);
    total.transactions += transactions;
    total.jobs += sample('tokens_usage_transaction_jobs_sum');
  }
  return total;
}

/** What the usage worker did with a phase's events, from BullMQ's own records and the workers' metrics. */
export async function usageJobs(
  iso: Isolation,
  phase: { fromMs: number; toMs: number; jobsBefore: number; events: number; transactionsBefore: { transactions: number; jobs: number }; engine: BenchEngine },
): Promise<UsageJobs> {
  const after = await usageTransactions(phase.engine);
  const transactions = after.transactions - phase.transactionsBefore.transactions;
  const jobsInTransactions = after.jobs - phase.transactionsBefore.jobs;
  const queue = new Queue('usage', { connection: bullmqConnection(iso), prefix: iso.prefix });
  try {
    const added = (await usageJobsAdded(iso)) - phase.jobsBefore;
    const jobs = await queue.getJobs(['completed'], 0, 9_999);
    const inPhase = jobs.filter((j) => j.processedOn !== undefined && j.finishedOn !== undefined && j.processedOn >= phase.fromMs && j.processedOn <= phase.toMs);
    return {
      added,
      eventsPerJob: phase.events / Math.max(1, added),
      transactions,
      jobsPerTransaction: jobsInTransactions / Math.max(1, transactions),
      sampled: inPhase.length,
      jobMs: spread(inPhase.map((j) => j.finishedOn! - j.processedOn!)),
    };
  } finally {
    await queue.close();
  }
}
