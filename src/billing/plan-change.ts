import type { Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { getPlan } from '../catalog/plans.js';
import type { AccountBook } from '../ledger/account-book.js';
import type { LedgerUnit } from '../ledger/run-ledger.js';
import { EngineError } from '../errors.js';
import { renewDue } from './renewal.js';
import { loadSubscription, saveSubscription } from './subscriptions.js';
import type { BillingRules } from './billing-rules.js';

export interface PlanChange {
  change: 'upgrade' | 'downgrade' | 'none';
  planId: string;
  effectiveAt: Date;
  tokensGranted: number;
  pendingPlanId: string | null;
}

/**
 * An upgrade's grant for the rest of the period: the difference of monthly tokens times the fraction of
 * the period left, rounded up: ceil((new - old) * (end - at) / (end - start)), times in milliseconds.
 */
export function proratedUpgrade(oldMonthly: number, newMonthly: number, period: { start: Date; end: Date }, at: Date): number {
  const left = BigInt(Math.max(0, period.end.getTime() - at.getTime()));
  const length = BigInt(period.end.getTime() - period.start.getTime());
  const diff = BigInt(Math.max(0, newMonthly - oldMonthly));
  return Number((diff * left + length - 1n) / length);
}

/**
 * The engine's one rule for moving a locked, up-to-date account to another plan at `at` (the service
 * API's now, or the time Stripe changed the subscription's price). An upgrade (more tokens a month) takes
 * effect at once with its prorated grant, expiring with the period; a downgrade waits for the next
 * renewal; asking for the current plan cancels a pending downgrade.
 */
export async function changeBookPlan(trx: Trx, book: AccountBook, target: Plan, at: Date): Promise<PlanChange> {
  const userId = book.userId;
  const current = await getPlan(trx, book.account.plan_id);
  const sub = await loadSubscription(trx, userId);
  const periodEnd = book.account.period_end;
  const when = new Date(Math.min(Math.max(at.getTime(), book.account.period_start.getTime()), periodEnd.getTime()));
  let result: PlanChange;
  if (target.monthly_tokens > current.monthly_tokens) {
    const tokens = proratedUpgrade(current.monthly_tokens, target.monthly_tokens, { start: book.account.period_start, end: periodEnd }, when);
    book.setPeriod({ plan_id: target.id });
    if (tokens > 0) {
      await book.grant(trx, {
        source: 'plan',
        sourceRef: target.id,
        tokens,
        expiresAt: periodEnd,
        idempotencyKey: upgradeKey(userId, book.account.period_index, target.id),
        occurredAt: when,
        metadata: { upgradeFrom: current.id, prorated: true },
      });
    }
    result = { change: 'upgrade', planId: target.id, effectiveAt: when, tokensGranted: tokens, pendingPlanId: null };
  } else if (target.id !== current.id) {
    result = { change: 'downgrade', planId: current.id, effectiveAt: periodEnd, tokensGranted: 0, pendingPlanId: target.id };
  } else {
    result = { change: 'none', planId: current.id, effectiveAt: when, tokensGranted: 0, pendingPlanId: null };
  }
  if (result.pendingPlanId !== (sub?.pending_plan_id ?? null)) {
    await saveSubscription(trx, userId, { pending_plan_id: result.pendingPlanId }, when);
  }
  return result;
}

export function upgradeKey(userId: string, periodIndex: number, planId: string): string {
  return `upgrade:${userId}:${periodIndex}:${planId}`;
}

/** PUT /v1/accounts/{userId}/plan, in the caller's unit of work. */
export async function changePlan(unit: LedgerUnit, userId: string, planId: string, now: Date, rules: BillingRules): Promise<PlanChange> {
  const { trx } = unit;
  const book = await unit.lockOne(userId);
  if (!book) throw new EngineError('account_not_found', `no account for userId "${userId}"`, { userId });
  const target = await getPlan(trx, planId);
  await renewDue(trx, book, now, rules);
  return changeBookPlan(trx, book, target, now);
}
