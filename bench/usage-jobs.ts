import { Redis } from 'ioredis';
import type { Isolation } from './isolation.js';
import type { Spread } from './stats.js';
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
  /** Usage jobs the workers completed during the phase (their job-duration histogram). */
  sampled: number;
  /**
   * processedOn → finishedOn of the phase's completed jobs: the wait for its lane, the transaction and
   * BullMQ's bookkeeping. Completed usage jobs are removed with their payloads, so the times come from
   * the workers' `tokens_job_duration_seconds` histogram: each percentile is the upper bound of its
   * bucket (5, 10, 25, 50, 100, 250 ms, ...), interpolated within it.
   */
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

/** What the workers' /metrics say so far, summed over the processes that run workers. */
export interface WorkerCounters {
  transactions: number;
  jobs: number;
  /** Completed usage jobs per cumulative duration bucket: upper bound in seconds → count. */
  durations: Map<number, number>;
}

/** Usage transactions and the jobs they carried so far, and completed jobs' durations, over every workers process. */
export async function usageTransactions(engine: BenchEngine): Promise<WorkerCounters> {
  const total: WorkerCounters = { transactions: 0, jobs: 0, durations: new Map() };
  for (const { role, url } of engine.metricsUrls.filter((m) => hasRole(m.role, 'workers'))) {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const transactions = sample('tokens_usage_transaction_jobs_count');
    if (Number.isNaN(transactions)) throw new Error(`${role.name}: no tokens_usage_transaction_jobs in ${url}`);
    total.transactions += transactions;
    total.jobs += sample('tokens_usage_transaction_jobs_sum');
    const bucket = /^tokens_job_duration_seconds_bucket\{(?=[^}]*le="([^"]+)")(?=[^}]*queue="usage")(?=[^}]*outcome="completed")[^}]*\} (\S+)$/gm;
    for (const [, le, count] of text.matchAll(bucket)) {
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      total.durations.set(bound, (total.durations.get(bound) ?? 0) + Number(count));
    }
  }
  return total;
}

/** Percentiles of the jobs completed between two readings of the cumulative histogram, in ms. */
function histogramSpread(before: Map<number, number>, after: Map<number, number>): Spread {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const n = cumulative.at(-1) ?? 0;
  const quantile = (q: number) => {
    if (n === 0) return Number.NaN;
    const rank = q * n;
    const i = cumulative.findIndex((c) => c >= rank);
    const upper = bounds[i]!;
    const lower = i > 0 ? bounds[i - 1]! : 0;
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = i > 0 ? cumulative[i - 1]! : 0;
    const inBucket = cumulative[i]! - below;
    return (lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000;
  };
  const top = cumulative.findIndex((c) => c >= n);
  return { n, p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), max: n === 0 ? Number.NaN : bounds[top]! * 1000 };
}

/** What the usage worker did with a phase's events, from BullMQ's job counter and the workers' metrics. */
export async function usageJobs(
  iso: Isolation,
  phase: { fromMs: number; toMs: number; jobsBefore: number; events: number; transactionsBefore: WorkerCounters; engine: BenchEngine },
): Promise<UsageJobs> {
  const after = await usageTransactions(phase.engine);
  const transactions = after.transactions - phase.transactionsBefore.transactions;
  const jobsInTransactions = after.jobs - phase.transactionsBefore.jobs;
  const added = (await usageJobsAdded(iso)) - phase.jobsBefore;
  const jobMs = histogramSpread(phase.transactionsBefore.durations, after.durations);
  return {
    added,
    eventsPerJob: phase.events / Math.max(1, added),
    transactions,
    jobsPerTransaction: jobsInTransactions / Math.max(1, transactions),
    sampled: jobMs.n,
    jobMs,
  };
}
