import type { Plan } from '../db/schema.js';

const DAY = 86_400_000;

/**
 * Use projected to the period's end at the pace so far. The pace is measured over at least one day,
 * so a burst in the first minutes of a period does not project to thousands.
 */
export function projectedUse(used: number, periodStart: Date, periodEnd: Date, now: Date): number {
  const length = periodEnd.getTime() - periodStart.getTime();
  const elapsed = Math.min(length, Math.max(DAY, now.getTime() - periodStart.getTime()));
  return Math.ceil((used * length) / elapsed);
}

/** When the balance runs out at the pace so far, or null when there is no pace or it outlasts the period. */
export function runOutDate(used: number, balance: number, periodStart: Date, now: Date): Date | null {
  const elapsed = Math.max(DAY, now.getTime() - periodStart.getTime());
  if (used <= 0) return null;
  const perMs = used / elapsed;
  return new Date(now.getTime() + balance / perMs);
}

/** A plan's price per month, so yearly and monthly plans compare. */
export function monthlyPriceCents(plan: Pick<Plan, 'price_cents' | 'billing_interval'>): number {
  return plan.billing_interval === 'year' ? plan.price_cents / 12 : plan.price_cents;
}

/** The cheapest plan (per month) whose allocation covers `tokens`, preferring the current one on a tie. */
export function cheapestPlanCovering(plans: Plan[], tokens: number): Plan | undefined {
  return plans
    .filter((p) => p.monthly_tokens >= tokens)
    .sort((a, b) => monthlyPriceCents(a) - monthlyPriceCents(b) || a.monthly_tokens - b.monthly_tokens)[0];
}
