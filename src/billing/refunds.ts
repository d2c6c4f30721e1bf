import type { GrantSource } from '../db/schema.js';
import { chargeSchema } from './stripe-objects.js';
import { applied, failed, ignored, type EventOutcome, type PaymentContext } from './payment-context.js';

const ALL_SOURCES: GrantSource[] = ['plan', 'purchase', 'bonus', 'adjustment', 'rollover'];

function ceilDiv(a: number, b: number): number {
  return Number((BigInt(a) + BigInt(b) - 1n) / BigInt(b));
}

/**
 * charge.refunded: the refunded share of the payment (linked by payment intent) takes back as many of the
 * tokens it granted, but only those still unspent: never below zero, and a reversal entry says what
 * was taken back and what had been spent. Stripe's amount_refunded is cumulative, so a refund is counted once.
 */
export async function onChargeRefunded(ctx: PaymentContext): Promise<EventOutcome> {
  const parsed = chargeSchema.safeParse(ctx.event.data.object);
  if (!parsed.success) return failed('malformed_event', `not a charge: ${parsed.error.message}`);
  const charge = parsed.data;
  if (!charge.payment_intent) return failed('payment_not_found', `charge ${charge.id} names no payment_intent`);
  const found = await ctx.trx
    .selectFrom('payments')
    .select(['id', 'user_id'])
    .where('payment_intent_id', '=', charge.payment_intent)
    .executeTakeFirst();
  if (!found) return failed('payment_not_found', `no payment recorded for payment_intent ${charge.payment_intent} (charge ${charge.id})`);
  const book = (await ctx.account(found.user_id))!;
  const payment = await ctx.trx.selectFrom('payments').selectAll().where('id', '=', found.id).forUpdate().executeTakeFirstOrThrow();

  const newlyRefunded = charge.amount_refunded - payment.refunded_cents;
  if (newlyRefunded <= 0) return ignored('already_refunded', `charge ${charge.id}: this refund was already applied`, book.userId);
  const paid = payment.amount_cents > 0 ? payment.amount_cents : charge.amount;
  const share = paid > 0 ? ceilDiv(payment.tokens * Math.min(newlyRefunded, paid), paid) : 0;
  const requested = Math.min(share, payment.tokens - payment.tokens_reversed);
  // Tokens past their expiry are gone, not taken back, whether or not the sweep has removed them yet.
  book.expireDue(ctx.now);
  const unspent = payment.grant_id ? (book.remainingOf(ALL_SOURCES).find((g) => g.id === payment.grant_id)?.remaining ?? 0) : 0;
  const taken = Math.min(requested, unspent);
  if (taken > 0) {
    book.reverse(payment.grant_id!, taken, {
      occurredAt: ctx.now,
      source: `refund:${charge.id}`,
      metadata: {
        reason: 'refund',
        chargeId: charge.id,
        paymentId: payment.id,
        refundedCents: newlyRefunded,
        currency: charge.currency,
        tokensRefunded: requested,
        tokensTakenBack: taken,
        tokensAlreadySpent: requested - taken,
      },
    });
    // Tokens taken back were never the account's to use this period.
    book.setPeriod({ period_allocated: Math.max(book.account.period_used, book.account.period_allocated - taken) });
  }
  await ctx.trx
    .updateTable('payments')
    .set({ refunded_cents: charge.amount_refunded, tokens_reversed: payment.tokens_reversed + taken })
    .where('id', '=', payment.id)
    .execute();
  return applied(
    'refund_reversed',
    `charge ${charge.id} refunded ${newlyRefunded} ${charge.currency}: took back ${taken} of ${requested} tokens (${requested - taken} already spent or expired)`,
    book.userId,
  );
}
