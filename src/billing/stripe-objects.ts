import { z } from 'zod';

/**
 * The parts of Stripe's objects the engine reads, in both API shapes. Before 2025-03-31 ("basil") an
 * invoice named its `subscription`, `payment_intent` and `charge`, its lines their `price` and `proration`,
 * and a subscription its `current_period_*`. From then on the subscription is under
 * `parent.subscription_details`, a line's price under `pricing.price_details` and its proration under
 * `parent.subscription_item_details`, the period on each subscription item, and payment intents reach a
 * webhook only through `invoice_payment.paid`. Each field is read from wherever the shape puts it.
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
const toDate = (s: number | null | undefined): Date | null => (s == null ? null : new Date(s * 1000));

/** A price as an id, or the price object with its lookup key. */
const price = z
  .union([z.string(), z.looseObject({ id: z.string(), lookup_key: z.string().nullish() })])
  .nullish()
  .transform((v) => (v == null ? null : typeof v === 'string' ? { id: v, lookupKey: null } : { id: v.id, lookupKey: v.lookup_key ?? null }));
export type PriceRef = NonNullable<z.infer<typeof price>>;

export const stripeEventSchema = z.looseObject({
  id,
  type: z.string().min(1),
  created: seconds,
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

export const checkoutSessionSchema = z.looseObject({
  id,
  metadata,
  mode: z.string().nullish(),
  created: seconds,
  amount_total: z.number().int().nullish(),
  currency: z.string().nullish(),
  payment_status: z.string().nullish(),
  payment_intent: ref,
  invoice: ref,
  subscription: ref,
});
export type CheckoutSession = z.infer<typeof checkoutSessionSchema>;

const period = z.looseObject({ start: z.number().int(), end: z.number().int() }).nullish();

const invoiceLineSchema = z.looseObject({
  amount: z.number().int().nullish(),
  period,
  // legacy
  price,
  proration: z.boolean().nullish(),
  // current
  pricing: z.looseObject({ price_details: z.looseObject({ price }).nullish() }).nullish(),
  parent: z
    .looseObject({
      subscription_item_details: z.looseObject({ proration: z.boolean().nullish() }).nullish(),
      invoice_item_details: z.looseObject({ proration: z.boolean().nullish() }).nullish(),
    })
    .nullish(),
});

export const invoiceSchema = z.looseObject({
  id,
  metadata,
  billing_reason: z.string().nullish(),
  created: seconds,
  amount_paid: z.number().int().nullish(),
  currency: z.string().nullish(),
  period_start: seconds,
  period_end: seconds,
  // legacy
  subscription: ref,
  payment_intent: ref,
  charge: ref,
  subscription_details: z.looseObject({ metadata }).nullish(),
  // current
  parent: z.looseObject({ subscription_details: z.looseObject({ metadata, subscription: ref }).nullish() }).nullish(),
  lines: z.looseObject({ data: z.array(invoiceLineSchema) }).nullish(),
});
export type Invoice = z.infer<typeof invoiceSchema>;

const subscriptionItemSchema = z.looseObject({ price, current_period_start: seconds, current_period_end: seconds });

export const subscriptionSchema = z.looseObject({
  id,
  metadata,
  status: z.string().nullish(),
  created: seconds,
  start_date: seconds,
  cancel_at_period_end: z.boolean().nullish(),
  cancel_at: seconds,
  canceled_at: seconds,
  ended_at: seconds,
  // legacy
  current_period_start: seconds,
  current_period_end: seconds,
  items: z.looseObject({ data: z.array(subscriptionItemSchema) }).nullish(),
});
export type Subscription = z.infer<typeof subscriptionSchema>;

export const invoicePaymentSchema = z.looseObject({
  id,
  invoice: ref,
  status: z.string().nullish(),
  payment: z.looseObject({ type: z.string().nullish(), payment_intent: ref, charge: ref }).nullish(),
});

export const chargeSchema = z.looseObject({
  id,
  payment_intent: ref,
  amount: z.number().int().min(0),
  amount_refunded: z.number().int().min(0),
  currency: z.string(),
});

export const refundSchema = z.looseObject({
  id,
  amount: z.number().int().min(0),
  currency: z.string().nullish(),
  charge: ref,
  payment_intent: ref,
  status: z.string().nullish(),
});

export const disputeSchema = z.looseObject({
  id,
  amount: z.number().int().min(0),
  currency: z.string().nullish(),
  charge: ref,
  payment_intent: ref,
  status: z.string(),
});

/** The subscription's metadata names the account; older versions copy it elsewhere, the invoice's own last. */
export function invoiceMetadata(inv: Invoice): Record<string, string> {
  return { ...inv.metadata, ...inv.subscription_details?.metadata, ...inv.parent?.subscription_details?.metadata };
}

export function invoiceSubscription(inv: Invoice): string | null {
  return inv.parent?.subscription_details?.subscription ?? inv.subscription;
}

export interface InvoiceLine {
  amount: number;
  start: Date | null;
  end: Date | null;
  proration: boolean;
  price: PriceRef | null;
}

export function invoiceLines(inv: Invoice): InvoiceLine[] {
  return (inv.lines?.data ?? []).map((l) => ({
    amount: l.amount ?? 0,
    start: toDate(l.period?.start),
    end: toDate(l.period?.end),
    proration: Boolean(l.proration ?? l.parent?.subscription_item_details?.proration ?? l.parent?.invoice_item_details?.proration),
    price: l.pricing?.price_details?.price ?? l.price ?? null,
  }));
}

/**
 * The service period an invoice pays: its non-proration lines' periods (the invoice's own period is the
 * one before, for a renewal), else the invoice's own period.
 */
export function invoicePeriod(inv: Invoice): { start: Date; end: Date } | null {
  const periods = invoiceLines(inv).filter((l) => !l.proration && l.start && l.end && l.end > l.start);
  if (periods.length > 0) {
    return {
      start: new Date(Math.min(...periods.map((p) => p.start!.getTime()))),
      end: new Date(Math.max(...periods.map((p) => p.end!.getTime()))),
    };
  }
  if (inv.period_start && inv.period_end && inv.period_end > inv.period_start) {
    return { start: new Date(inv.period_start * 1000), end: new Date(inv.period_end * 1000) };
  }
  return null;
}

/** An invoice of prorations only (a plan changed mid-period): it never buys a period of its own. */
export function isProrationInvoice(inv: Invoice): boolean {
  const lines = invoiceLines(inv);
  return lines.length > 0 && lines.every((l) => l.proration);
}

/** A subscription's billing period: on its items in the current shape, on the subscription before. */
export function subscriptionPeriod(sub: Subscription): { start: Date; end: Date } | null {
  const items = sub.items?.data ?? [];
  const start = sub.current_period_start ?? minOf(items.map((i) => i.current_period_start));
  const end = sub.current_period_end ?? maxOf(items.map((i) => i.current_period_end));
  return start && end && end > start ? { start: new Date(start * 1000), end: new Date(end * 1000) } : null;
}

export function subscriptionPrices(sub: Subscription): PriceRef[] {
  return (sub.items?.data ?? []).flatMap((i) => (i.price ? [i.price] : []));
}

/** Price ids and lookup keys to look a plan up by, in order. */
export function priceKeys(prices: Array<PriceRef | null>): string[] {
  return prices.flatMap((p) => (p ? [p.id, ...(p.lookupKey ? [p.lookupKey] : [])] : []));
}

export { toDate };

function minOf(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? Math.min(...v) : null;
}
function maxOf(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? Math.max(...v) : null;
}
