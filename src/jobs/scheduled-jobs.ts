import type { Engine } from '../engine.js';
import { expireGrants, expireHolds } from '../ledger/holds.js';
import { enqueueDueRenewals } from '../billing/due-renewals.js';
import { sweepStripeEvents } from '../billing/stripe-event-log.js';
import { sweepNotifications } from '../notify/sweep.js';
import { raiseAlerts } from '../notify/alerts.js';
import { runReconcile } from '../reconcile/reconcile-alerts.js';
import { runRollups } from '../insight/rollups.js';
import { computeDemand } from '../pricing/demand.js';
import { runCampaigns } from '../rewards/campaigns.js';

export type ScheduledJobRunner = (engine: Engine, asOf: Date) => Promise<Record<string, unknown>>;

export interface ScheduledJobDefinition {
  /** node-cron expression, in UTC; none for a job that only runs on request. */
  cron?: string;
  description: string;
  run: ScheduledJobRunner;
}

/** Every job the scheduler fires and an operator can run now (POST /admin/api/jobs/{name}/run). */
export const scheduledJobs: Record<string, ScheduledJobDefinition> = {
  holds: {
    cron: '* * * * *',
    description: 'release expired holds and remove expired grant tokens',
    run: async (engine, asOf) => ({
      holdsExpired: await expireHolds(engine.ledger, asOf),
      tokensExpired: await expireGrants(engine.ledger, asOf),
    }),
  },
  renewals: {
    cron: '* * * * *',
    description: 'queue a renewal job for every account whose period has ended, or whose unpaid grace has (one per account and period)',
    run: async (engine, asOf) => enqueueDueRenewals(engine.db, engine.queues.renewal, asOf),
  },
  'stripe-events': {
    cron: '* * * * *',
    description: 'queue again every received Stripe event left without a queue job (a failed enqueue, a replay) or given up by the queue',
    run: async (engine) => sweepStripeEvents(engine.db, engine.queues.payment),
  },
  pricing: {
    cron: '* * * * *',
    description: 'measure recent demand for the features of demand pricing rules and record their multipliers',
    run: async (engine, asOf) => computeDemand(engine.db, asOf),
  },
  campaigns: {
    cron: '*/5 * * * *',
    description: 'grant each running campaign bonus to the eligible accounts that have not had it',
    run: async (engine, asOf) => ({ granted: await runCampaigns(engine.ledger, asOf) }),
  },
  rollups: {
    cron: '*/5 * * * *',
    description: 'recompute the daily aggregates of the days touched since the last run',
    run: async (engine) => runRollups(engine.db, engine.config.timeZone),
  },
  notifications: {
    cron: '* * * * *',
    description: 'queue again every notification delivery left undelivered without a queue job',
    run: async (engine, asOf) => sweepNotifications(engine, asOf),
  },
  // The contract's name for the same sweep: warnings waiting in the outbox are (re)delivered.
  warnings: {
    description: 'the notifications sweep under the name the contract uses; runs on request only',
    run: async (engine, asOf) => sweepNotifications(engine, asOf),
  },
  alerts: {
    cron: '*/5 * * * *',
    description: 'raise tokens.alert for unusual usage (bursts, rejection runs, inhuman rates) in the last window',
    run: async (engine, asOf) => raiseAlerts(engine, asOf),
  },
  reconcile: {
    cron: '17 3 * * *',
    description: 'check every ledger invariant (balances, held tokens, usage keys, rollups) and alert on violations; never fixes',
    run: async (engine, asOf) => runReconcile(engine, asOf),
  },
};

export function isScheduledJob(name: string): boolean {
  return Object.hasOwn(scheduledJobs, name);
}
