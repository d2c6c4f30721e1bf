import type { Executor } from '../db/database.js';
import { paymentHistory, type PaymentView } from '../billing/payments.js';
import { getAccountView, type AccountView } from './accounts.js';

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

export interface AccountOverview extends AccountView {
  createdAt: string;
  billing: BillingStatus;
  /** Newest first. */
  payments: PaymentView[];
}

/** Everything an admin looks at for one account: what the user sees, plus billing and payments. */
export async function accountOverview(exec: Executor, userId: string, now: Date): Promise<AccountOverview> {
  const view = await getAccountView(exec, userId, now);
  const [account, sub, payments] = await Promise.all([
    exec.selectFrom('accounts').select('created_at').where('user_id', '=', userId).executeTakeFirstOrThrow(),
    exec.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).executeTakeFirst(),
    paymentHistory(exec, userId),
  ]);
  const stripe = sub?.stripe_subscription_id
    ? await exec.selectFrom('stripe_subscriptions').selectAll().where('id', '=', sub.stripe_subscription_id).executeTakeFirst()
    : undefined;
  return {
    ...view,
    createdAt: account.created_at.toISOString(),
    billing: {
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
    },
    payments: payments.reverse(),
  };
}
