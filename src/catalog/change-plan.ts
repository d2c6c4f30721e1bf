import type { Db } from '../db/database.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { adminPlanView, type AdminPlanView } from './plans.js';
import { setStripePrices, stripePricesByPlan } from './plan-prices.js';

export interface PlanSettings {
  name?: string | undefined;
  monthlyTokens?: number | undefined;
  priceCents?: number | undefined;
  currency?: string | undefined;
  rolloverMax?: number | undefined;
  /** The Stripe prices (ids or lookup keys) that buy this plan: replaces the plan's list. */
  stripePrices?: string[] | undefined;
}

/**
 * Changes a plan's settings, audited with the actor, before and after. Allocations and rollover follow
 * the plan as it is when a period starts: a change applies from each account's next renewal.
 */
export async function changePlanSettings(db: Db, planId: string, change: PlanSettings, actor: string, now: Date): Promise<AdminPlanView> {
  return db.transaction().execute(async (trx) => {
    const plan = await trx.selectFrom('plans').selectAll().where('id', '=', planId).forUpdate().executeTakeFirst();
    if (!plan) throw new EngineError('not_found', `no plan "${planId}"`, { plan: planId });
    const updated = await trx
      .updateTable('plans')
      .set({
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.monthlyTokens !== undefined ? { monthly_tokens: change.monthlyTokens } : {}),
        ...(change.priceCents !== undefined ? { price_cents: change.priceCents } : {}),
        ...(change.currency !== undefined ? { currency: change.currency.toLowerCase() } : {}),
        ...(change.rolloverMax !== undefined ? { rollover_max: change.rolloverMax } : {}),
        updated_at: now,
      })
      .where('id', '=', planId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const pricesBefore = (await stripePricesByPlan(trx)).get(planId) ?? [];
    if (change.stripePrices !== undefined) await setStripePrices(trx, planId, change.stripePrices, now);
    const pricesAfter = change.stripePrices === undefined ? pricesBefore : (await stripePricesByPlan(trx)).get(planId) ?? [];
    const before = adminPlanView(plan, pricesBefore);
    const after = adminPlanView(updated, pricesAfter);
    await audit(trx, { actor, action: 'plan.update', subject: `plan:${planId}`, before, after, at: now });
    return after;
  });
}
