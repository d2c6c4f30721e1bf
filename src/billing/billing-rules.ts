import type { Config } from '../config.js';

/** The billing settings every billing path applies alike: renewals, payments, plan changes. */
export interface BillingRules {
  /** How long a Stripe-billed period keeps its paid plan unpaid, from its start, while Stripe retries. */
  graceMs: number;
}

export function billingRules(config: Pick<Config, 'paymentGraceDays'>): BillingRules {
  return { graceMs: Math.round(config.paymentGraceDays * 86_400_000) };
}

/** Stripe's billing dates and the engine's periods may differ by clock skew: a payment covers an instant within this. */
export const BILLING_TOLERANCE_MS = 3600_000;
