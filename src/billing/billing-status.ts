import type { Executor } from '../db/database.js';

export interface BillingStatus {
  /** null: no payment has ever told the engine about this account's plan. */
  status: 'active' | 'lapsing' | 'lapsed' | null;
  paidThrough: string | null;
  lapseReason: string | null;
  pendingPlan: string | null;
  /** The current period was allocated on a paid plan before it was paid: unpaid at this instant, it lapses. */
  graceUntil: string | null;
  /** The Stripe subscription the account's plan follows, as Stripe last said it was. */
  subscription: { id: string; status: string | null; plan: string | null; currentPeriod: { start: string; end: string } | null; cancelAtPeriodEnd: boolean } | null;
}

/** Where an account's paid plan stands: what the user's billing page and the admin's account view show. */
export async function billingStatus(exec: Executor, userId: string): Promise<BillingStatus> {
  const sub = await exec.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).executeTakeFirst();
  const stripe = sub?.stripe_subscription_id
    ? await exec.selectFrom('stripe_subscriptions').selectAll().where('id', '=', sub.stripe_subscription_id).executeTakeFirst()
    : undefined;
  return {
    status: sub?.status ?? null,
    paidThrough: sub?.paid_through?.toISOString() ?? null,
    lapseReason: sub?.lapse_reason ?? null,
    pendingPlan: sub?.pending_plan_id ?? null,
    graceUntil: sub?.grace_until?.toISOString() ?? null,
    subscription: stripe
      ? {
          id: stripe.id,
          status: stripe.status,
          plan: stripe.plan_id,
          currentPeriod:
            stripe.current_period_start && stripe.current_period_end
              ? { start: stripe.current_period_start.toISOString(), end: stripe.current_period_end.toISOString() }
              : null,
          cancelAtPeriodEnd: stripe.cancel_at_period_end,
        }
      : null,
  };
}
