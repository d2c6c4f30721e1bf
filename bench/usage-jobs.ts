import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullmqConnection, type Isolation } from './isolation.js';
import { spread, type Spread } from './stats.js';

export interface UsageJobs {
  /** Usage jobs added during the phase (BullMQ's job id counter). */
  added: number;
  /** Accepted events per job added: how well the API's batcher filled the jobs. */
  eventsPerJob: number;
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

/** What the usage worker did with a phase's events, from BullMQ's own records. */
export async function usageJobs(iso: Isolation, phase: { fromMs: number; toMs: number; jobsBefore: number; events: number }): Promise<UsageJobs> {
  const queue = new Queue('usage', { connection: bullmqConnection(iso), prefix: iso.prefix });
  try {
    const added = (await usageJobsAdded(iso)) - phase.jobsBefore;
    const jobs = await queue.getJobs(['completed'], 0, 9_999);
    const inPhase = jobs.filter((j) => j.processedOn !== undefined && j.finishedOn !== undefined && j.processedOn >= phase.fromMs && j.processedOn <= phase.toMs);
    return {
      added,
      eventsPerJob: phase.events / Math.max(1, added),
      sampled: inPhase.length,
      jobMs: spread(inPhase.map((j) => j.finishedOn! - j.processedOn!)),
    };
  } finally {
    await queue.close();
  }
}
