import type { Executor, Trx } from '../db/database.js';
import { adminPlanView, listPlans, type AdminPlanView } from './plans.js';
import { EngineError } from '../errors.js';

/** Every plan's Stripe prices (ids or lookup keys), sorted, keyed by plan id. */
export async function stripePricesByPlan(exec: Executor): Promise<Map<string, string[]>> {
  const rows = await exec.selectFrom('plan_prices').select(['price', 'plan_id']).orderBy('price').execute();
  const byPlan = new Map<string, string[]>();
  for (const r of rows) byPlan.set(r.plan_id, [...(byPlan.get(r.plan_id) ?? []), r.price]);
  return byPlan;
}

/**
 * Replaces the prices that buy `planId`, in the caller's transaction (the plan row is locked). A price
 * already mapped to another plan is refused, naming it and its plan: one price, one plan.
 */
export async function setStripePrices(trx: Trx, planId: string, prices: string[], now: Date): Promise<void> {
  const unique = [...new Set(prices)];
  let removing = trx.deleteFrom('plan_prices').where('plan_id', '=', planId);
  if (unique.length > 0) removing = removing.where('price', 'not in', unique);
  await removing.execute();
  if (unique.length === 0) return;
  await trx
    .insertInto('plan_prices')
    .values(unique.map((price) => ({ price, plan_id: planId, created_at: now })))
    .onConflict((oc) => oc.column('price').doNothing())
    .execute();
  const taken = await trx.selectFrom('plan_prices').select(['price', 'plan_id']).where('price', 'in', unique).where('plan_id', '<>', planId).execute();
  if (taken.length > 0) {
    const list = taken.map((t) => `"${t.price}" (${t.plan_id})`).join(', ');
    throw new EngineError('stripe_price_taken', `each Stripe price buys one plan: ${list} already mapped to another plan`, {
      prices: taken.map((t) => ({ price: t.price, plan: t.plan_id })),
    });
  }
}

/** The plan the first of these prices (ids, then lookup keys, in the order given) maps to, if any. */
export async function planOfPrices(exec: Executor, candidates: Array<string | null | undefined>): Promise<string | undefined> {
  const keys = candidates.filter((c): c is string => typeof c === 'string' && c.length > 0);
  if (keys.length === 0) return undefined;
  const rows = await exec.selectFrom('plan_prices').select(['price', 'plan_id']).where('price', 'in', keys).execute();
  const byPrice = new Map(rows.map((r) => [r.price, r.plan_id]));
  for (const k of keys) if (byPrice.has(k)) return byPrice.get(k);
  return undefined;
}

/** Every plan as admins see it, by rank, each with its Stripe prices. */
export async function listAdminPlans(exec: Executor): Promise<AdminPlanView[]> {
  const [plans, prices] = await Promise.all([listPlans(exec), stripePricesByPlan(exec)]);
  return plans.map((p) => adminPlanView(p, prices.get(p.id) ?? []));
}
