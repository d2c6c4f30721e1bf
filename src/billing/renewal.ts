import type { Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import type { AccountBook } from '../ledger/account-book.js';
import type { LedgerUnit } from '../ledger/run-ledger.js';
import { getPlan } from '../catalog/plans.js';
import { DEFAULT_PLAN } from '../accounts/accounts.js';
import { closePeriod, nextPeriod, openPeriod } from './cycle.js';
import { releaseDueHolds } from '../ledger/hold-expiry.js';
import type { Period } from '../calendar/periods.js';
import { loadSubscription, saveSubscription, type Subscription } from './subscriptions.js';
import { endsBy, readStripeSubscription } from './stripe-subscriptions.js';
import { coveringPayment } from './payments.js';
import { lapseCurrentPeriod, recordUnpaidRenewal } from './unpaid-periods.js';
import type { BillingRules } from './billing-rules.js';
import { grantLoyaltyBonus } from '../rewards/loyalty.js';

export interface Renewal {
  periodIndex: number;
  start: Date;
  planId: string;
  allocated: number;
  rolledOver: number;
  /** The paid plan was not paid (or its subscription ended): the account moved to Free Starter. */
  lapsed: boolean;
  /** Allocated on the paid plan before its payment arrived: unpaid at this instant, it lapses. */
  graceUntil: Date | null;
  loyaltyBonus: number;
}

interface PeriodPlan {
  plan: Plan;
  lapsed: 'unpaid' | 'subscription_ended' | null;
  graceUntil: Date | null;
}

/**
 * The plan a period opens on. Without a current Stripe subscription the account renews on its plan (or
 * a pending downgrade): whoever put it there (a trusted service, an admin) answers for it. A Stripe-billed
 * account renews on a paid plan only while the period is paid: on the plan its payment paid; unpaid,
 * on its plan within the grace from the period's start (Stripe bills a period after it starts and retries
 * failures), and on Free Starter once the grace is over or the subscription has ended.
 */
async function planForPeriod(trx: Trx, sub: Subscription | undefined, target: Plan, period: Period, upTo: Date, rules: BillingRules): Promise<PeriodPlan> {
  const stripeId = sub?.stripe_subscription_id;
  if (!stripeId) return { plan: target, lapsed: null, graceUntil: null };
  const paid = await coveringPayment(trx, stripeId, period.start);
  if (paid?.plan_id) return { plan: paid.plan_id === target.id ? target : await getPlan(trx, paid.plan_id), lapsed: null, graceUntil: null };
  if (target.price_cents === 0) return { plan: target, lapsed: null, graceUntil: null };
  const free = await getPlan(trx, DEFAULT_PLAN);
  const row = await readStripeSubscription(trx, stripeId);
  if (!row || endsBy(row, period.start)) return { plan: free, lapsed: 'subscription_ended', graceUntil: null };
  const graceUntil = new Date(period.start.getTime() + rules.graceMs);
  if (upTo.getTime() < graceUntil.getTime()) return { plan: target, lapsed: null, graceUntil };
  return { plan: free, lapsed: 'unpaid', graceUntil: null };
}

/**
 * Brings the locked account up to `upTo`: renews it period by period, in order, until its period
 * contains `upTo` (each ended period's plan tokens expire, less what the rollover keeps, and the next
 * period's allocation is granted under its own key), then lapses the current period if its grace is over
 * unpaid. A period is renewed once: a second run finds the period not yet ended and does nothing. Call it
 * first on a freshly locked book, so payments and plan changes land in the right period.
 */
export async function renewDue(trx: Trx, book: AccountBook, upTo: Date, rules: BillingRules): Promise<Renewal[]> {
  const renewals: Renewal[] = [];
  let sub = book.account.period_end.getTime() <= upTo.getTime() ? await loadSubscription(trx, book.userId) : undefined;
  while (book.account.period_end.getTime() <= upTo.getTime()) {
    const ending = await getPlan(trx, book.account.plan_id);
    const pending = sub?.pending_plan_id ?? null;
    const target = pending && pending !== ending.id ? await getPlan(trx, pending) : ending;
    const period = nextPeriod(book.account);
    const next = await planForPeriod(trx, sub, target, period, upTo, rules);
    // Holds past their time give their tokens back from that instant: those expired by the period's end
    // were unspent at its close; those expired since go back to tokens that ended with it.
    await releaseDueHolds(trx, [book], book.account.period_end);
    const rolledOver = await closePeriod(trx, book, ending, book.account.period_end);
    await releaseDueHolds(trx, [book], upTo);
    await openPeriod(trx, book, next.plan, period, rolledOver);
    const loyaltyBonus = await grantLoyaltyBonus(trx, book, next.plan, period);
    renewals.push({
      periodIndex: period.index,
      start: period.start,
      planId: next.plan.id,
      allocated: next.plan.monthly_tokens,
      rolledOver,
      lapsed: next.lapsed !== null,
      graceUntil: next.graceUntil,
      loyaltyBonus,
    });
    if (next.lapsed === 'unpaid') await recordUnpaidRenewal(trx, book, target, sub!.stripe_subscription_id!, period.start);
    if (sub) {
      const change = {
        grace_until: next.graceUntil,
        ...(pending && (next.plan.id === pending || next.lapsed) ? { pending_plan_id: null } : {}),
        ...(next.lapsed ? { status: 'lapsed' as const, lapse_reason: next.lapsed } : {}),
      };
      await saveSubscription(trx, book.userId, change, period.start);
      sub = { ...sub, ...change };
    }
  }
  await lapseIfGraceOver(trx, book, upTo, sub);
  return renewals;
}

/** The current period was allocated on its paid plan before it was paid: past its grace, still unpaid, it lapses. */
async function lapseIfGraceOver(trx: Trx, book: AccountBook, upTo: Date, known: Subscription | undefined): Promise<void> {
  const sub = known ?? (await loadSubscription(trx, book.userId));
  if (!sub?.grace_until || sub.grace_until.getTime() > upTo.getTime() || !sub.stripe_subscription_id) return;
  if (await coveringPayment(trx, sub.stripe_subscription_id, book.account.period_start)) {
    await saveSubscription(trx, book.userId, { grace_until: null }, upTo);
    return;
  }
  await lapseCurrentPeriod(trx, book, 'unpaid', sub.stripe_subscription_id, sub.grace_until);
}

/** The renewal job, in the caller's unit of work: one account, however many periods it catches up. */
export async function renewAccount(unit: LedgerUnit, userId: string, upTo: Date, rules: BillingRules): Promise<Renewal[]> {
  const book = await unit.lockOne(userId);
  if (!book) return [];
  return renewDue(unit.trx, book, upTo, rules);
}
