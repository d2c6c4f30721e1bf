import { z } from 'zod';

/**
 * The parts of Stripe's objects the engine reads, across API versions: fields Stripe moved (an invoice's
 * subscription metadata and payment intent, in the 2025 "basil" versions) are read from either place.
 */
const id = z.string().min(1);
const metadata = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});
/** A reference Stripe sends as an id, or as the object itself when expanded. */
const ref = z
  .union([z.string(), z.looseObject({ id: z.string() })])
  .nullish()
  .transform((v) => (v == null ? null : typeof v === 'string' ? v : v.id));
const seconds = z.number().int().nullish();

export const stripeEventSchema = z.looseObject({
  id,
  type: z.string().min(1),
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

export const checkoutSessionSchema = z.looseObject({
  id,
  metadata,
  amount_total: z.number().int().nullish(),
  currency: z.string().nullish(),
  payment_status: z.string().nullish(),
  payment_intent: ref,
  invoice: ref,
  subscription: ref,
});
export type CheckoutSession = z.infer<typeof checkoutSessionSchema>;

export const invoiceSchema = z.looseObject({
  id,
  metadata,
  amount_paid: z.number().int().nullish(),
  currency: z.string().nullish(),
  period_start: seconds,
  period_end: seconds,
  subscription: ref,
  payment_intent: ref,
  subscription_details: z.looseObject({ metadata }).nullish(),
  parent: z.looseObject({ subscription_details: z.looseObject({ metadata, subscription: ref }).nullish() }).nullish(),
  lines: z.looseObject({ data: z.array(z.looseObject({ period: z.looseObject({ start: z.number(), end: z.number() }).nullish() })) }).nullish(),
  payments: z.looseObject({ data: z.array(z.looseObject({ payment: z.looseObject({ payment_intent: ref }).nullish() })) }).nullish(),
});
export type Invoice = z.infer<typeof invoiceSchema>;

export const subscriptionSchema = z.looseObject({ id, metadata });

export const chargeSchema = z.looseObject({
  id,
  payment_intent: ref,
  amount: z.number().int().min(0),
  amount_refunded: z.number().int().min(0),
  currency: z.string(),
});

/** The subscription's metadata names the account; older versions copy it elsewhere, the invoice's own last. */
export function invoiceMetadata(inv: Invoice): Record<string, string> {
  return { ...inv.metadata, ...inv.subscription_details?.metadata, ...inv.parent?.subscription_details?.metadata };
}

export function invoiceSubscription(inv: Invoice): string | null {
  return inv.parent?.subscription_details?.subscription ?? inv.subscription;
}

export function invoicePaymentIntent(inv: Invoice): string | null {
  return inv.payment_intent ?? inv.payments?.data.find((p) => p.payment?.payment_intent)?.payment?.payment_intent ?? null;
}

/** The service period an invoice pays: its lines' periods (the invoice's own period is the one before). */
export function invoicePeriod(inv: Invoice): { start: Date; end: Date } | null {
  const periods = (inv.lines?.data ?? []).flatMap((l) => (l.period ? [l.period] : []));
  if (periods.length > 0) {
    return {
      start: new Date(Math.min(...periods.map((p) => p.start)) * 1000),
      end: new Date(Math.max(...periods.map((p) => p.end)) * 1000),
    };
  }
  if (inv.period_start && inv.period_end && inv.period_end > inv.period_start) {
    return { start: new Date(inv.period_start * 1000), end: new Date(inv.period_end * 1000) };
  }
  return null;
}
