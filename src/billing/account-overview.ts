import type { Executor } from '../db/database.js';
import { billingStatus, type BillingStatus } from './billing-status.js';
import { paymentHistory, type PaymentView } from './payments.js';
import { getAccountView, type AccountView } from '../accounts/accounts.js';

export interface AccountOverview extends AccountView {
  createdAt: string;
  billing: BillingStatus;
  /** Newest first. */
  payments: PaymentView[];
}

/** Everything an admin looks at for one account: what the user sees, plus billing and payments. */
export async function accountOverview(exec: Executor, userId: string, now: Date): Promise<AccountOverview> {
  const view = await getAccountView(exec, userId, now);
  const [account, billing, payments] = await Promise.all([
    exec.selectFrom('accounts').select('created_at').where('user_id', '=', userId).executeTakeFirstOrThrow(),
    billingStatus(exec, userId),
    paymentHistory(exec, userId),
  ]);
  return { ...view, createdAt: account.created_at.toISOString(), billing, payments: payments.reverse() };
}
