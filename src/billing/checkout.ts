import { findPlan } from './plan-lookup.js';
import { checkoutSessionSchema } from './stripe-objects.js';
import { paidThroughFrom, purchasePlan } from './plan-purchase.js';
import { linkGrant, recordPayment } from './payments.js';
import { applied, failed, ignored, type EventOutcome, type PaymentContext } from './payment-context.js';

const MAX_PACK_TOKENS = 10_000_000;
const wholeNumber = (value: string | undefined, max: number): number | null =>
  value !== undefined && /^\d{1,9}$/.test(value) && Number(value) >= 1 && Number(value) <= max ? Number(value) : null;

/** checkout.session.completed: a plan bought (metadata.plan) or a token pack (metadata.tokens). */
export async function onCheckoutCompleted(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = checkoutSessionSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a checkout session: ${parsed.error.message}`);
  const session = parsed.data;
  const { userId, plan: planId, tokens } = session.metadata;
  if (!userId) return ignored('not_for_engine', `checkout session ${session.id} has no metadata.userId`);
  if (session.payment_status === 'unpaid') return ignored('not_paid', `checkout session ${session.id} is not paid yet`, userId);

  const plan = planId ? await findPlan(ctx.trx, planId) : undefined;
  if (planId && !plan) return failed('unknown_plan', `no plan "${planId}" (checkout session ${session.id})`, userId);
  const packTokens = planId ? null : wholeNumber(tokens, MAX_PACK_TOKENS);
  if (!plan && packTokens === null) {
    return failed('invalid_metadata', `checkout session ${session.id} needs metadata.plan or metadata.tokens (a whole number 1-${MAX_PACK_TOKENS})`, userId);
  }
  const expiresInDays = session.metadata.expiresInDays;
  const days = expiresInDays === undefined ? null : wholeNumber(expiresInDays, 3650);
  if (expiresInDays !== undefined && days === null) {
    return failed('invalid_metadata', `checkout session ${session.id}: metadata.expiresInDays must be a whole number of days 1-3650`, userId);
  }
  const book = await ctx.account(userId);
  if (!book) return failed('account_not_found', `no account for userId "${userId}" (checkout session ${session.id})`, userId);

  const payment = {
    userId,
    amountCents: session.amount_total ?? 0,
    currency: session.currency ?? 'usd',
    stripeEventId: ctx.event.id,
    checkoutSessionId: session.id,
    invoiceId: session.invoice,
    paymentIntentId: session.payment_intent,
    subscriptionId: session.subscription,
    paidAt: ctx.now,
  };
  if (plan) return purchasePlan(ctx, book, plan, payment, paidThroughFrom(plan, ctx.now));

  const paymentId = await recordPayment(ctx.trx, { ...payment, kind: 'topup', planId: null });
  if (paymentId === null) return ignored('already_recorded', `checkout session ${session.id} was already applied`, userId);
  const expiresAt = days === null ? null : new Date(ctx.now.getTime() + days * 86_400_000);
  const grantId = await book.grant(ctx.trx, {
    source: 'purchase',
    sourceRef: session.id,
    tokens: packTokens!,
    expiresAt,
    idempotencyKey: `purchase:${session.id}`,
    occurredAt: ctx.now,
    metadata: { checkoutSession: session.id, paymentId },
  });
  await linkGrant(ctx.trx, paymentId, grantId === null ? null : { id: grantId, tokens: packTokens! });
  const until = expiresAt ? `until ${expiresAt.toISOString()}` : 'without expiry';
  return applied('tokens_added', `${userId} bought ${packTokens} tokens, ${until}`, userId);
}
