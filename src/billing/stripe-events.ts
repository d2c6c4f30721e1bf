import Stripe from 'stripe';
import type { Queue } from 'bullmq';
import type { Db, Trx } from '../db/database.js';
import type { StripeEventStatus } from '../db/schema.js';
import { AccountBook } from '../ledger/account-book.js';
import { EngineError } from '../errors.js';
import type { PaymentJob } from '../queues.js';
import { stripeEventSchema, type StripeEvent } from './stripe-objects.js';
import { PaymentContext, ignored, type EventOutcome } from './payment-context.js';
import { onCheckoutCompleted } from './checkout.js';
import { onInvoicePaid, onLapse } from './invoices.js';
import { onChargeRefunded } from './refunds.js';

const handlers = new Map<string, (ctx: PaymentContext) => Promise<EventOutcome>>([
  ['checkout.session.completed', onCheckoutCompleted],
  ['invoice.paid', onInvoicePaid],
  ['invoice.payment_failed', onLapse],
  ['customer.subscription.deleted', onLapse],
  ['charge.refunded', onChargeRefunded],
]);

/** Checks the Stripe-Signature header on the raw body, as Stripe's library does; anything else is refused. */
export function verifyStripeEvent(rawBody: unknown, signature: string | string[] | undefined, secret: string): StripeEvent {
  if (!signature) throw new EngineError('invalid_signature', 'missing Stripe-Signature header');
  if (!Buffer.isBuffer(rawBody)) throw new EngineError('invalid_signature', 'missing body');
  let event: unknown;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, signature, secret);
  } catch (error) {
    throw new EngineError('invalid_signature', `Stripe signature check failed: ${(error as Error).message}`);
  }
  const parsed = stripeEventSchema.safeParse(event);
  if (!parsed.success) throw new EngineError('validation_failed', 'a signed body that is not a Stripe event (id, type, data.object)');
  return parsed.data;
}

/** BullMQ refuses ':' in custom ids; Stripe's ids have none, but the id must hold whatever arrives. */
export function paymentJobId(eventId: string): string {
  return `stripe-${encodeURIComponent(eventId)}`;
}

/**
 * Stores the event under its id (a retry or duplicate finds it) and queues it while it is unapplied. A
 * crash between the two is healed by Stripe's retry, which finds the event still `received`.
 */
export async function receiveStripeEvent(db: Db, queue: Queue, event: StripeEvent, now: Date): Promise<{ duplicate: boolean; status: StripeEventStatus }> {
  const inserted = await db
    .insertInto('stripe_events')
    .values({ id: event.id, type: event.type, payload: JSON.stringify(event), received_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('status')
    .executeTakeFirst();
  const status = inserted?.status ?? (await db.selectFrom('stripe_events').select('status').where('id', '=', event.id).executeTakeFirstOrThrow()).status;
  if (status === 'received') await queue.add(event.type, { eventId: event.id } satisfies PaymentJob, { jobId: paymentJobId(event.id) });
  return { duplicate: !inserted, status };
}

/**
 * The payment job, in the caller's transaction: applies a stored event once (its row is locked and
 * marked), with its ledger changes. Returns null when the event was already applied.
 */
export async function applyStripeEvent(trx: Trx, eventId: string, now: Date): Promise<EventOutcome | null> {
  const row = await trx.selectFrom('stripe_events').select(['status', 'payload']).where('id', '=', eventId).forUpdate().executeTakeFirst();
  if (!row || row.status !== 'received') return null;
  const event = stripeEventSchema.parse(row.payload);
  const ctx = new PaymentContext(trx, event, now);
  const handler = handlers.get(event.type);
  const outcome = handler ? await handler(ctx) : ignored('unhandled_type', `${event.type} events are recorded and not used`);
  await AccountBook.flush(trx, ctx.books, now);
  await trx
    .updateTable('stripe_events')
    .set({ status: outcome.status, outcome_code: outcome.code, outcome_message: outcome.message, user_id: outcome.userId ?? null, processed_at: now })
    .where('id', '=', eventId)
    .execute();
  return outcome;
}
