import { sql } from 'kysely';
import { findPlan } from './plan-lookup.js';
import { checkoutSessionSchema, toDate, type CheckoutSession } from './stripe-objects.js';
import { coverageOf } from './plan-purchase.js';
import { linkGrant, paymentOf, recordPayment } from './payments.js';
import { learned, lockStripeSubscription, recordFacts, type StripeSubscriptionRow } from './stripe-subscriptions.js';
import { adoptSubscription } from './subscriptions.js';
import { applyPaidPeriod } from './paid-periods.js';
import type { AccountBook } from '../ledger/account-book.js';
import { applied, failed, ignored, waitKeys, waiting, type EventOutcome, type PaymentContext } from './payment-context.js';

const MAX_PACK_TOKENS = 10_000_000;
const wholeNumber = (value: string | undefined, max: number): number | null =>
  value !== undefined && /^\d{1,9}$/.test(value) && Number(value) >= 1 && Number(value) <= max ? Number(value) : null;

type Stage = 'completed' | 'succeeded' | 'failed';
const stageOf = (type: string): Stage =>
  type === 'checkout.session.async_payment_succeeded' ? 'succeeded' : type === 'checkout.session.async_payment_failed' ? 'failed' : 'completed';
const isPaid = (s: CheckoutSession) => s.payment_status === 'paid' || s.payment_status === 'no_payment_required';

/**
 * checkout.session.completed, .async_payment_succeeded and .async_payment_failed. A one-time checkout
 * (mode=payment) buys a token pack (metadata.tokens); it never starts a plan. A subscription checkout
 * links its subscription to the account (metadata.userId) and, once paid, pays the subscription's first
 * period. A session paid by a delayed method (SEPA, bank debits) is completed unpaid: it waits, and its
 * async_payment_succeeded allocates once (async_payment_failed: nothing).
 */
export async function onCheckoutSession(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = checkoutSessionSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a checkout session: ${parsed.error.message}`);
  const session = parsed.data;
  const { userId, plan: planId } = session.metadata;
  if (!userId) return ignored('not_for_engine', `checkout session ${session.id} has no metadata.userId`);
  const stage = stageOf(ctx.event.type);
  const subscriptionMode = session.mode === 'subscription' || (!session.mode && !!session.subscription);
  if (!subscriptionMode && planId) {
    return failed(
      'one_time_plan',
      `checkout session ${session.id} is a one-time payment (mode=${session.mode ?? 'payment'}) naming metadata.plan "${planId}": plans are sold as subscriptions (mode=subscription). Nothing was allocated; refund it or sell the plan with a subscription price`,
      userId,
    );
  }
  if (!subscriptionMode) return tokenPack(ctx, session, userId, stage);

  if (!session.subscription) return failed('malformed_event', `subscription checkout session ${session.id} names no subscription`, userId);
  const subscriptionId = session.subscription;
  const book = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (checkout session ${session.id})`, userId);
  const before = await lockStripeSubscription(ctx.trx, subscriptionId, ctx.now);
  if (before.user_id && before.user_id !== userId) {
    return failed('invalid_metadata', `checkout session ${session.id} names ${userId}, but subscription ${subscriptionId} belongs to ${before.user_id}`, userId);
  }
  const row = await recordFacts(
    ctx.trx,
    before,
    { userId, metadataPlan: planId, checkoutSessionId: session.id, startedAround: toDate(session.created) ?? ctx.eventAt },
    ctx.now,
  );
  if (learned(before, row)) ctx.wake(waitKeys.subscription(subscriptionId));
  if (stage === 'failed') return asyncFailed(ctx, session, userId);
  if (!isPaid(session)) return notPaidYet(ctx, session, userId);
  // Only a paid subscription replaces the account's current one: an unpaid one may never be paid.
  const current = await adoptSubscription(ctx.trx, userId, row, ctx.now);

  const chosen = row.plan_id ?? planId;
  if (!chosen) {
    return waiting(waitKeys.subscription(subscriptionId), 'plan_unknown', `checkout session ${session.id}: no plan maps to the subscription's price yet and no metadata.plan names one`, userId);
  }
  const plan = await findPlan(ctx.trx, chosen);
  if (!plan) return failed('unknown_plan', `no plan "${chosen}" (checkout session ${session.id})`, userId);
  if (plan.price_cents === 0) return failed('invalid_metadata', `checkout session ${session.id} buys ${plan.id}, a free plan`, userId);
  const exact = firstPeriod(row);
  const paymentId = await recordPayment(ctx.trx, {
    userId,
    kind: 'plan',
    planId: plan.id,
    amountCents: session.amount_total ?? 0,
    currency: session.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    checkoutSessionId: session.id,
    invoiceId: session.invoice,
    paymentIntentId: session.payment_intent,
    subscriptionId,
    ...coverageOf(plan, exact, ctx.eventAt),
    paidAt: ctx.now,
  });
  if (session.payment_intent) ctx.wake(waitKeys.paymentRef(session.payment_intent));
  if (stage === 'succeeded') settlePaidLater(ctx, session);
  if (paymentId === null) return ignored('already_recorded', `checkout session ${session.id}: its first invoice was already applied`, userId);
  if (!current) return ignored('not_current_subscription', `checkout session ${session.id} recorded; subscription ${subscriptionId} is not ${userId}'s current one`, userId);
  return applyPaidPeriod(ctx, book, subscriptionId, plan, (await paymentOf(ctx.trx, { checkoutSessionId: session.id }))!);
}

/** A token pack: a `purchase` grant that never expires unless metadata.expiresInDays says so. */
async function tokenPack(ctx: PaymentContext, session: CheckoutSession, userId: string, stage: Stage): Promise<EventOutcome> {
  const tokens = wholeNumber(session.metadata.tokens, MAX_PACK_TOKENS);
  if (tokens === null) {
    return failed('invalid_metadata', `checkout session ${session.id} needs metadata.tokens (a whole number 1-${MAX_PACK_TOKENS})`, userId);
  }
  const expiresInDays = session.metadata.expiresInDays;
  const days = expiresInDays === undefined ? null : wholeNumber(expiresInDays, 3650);
  if (expiresInDays !== undefined && days === null) {
    return failed('invalid_metadata', `checkout session ${session.id}: metadata.expiresInDays must be a whole number of days 1-3650`, userId);
  }
  const book: AccountBook | undefined = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (checkout session ${session.id})`, userId);
  if (stage === 'failed') return asyncFailed(ctx, session, userId);
  if (!isPaid(session)) return notPaidYet(ctx, session, userId);

  const paymentId = await recordPayment(ctx.trx, {
    userId,
    kind: 'topup',
    planId: null,
    amountCents: session.amount_total ?? 0,
    currency: session.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    checkoutSessionId: session.id,
    paymentIntentId: session.payment_intent,
    tokens,
    paidAt: ctx.now,
  });
  if (session.payment_intent) ctx.wake(waitKeys.paymentRef(session.payment_intent));
  if (stage === 'succeeded') settlePaidLater(ctx, session);
  if (paymentId === null) return ignored('already_recorded', `checkout session ${session.id} was already applied`, userId);
  const expiresAt = days === null ? null : new Date(ctx.now.getTime() + days * 86_400_000);
  const grantId = await book.grant(ctx.trx, {
    source: 'purchase',
    sourceRef: session.id,
    tokens,
    expiresAt,
    idempotencyKey: `purchase:${session.id}`,
    occurredAt: ctx.now,
    metadata: { checkoutSession: session.id, paymentId },
  });
  await linkGrant(ctx.trx, paymentId, grantId === null ? null : { id: grantId, tokens });
  const until = expiresAt ? `until ${expiresAt.toISOString()}` : 'without expiry';
  return applied('tokens_added', `${userId} bought ${tokens} tokens, ${until}`, userId);
}

/** The subscription's first billing period, if Stripe has told it (the row's period, while it is still the first). */
function firstPeriod(row: StripeSubscriptionRow): { start: Date; end: Date } | null {
  const { current_period_start: start, current_period_end: end, started_at: started } = row;
  if (!start || !end) return null;
  if (started && Math.abs(start.getTime() - started.getTime()) > 86_400_000) return null;
  return { start, end };
}

/**
 * A session completed unpaid waits for its delayed payment, unless that was answered already (the
 * events of one session can arrive in any order): paid (its payment recorded), or failed.
 */
async function notPaidYet(ctx: PaymentContext, session: CheckoutSession, userId: string): Promise<EventOutcome> {
  if (await paymentOf(ctx.trx, { checkoutSessionId: session.id, invoiceId: session.invoice })) {
    return ignored('paid_later', `checkout session ${session.id} was paid: its payment is already applied`, userId);
  }
  const { rows } = await sql<{ id: string }>`
    select id from stripe_events
    where type = 'checkout.session.async_payment_failed' and status = 'applied' and payload -> 'data' -> 'object' ->> 'id' = ${session.id}
    limit 1`.execute(ctx.trx);
  if (rows.length > 0) return ignored('async_payment_failed', `checkout session ${session.id}: its delayed payment failed (${rows[0]!.id}); nothing allocated`, userId);
  return waiting(
    waitKeys.checkout(session.id),
    'not_paid',
    `checkout session ${session.id} is not paid yet (a delayed payment method): allocated when checkout.session.async_payment_succeeded arrives`,
    userId,
  );
}

/** The completed, unpaid session that waited for this payment is answered by it. */
function settlePaidLater(ctx: PaymentContext, session: CheckoutSession): void {
  ctx.settle(waitKeys.checkout(session.id), { status: 'ignored', code: 'paid_later', message: `paid later: applied by ${ctx.event.id}` });
}

function asyncFailed(ctx: PaymentContext, session: CheckoutSession, userId: string): EventOutcome {
  ctx.settle(waitKeys.checkout(session.id), { status: 'ignored', code: 'async_payment_failed', message: `its delayed payment failed (${ctx.event.id}): nothing allocated` });
  return applied('async_payment_failed', `checkout session ${session.id}: the delayed payment failed; nothing was allocated`, userId);
}
