import type { GrantSource } from '../db/schema.js';
import type { AccountBook } from '../ledger/account-book.js';
import { allocationKey } from '../accounts/accounts.js';
import { addMonths } from '../calendar/periods.js';
import { BILLING_TOLERANCE_MS } from './billing-rules.js';
import { paidThrough, type Payment } from './payments.js';
import { loadSubscription, saveSubscription } from './subscriptions.js';
import { endsBy, readStripeSubscription } from './stripe-subscriptions.js';
import { lapseCurrentPeriod, restorePaidPeriod } from './unpaid-periods.js';
import { getPlan } from '../catalog/plans.js';
import type { PaymentContext } from './payment-context.js';

const ALL_SOURCES: GrantSource[] = ['plan', 'purchase', 'bonus', 'adjustment', 'rollover'];

function ceilDiv(a: number, b: number): number {
  return Number((BigInt(a) + BigInt(b) - 1n) / BigInt(b));
}

export interface Settlement {
  /** Tokens the refunds newly call for, and how many of them were taken (the rest was spent or expired). */
  requested: number;
  taken: number;
  givenBack: number;
  /** What else happened, for the event's message. */
  note: string;
}

/**
 * Brings a payment's tokens in line with the money that came back: the net of the charge's refunds
 * (less refunds that failed since), plus lost disputes, calls for `ceil(tokens × net / paid)` tokens,
 * counted cumulatively (`tokens_refunded`), so each cent is counted once however the refunds are split.
 * More called for: taken back from periods the payment pays that have not begun (a yearly plan's coming
 * months: its paid coverage ends earlier), then from the unspent tokens of what it granted in the current
 * period, never below zero; what was already spent is recorded as such. Less called for (a refund
 * failed): what was taken beyond the new total comes back. Refunded in full, a plan payment pays no
 * period: its current period falls back to the free plan (at once if the subscription has ended or the
 * grace is over).
 */
export async function settleRefunds(ctx: PaymentContext, book: AccountBook, payment: Payment, source: string, details: Record<string, unknown>): Promise<Settlement> {
  const adjustments = await ctx.trx.selectFrom('payment_adjustments').selectAll().where('payment_id', '=', payment.id).execute();
  const seen = payment.refunds_seen_at?.getTime() ?? -Infinity;
  const failedSince = adjustments.filter((a) => a.kind === 'refund_failed' && a.occurred_at.getTime() > seen).reduce((s, a) => s + a.amount_cents, 0);
  const lost = adjustments.filter((a) => a.kind === 'dispute_lost').reduce((s, a) => s + a.amount_cents, 0);
  const paid = payment.amount_cents;
  const net = Math.min(paid, Math.max(0, payment.refunded_cents - failedSince + lost));
  const target = paid > 0 ? Math.min(payment.tokens, ceilDiv(payment.tokens * net, paid)) : 0;
  book.expireDue(ctx.now);

  let { tokens_reversed: reversed, tokens_cancelled: cancelled, period_end: periodEnd } = payment;
  let requested = 0;
  let taken = 0;
  let givenBack = 0;
  const metadata = { ...details, paymentId: payment.id, netRefundedCents: net };
  if (target > payment.tokens_refunded) {
    requested = target - payment.tokens_refunded;
    let left = requested;
    if (payment.kind === 'plan' && payment.period_start && periodEnd) {
      const cut = cancelFuturePeriods(book, payment, periodEnd, left);
      periodEnd = cut.periodEnd;
      cancelled += cut.tokens;
      left -= cut.tokens;
      taken += cut.tokens;
    }
    const plan: Array<{ grantId: number; tokens: number }> = [];
    for (const grantId of await grantsPaidFor(ctx, book, payment, periodEnd)) {
      const unspent = book.remainingOf(ALL_SOURCES).find((g) => g.id === grantId)?.remaining ?? 0;
      const n = Math.min(left, unspent);
      if (n > 0) plan.push({ grantId, tokens: n });
      left -= n;
    }
    const reversedNow = plan.reduce((sum, p) => sum + p.tokens, 0);
    taken += reversedNow;
    for (const p of plan) {
      reversed += book.reverse(p.grantId, p.tokens, {
        occurredAt: ctx.now,
        source,
        metadata: { ...metadata, reason: 'refund', tokensRefunded: requested, tokensTakenBack: taken, tokensAlreadySpent: requested - taken },
      });
    }
    // Tokens taken back were never the account's to use this period.
    if (reversedNow > 0) book.setPeriod({ period_allocated: Math.max(book.account.period_used, book.account.period_allocated - reversedNow) });
  } else if (target < payment.tokens_refunded) {
    let give = Math.max(0, reversed + cancelled - target);
    if (payment.kind === 'plan' && payment.period_start && periodEnd && cancelled > 0) {
      const per = Math.max(1, Math.floor(payment.tokens / payment.periods));
      const months = Math.min(Math.floor(cancelled / per), Math.floor(give / per));
      periodEnd = addMonths(periodEnd, months);
      cancelled -= months * per;
      give -= months * per;
      givenBack += months * per;
    }
    const back = Math.min(give, reversed);
    const into = await giveBackTarget(ctx, book, payment, periodEnd);
    if (back > 0 && into) {
      await book.grant(ctx.trx, {
        source: into.source,
        sourceRef: into.sourceRef,
        tokens: back,
        expiresAt: into.expiresAt,
        idempotencyKey: `giveback:${payment.id}:${ctx.event.id}`,
        occurredAt: ctx.now,
        metadata: { ...metadata, reason: 'refund_undone' },
      });
      reversed -= back;
      givenBack += back;
    }
  }

  const voided = paid > 0 && net >= paid;
  await ctx.trx
    .updateTable('payments')
    .set({
      tokens_refunded: target,
      tokens_reversed: reversed,
      tokens_cancelled: cancelled,
      period_end: periodEnd,
      voided_at: voided ? (payment.voided_at ?? ctx.now) : null,
    })
    .where('id', '=', payment.id)
    .execute();
  const note = payment.kind === 'plan' && payment.subscription_id ? await followCoverage(ctx, book, payment, voided) : '';
  return { requested, taken, givenBack, note: cancelled > payment.tokens_cancelled ? `; ${cancelled - payment.tokens_cancelled} tokens of periods not begun cancelled${note}` : note };
}

/** A plan payment's periods not yet begun are cancelled first, whole periods only: its coverage ends earlier. */
function cancelFuturePeriods(book: AccountBook, payment: Payment, periodEnd: Date, wanted: number): { periodEnd: Date; tokens: number } {
  const per = Math.max(1, Math.floor(payment.tokens / payment.periods));
  const starts: Date[] = [];
  for (let j = 0; j < payment.periods; j++) {
    const s = addMonths(payment.period_start!, j);
    if (s.getTime() >= periodEnd.getTime() - BILLING_TOLERANCE_MS) break;
    starts.push(s);
  }
  const future = starts.filter((s) => s.getTime() >= book.account.period_end.getTime() - BILLING_TOLERANCE_MS);
  const cut = Math.min(future.length, Math.floor(wanted / per));
  if (cut === 0) return { periodEnd, tokens: 0 };
  return { periodEnd: addMonths(payment.period_start!, starts.length - cut), tokens: cut * per };
}

const coversNow = (payment: Payment, book: AccountBook, periodEnd: Date | null) => {
  const probe = book.account.period_start.getTime() + BILLING_TOLERANCE_MS;
  return !!payment.period_start && !!periodEnd && payment.period_start.getTime() <= probe && periodEnd.getTime() > probe;
};

/** The grants holding what the payment paid for now: a pack's or a proration's grant, or a plan payment's allocation of the current period. */
async function grantsPaidFor(ctx: PaymentContext, book: AccountBook, payment: Payment, periodEnd: Date | null): Promise<number[]> {
  if (payment.kind !== 'plan') return payment.grant_id ? [payment.grant_id] : [];
  if (!coversNow(payment, book, periodEnd) || book.account.plan_id !== payment.plan_id) return [];
  const keys = [allocationKey(book.userId, book.account.period_index), `restore:${book.userId}:${book.account.period_index}`];
  return (await book.grantsByKey(ctx.trx, keys)).map((r) => r.id);
}

/** Where tokens a failed refund gives back go: the pack's own kind and expiry, or the current period's plan grant. */
async function giveBackTarget(ctx: PaymentContext, book: AccountBook, payment: Payment, periodEnd: Date | null) {
  if (payment.kind === 'plan') {
    if (!coversNow(payment, book, periodEnd) || book.account.plan_id !== payment.plan_id) return null;
    return { source: 'plan' as const, sourceRef: payment.plan_id, expiresAt: book.account.period_end };
  }
  if (!payment.grant_id) return null;
  const grant = await ctx.trx.selectFrom('grants').select(['source', 'source_ref', 'expires_at']).where('id', '=', payment.grant_id).executeTakeFirstOrThrow();
  if (grant.expires_at && grant.expires_at.getTime() <= ctx.now.getTime()) return null;
  return { source: grant.source, sourceRef: grant.source_ref, expiresAt: grant.expires_at };
}

/**
 * A plan payment refunded in full no longer pays the current period: it falls back to the free plan at
 * once if the subscription has ended or the period's grace is over, else at the end of the grace. One
 * whose refund failed pays it again.
 */
async function followCoverage(ctx: PaymentContext, book: AccountBook, payment: Payment, voided: boolean): Promise<string> {
  const subscriptionId = payment.subscription_id!;
  const account = await loadSubscription(ctx.trx, book.userId);
  if (account?.stripe_subscription_id !== subscriptionId) return '';
  await saveSubscription(ctx.trx, book.userId, { paid_through: await paidThrough(ctx.trx, subscriptionId) }, ctx.now);
  if (!coversNow(payment, book, payment.period_end) && !voided) return '';
  const periodStart = book.account.period_start;
  if (voided && payment.voided_at === null && coversNow(payment, book, payment.period_end)) {
    const row = await readStripeSubscription(ctx.trx, subscriptionId);
    const graceEnd = new Date(periodStart.getTime() + ctx.rules.graceMs);
    if ((row && endsBy(row, book.account.period_end)) || (row?.status === 'canceled') || ctx.now.getTime() >= graceEnd.getTime()) {
      const lapse = await lapseCurrentPeriod(ctx.trx, book, 'refunded', subscriptionId, ctx.now);
      return lapse ? `; refunded in full: the plan ended, ${book.userId} is on the free plan` : '';
    }
    await saveSubscription(ctx.trx, book.userId, { grace_until: graceEnd, status: 'lapsing', lapse_reason: 'refunded' }, ctx.now);
    return `; refunded in full: the period is unpaid, on the free plan from ${graceEnd.toISOString()} unless paid`;
  }
  if (!voided && payment.voided_at !== null && payment.plan_id && coversNow(payment, book, payment.period_end)) {
    const plan = await getPlan(ctx.trx, payment.plan_id);
    const restored = book.account.plan_id !== plan.id ? await restorePaidPeriod(ctx.trx, book, plan, ctx.now) : null;
    await saveSubscription(ctx.trx, book.userId, { grace_until: null, status: 'active', lapse_reason: null }, ctx.now);
    return restored !== null ? `; paid again: back on ${plan.id}` : '';
  }
  return '';
}
