import type { Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { getPlan } from '../catalog/plans.js';
import type { AccountBook } from '../ledger/account-book.js';
import { addMonths, type Period } from '../calendar/periods.js';
import { closePeriod, openPeriod } from './cycle.js';
import { saveSubscription } from './subscriptions.js';

/** The engine periods one payment of the plan pays: a month, or twelve for a yearly plan (allocated month by month). */
export function periodsPaidBy(plan: Plan): number {
  return plan.billing_interval === 'year' ? 12 : 1;
}

/**
 * What one payment of the plan covers: Stripe's own period when its object names one, else the periods
 * the plan pays from `from`, marked as an estimate for Stripe's exact dates to replace later.
 */
export function coverageOf(plan: Plan, exact: { start: Date; end: Date } | null, from: Date) {
  const periods = periodsPaidBy(plan);
  const periodStart = exact?.start ?? from;
  return { periodStart, periodEnd: exact?.end ?? addMonths(periodStart, periods), periods, tokens: periods * plan.monthly_tokens, periodEstimated: !exact };
}

export function paidThroughFrom(plan: Plan, from: Date): Date {
  return addMonths(from, periodsPaidBy(plan));
}

/**
 * A subscription's first paid period starts the plan on Stripe's billing date `startsAt` (never after
 * now): the current period ends there (its plan tokens expire, less what its plan's rollover keeps;
 * purchased and bonus tokens keep their own expiry), the account's anchor moves to `startsAt` so its
 * periods follow the subscription's, and the plan's allocation is granted. From then on the account
 * follows the subscription (`anchored_to`).
 */
export async function startPlan(
  trx: Trx,
  book: AccountBook,
  plan: Plan,
  startsAt: Date,
  now: Date,
  stripeSubscriptionId: string,
): Promise<{ grantId: number | null; period: Period }> {
  const ending = await getPlan(trx, book.account.plan_id);
  const start = new Date(Math.min(startsAt.getTime(), now.getTime()));
  const closesAt = new Date(Math.max(start.getTime(), book.account.period_start.getTime()));
  const rolledOver = await closePeriod(trx, book, ending, closesAt);
  const period = { index: book.account.period_index + 1, start, end: addMonths(start, 1) };
  // The anchor is billing data, not a balance: the book's flush leaves it alone.
  await trx.updateTable('accounts').set({ anchor_at: start }).where('user_id', '=', book.userId).execute();
  book.account.anchor_at = start;
  const grantId = await openPeriod(trx, book, plan, period, rolledOver);
  await saveSubscription(
    trx,
    book.userId,
    { status: 'active', lapse_reason: null, pending_plan_id: null, grace_until: null, stripe_subscription_id: stripeSubscriptionId, anchored_to: stripeSubscriptionId },
    now,
  );
  return { grantId, period };
}

/**
 * Stripe's exact billing dates arrived after the plan was started on an estimate (a checkout's time):
 * the period it opened moves onto them, with the expiry of its plan tokens, if it is still the current one.
 */
export async function realignPeriod(trx: Trx, book: AccountBook, openedIndex: number, start: Date, now: Date): Promise<boolean> {
  const a = book.account;
  if (a.period_index !== openedIndex || a.period_start.getTime() === start.getTime()) return false;
  const end = addMonths(start, 1);
  if (end.getTime() <= now.getTime()) return false;
  book.bringExpiryForward(['plan', 'rollover'], a.period_end, end);
  await trx.updateTable('accounts').set({ anchor_at: start }).where('user_id', '=', book.userId).execute();
  a.anchor_at = start;
  book.setPeriod({ period_start: start, period_end: end });
  return true;
}
