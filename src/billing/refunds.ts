import type { AccountBook } from '../ledger/account-book.js';
import { chargeSchema, disputeSchema, refundSchema } from './stripe-objects.js';
import { linkRefs, paymentOfCharge, type Payment } from './payments.js';
import { settleRefunds } from './refund-settlement.js';
import { applied, failed, ignored, retry, waitKeys, waiting, type EventOutcome, type PaymentContext } from './payment-context.js';

interface Refunded {
  book: AccountBook;
  payment: Payment;
}

/**
 * The payment a charge paid, with its account locked first. Not known yet (the invoice_payment.paid
 * that links a subscription's charge arrives later, or its invoice.paid), the event waits on the
 * reference: whoever records it wakes the event.
 */
async function refundedPayment(ctx: PaymentContext, chargeId: string | null, paymentIntentId: string | null, what: string): Promise<Refunded | EventOutcome> {
  const key = paymentIntentId ?? chargeId;
  if (!key) return failed('payment_not_found', `${what} names no charge or payment intent`);
  const found = await paymentOfCharge(ctx.trx, chargeId, paymentIntentId);
  if (!found) {
    await ctx.trx.insertInto('stripe_payment_refs').values({ ref: key, invoice_id: null, checkout_session_id: null }).onConflict((oc) => oc.column('ref').doNothing()).execute();
    await ctx.trx.selectFrom('stripe_payment_refs').select('ref').where('ref', '=', key).forUpdate().execute();
    if (await paymentOfCharge(ctx.trx, chargeId, paymentIntentId)) return retry(`the payment of ${key} was recorded meanwhile`);
    return waiting(
      waitKeys.paymentRef(key),
      'payment_not_found',
      `${what}: no payment recorded yet for ${paymentIntentId ? `payment intent ${paymentIntentId}` : `charge ${chargeId}`}; applied once its invoice_payment.paid, invoice or checkout arrives`,
    );
  }
  const book = (await ctx.account(found.user_id))!;
  const target = found.invoice_id ? { invoice_id: found.invoice_id } : found.checkout_session_id ? { checkout_session_id: found.checkout_session_id } : null;
  if (target) await linkRefs(ctx.trx, [chargeId, paymentIntentId], target);
  const payment = await ctx.trx.selectFrom('payments').selectAll().where('id', '=', found.id).forUpdate().executeTakeFirstOrThrow();
  return { book, payment };
}

const stripeTime = (ctx: PaymentContext) => new Date((ctx.event.created ?? Math.floor(ctx.now.getTime() / 1000)) * 1000);

/**
 * charge.refunded: Stripe's amount_refunded is cumulative, so the newest snapshot of the charge sets how
 * much of the payment is refunded (an older delivery never lowers it), and the tokens taken back follow
 * the total (refund-settlement.ts): ten 1-cent refunds take what one 10-cent refund takes.
 */
export async function onChargeRefunded(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = chargeSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a charge: ${parsed.error.message}`);
  const charge = parsed.data;
  const found = await refundedPayment(ctx, charge.id, charge.payment_intent, `charge ${charge.id}`);
  if (!('payment' in found)) return found;
  const { book, payment } = found;
  const at = stripeTime(ctx);
  // Stripe's refunds of one charge come seconds apart; within one second the larger total is the later.
  const seen = payment.refunds_seen_at?.getTime();
  const newer = seen === undefined || at.getTime() > seen || (at.getTime() === seen && charge.amount_refunded > payment.refunded_cents);
  const newlyRefunded = charge.amount_refunded - payment.refunded_cents;
  if (!newer || newlyRefunded === 0) return ignored('already_refunded', `charge ${charge.id}: this refund was already applied`, book.userId);
  await ctx.trx.updateTable('payments').set({ refunded_cents: charge.amount_refunded, refunds_seen_at: at }).where('id', '=', payment.id).execute();
  const settled = await settleRefunds(ctx, book, { ...payment, refunded_cents: charge.amount_refunded, refunds_seen_at: at }, `refund:${charge.id}`, {
    chargeId: charge.id,
    refundedCents: newlyRefunded,
    currency: charge.currency,
  });
  if (settled.requested === 0 && settled.givenBack === 0) return ignored('already_refunded', `charge ${charge.id}: the refunds so far call for no more tokens`, book.userId);
  return applied(
    'refund_reversed',
    `charge ${charge.id} refunded ${newlyRefunded} ${charge.currency}: took back ${settled.taken} of ${settled.requested} tokens (${settled.requested - settled.taken} already spent or expired)${settled.note}`,
    book.userId,
  );
}

/** refund.failed: the money stays with the merchant, so the tokens its refund took come back. */
export async function onRefundFailed(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = refundSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a refund: ${parsed.error.message}`);
  const refund = parsed.data;
  const found = await refundedPayment(ctx, refund.charge, refund.payment_intent, `refund ${refund.id}`);
  if (!('payment' in found)) return found;
  const { book, payment } = found;
  const recorded = await ctx.trx
    .insertInto('payment_adjustments')
    .values({ stripe_id: refund.id, payment_id: payment.id, kind: 'refund_failed', amount_cents: refund.amount, occurred_at: stripeTime(ctx) })
    .onConflict((oc) => oc.column('stripe_id').doNothing())
    .returning('stripe_id')
    .executeTakeFirst();
  if (!recorded) return ignored('already_applied', `refund ${refund.id}: its failure was already applied`, book.userId);
  const settled = await settleRefunds(ctx, book, payment, `refund_failed:${refund.id}`, { refundId: refund.id, refundedCents: -refund.amount });
  return applied('refund_undone', `refund ${refund.id} of ${refund.amount} failed: gave back ${settled.givenBack} tokens${settled.note}`, book.userId);
}

/** charge.dispute.closed: a dispute lost is a chargeback, taken back like a refund of its amount. */
export async function onDisputeClosed(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = disputeSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a dispute: ${parsed.error.message}`);
  const dispute = parsed.data;
  if (dispute.status !== 'lost') return ignored('dispute_not_lost', `dispute ${dispute.id} closed as ${dispute.status}: nothing is taken back`);
  const found = await refundedPayment(ctx, dispute.charge, dispute.payment_intent, `dispute ${dispute.id}`);
  if (!('payment' in found)) return found;
  const { book, payment } = found;
  const recorded = await ctx.trx
    .insertInto('payment_adjustments')
    .values({ stripe_id: dispute.id, payment_id: payment.id, kind: 'dispute_lost', amount_cents: dispute.amount, occurred_at: stripeTime(ctx) })
    .onConflict((oc) => oc.column('stripe_id').doNothing())
    .returning('stripe_id')
    .executeTakeFirst();
  if (!recorded) return ignored('already_applied', `dispute ${dispute.id} was already applied`, book.userId);
  const settled = await settleRefunds(ctx, book, payment, `dispute:${dispute.id}`, { disputeId: dispute.id, refundedCents: dispute.amount });
  return applied(
    'chargeback_reversed',
    `dispute ${dispute.id} lost (${dispute.amount} ${dispute.currency ?? ''}): took back ${settled.taken} of ${settled.requested} tokens (${settled.requested - settled.taken} already spent or expired)${settled.note}`,
    book.userId,
  );
}
