import cron, { type ScheduledTask } from 'node-cron';
import type { Engine } from '../engine.js';
import { scheduledJobs } from './scheduled-jobs.js';
import { requireAsOfNotInFuture } from './as-of.js';

/**
 * Fires each schedule once however many scheduler processes run: the first to take the Redis lock for
 * a (job, minute) slot enqueues it, under a job id made of the same slot, so a second add is a no-op too.
 * The job itself reads the engine's clock when it runs, so a catching-up scheduler does the right thing.
 */
export function startScheduler(engine: Engine): { stop(): Promise<void> } {
  const tasks: ScheduledTask[] = [];
  for (const [name, def] of Object.entries(scheduledJobs)) {
    if (!def.cron) continue;
    const task = cron.schedule(
      def.cron,
      async () => {
        const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
        try {
          const won = await engine.redis.set(`${engine.config.queuePrefix}:schedule:${name}:${slot}`, process.pid, 'EX', 3600, 'NX');
          if (won !== 'OK') return;
          await engine.queues.scheduled.add(name, { name }, { jobId: `${name}-${slot.replaceAll(':', '')}`, attempts: 5 });
          engine.log.debug({ job: name, slot }, 'schedule fired');
        } catch (error) {
          engine.log.warn({ err: error, job: name }, 'schedule could not fire; the next tick catches up');
        }
      },
      { timezone: 'UTC', name: `tokens-${name}` },
    );
    tasks.push(task);
  }
  return {
    async stop() {
      await Promise.all(tasks.map((t) => t.stop()));
    },
  };
}

/** Queues a run of `name` now, as of `asOf` (never after the engine's now) or of the moment it runs. */
export async function enqueueScheduledJob(engine: Engine, name: string, asOf?: Date): Promise<string> {
  if (asOf) requireAsOfNotInFuture(asOf, await engine.clock.now());
  const job = await engine.queues.scheduled.add(name, { name, ...(asOf ? { asOf: asOf.toISOString() } : {}) }, { attempts: 5 });
  return job.id!;
}
