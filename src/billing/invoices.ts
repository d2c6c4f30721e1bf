import { DEFAULT_PLAN, allocationKey } from '../accounts/accounts.js';
import { findPlan } from './plan-lookup.js';
import { invoiceMetadata, invoicePaymentIntent, invoicePeriod, invoiceSchema, invoiceSubscription, subscriptionSchema } from './stripe-objects.js';
import { findSubscriptionOwner, loadSubscription, saveSubscription } from './subscriptions.js';
import { paidThroughFrom, purchasePlan } from './plan-purchase.js';
import { linkGrant, recordPayment } from './payments.js';
import { applied, failed, ignored, type EventOutcome, type PaymentContext } from './payment-context.js';

/**
 * invoice.paid: the subscription whose metadata.userId names the account is paid for the invoice's period.
 * On the account's plan, the period is paid (the renewal allocates it; a pending lapse is cancelled);
 * for another plan (metadata.plan), the plan starts as with a checkout.
 */
export async function onInvoicePaid(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = invoiceSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not an invoice: ${parsed.error.message}`);
  const invoice = parsed.data;
  const metadata = invoiceMetadata(invoice);
  const subscriptionId = invoiceSubscription(invoice);
  const userId = metadata.userId ?? (subscriptionId ? await findSubscriptionOwner(ctx.trx, subscriptionId) : undefined);
  if (!userId) return ignored('not_for_engine', `invoice ${invoice.id} names no account (subscription metadata.userId)`);
  const planId = metadata.plan;
  const named = planId ? await findPlan(ctx.trx, planId) : undefined;
  if (planId && !named) return failed('unknown_plan', `no plan "${planId}" (invoice ${invoice.id})`, userId);
  const book = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (invoice ${invoice.id})`, userId);
  const plan = named ?? (await findPlan(ctx.trx, book.account.plan_id))!;
  if (!named && plan.price_cents === 0) {
    return failed('invalid_metadata', `invoice ${invoice.id} names no plan (metadata.plan) and ${userId} is on ${plan.id}`, userId);
  }

  const period = invoicePeriod(invoice);
  const paidThrough = period && period.end.getTime() > ctx.now.getTime() ? period.end : paidThroughFrom(plan, ctx.now);
  const payment = {
    userId,
    amountCents: invoice.amount_paid ?? 0,
    currency: invoice.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    invoiceId: invoice.id,
    paymentIntentId: invoicePaymentIntent(invoice),
    subscriptionId,
    paidAt: ctx.now,
  };
  if (plan.id !== book.account.plan_id) return purchasePlan(ctx, book, plan, payment, paidThrough);

  const paymentId = await recordPayment(ctx.trx, {
    ...payment,
    kind: 'plan',
    planId: plan.id,
    periodStart: period?.start ?? book.account.period_start,
    periodEnd: paidThrough,
  });
  if (paymentId === null) return ignored('already_recorded', `invoice ${invoice.id} was already applied`, userId);
  const sub = await loadSubscription(ctx.trx, userId);
  const through = sub?.paid_through && sub.paid_through > paidThrough ? sub.paid_through : paidThrough;
  await saveSubscription(
    ctx.trx,
    userId,
    { status: 'active', paid_through: through, lapse_reason: null, ...(subscriptionId ? { stripe_subscription_id: subscriptionId } : {}) },
    ctx.now,
  );
  const allocation = await ctx.trx
    .selectFrom('grants')
    .select(['id', 'tokens'])
    .where('idempotency_key', '=', allocationKey(userId, book.account.period_index))
    .executeTakeFirst();
  await linkGrant(ctx.trx, paymentId, allocation ?? null);
  return applied('period_paid', `${userId} has paid ${plan.id} through ${through.toISOString()}`, userId);
}

/**
 * invoice.payment_failed and customer.subscription.deleted: the subscription lapses. The account keeps
 * its plan until its paid period is over, then moves to Free Starter at that renewal; a later
 * invoice.paid (Stripe retries failed payments) cancels the lapse.
 */
export async function onLapse(ctx: PaymentContext): Promise<EventOutcome> {
  const deleted = ctx.event.type === 'customer.subscription.deleted';
  const named = deleted ? namedBySubscription(ctx.event.data.object) : namedByInvoice(ctx.event.data.object);
  if ('error' in named) return failed('malformed_event', `unexpected ${ctx.event.type} object: ${named.error}`);
  const { metadata, subscriptionId } = named;
  const userId = metadata.userId ?? (subscriptionId ? await findSubscriptionOwner(ctx.trx, subscriptionId) : undefined);
  if (!userId) return ignored('not_for_engine', `${ctx.event.type} names no account (subscription metadata.userId)`);
  const book = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (${ctx.event.type})`, userId);
  if (book.account.plan_id === DEFAULT_PLAN) return ignored('nothing_to_lapse', `${userId} is already on ${DEFAULT_PLAN}`, userId);

  const reason = deleted ? 'subscription_deleted' : 'payment_failed';
  await saveSubscription(ctx.trx, userId, { status: 'lapsing', lapse_reason: reason }, ctx.now);
  const sub = await loadSubscription(ctx.trx, userId);
  const from = sub?.paid_through && sub.paid_through > book.account.period_end ? sub.paid_through : book.account.period_end;
  return applied('lapse_scheduled', `${userId} (${reason}) moves to ${DEFAULT_PLAN} at its first renewal from ${from.toISOString()}`, userId);
}

type Named = { metadata: Record<string, string>; subscriptionId: string | null } | { error: string };

function namedBySubscription(object: unknown): Named {
  const parsed = subscriptionSchema.safeParse(object);
  return parsed.success ? { metadata: parsed.data.metadata, subscriptionId: parsed.data.id } : { error: parsed.error.message };
}

function namedByInvoice(object: unknown): Named {
  const parsed = invoiceSchema.safeParse(object);
  return parsed.success ? { metadata: invoiceMetadata(parsed.data), subscriptionId: invoiceSubscription(parsed.data) } : { error: parsed.error.message };
}
