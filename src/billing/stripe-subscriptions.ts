import type { Selectable } from 'kysely';
import type { Executor, Trx } from '../db/database.js';
import type { StripeSubscriptionsTable } from '../db/schema.js';
import { BILLING_TOLERANCE_MS } from './billing-rules.js';

/**
 * What Stripe said about one subscription, keyed on its id. Subscription events carry snapshots of the
 * whole object; each is applied only if it is newer than the one already applied (by Stripe's event
 * time, then by type: created, updated, deleted, then by event id), so an older delivery never overrides
 * newer state, and a canceled subscription stays canceled. Checkouts and invoices add what they know
 * (the account, metadata.plan, when it started) without overriding a snapshot.
 */
export type StripeSubscriptionRow = Selectable<StripeSubscriptionsTable>;

export async function readStripeSubscription(exec: Executor, id: string): Promise<StripeSubscriptionRow | undefined> {
  return exec.selectFrom('stripe_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The subscription's row, created empty if Stripe has not described it yet, and locked. */
export async function lockStripeSubscription(trx: Trx, id: string, now: Date): Promise<StripeSubscriptionRow> {
  await trx.insertInto('stripe_subscriptions').values({ id, updated_at: now }).onConflict((oc) => oc.column('id').doNothing()).execute();
  return trx.selectFrom('stripe_subscriptions').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export interface SubscriptionFacts {
  userId?: string | null | undefined;
  metadataPlan?: string | null | undefined;
  checkoutSessionId?: string | null | undefined;
  /** When it started, if only approximately known (a checkout, a first invoice): fills an unknown start. */
  startedAround?: Date | null | undefined;
  /** A plan for it where none is known yet (an invoice's price, before any subscription event). */
  planId?: string | null | undefined;
  /** A billing period Stripe has moved on to (an invoice of a later period): the current period only moves forward. */
  period?: { start: Date; end: Date } | null | undefined;
}

/** Adds what an event knows: the first account named keeps it; the rest fills what is unknown. */
export async function recordFacts(trx: Trx, row: StripeSubscriptionRow, facts: SubscriptionFacts, now: Date): Promise<StripeSubscriptionRow> {
  const next: Partial<StripeSubscriptionRow> = {};
  if (!row.user_id && facts.userId) next.user_id = facts.userId;
  if (facts.metadataPlan && facts.metadataPlan !== row.metadata_plan) next.metadata_plan = facts.metadataPlan;
  if (!row.checkout_session_id && facts.checkoutSessionId) next.checkout_session_id = facts.checkoutSessionId;
  if (!row.started_at && facts.startedAround) next.started_at = facts.startedAround;
  if (!row.plan_id && facts.planId) next.plan_id = facts.planId;
  if (facts.period && (!row.current_period_start || facts.period.start.getTime() > row.current_period_start.getTime())) {
    next.current_period_start = facts.period.start;
    next.current_period_end = facts.period.end;
  }
  return update(trx, row, next, now);
}

export interface SubscriptionSnapshot {
  status: string | null;
  priceId: string | null;
  planId: string | null;
  period: { start: Date; end: Date } | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: Date | null;
  endedAt: Date | null;
  startedAt: Date | null;
}

export interface SnapshotOrder {
  at: Date;
  /** created 0, updated 1, deleted 2; an invoice's plan is -1: a subscription event of the same second wins. */
  rank: number;
  eventId: string;
}

const isNewer = (row: StripeSubscriptionRow, o: SnapshotOrder): boolean => {
  if (!row.state_at) return true;
  const d = o.at.getTime() - row.state_at.getTime();
  if (d !== 0) return d > 0;
  const r = o.rank - (row.state_rank ?? 0);
  if (r !== 0) return r > 0;
  return o.eventId > (row.state_event_id ?? '');
};

/**
 * Applies a subscription snapshot if it is newer than the state already applied. Returns the row and
 * whether the snapshot is the state now (true again when the same event is applied a second time).
 */
export async function applySnapshot(
  trx: Trx,
  row: StripeSubscriptionRow,
  snap: SubscriptionSnapshot,
  order: SnapshotOrder,
  now: Date,
): Promise<{ row: StripeSubscriptionRow; current: boolean }> {
  if (row.state_event_id === order.eventId) return { row, current: true };
  if (!isNewer(row, order) || (row.status === 'canceled' && snap.status !== 'canceled')) return { row, current: false };
  const updated = await update(
    trx,
    row,
    {
      status: snap.status,
      price_id: snap.priceId,
      plan_id: snap.planId ?? row.plan_id,
      current_period_start: snap.period?.start ?? row.current_period_start,
      current_period_end: snap.period?.end ?? row.current_period_end,
      cancel_at_period_end: snap.cancelAtPeriodEnd,
      cancel_at: snap.cancelAt,
      ended_at: snap.endedAt,
      started_at: snap.startedAt ?? row.started_at,
      state_at: order.at,
      state_rank: order.rank,
      state_event_id: order.eventId,
    },
    now,
  );
  return { row: updated, current: true };
}

/** An invoice's plan (its price changed, as in a proration) applied as a snapshot of the plan alone. */
export async function applyInvoicePlan(trx: Trx, row: StripeSubscriptionRow, planId: string, order: SnapshotOrder, now: Date): Promise<StripeSubscriptionRow> {
  if (row.plan_id === planId || !isNewer(row, order)) return row;
  return update(trx, row, { plan_id: planId, state_at: order.at, state_rank: order.rank, state_event_id: order.eventId }, now);
}

async function update(trx: Trx, row: StripeSubscriptionRow, next: Partial<StripeSubscriptionRow>, now: Date): Promise<StripeSubscriptionRow> {
  if (Object.keys(next).length === 0) return row;
  return trx
    .updateTable('stripe_subscriptions')
    .set({ ...next, updated_at: now })
    .where('id', '=', row.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Whether Stripe will bill the subscription for a period starting at `at`: not once it is canceled or set to end by then. */
export function endsBy(row: StripeSubscriptionRow, at: Date): boolean {
  const by = at.getTime() + BILLING_TOLERANCE_MS;
  if (row.status === 'canceled' || row.status === 'incomplete_expired') return true;
  if (row.ended_at && row.ended_at.getTime() <= by) return true;
  if (row.cancel_at && row.cancel_at.getTime() <= by) return true;
  return row.cancel_at_period_end && row.current_period_end !== null && row.current_period_end.getTime() <= by;
}

/**
 * Whether a subscription's row now tells more than it did (its account, plan or metadata.plan, a
 * newer state): only then are the events waiting on it applied again, so two waiting events never wake
 * each other for ever.
 */
export function learned(before: StripeSubscriptionRow, after: StripeSubscriptionRow): boolean {
  return (
    before.user_id !== after.user_id ||
    before.plan_id !== after.plan_id ||
    before.metadata_plan !== after.metadata_plan ||
    before.state_event_id !== after.state_event_id
  );
}
