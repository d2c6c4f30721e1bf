import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, renewalJobSchema } from '../src/queues.js';
import { renewAccount } from '../src/billing/renewal.js';
import { billingRules } from '../src/billing/billing-rules.js';
import { runStandalone } from './standalone.js';
import { runLedger } from '../src/ledger/run-ledger.js';
import { observeWorker } from './observe.js';
import { failOnceOnInvariant } from './ledger-invariant.js';

/** Renews one account per job, in one transaction, up to the job's asOf but never past the engine's now. */
export function startRenewalWorker(engine: Engine): Worker {
  const rules = billingRules(engine.config);
  const worker = new Worker(
    'renewal',
    failOnceOnInvariant(engine, 'renewal', async (job) => {
      const parsed = renewalJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed renewal job: ${parsed.error.message}`);
      const { userId, asOf } = parsed.data;
      const now = await engine.clock.now();
      const upTo = new Date(Math.min(new Date(asOf).getTime(), now.getTime()));
      const renewals = await runLedger(engine.ledger, upTo, [], (_, unit) => renewAccount(unit, userId, upTo, rules));
      if (renewals.length > 0) {
        engine.log.info(
          { userId, jobId: job.id, periods: renewals.map((r) => ({ index: r.periodIndex, plan: r.planId, rolledOver: r.rolledOver, lapsed: r.lapsed })) },
          'account renewed',
        );
      }
      return { renewed: renewals.length };
    }),
    {
      connection: engine.workerConnection,
      prefix: engine.config.queuePrefix,
      concurrency: 4,
      settings: { backoffStrategy: cappedBackoff },
    },
  );
  return observeWorker(engine, worker, 'renewal');
}

runStandalone(import.meta.url, 'renewal', startRenewalWorker);
