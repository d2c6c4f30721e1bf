import { planOfPrices } from '../catalog/plan-prices.js';
import type { AccountBook } from '../ledger/account-book.js';
import { findPlan } from './plan-lookup.js';
import {
  invoiceLines,
  invoiceMetadata,
  invoicePeriod,
  invoiceSchema,
  invoiceSubscription,
  isProrationInvoice,
  priceKeys,
  type Invoice,
} from './stripe-objects.js';
import { applyInvoicePlan, learned, lockStripeSubscription, readStripeSubscription, recordFacts, type StripeSubscriptionRow } from './stripe-subscriptions.js';
import { adoptSubscription, loadSubscription, saveSubscription } from './subscriptions.js';
import { coverageOf, realignPeriod } from './plan-purchase.js';
import { linkGrant, linkRefs, paymentOf, recordPayment } from './payments.js';
import { applyPaidPeriod } from './paid-periods.js';
import { changeBookPlan, upgradeKey } from './plan-change.js';
import { getPlan } from '../catalog/plans.js';
import { applied, failed, ignored, retry, waitKeys, waiting, type EventOutcome, type PaymentContext } from './payment-context.js';

interface InvoiceParty {
  invoice: Invoice;
  subscriptionId: string;
  metadata: Record<string, string>;
  book: AccountBook;
  row: StripeSubscriptionRow;
}

/**
 * Finds the account an invoice of a subscription is for (its subscription's metadata.userId, or the
 * account a checkout linked the subscription to), locks it, then the subscription's row. An invoice of
 * a subscription no account is linked to yet waits for it.
 */
async function invoiceParty(ctx: PaymentContext): Promise<InvoiceParty | EventOutcome> {
  const parsed = invoiceSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not an invoice: ${parsed.error.message}`);
  const invoice = parsed.data;
  const subscriptionId = invoiceSubscription(invoice);
  if (!subscriptionId) return ignored('not_for_engine', `invoice ${invoice.id} is not an invoice of a subscription`);
  const metadata = invoiceMetadata(invoice);
  const known = await readStripeSubscription(ctx.trx, subscriptionId);
  const userId = known?.user_id ?? metadata.userId ?? null;
  if (!userId) {
    const row = await lockStripeSubscription(ctx.trx, subscriptionId, ctx.now);
    if (row.user_id) return retry(`subscription ${subscriptionId} was linked to ${row.user_id} meanwhile`);
    return waiting(
      waitKeys.subscription(subscriptionId),
      'subscription_unlinked',
      `invoice ${invoice.id}: subscription ${subscriptionId} names no account yet (metadata.userId on the subscription or its checkout session); applied once one does`,
    );
  }
  const book = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (invoice ${invoice.id})`, userId);
  const before = await lockStripeSubscription(ctx.trx, subscriptionId, ctx.now);
  const period = invoicePeriod(invoice);
  const row = await recordFacts(
    ctx.trx,
    before,
    {
      userId,
      metadataPlan: metadata.plan,
      startedAround: invoice.billing_reason === 'subscription_create' ? (period?.start ?? ctx.eventAt) : null,
      period: isProrationInvoice(invoice) ? null : period,
    },
    ctx.now,
  );
  if (learned(before, row)) ctx.wake(waitKeys.subscription(subscriptionId));
  return { invoice, subscriptionId, metadata, book, row };
}

/**
 * The plan an invoice pays: the plan of its (non-proration) lines' price, else the subscription's plan
 * when its price is on the invoice, else metadata.plan (the invoice's subscription metadata, then the
 * checkout's). Undefined while none is known.
 */
async function invoicePlan(ctx: PaymentContext, p: InvoiceParty, proration: boolean): Promise<string | undefined> {
  const lines = invoiceLines(p.invoice).filter((l) => l.proration === proration && (!proration || l.amount > 0));
  const mapped = await planOfPrices(ctx.trx, priceKeys(lines.map((l) => l.price)));
  if (mapped) return mapped;
  if (p.row.plan_id && p.row.price_id && lines.some((l) => l.price?.id === p.row.price_id)) return p.row.plan_id;
  return p.metadata.plan ?? p.row.plan_id ?? p.row.metadata_plan ?? undefined;
}

/**
 * invoice.paid: the period the invoice pays is recorded as paid by it (once, by invoice id), on Stripe's
 * billing dates, then applied to the account (applyPaidPeriod: the plan starts, a grace ends, a lapsed
 * period is restored). An invoice of prorations only (a plan changed mid-period) never buys a period.
 */
export async function onInvoicePaid(ctx: PaymentContext): Promise<EventOutcome> {
  const party = await invoiceParty(ctx);
  if (!('book' in party)) return party;
  const { invoice, subscriptionId, book } = party;
  const userId = book.userId;
  if (isProrationInvoice(invoice)) return onProrationPaid(ctx, party);

  const planId = await invoicePlan(ctx, party, false);
  if (!planId) {
    return waiting(
      waitKeys.subscription(subscriptionId),
      'plan_unknown',
      `invoice ${invoice.id}: no plan maps to its price and no metadata.plan names one yet; applied once the subscription or its checkout does`,
      userId,
    );
  }
  const plan = await findPlan(ctx.trx, planId);
  if (!plan) return failed('unknown_plan', `no plan "${planId}" (invoice ${invoice.id})`, userId);
  if (plan.price_cents === 0) return failed('invalid_metadata', `invoice ${invoice.id} pays for ${plan.id}, a free plan`, userId);

  const exact = invoicePeriod(invoice);
  const paymentId = await recordPayment(ctx.trx, {
    userId,
    kind: 'plan',
    planId: plan.id,
    amountCents: invoice.amount_paid ?? 0,
    currency: invoice.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    invoiceId: invoice.id,
    paymentIntentId: invoice.payment_intent,
    chargeId: invoice.charge,
    subscriptionId,
    ...coverageOf(plan, exact, ctx.eventAt),
    paidAt: ctx.now,
  });
  await wakeRefsOf(ctx, invoice);
  if (paymentId === null) return alreadyRecorded(ctx, party, exact);
  const payment = (await paymentOf(ctx.trx, { invoiceId: invoice.id }))!;
  if (!(await adoptSubscription(ctx.trx, userId, party.row, ctx.now))) {
    return ignored('not_current_subscription', `invoice ${invoice.id} recorded; subscription ${subscriptionId} is not ${userId}'s current one`, userId);
  }
  return applyPaidPeriod(ctx, book, subscriptionId, plan, payment);
}

/** The invoice was recorded already (by its checkout, or an earlier delivery): Stripe's exact period now replaces an estimate. */
async function alreadyRecorded(ctx: PaymentContext, p: InvoiceParty, exact: { start: Date; end: Date } | null): Promise<EventOutcome> {
  const payment = await paymentOf(ctx.trx, { invoiceId: p.invoice.id });
  if (payment && exact && payment.period_estimated) {
    await ctx.trx
      .updateTable('payments')
      .set({ period_start: exact.start, period_end: exact.end, period_estimated: false })
      .where('id', '=', payment.id)
      .execute();
    const account = await loadSubscription(ctx.trx, p.book.userId);
    if (account?.anchored_to === p.subscriptionId && payment.opened_period_index !== null) {
      await realignPeriod(ctx.trx, p.book, payment.opened_period_index, exact.start, ctx.now);
      await saveSubscription(ctx.trx, p.book.userId, { paid_through: exact.end }, ctx.now);
    }
    return ignored('already_recorded', `invoice ${p.invoice.id} was already applied; its period is now Stripe's, from ${exact.start.toISOString()}`, p.book.userId);
  }
  return ignored('already_recorded', `invoice ${p.invoice.id} was already applied`, p.book.userId);
}

/**
 * A proration invoice (the price changed mid-period in Stripe's portal): recorded as a payment that
 * pays the prorated part of the change, never a period. If the subscription's change was not told by
 * customer.subscription.updated (or is newer), the plan follows the invoice's price by the engine's rule.
 */
async function onProrationPaid(ctx: PaymentContext, p: InvoiceParty): Promise<EventOutcome> {
  const { invoice, subscriptionId, book } = p;
  const userId = book.userId;
  const planId = await invoicePlan(ctx, p, true);
  const plan = planId ? await findPlan(ctx.trx, planId) : undefined;
  if (planId && !plan) return failed('unknown_plan', `no plan "${planId}" (invoice ${invoice.id})`, userId);
  const paymentId = await recordPayment(ctx.trx, {
    userId,
    kind: 'proration',
    planId: plan?.id ?? null,
    amountCents: invoice.amount_paid ?? 0,
    currency: invoice.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    invoiceId: invoice.id,
    paymentIntentId: invoice.payment_intent,
    chargeId: invoice.charge,
    subscriptionId,
    paidAt: ctx.now,
  });
  await wakeRefsOf(ctx, invoice);
  if (paymentId === null) return ignored('already_recorded', `invoice ${invoice.id} was already applied`, userId);
  const notes: string[] = [];
  const account = await loadSubscription(ctx.trx, userId);
  if (plan && p.row.plan_id !== plan.id) {
    const before = p.row.plan_id;
    const changedAt = invoiceLines(invoice).find((l) => l.proration && l.amount > 0)?.start ?? ctx.eventAt;
    const row = await applyInvoicePlan(ctx.trx, p.row, plan.id, { at: new Date((ctx.event.created ?? 0) * 1000), rank: -1, eventId: ctx.event.id }, ctx.now);
    if (row.plan_id === plan.id && account?.stripe_subscription_id === subscriptionId && account.anchored_to === subscriptionId && book.account.plan_id === before) {
      const change = await changeBookPlan(ctx.trx, book, plan, new Date(Math.min(changedAt.getTime(), ctx.now.getTime())));
      notes.push(`${change.change} to ${plan.id}${change.tokensGranted ? `: ${change.tokensGranted} tokens for the rest of the period` : ''}`);
    }
  }
  const upgrade = plan
    ? (await book.grantsByKey(ctx.trx, [upgradeKey(userId, book.account.period_index, plan.id)]))[0]
    : undefined;
  await linkGrant(ctx.trx, paymentId, upgrade ?? null);
  return applied('proration_paid', [`invoice ${invoice.id} pays a mid-period change${plan ? ` to ${plan.id}` : ''}; it buys no period`, ...notes].join('; '), userId);
}

/**
 * The invoice's payment intent and charge (legacy shape) pay it, whoever recorded the payment first; and
 * refunds waiting for the payment of this invoice can go on.
 */
async function wakeRefsOf(ctx: PaymentContext, invoice: Invoice): Promise<void> {
  await linkRefs(ctx.trx, [invoice.payment_intent, invoice.charge], { invoice_id: invoice.id });
  for (const ref of [invoice.payment_intent, invoice.charge]) if (ref) ctx.wake(waitKeys.paymentRef(ref));
  const refs = await ctx.trx.selectFrom('stripe_payment_refs').select('ref').where('invoice_id', '=', invoice.id).forUpdate().execute();
  for (const r of refs) ctx.wake(waitKeys.paymentRef(r.ref));
}

/**
 * invoice.payment_failed: Stripe retries the payment. The account keeps its plan within the grace of
 * the unpaid period; a failure of an invoice that was paid after all (a late, stale delivery) changes
 * nothing, nor does one of a subscription that is not the account's current one.
 */
export async function onInvoicePaymentFailed(ctx: PaymentContext): Promise<EventOutcome> {
  const party = await invoiceParty(ctx);
  if (!('book' in party)) return party.status === 'waiting' ? ignored('not_for_engine', party.message) : party;
  const { invoice, subscriptionId, book } = party;
  const userId = book.userId;
  if (await paymentOf(ctx.trx, { invoiceId: invoice.id })) {
    return ignored('invoice_already_paid', `invoice ${invoice.id} was paid: its earlier failure changes nothing`, userId);
  }
  const account = await loadSubscription(ctx.trx, userId);
  if (account?.stripe_subscription_id !== subscriptionId) {
    return ignored('not_current_subscription', `subscription ${subscriptionId} is not ${userId}'s current one: the account is not changed`, userId);
  }
  const plan = await getPlan(ctx.trx, book.account.plan_id);
  if (plan.price_cents === 0) return ignored('nothing_to_lapse', `${userId} is already on ${plan.id}`, userId);
  await saveSubscription(ctx.trx, userId, { status: 'lapsing', lapse_reason: 'payment_failed' }, ctx.now);
  const graceEnd = account.grace_until ?? new Date(book.account.period_start.getTime() + ctx.rules.graceMs);
  return applied(
    'payment_failed',
    `invoice ${invoice.id} of ${userId} failed; Stripe retries it. Unpaid, the period falls back to the free plan at ${graceEnd.toISOString()}`,
    userId,
  );
}
