import type { Executor, Trx } from '../db/database.js';
import type { Selectable } from 'kysely';
import type { SubscriptionsTable } from '../db/schema.js';
import { readStripeSubscription, type StripeSubscriptionRow } from './stripe-subscriptions.js';

/**
 * The account's billing row: which Stripe subscription is its current one (`stripe_subscription_id`),
 * whose billing dates its periods follow (`anchored_to`), a downgrade waiting for the next renewal, a
 * grace in progress, and what admins see (status, paid through, lapse reason). An account without a
 * current Stripe subscription (opened on a plan by a trusted service or an admin) renews on its plan.
 */
export type Subscription = Selectable<SubscriptionsTable>;

/** The account's subscription row, locked for the transaction (callers hold the account lock first). */
export async function loadSubscription(trx: Trx, userId: string): Promise<Subscription | undefined> {
  return trx.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export async function findSubscriptionOwner(exec: Executor, stripeSubscriptionId: string): Promise<string | undefined> {
  const row = await exec.selectFrom('stripe_subscriptions').select('user_id').where('id', '=', stripeSubscriptionId).executeTakeFirst();
  return row?.user_id ?? undefined;
}

type Change = Partial<
  Pick<Subscription, 'status' | 'paid_through' | 'lapse_reason' | 'pending_plan_id' | 'stripe_subscription_id' | 'anchored_to' | 'grace_until'>
>;

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
      anchored_to: change.anchored_to ?? null,
      grace_until: change.grace_until ?? null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...change, updated_at: now }))
    .execute();
}

/**
 * Makes `sub` the account's current subscription unless the current one started later: the most recently
 * started subscription is the one the account follows, so the events of an older one (its late
 * `customer.subscription.deleted`, a stale failure) never lapse or downgrade the account. Returns whether
 * `sub` is the current one.
 */
export async function adoptSubscription(trx: Trx, userId: string, sub: StripeSubscriptionRow, now: Date): Promise<boolean> {
  const account = await loadSubscription(trx, userId);
  const currentId = account?.stripe_subscription_id ?? null;
  if (currentId === sub.id) return true;
  if (currentId) {
    const current = await readStripeSubscription(trx, currentId);
    const started = current?.started_at?.getTime();
    if (started !== undefined && (sub.started_at === null || sub.started_at.getTime() <= started)) return false;
  }
  await saveSubscription(trx, userId, { stripe_subscription_id: sub.id, pending_plan_id: null, grace_until: null }, now);
  return true;
}
