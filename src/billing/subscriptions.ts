import type { Executor, Trx } from '../db/database.js';
import type { Selectable } from 'kysely';
import type { SubscriptionsTable } from '../db/schema.js';

export type Subscription = Selectable<SubscriptionsTable>;

/** The account's subscription row, locked for the transaction (callers hold the account lock first). */
export async function loadSubscription(trx: Trx, userId: string): Promise<Subscription | undefined> {
  return trx.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export async function findSubscriptionOwner(exec: Executor, stripeSubscriptionId: string): Promise<string | undefined> {
  const row = await exec
    .selectFrom('subscriptions')
    .select('user_id')
    .where('stripe_subscription_id', '=', stripeSubscriptionId)
    .executeTakeFirst();
  return row?.user_id;
}

type Change = Partial<Pick<Subscription, 'status' | 'paid_through' | 'lapse_reason' | 'pending_plan_id' | 'stripe_subscription_id'>>;

/** Creates or changes the account's subscription row; fields not named keep their value. */
export async function saveSubscription(trx: Trx, userId: string, change: Change, now: Date): Promise<void> {
  await trx
    .insertInto('subscriptions')
    .values({
      user_id: userId,
      status: change.status ?? 'active',
      paid_through: change.paid_through ?? null,
      lapse_reason: change.lapse_reason ?? null,
      pending_plan_id: change.pending_plan_id ?? null,
      stripe_subscription_id: change.stripe_subscription_id ?? null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...change, updated_at: now }))
    .execute();
}

/**
 * The plan an account renews onto when its period ends at `periodEnd`: Free Starter once a lapsed
 * subscription's paid period is over, else a pending downgrade, else the same plan.
 */
export function planAfter(sub: Subscription | undefined, currentPlanId: string, periodEnd: Date, freePlanId: string): {
  planId: string;
  lapsed: boolean;
} {
  if (sub?.status === 'lapsing' && (!sub.paid_through || sub.paid_through.getTime() <= periodEnd.getTime())) {
    return { planId: freePlanId, lapsed: true };
  }
  return { planId: sub?.pending_plan_id ?? currentPlanId, lapsed: false };
}
