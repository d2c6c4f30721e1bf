import type { Engine } from '../engine.js';
import { expireGrants, expireHolds } from '../ledger/holds.js';

export type ScheduledJobRunner = (engine: Engine, asOf: Date) => Promise<Record<string, unknown>>;

export interface ScheduledJobDefinition {
  /** node-cron expression, in UTC. */
  cron: string;
  description: string;
  run: ScheduledJobRunner;
}

/** Every job the scheduler fires and an operator can run now (POST /admin/api/jobs/{name}/run). */
export const scheduledJobs: Record<string, ScheduledJobDefinition> = {
  holds: {
    cron: '* * * * *',
    description: 'release expired holds and remove expired grant tokens',
    run: async (engine, asOf) => ({
      holdsExpired: await expireHolds(engine.db, asOf),
      tokensExpired: await expireGrants(engine.db, asOf),
    }),
  },
};

export function isScheduledJob(name: string): boolean {
  return Object.hasOwn(scheduledJobs, name);
}
