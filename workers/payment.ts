import { UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { cappedBackoff, paymentJobSchema } from '../src/queues.js';
import { applyStripeEvent, enqueueStripeEvents, failStripeEvent } from '../src/billing/stripe-events.js';
import { billingRules } from '../src/billing/billing-rules.js';
import { runStandalone } from './standalone.js';
import { runLedger } from '../src/ledger/run-ledger.js';
import { observeWorker } from './observe.js';
import { failOnceOnInvariant } from './ledger-invariant.js';

/**
 * Applies stored Stripe events, one transaction each. An event that cannot be applied as sent is marked
 * failed (with its reason) and the job completes: only an outage (database down) makes a job retry.
 * Events it woke are queued after the commit; if that fails they stay `received` for the sweep.
 */
export function startPaymentWorker(engine: Engine): Worker {
  const rules = billingRules(engine.config);
  const worker = new Worker(
    'payment',
    failOnceOnInvariant(engine, 'payment', async (job) => {
      const parsed = paymentJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed payment job: ${parsed.error.message}`);
      const { eventId } = parsed.data;
      const now = await engine.clock.now();
      const done = await runLedger(engine.ledger, now, [], (_, unit) => applyStripeEvent(unit, eventId, rules));
      if (!done) return { status: 'already_processed' };
      const { outcome, requeue } = done;
      try {
        await enqueueStripeEvents(engine.queues.payment, requeue);
      } catch (error) {
        engine.log.warn({ err: error, events: requeue.map((e) => e.id) }, 'woken Stripe events not queued; the stripe-events sweep will queue them');
      }
      const log = { eventId, jobId: job.id, userId: outcome.userId, code: outcome.code };
      if (outcome.status === 'failed') engine.log.warn(log, `stripe event failed: ${outcome.message}`);
      else engine.log.info(log, `stripe event ${outcome.status}: ${outcome.message}`);
      return outcome;
    }, async (job, error) => {
      // Marked failed, so that no sweep queues it again and an admin can replay it once the bug is fixed.
      const { eventId } = job.data as { eventId: string };
      await failStripeEvent(engine.db, eventId, error.code, error.message, await engine.clock.now());
    }),
    {
      connection: engine.workerConnection,
      prefix: engine.config.queuePrefix,
      concurrency: 4,
      settings: { backoffStrategy: cappedBackoff },
    },
  );
  return observeWorker(engine, worker, 'payment');
}

runStandalone(import.meta.url, 'payment', startPaymentWorker);
