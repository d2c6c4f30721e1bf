import cron, { type ScheduledTask } from 'node-cron';
import type { Engine } from '../engine.js';
import { scheduledJobs, type ScheduledJobDefinition } from './scheduled-jobs.js';
import { requireAsOfNotInFuture } from './as-of.js';
import { scheduledJobAttempts } from '../queues.js';

const MINUTE = 60_000;
/** How far back a scheduler looks for a run it has not seen fire: more than any schedule's gap between runs (a day). */
const LOOKBACK = 8 * 24 * 60 * MINUTE;

/**
 * Claims a run: records `slot` as the job's latest run unless it already is (or a later one is), so that
 * of many schedulers, and of a scheduler and its restarted self, one fires each run. ISO instants of one
 * length sort as text in time order.
 */
const claimRun = `local last = redis.call('GET', KEYS[1])
if last and last >= ARGV[1] then return nil end
redis.call('SET', KEYS[1], ARGV[1])
return last or ''`;
/** Gives a claim back (if it is still the latest) when its job could not be queued, so the next tick retries. */
const releaseRun = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
end
return 0`;

export interface FiredRun {
  job: string;
  /** The minute the run was due at (node-cron's schedule, in UTC). */
  slot: string;
  jobId: string;
}

export interface Scheduler {
  /**
   * One tick at the minute of `at`: each schedule fires its latest run due at or before that minute that
   * no scheduler has fired yet. A run missed while no scheduler was up (the engine down at 03:17) fires at
   * the next tick, once; however many runs were missed, only the latest fires.
   */
  tick(at: Date): Promise<FiredRun[]>;
  stop(): Promise<void>;
}

/**
 * The schedules without a trigger: whoever holds it decides when it ticks (node-cron in startScheduler,
 * a test with the minutes it chooses). The job itself reads the engine's clock when it runs.
 */
export function createScheduler(engine: Engine, jobs: Record<string, ScheduledJobDefinition> = scheduledJobs): Scheduler {
  const schedules = Object.entries(jobs).flatMap(([name, def]) =>
    def.cron ? [{ name, matcher: cron.createTask(def.cron, () => {}, { timezone: 'UTC', name: `tokens-match-${name}` }) }] : [],
  );
  // The minute up to which this scheduler has looked for runs, per job: after its first tick, a tick
  // looks only at the minutes since the one before.
  const lookedUpTo = new Map<string, number>();

  const latestDue = (matcher: ScheduledTask, after: number, minute: number): number | undefined => {
    for (let t = minute; t > after; t -= MINUTE) if (matcher.match(new Date(t))) return t;
    return undefined;
  };

  const fire = async (name: string, slot: string): Promise<FiredRun | undefined> => {
    const key = `${engine.config.keyPrefix}:schedule:${name}`;
    const previous = (await engine.redis.eval(claimRun, 1, key, slot)) as string | null;
    if (previous === null) return undefined; // fired already, by this scheduler or another
    const jobId = `${name}-${slot.replaceAll(':', '')}`;
    try {
      await engine.queues.scheduled.add(name, { name }, { jobId, attempts: scheduledJobAttempts });
      // A run whose job a failover could still lose is given back: the next tick fires it again, and
      // the job id makes a second add of a job that did survive a no-op.
      await engine.replication.confirm();
    } catch (error) {
      await engine.redis.eval(releaseRun, 1, key, slot, previous).catch(() => undefined);
      throw error;
    }
    engine.log.debug({ job: name, slot }, 'schedule fired');
    return { job: name, slot, jobId };
  };

  return {
    async tick(at) {
      const minute = Math.floor(at.getTime() / MINUTE) * MINUTE;
      const fired: FiredRun[] = [];
      for (const { name, matcher } of schedules) {
        const after = Math.max(lookedUpTo.get(name) ?? -Infinity, minute - LOOKBACK);
        const due = latestDue(matcher, after, minute);
        try {
          const run = due === undefined ? undefined : await fire(name, new Date(due).toISOString());
          if (run) fired.push(run);
          lookedUpTo.set(name, Math.max(minute, lookedUpTo.get(name) ?? -Infinity));
        } catch (error) {
          engine.log.warn({ err: error, job: name }, 'schedule could not fire; the next tick catches up');
        }
      }
      return fired;
    },
    async stop() {
      await Promise.all(schedules.map(async ({ matcher }) => matcher.destroy()));
    },
  };
}

/** The schedules, ticked by node-cron every minute (a tick still running when the next is due is not doubled). */
export function startScheduler(engine: Engine, jobs?: Record<string, ScheduledJobDefinition>): Scheduler {
  const scheduler = createScheduler(engine, jobs);
  let ticking: Promise<unknown> = Promise.resolve();
  const task = cron.schedule(
    '* * * * *',
    (context) => {
      ticking = scheduler.tick(context.date);
      return ticking;
    },
    { timezone: 'UTC', name: 'tokens-scheduler', noOverlap: true },
  );
  return {
    tick: (at) => scheduler.tick(at),
    async stop() {
      await task.destroy();
      await ticking;
      await scheduler.stop();
    },
  };
}

/** Queues a run of `name` now, as of `asOf` (never after the engine's now) or of the moment it runs. */
export async function enqueueScheduledJob(engine: Engine, name: string, asOf?: Date): Promise<string> {
  if (asOf) requireAsOfNotInFuture(asOf, await engine.clock.now());
  const job = await engine.queues.scheduled.add(name, { name, ...(asOf ? { asOf: asOf.toISOString() } : {}) }, { attempts: scheduledJobAttempts });
  await engine.replication.confirm();
  return job.id!;
}
