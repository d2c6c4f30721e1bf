import type { Executor, Trx } from '../db/database.js';

export interface NewPayment {
  userId: string;
  kind: 'plan' | 'topup';
  planId: string | null;
  amountCents: number;
  currency: string;
  stripeEventId: string;
  checkoutSessionId?: string | null;
  invoiceId?: string | null;
  paymentIntentId?: string | null;
  subscriptionId?: string | null;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  paidAt: Date;
}

/**
 * Records a payment once: null when one of its Stripe ids (checkout session, invoice, payment intent) is
 * already recorded, e.g. a subscription's first invoice announced by both its checkout and invoice.paid.
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
      subscription_id: p.subscriptionId ?? null,
      period_start: p.periodStart ?? null,
      period_end: p.periodEnd ?? null,
      paid_at: p.paidAt,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The grant a payment paid for: a refund takes back what is left of it. */
export async function linkGrant(trx: Trx, paymentId: number, grant: { id: number; tokens: number } | null): Promise<void> {
  if (!grant) return;
  await trx.updateTable('payments').set({ grant_id: grant.id, tokens: grant.tokens }).where('id', '=', paymentId).execute();
}

export interface PaymentView {
  id: number;
  kind: 'plan' | 'topup';
  plan: string | null;
  tokens: number;
  amountCents: number;
  currency: string;
  period: { start: string; end: string } | null;
  paidAt: string;
  refundedCents: number;
  tokensReversed: number;
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
    stripeEventId: r.stripe_event_id,
  }));
}
