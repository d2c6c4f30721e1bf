import type { Trx } from '../db/database.js';
import { AccountBook } from '../ledger/account-book.js';
import { getPlan } from '../catalog/plans.js';
import { DEFAULT_PLAN } from '../accounts/accounts.js';
import { closePeriod, nextPeriod, openPeriod } from './cycle.js';
import { loadSubscription, planAfter, saveSubscription } from './subscriptions.js';
import { grantLoyaltyBonus } from '../rewards/loyalty.js';

export interface Renewal {
  periodIndex: number;
  start: Date;
  planId: string;
  allocated: number;
  rolledOver: number;
  /** The paid period was over and the subscription had lapsed: the account moved to Free Starter. */
  lapsed: boolean;
  loyaltyBonus: number;
}

/**
 * Renews the locked account period by period, in order, until its period contains `upTo`: each ended
 * period's plan tokens expire (less what the rollover keeps) and the next period's allocation is granted
 * under its own key. A period is renewed once: a second run finds the period not yet ended and does
 * nothing. Call it first on a freshly locked book, so payments and plan changes land in the right period.
 */
export async function renewDue(trx: Trx, book: AccountBook, upTo: Date): Promise<Renewal[]> {
  const renewals: Renewal[] = [];
  if (book.account.period_end.getTime() > upTo.getTime()) return renewals;
  let sub = await loadSubscription(trx, book.userId);
  while (book.account.period_end.getTime() <= upTo.getTime()) {
    const ending = await getPlan(trx, book.account.plan_id);
    const after = planAfter(sub, ending.id, book.account.period_end, DEFAULT_PLAN);
    const plan = after.planId === ending.id ? ending : await getPlan(trx, after.planId);
    const period = nextPeriod(book.account);
    const rolledOver = await closePeriod(trx, book, ending, book.account.period_end);
    await openPeriod(trx, book, plan, period, rolledOver);
    const loyaltyBonus = await grantLoyaltyBonus(trx, book, plan, period);
    renewals.push({ periodIndex: period.index, start: period.start, planId: plan.id, allocated: plan.monthly_tokens, rolledOver, lapsed: after.lapsed, loyaltyBonus });
    if (sub && (after.lapsed || sub.pending_plan_id)) {
      const change = after.lapsed ? { status: 'lapsed' as const, pending_plan_id: null } : { pending_plan_id: null };
      await saveSubscription(trx, book.userId, change, period.start);
      sub = { ...sub, ...change };
    }
  }
  return renewals;
}

/** The renewal job, in the caller's transaction: one account, however many periods it catches up. */
export async function renewAccount(trx: Trx, userId: string, upTo: Date): Promise<Renewal[]> {
  const book = await AccountBook.lockOne(trx, userId);
  if (!book) return [];
  const renewals = await renewDue(trx, book, upTo);
  await AccountBook.flush(trx, [book], upTo);
  return renewals;
}
