import type { Queue } from 'bullmq';
import type { Db } from '../db/database.js';
import type { StripeEventStatus } from '../db/schema.js';
import type { LedgerUnit } from '../ledger/run-ledger.js';
import type { PaymentJob } from '../queues.js';
import { stripeEventSchema, type StripeEvent } from './stripe-objects.js';
import { PaymentContext, ignored, type EventOutcome } from './payment-context.js';
import type { BillingRules } from './billing-rules.js';
import { onCheckoutSession } from './checkout.js';
import { onInvoicePaid, onInvoicePaymentFailed } from './invoices.js';
import { onInvoicePaymentPaid } from './invoice-payments.js';
import { onSubscriptionEvent } from './subscription-events.js';
import { onChargeRefunded, onDisputeClosed, onRefundFailed } from './refunds.js';

/** Every event type the engine applies; any other is recorded and `ignored`. docs/billing.md has the table. */
export const stripeHandlers = new Map<string, (ctx: PaymentContext) => Promise<EventOutcome>>([
  ['checkout.session.completed', onCheckoutSession],
  ['checkout.session.async_payment_succeeded', onCheckoutSession],
  ['checkout.session.async_payment_failed', onCheckoutSession],
  ['customer.subscription.created', onSubscriptionEvent],
  ['customer.subscription.updated', onSubscriptionEvent],
  ['customer.subscription.deleted', onSubscriptionEvent],
  ['invoice.paid', onInvoicePaid],
  ['invoice.payment_failed', onInvoicePaymentFailed],
  ['invoice_payment.paid', onInvoicePaymentPaid],
  ['charge.refunded', onChargeRefunded],
  ['refund.failed', onRefundFailed],
  ['charge.dispute.closed', onDisputeClosed],
]);

export { verifyStripeEvent } from './stripe-signature.js';

/**
 * One queue job per event and round (BullMQ refuses ':' in custom ids; Stripe's ids have none, but the id
 * must hold whatever arrives). Round 0 is the delivery; a wake, replay or sweep is a new round, so its
 * job is a new one even while the previous round's completed job is kept.
 */
export function paymentJobId(eventId: string, round = 0): string {
  return round === 0 ? `stripe-${encodeURIComponent(eventId)}` : `stripe-${encodeURIComponent(eventId)}-r${round}`;
}

export interface QueuedEvent {
  id: string;
  type: string;
  round: number;
}

export async function enqueueStripeEvents(queue: Queue, events: QueuedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await queue.addBulk(events.map((e) => ({ name: e.type, data: { eventId: e.id } satisfies PaymentJob, opts: { jobId: paymentJobId(e.id, e.round) } })));
}

/**
 * Stores the event under its id (a retry or duplicate finds it) and queues it while it is unapplied. A
 * crash or a Redis failure between the two leaves it `received`: Stripe's retry, or the `stripe-events`
 * sweep, queues it again.
 */
export async function receiveStripeEvent(db: Db, queue: Queue, event: StripeEvent, now: Date): Promise<{ duplicate: boolean; status: StripeEventStatus }> {
  const inserted = await db
    .insertInto('stripe_events')
    .values({ id: event.id, type: event.type, payload: JSON.stringify(event), received_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning(['status', 'round'])
    .executeTakeFirst();
  const row = inserted ?? (await db.selectFrom('stripe_events').select(['status', 'round']).where('id', '=', event.id).executeTakeFirstOrThrow());
  if (row.status === 'received') await enqueueStripeEvents(queue, [{ id: event.id, type: event.type, round: row.round }]);
  return { duplicate: !inserted, status: row.status };
}

/** An event the engine could not apply for a reason of its own (a broken ledger invariant): kept `failed` for an admin. */
export async function failStripeEvent(db: Db, eventId: string, code: string, message: string, now: Date): Promise<void> {
  await db
    .updateTable('stripe_events')
    .set({ status: 'failed', outcome_code: code, outcome_message: message, processed_at: now })
    .where('id', '=', eventId)
    .where('status', '=', 'received')
    .execute();
}

export interface AppliedEvent {
  outcome: EventOutcome;
  /** Events to queue after the commit: those this one woke, and itself when it must run again. */
  requeue: QueuedEvent[];
}

/**
 * The payment job, in the caller's transaction: applies a stored event once (its row is locked and
 * marked), with its ledger changes. Events waiting on state this one created are set `received` in the
 * same transaction (the worker queues them after the commit); waiting events it answers are settled.
 * Returns null when the event is not `received` (already applied, or waiting).
 */
export async function applyStripeEvent(unit: LedgerUnit, eventId: string, rules: BillingRules): Promise<AppliedEvent | null> {
  const { trx, now } = unit;
  const row = await trx.selectFrom('stripe_events').select(['status', 'payload', 'round', 'type']).where('id', '=', eventId).forUpdate().executeTakeFirst();
  if (!row || row.status !== 'received') return null;
  const event = stripeEventSchema.parse(row.payload);
  const ctx = new PaymentContext(unit, event, rules);
  const handler = stripeHandlers.get(event.type);
  const outcome = handler ? await handler(ctx) : ignored('unhandled_type', `${event.type} events are recorded and not used`);
  const requeue: QueuedEvent[] = [];
  const status = outcome.status;
  if (status === 'retry') {
    await trx.updateTable('stripe_events').set({ round: row.round + 1 }).where('id', '=', eventId).execute();
    requeue.push({ id: eventId, type: row.type, round: row.round + 1 });
  } else {
    await trx
      .updateTable('stripe_events')
      .set({
        status,
        outcome_code: outcome.code,
        outcome_message: outcome.message,
        user_id: outcome.userId ?? null,
        waiting_for: outcome.waitingFor ?? null,
        processed_at: now,
      })
      .where('id', '=', eventId)
      .execute();
  }
  for (const [key, settled] of ctx.settles) {
    if (settled.status === 'retry') continue;
    await trx
      .updateTable('stripe_events')
      .set({ status: settled.status, outcome_code: settled.code, outcome_message: settled.message, waiting_for: null, processed_at: now })
      .where('status', '=', 'waiting')
      .where('waiting_for', '=', key)
      .where('id', '<>', eventId)
      .execute();
  }
  if (ctx.wakes.size > 0) {
    const woken = await trx
      .updateTable('stripe_events')
      .set((eb) => ({ status: 'received', waiting_for: null, round: eb('round', '+', 1) }))
      .where('status', '=', 'waiting')
      .where('waiting_for', 'in', [...ctx.wakes])
      .where('id', '<>', eventId)
      .returning(['id', 'type', 'round'])
      .execute();
    requeue.push(...woken);
  }
  return { outcome, requeue };
}
