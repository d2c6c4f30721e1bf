import type { Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { getPlan } from '../catalog/plans.js';
import type { AccountBook } from '../ledger/account-book.js';
import { addMonths, type Period } from './periods.js';
import { closePeriod, openPeriod } from './cycle.js';
import { saveSubscription } from './subscriptions.js';
import { linkGrant, recordPayment, type NewPayment } from './payments.js';
import { applied, ignored, type EventOutcome, type PaymentContext } from './payment-context.js';

/** What one payment of the plan buys: a month, or a year for a yearly plan (allocated month by month). */
export function paidThroughFrom(plan: Plan, from: Date): Date {
  return addMonths(from, plan.billing_interval === 'year' ? 12 : 1);
}

/**
 * A plan bought: the current period ends now and a new one starts on the plan, so the account renews on
 * the date it was bought, as the subscription is billed. The ending period's plan tokens expire (less
 * what its plan's rollover keeps); purchased and bonus tokens keep their own expiry.
 */
export async function startPlan(
  trx: Trx,
  book: AccountBook,
  plan: Plan,
  now: Date,
  billing: { paidThrough: Date; stripeSubscriptionId: string | null },
): Promise<{ grantId: number | null; period: Period }> {
  const ending = await getPlan(trx, book.account.plan_id);
  const rolledOver = await closePeriod(trx, book, ending, now);
  const period = { index: book.account.period_index + 1, start: now, end: addMonths(now, 1) };
  // The anchor is billing data, not a balance: the book's flush leaves it alone.
  await trx.updateTable('accounts').set({ anchor_at: now }).where('user_id', '=', book.userId).execute();
  book.account.anchor_at = now;
  const grantId = await openPeriod(trx, book, plan, period, rolledOver);
  await saveSubscription(
    trx,
    book.userId,
    {
      status: 'active',
      paid_through: billing.paidThrough,
      lapse_reason: null,
      pending_plan_id: null,
      ...(billing.stripeSubscriptionId ? { stripe_subscription_id: billing.stripeSubscriptionId } : {}),
    },
    now,
  );
  return { grantId, period };
}

/** A payment for a plan the account is not on (checkout, or a subscription's invoice): recorded once, then the plan starts. */
export async function purchasePlan(
  ctx: PaymentContext,
  book: AccountBook,
  plan: Plan,
  payment: Omit<NewPayment, 'kind' | 'planId' | 'periodStart' | 'periodEnd'>,
  paidThrough: Date,
): Promise<EventOutcome> {
  const paymentId = await recordPayment(ctx.trx, { ...payment, kind: 'plan', planId: plan.id, periodStart: ctx.now, periodEnd: paidThrough });
  if (paymentId === null) return ignored('already_recorded', 'this payment was already applied by another event', book.userId);
  const { grantId, period } = await startPlan(ctx.trx, book, plan, ctx.now, { paidThrough, stripeSubscriptionId: payment.subscriptionId ?? null });
  await linkGrant(ctx.trx, paymentId, grantId === null ? null : { id: grantId, tokens: plan.monthly_tokens });
  return applied(
    'plan_started',
    `${book.userId} is on ${plan.id} from ${period.start.toISOString()}: ${plan.monthly_tokens} tokens until ${period.end.toISOString()}, paid through ${paidThrough.toISOString()}`,
    book.userId,
  );
}
