import type { Selectable } from 'kysely';
import type { Executor, Trx } from '../db/database.js';
import type { PaymentKind, PaymentsTable } from '../db/schema.js';
import { BILLING_TOLERANCE_MS } from './billing-rules.js';

export type Payment = Selectable<PaymentsTable>;

export interface NewPayment {
  userId: string;
  kind: PaymentKind;
  planId: string | null;
  amountCents: number;
  currency: string;
  stripeEventId: string;
  checkoutSessionId?: string | null;
  invoiceId?: string | null;
  paymentIntentId?: string | null;
  chargeId?: string | null;
  subscriptionId?: string | null;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  /** Engine periods a plan payment pays, and the tokens they allocate. */
  periods?: number;
  tokens?: number;
  periodEstimated?: boolean;
  paidAt: Date;
}

/**
 * Records a payment once: null when one of its Stripe ids (checkout session, invoice, payment intent,
 * charge) is already recorded, e.g. a subscription's first invoice announced by both its checkout and
 * invoice.paid. The payment intent and charge are also recorded as references to what they paid.
 */
export async function recordPayment(trx: Trx, p: NewPayment): Promise<number | null> {
  const row = await trx
    .insertInto('payments')
    .values({
      user_id: p.userId,
      kind: p.kind,
      plan_id: p.planId,
      amount_cents: p.amountCents,
      currency: p.currency.toLowerCase(),
      stripe_event_id: p.stripeEventId,
      checkout_session_id: p.checkoutSessionId ?? null,
      invoice_id: p.invoiceId ?? null,
      payment_intent_id: p.paymentIntentId ?? null,
      charge_id: p.chargeId ?? null,
      subscription_id: p.subscriptionId ?? null,
      period_start: p.periodStart ?? null,
      period_end: p.periodEnd ?? null,
      periods: p.periods ?? 1,
      tokens: p.tokens ?? 0,
      period_estimated: p.periodEstimated ?? false,
      opened_period_index: null,
      paid_at: p.paidAt,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) return null;
  const target = p.invoiceId ? { invoice_id: p.invoiceId } : p.checkoutSessionId ? { checkout_session_id: p.checkoutSessionId } : null;
  if (target) await linkRefs(trx, [p.paymentIntentId, p.chargeId], target);
  return row.id;
}

/**
 * Records which invoice or checkout session a payment intent or charge paid. A reference a refund left
 * without a target gets it; one already pointing elsewhere keeps its target. Returns the references now
 * pointing at `target` (events waiting on them can go on).
 */
export async function linkRefs(
  trx: Trx,
  refs: Array<string | null | undefined>,
  target: { invoice_id: string } | { checkout_session_id: string },
): Promise<string[]> {
  const ids = [...new Set(refs.filter((r): r is string => typeof r === 'string' && r.length > 0))];
  if (ids.length === 0) return [];
  await trx
    .insertInto('stripe_payment_refs')
    .values(ids.map((ref) => ({ ref, invoice_id: null, checkout_session_id: null, ...target })))
    .onConflict((oc) =>
      oc.column('ref').doUpdateSet(target).where(({ and, eb }) => and([eb('stripe_payment_refs.invoice_id', 'is', null), eb('stripe_payment_refs.checkout_session_id', 'is', null)])),
    )
    .execute();
  return ids;
}

/** The payment an invoice or checkout session recorded. */
export async function paymentOf(exec: Executor, target: { invoiceId?: string | null; checkoutSessionId?: string | null }): Promise<Payment | undefined> {
  if (target.invoiceId) {
    const p = await exec.selectFrom('payments').selectAll().where('invoice_id', '=', target.invoiceId).executeTakeFirst();
    if (p) return p;
  }
  if (target.checkoutSessionId) return exec.selectFrom('payments').selectAll().where('checkout_session_id', '=', target.checkoutSessionId).executeTakeFirst();
  return undefined;
}

/**
 * The payment a charge (and its payment intent) paid: directly, or through a reference learned from
 * invoice_payment.paid. Undefined while neither is known.
 */
export async function paymentOfCharge(exec: Executor, chargeId: string | null, paymentIntentId: string | null): Promise<Payment | undefined> {
  const ids = [chargeId, paymentIntentId].filter((x): x is string => !!x);
  if (ids.length === 0) return undefined;
  const direct = await exec
    .selectFrom('payments')
    .selectAll()
    .where((eb) => eb.or([...(chargeId ? [eb('charge_id', '=', chargeId)] : []), ...(paymentIntentId ? [eb('payment_intent_id', '=', paymentIntentId)] : [])]))
    .executeTakeFirst();
  if (direct) return direct;
  const refs = await exec.selectFrom('stripe_payment_refs').selectAll().where('ref', 'in', ids).execute();
  for (const r of refs) {
    const p = await paymentOf(exec, { invoiceId: r.invoice_id, checkoutSessionId: r.checkout_session_id });
    if (p) return p;
  }
  return undefined;
}

/** The plan payment of the subscription that pays the period starting at `at` (refunded in full: none). */
export async function coveringPayment(exec: Executor, subscriptionId: string, at: Date): Promise<Payment | undefined> {
  const probe = new Date(at.getTime() + BILLING_TOLERANCE_MS);
  return exec
    .selectFrom('payments')
    .selectAll()
    .where('subscription_id', '=', subscriptionId)
    .where('kind', '=', 'plan')
    .where('voided_at', 'is', null)
    .where('period_start', '<=', probe)
    .where('period_end', '>', probe)
    .orderBy('period_start', 'desc')
    .executeTakeFirst();
}

/** Where the subscription's unrefunded plan payments reach: what admins see as paid through. */
export async function paidThrough(exec: Executor, subscriptionId: string): Promise<Date | null> {
  const row = await exec
    .selectFrom('payments')
    .select(({ fn }) => fn.max('period_end').as('through'))
    .where('subscription_id', '=', subscriptionId)
    .where('kind', '=', 'plan')
    .where('voided_at', 'is', null)
    .executeTakeFirst();
  return row?.through ? new Date(row.through as Date) : null;
}

/** The grant a payment paid for: a refund takes back what is left of it. */
export async function linkGrant(trx: Trx, paymentId: number, grant: { id: number; tokens?: number } | null, openedPeriodIndex?: number): Promise<void> {
  if (!grant && openedPeriodIndex === undefined) return;
  await trx
    .updateTable('payments')
    .set({
      ...(grant ? { grant_id: grant.id } : {}),
      ...(grant?.tokens !== undefined ? { tokens: grant.tokens } : {}),
      ...(openedPeriodIndex !== undefined ? { opened_period_index: openedPeriodIndex } : {}),
    })
    .where('id', '=', paymentId)
    .execute();
}

export interface PaymentView {
  id: number;
  kind: PaymentKind;
  plan: string | null;
  tokens: number;
  amountCents: number;
  currency: string;
  period: { start: string; end: string } | null;
  paidAt: string;
  refundedCents: number;
  tokensReversed: number;
  tokensCancelled: number;
  voided: boolean;
  stripeEventId: string;
}

/** Oldest first: the account's payment history (revenue, and consecutive paid months for loyalty). */
export async function paymentHistory(exec: Executor, userId: string): Promise<PaymentView[]> {
  const rows = await exec.selectFrom('payments').selectAll().where('user_id', '=', userId).orderBy('paid_at').orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    plan: r.plan_id,
    tokens: r.tokens,
    amountCents: r.amount_cents,
    currency: r.currency,
    period: r.period_start && r.period_end ? { start: r.period_start.toISOString(), end: r.period_end.toISOString() } : null,
    paidAt: r.paid_at.toISOString(),
    refundedCents: r.refunded_cents,
    tokensReversed: r.tokens_reversed,
    tokensCancelled: r.tokens_cancelled,
    voided: r.voided_at !== null,
    stripeEventId: r.stripe_event_id,
  }));
}
