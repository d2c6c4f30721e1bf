import type { LedgerUnit } from '../ledger/run-ledger.js';
import { audit } from '../audit/audit.js';
import type { BillingRules } from './billing-rules.js';
import { changePlan, type PlanChange } from './plan-change.js';

/**
 * An admin moves an account to another plan by the engine's own rule (an upgrade now, prorated; a
 * downgrade at renewal), audited in the same transaction with the plan before and what the change did.
 */
export async function changePlanAsAdmin(unit: LedgerUnit, userId: string, planId: string, actor: string, now: Date, rules: BillingRules): Promise<PlanChange> {
  const { trx } = unit;
  // Locked first, so the plan read is the one the change starts from (changePlan takes the same lock).
  const before = await trx
    .selectFrom('accounts')
    .leftJoin('subscriptions', 'subscriptions.user_id', 'accounts.user_id')
    .select(['accounts.plan_id', 'subscriptions.pending_plan_id'])
    .where('accounts.user_id', '=', userId)
    .forUpdate('accounts')
    .executeTakeFirst();
  const change = await changePlan(unit, userId, planId, now, rules);
  await audit(trx, {
    actor,
    action: 'account.plan_change',
    subject: `account:${userId}`,
    before: { plan: before?.plan_id ?? null, pendingPlan: before?.pending_plan_id ?? null },
    after: {
      requestedPlan: planId,
      change: change.change,
      plan: change.planId,
      pendingPlan: change.pendingPlanId,
      tokensGranted: change.tokensGranted,
      effectiveAt: change.effectiveAt.toISOString(),
    },
    at: now,
  });
  return change;
}
