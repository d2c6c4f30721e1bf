import type { Executor } from '../db/database.js';
import { paymentHistory, type PaymentView } from '../billing/payments.js';
import { getAccountView, type AccountView } from './accounts.js';

export interface BillingStatus {
  /** null: no payment has ever told the engine about this account's plan. */
  status: 'active' | 'lapsing' | 'lapsed' | null;
  paidThrough: string | null;
  lapseReason: string | null;
  pendingPlan: string | null;
  stripeSubscriptionId: string | null;
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
  return {
    ...view,
    createdAt: account.created_at.toISOString(),
    billing: {
      status: sub?.status ?? null,
      paidThrough: sub?.paid_through?.toISOString() ?? null,
      lapseReason: sub?.lapse_reason ?? null,
      pendingPlan: sub?.pending_plan_id ?? null,
      stripeSubscriptionId: sub?.stripe_subscription_id ?? null,
    },
    payments: payments.reverse(),
  };
}
