import type { Plan } from '../db/schema.js';
import { getPlan } from '../catalog/plans.js';
import type { AccountBook } from '../ledger/account-book.js';
import { BILLING_TOLERANCE_MS } from './billing-rules.js';
import { loadSubscription, saveSubscription } from './subscriptions.js';
import { startPlan } from './plan-purchase.js';
import { linkGrant, paidThrough, type Payment } from './payments.js';
import { restorePaidPeriod } from './unpaid-periods.js';
import { renewDue } from './renewal.js';
import { applied, ignored, type EventOutcome, type PaymentContext } from './payment-context.js';

const covers = (p: { period_start: Date | null; period_end: Date | null }, at: Date): boolean => {
  const probe = at.getTime() + BILLING_TOLERANCE_MS;
  return !!p.period_start && !!p.period_end && p.period_start.getTime() <= probe && p.period_end.getTime() > probe;
};

/**
 * A recorded plan payment of the account's subscription `subscriptionId`, applied to the account:
 * - the account does not follow that subscription yet (its first paid period, or a new subscription
 *   replacing another): the plan starts on Stripe's billing date (startPlan);
 * - it pays the account's current period: the period is paid (a grace ends), and if the period had
 *   fallen back to the free plan, its paid plan is restored, allocated once;
 * - it pays a later period (a yearly plan's months, an early invoice): renewals allocate them;
 * - it pays a period already over: recorded, nothing to allocate.
 */
export async function applyPaidPeriod(ctx: PaymentContext, book: AccountBook, subscriptionId: string, plan: Plan, payment: Payment): Promise<EventOutcome> {
  const userId = book.userId;
  const sub = await loadSubscription(ctx.trx, userId);
  if (sub?.stripe_subscription_id !== subscriptionId) {
    return ignored('not_current_subscription', `payment recorded; subscription ${subscriptionId} is not ${userId}'s current one (${sub?.stripe_subscription_id ?? 'none'})`, userId);
  }
  const through = await paidThrough(ctx.trx, subscriptionId);
  if (sub.anchored_to !== subscriptionId) {
    if (!payment.period_start || !payment.period_end || payment.period_end.getTime() <= ctx.now.getTime()) {
      await saveSubscription(ctx.trx, userId, { paid_through: through }, ctx.now);
      return applied('payment_recorded', `${userId} paid ${plan.id} for a period already over: nothing to allocate`, userId);
    }
    const { grantId, period } = await startPlan(ctx.trx, book, plan, payment.period_start, ctx.now, subscriptionId);
    await linkGrant(ctx.trx, payment.id, grantId === null ? null : { id: grantId }, book.account.period_index);
    await saveSubscription(ctx.trx, userId, { paid_through: through }, ctx.now);
    await renewDue(ctx.trx, book, ctx.now, ctx.rules);
    return applied(
      'plan_started',
      `${userId} is on ${plan.id} from ${period.start.toISOString()}: ${plan.monthly_tokens} tokens until ${period.end.toISOString()}, paid through ${through?.toISOString()}`,
      userId,
    );
  }
  // A paid invoice answers an earlier failure: Stripe's retry succeeded.
  const answered = sub.status === 'lapsing' && sub.lapse_reason === 'payment_failed' ? { status: 'active' as const, lapse_reason: null } : {};
  await saveSubscription(ctx.trx, userId, { paid_through: through, ...answered }, ctx.now);
  if (covers(payment, book.account.period_start)) {
    if (book.account.plan_id !== plan.id) {
      const current = await getPlan(ctx.trx, book.account.plan_id);
      if (current.monthly_tokens < plan.monthly_tokens) {
        const granted = await restorePaidPeriod(ctx.trx, book, plan, ctx.now);
        if (granted !== null) {
          return applied('plan_restored', `${userId}'s period from ${book.account.period_start.toISOString()} is paid: back on ${plan.id}, ${granted} tokens granted`, userId);
        }
      }
    }
    await saveSubscription(ctx.trx, userId, { status: 'active', lapse_reason: null, grace_until: null }, ctx.now);
    return applied('period_paid', `${userId} has paid ${plan.id} through ${through?.toISOString()}`, userId);
  }
  if (payment.period_start && payment.period_start.getTime() > book.account.period_start.getTime()) {
    return applied('period_paid', `${userId} has paid ${plan.id} through ${through?.toISOString()}: allocated at its renewals`, userId);
  }
  return applied('payment_recorded', `${userId} paid ${plan.id} for a period already over (from ${payment.period_start?.toISOString()}): nothing to allocate`, userId);
}
