import { DEFAULT_PLAN } from '../accounts/accounts.js';
import { planOfPrices } from '../catalog/plan-prices.js';
import { getPlan } from '../catalog/plans.js';
import { findPlan } from './plan-lookup.js';
import { priceKeys, subscriptionPeriod, subscriptionPrices, subscriptionSchema, toDate } from './stripe-objects.js';
import { applySnapshot, endsBy, learned, lockStripeSubscription, readStripeSubscription, recordFacts } from './stripe-subscriptions.js';
import { adoptSubscription, loadSubscription, saveSubscription } from './subscriptions.js';
import { changeBookPlan } from './plan-change.js';
import { coveringPayment } from './payments.js';
import { lapseCurrentPeriod } from './unpaid-periods.js';
import { applied, failed, ignored, retry, waitKeys, waiting, type EventOutcome, type PaymentContext } from './payment-context.js';

const RANK: Record<string, number> = {
  'customer.subscription.created': 0,
  'customer.subscription.updated': 1,
  'customer.subscription.deleted': 2,
};

/**
 * customer.subscription.created, .updated and .deleted: the subscription's state (status, price and so
 * plan, period, cancel_at_period_end) moves on if the snapshot is newer than the one applied. For the
 * account's current subscription, once the account follows it: a new price is a plan change by the
 * engine's rule (an upgrade now, prorated from the time Stripe changed it; a downgrade at the period
 * end); a cancellation ends the paid plan when the paid period does (at once if the current period is
 * not paid). A subscription no account is linked to yet waits for the checkout or invoice that names one.
 */
export async function onSubscriptionEvent(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = subscriptionSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a subscription: ${parsed.error.message}`);
  const sub = parsed.data;
  const known = await readStripeSubscription(ctx.trx, sub.id);
  const userId = known?.user_id ?? sub.metadata.userId ?? null;
  const book = userId ? await ctx.account(userId) : undefined;
  if (userId && !book) return failed('account_not_found', `no account for userId "${userId}" (subscription ${sub.id})`, userId);

  const mapped = await planOfPrices(ctx.trx, priceKeys(subscriptionPrices(sub)));
  const named = mapped ? undefined : sub.metadata.plan;
  if (named && !(await findPlan(ctx.trx, named))) return failed('unknown_plan', `no plan "${named}" (subscription ${sub.id} metadata.plan)`, userId);

  let row = await lockStripeSubscription(ctx.trx, sub.id, ctx.now);
  const before = row;
  if (!userId && row.user_id) return retry(`subscription ${sub.id} was linked to ${row.user_id} meanwhile`);
  const planBefore = row.plan_id;
  const startedAt = toDate(sub.start_date ?? sub.created);
  row = await recordFacts(ctx.trx, row, { userId, metadataPlan: sub.metadata.plan }, ctx.now);
  const snapshot = await applySnapshot(
    ctx.trx,
    row,
    {
      status: sub.status ?? null,
      priceId: subscriptionPrices(sub)[0]?.id ?? null,
      planId: mapped ?? named ?? null,
      period: subscriptionPeriod(sub),
      cancelAtPeriodEnd: sub.cancel_at_period_end ?? false,
      cancelAt: toDate(sub.cancel_at),
      endedAt: toDate(sub.ended_at ?? (sub.status === 'canceled' ? sub.canceled_at : null)),
      startedAt,
    },
    { at: new Date((ctx.event.created ?? Math.floor(ctx.now.getTime() / 1000)) * 1000), rank: RANK[ctx.event.type] ?? 1, eventId: ctx.event.id },
    ctx.now,
  );
  row = snapshot.row;
  if (!snapshot.current) return ignored('stale_event', `subscription ${sub.id}: a newer state (${row.state_event_id}) is already applied`, userId);
  if (learned(before, row)) ctx.wake(waitKeys.subscription(sub.id));
  if (!userId || !book) {
    return waiting(waitKeys.subscription(sub.id), 'subscription_unlinked', `subscription ${sub.id} names no account (metadata.userId): applied once its checkout or an invoice names one`);
  }

  const accountBefore = await loadSubscription(ctx.trx, userId);
  if (accountBefore?.stripe_subscription_id !== sub.id && (row.status === 'incomplete' || row.status === 'incomplete_expired')) {
    // Not paid yet: it replaces the account's current subscription (or starts its billing) once its first invoice is paid.
    return applied('subscription_recorded', `subscription ${sub.id} is ${row.status}: it applies to ${userId} once its first invoice is paid`, userId);
  }
  if (!(await adoptSubscription(ctx.trx, userId, row, ctx.now))) {
    return ignored('not_current_subscription', `subscription ${sub.id} is not ${userId}'s current one: the account is not changed`, userId);
  }
  const account = (await loadSubscription(ctx.trx, userId))!;
  const following = account.anchored_to === sub.id;
  const notes: string[] = [];
  if (following && row.plan_id && planBefore && row.plan_id !== planBefore && book.account.plan_id === planBefore) {
    const change = await changeBookPlan(ctx.trx, book, await getPlan(ctx.trx, row.plan_id), ctx.eventAt);
    notes.push(
      change.change === 'upgrade'
        ? `upgraded to ${row.plan_id} at ${change.effectiveAt.toISOString()}: ${change.tokensGranted} tokens for the rest of the period`
        : `moves to ${row.plan_id} at its renewal on ${change.effectiveAt.toISOString()}`,
    );
  }

  const periodStart = book.account.period_start;
  if (endsBy(row, book.account.period_end) || row.status === 'canceled') {
    const paid = await coveringPayment(ctx.trx, sub.id, periodStart);
    if (row.status === 'canceled' && following && !paid && book.account.plan_id !== DEFAULT_PLAN) {
      await lapseCurrentPeriod(ctx.trx, book, 'subscription_ended', sub.id, ctx.now);
      return applied('plan_ended', [...notes, `subscription ${sub.id} ended with the period from ${periodStart.toISOString()} unpaid: ${userId} is on ${DEFAULT_PLAN} now`].join('; '), userId);
    }
    if (book.account.plan_id === DEFAULT_PLAN) return applied('subscription_ended', [...notes, `subscription ${sub.id} ended; ${userId} is on ${DEFAULT_PLAN}`].join('; '), userId);
    const reason = row.status === 'canceled' ? 'subscription_deleted' : 'cancel_at_period_end';
    await saveSubscription(ctx.trx, userId, { status: 'lapsing', lapse_reason: reason }, ctx.now);
    return applied(
      'lapse_scheduled',
      [...notes, `subscription ${sub.id} ends: ${userId} moves to ${DEFAULT_PLAN} at its renewal on ${book.account.period_end.toISOString()}`].join('; '),
      userId,
    );
  }
  if (account.status === 'lapsing' && account.lapse_reason !== 'payment_failed') {
    await saveSubscription(ctx.trx, userId, { status: 'active', lapse_reason: null }, ctx.now);
    notes.push('no longer set to end');
  }
  return applied('subscription_updated', [`subscription ${sub.id} is ${row.status}${row.plan_id ? ` on ${row.plan_id}` : ''}`, ...notes].join('; '), userId);
}
