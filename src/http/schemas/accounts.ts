import { z } from 'zod';
import { isoTime } from './time.js';

export const warningSchema = z
  .object({ level: z.union([z.literal(90), z.literal(95), z.literal(100)]), message: z.string() })
  .nullable()
  .describe('the highest warning level crossed this period, with the seed\'s message');

/** GET /v1/accounts/{userId}'s answer. */
export const accountViewSchema = z
  .object({
    userId: z.string(),
    plan: z.object({ id: z.string(), name: z.string(), monthlyTokens: z.number().int() }),
    email: z.string().nullable(),
    balance: z.number().int().describe('what can be spent now; tokens under a hold are in `held`'),
    held: z.number().int(),
    period: z.object({ start: isoTime, end: isoTime }),
    usedThisPeriod: z.number().int(),
    allocatedThisPeriod: z.number().int(),
    percentUsed: z.number().int().describe('floor(100 * used / allocated)'),
    warning: warningSchema,
    loyalty: z.object({
      months: z.number().int().describe('consecutive paid months'),
      bonusPercent: z.number().int(),
      next: z.object({ months: z.number().int(), bonusPercent: z.number().int() }).nullable(),
    }),
  })
  .meta({ id: 'Account' });

export const paymentSchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(['plan', 'topup', 'proration']),
    plan: z.string().nullable(),
    tokens: z.number().int(),
    amountCents: z.number().int(),
    currency: z.string(),
    period: z.object({ start: isoTime, end: isoTime }).nullable(),
    paidAt: isoTime,
    refundedCents: z.number().int(),
    tokensReversed: z.number().int(),
    tokensCancelled: z.number().int(),
    voided: z.boolean(),
    stripeEventId: z.string(),
  })
  .meta({ id: 'Payment' });

export const billingStatusSchema = z.object({
  status: z.enum(['active', 'lapsing', 'lapsed']).nullable(),
  paidThrough: isoTime.nullable(),
  lapseReason: z.string().nullable(),
  pendingPlan: z.string().nullable().describe('a downgrade that takes effect at renewal'),
  graceUntil: isoTime.nullable(),
  subscription: z
    .object({
      id: z.string(),
      status: z.string().nullable(),
      plan: z.string().nullable(),
      currentPeriod: z.object({ start: isoTime, end: isoTime }).nullable(),
      cancelAtPeriodEnd: z.boolean(),
    })
    .nullable()
    .describe('the Stripe subscription, when Stripe bills the account'),
});

export const ledgerEntrySchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(['grant', 'use', 'hold', 'release', 'expiry', 'reversal']),
    amount: z.number().int(),
    heldDelta: z.number().int(),
    balanceAfter: z.number().int(),
    heldAfter: z.number().int(),
    feature: z.string().nullable(),
    cost: z.number().int().nullable(),
    source: z.string().nullable(),
    grantId: z.number().int().nullable(),
    reservationId: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    occurredAt: isoTime,
    recordedAt: isoTime,
    metadata: z.unknown(),
  })
  .meta({ id: 'LedgerEntry' });

export const ledgerPageSchema = z.object({ entries: z.array(ledgerEntrySchema).describe('newest first'), nextCursor: z.string().nullable() });

export const openHoldSchema = z
  .object({ reservationId: z.string(), feature: z.string(), cost: z.number().int(), expiresAt: isoTime })
  .meta({ id: 'Hold' });

export const planChangeSchema = z.object({
  change: z.enum(['upgrade', 'downgrade', 'none']),
  effectiveAt: isoTime,
  tokensGranted: z.number().int().describe('the prorated grant of an upgrade'),
  pendingPlan: z.string().nullable(),
  account: accountViewSchema,
});
