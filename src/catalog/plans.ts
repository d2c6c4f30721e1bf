import type { Executor } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { EngineError } from '../errors.js';

export interface PlanView {
  id: string;
  name: string;
  monthlyTokens: number;
  priceCents: number;
  currency: string;
  billingInterval: 'month' | 'year';
  rolloverMax: number;
}

export function planView(plan: Plan): PlanView {
  return {
    id: plan.id,
    name: plan.name,
    monthlyTokens: plan.monthly_tokens,
    priceCents: plan.price_cents,
    currency: plan.currency,
    billingInterval: plan.billing_interval,
    rolloverMax: plan.rollover_max,
  };
}

/** What admins see of a plan: its settings and the Stripe prices that buy it. */
export interface AdminPlanView extends PlanView {
  stripePrices: string[];
}

export function adminPlanView(plan: Plan, stripePrices: string[]): AdminPlanView {
  return { ...planView(plan), stripePrices };
}

export async function listPlans(exec: Executor): Promise<Plan[]> {
  return exec.selectFrom('plans').selectAll().orderBy('rank').execute();
}

export async function getPlan(exec: Executor, planId: string): Promise<Plan> {
  const plan = await exec.selectFrom('plans').selectAll().where('id', '=', planId).executeTakeFirst();
  if (!plan) throw new EngineError('unknown_plan', `no plan "${planId}"`, { plan: planId });
  return plan;
}
