import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { getPlan } from '../catalog/plans.js';
import type { AccountBook } from '../ledger/account-book.js';
import { DEFAULT_PLAN, allocationKey } from '../accounts/accounts.js';
import { saveSubscription } from './subscriptions.js';

/**
 * A Stripe-billed period that is not paid (its grace is over, its subscription ended, its payment was
 * refunded in full) falls back to the free plan at once: the unspent tokens of the paid plan's grants
 * of the period are taken back (what was spent stays spent: nothing goes below zero), and the account
 * holds what the free plan would have given it for the period, less what it already used. A late
 * payment of the period restores the paid plan (restorePaidPeriod).
 */
export async function lapseCurrentPeriod(
  trx: Trx,
  book: AccountBook,
  reason: 'unpaid' | 'subscription_ended' | 'refunded',
  subscriptionId: string | null,
  at: Date,
): Promise<{ takenBack: number; freeTokens: number } | null> {
  const plan = await getPlan(trx, book.account.plan_id);
  if (plan.price_cents === 0) return null;
  const { period_start: start, period_end: end, period_index: index } = book.account;
  book.expireDue(at);
  const paidGrants = await periodPlanGrants(trx, book, start, end);
  let takenBack = 0;
  for (const g of paidGrants) {
    const live = book.remainingOf(['plan']).find((x) => x.id === g.id);
    if (!live || live.remaining === 0) continue;
    takenBack += book.reverse(g.id, live.remaining, {
      occurredAt: at,
      source: `lapse:${reason}`,
      metadata: { reason, plan: plan.id, periodStart: start.toISOString(), subscription: subscriptionId },
    });
  }
  const allocatedPaid = paidGrants.reduce((sum, g) => sum + g.tokens, 0);
  book.setPeriod({ plan_id: DEFAULT_PLAN, period_allocated: Math.max(book.account.period_used, book.account.period_allocated - takenBack) });
  const free = await getPlan(trx, DEFAULT_PLAN);
  const freeTokens = Math.max(0, free.monthly_tokens - book.account.period_used);
  const freeGrantId =
    freeTokens > 0
      ? await book.grant(trx, {
          source: 'plan',
          sourceRef: free.id,
          tokens: freeTokens,
          expiresAt: end,
          idempotencyKey: `lapse:${book.userId}:${index}`,
          occurredAt: at,
          metadata: { lapsedFrom: plan.id, reason },
        })
      : null;
  await trx
    .insertInto('lapsed_periods')
    .values({
      user_id: book.userId,
      period_index: index,
      plan_id: plan.id,
      subscription_id: subscriptionId,
      reason,
      paid_tokens_kept: Math.max(0, allocatedPaid - takenBack),
      tokens_taken_back: takenBack,
      free_grant_id: freeGrantId,
      lapsed_at: at,
    })
    .onConflict((oc) => oc.columns(['user_id', 'period_index']).doNothing())
    .execute();
  await saveSubscription(trx, book.userId, { status: 'lapsed', lapse_reason: reason, grace_until: null, pending_plan_id: null }, at);
  return { takenBack, freeTokens };
}

/** Records that a renewal opened a period on the free plan because its paid plan was not paid, so a late payment can restore it. */
export async function recordUnpaidRenewal(trx: Trx, book: AccountBook, paidPlan: Plan, subscriptionId: string, at: Date): Promise<void> {
  const [grant] = await book.grantsByKey(trx, [allocationKey(book.userId, book.account.period_index)]);
  await trx
    .insertInto('lapsed_periods')
    .values({
      user_id: book.userId,
      period_index: book.account.period_index,
      plan_id: paidPlan.id,
      subscription_id: subscriptionId,
      reason: 'unpaid',
      free_grant_id: grant?.id ?? null,
      lapsed_at: at,
    })
    .onConflict((oc) => oc.columns(['user_id', 'period_index']).doNothing())
    .execute();
}

/**
 * A payment arrived for the account's current period while it was on a lower plan (it lapsed, or its
 * renewal found it unpaid): the period goes back on the paid plan, whose allocation is given once in
 * all: what the lapse took back (or the whole allocation, if none was given). The free plan's unspent
 * tokens of the period are taken back. Returns the tokens granted, or null if already restored.
 */
export async function restorePaidPeriod(trx: Trx, book: AccountBook, plan: Plan, at: Date): Promise<number | null> {
  const index = book.account.period_index;
  const lapsed = await trx
    .selectFrom('lapsed_periods')
    .selectAll()
    .where('user_id', '=', book.userId)
    .where('period_index', '=', index)
    .forUpdate()
    .executeTakeFirst();
  if (lapsed?.restored_at) return null;
  book.expireDue(at);
  if (lapsed?.free_grant_id) {
    const live = book.remainingOf(['plan']).find((g) => g.id === lapsed.free_grant_id);
    if (live && live.remaining > 0) {
      const taken = book.reverse(live.id, live.remaining, { occurredAt: at, source: 'restore:free_plan', metadata: { restoredTo: plan.id } });
      book.setPeriod({ period_allocated: Math.max(book.account.period_used, book.account.period_allocated - taken) });
    }
  }
  const tokens = Math.max(0, plan.monthly_tokens - (lapsed?.paid_tokens_kept ?? 0));
  book.setPeriod({ plan_id: plan.id });
  if (tokens > 0) {
    await book.grant(trx, {
      source: 'plan',
      sourceRef: plan.id,
      tokens,
      expiresAt: book.account.period_end,
      idempotencyKey: `restore:${book.userId}:${index}`,
      occurredAt: at,
      metadata: { restored: true, periodStart: book.account.period_start.toISOString() },
    });
  }
  await trx
    .insertInto('lapsed_periods')
    .values({ user_id: book.userId, period_index: index, plan_id: plan.id, reason: 'unpaid', lapsed_at: at, restored_at: at })
    .onConflict((oc) => oc.columns(['user_id', 'period_index']).doUpdateSet({ restored_at: at }))
    .execute();
  await saveSubscription(trx, book.userId, { status: 'active', lapse_reason: null, grace_until: null }, at);
  return tokens;
}

/** The plan-source grants of the period [start, end): its allocation, an upgrade's prorated grant, a restore. */
async function periodPlanGrants(trx: Trx, book: AccountBook, start: Date, end: Date): Promise<Array<{ id: number; tokens: number }>> {
  const { rows } = await sql<{ id: number; tokens: number }>`
    select id, tokens from grants
    where user_id = ${book.userId} and source = 'plan' and expires_at = ${end} and created_at >= ${start}
    order by id`.execute(trx);
  // Grants made in this transaction are rows only once the book is flushed.
  const made = book
    .unflushedGrants()
    .filter((g) => g.source === 'plan' && g.expiresAt?.getTime() === end.getTime() && g.createdAt.getTime() >= start.getTime());
  return [...rows, ...made.map((g) => ({ id: g.id, tokens: g.tokens }))];
}
