import { expect } from 'vitest';
import type Stripe from 'stripe';
import { waitFor, type TestEngine } from '../support/engine.js';
import { deliver, quiet, stripeEvent, type StripeEventBody } from './stripe.js';
import {
  charge,
  checkoutSession,
  dispute,
  invoice,
  invoicePayment,
  refund,
  stripeId,
  subscription,
  type PriceSpec,
  type Shape,
  type SubscriptionSpec,
} from './stripe-objects.js';

/**
 * The event sequences Stripe sends for one action (several events, in any order, some twice), and a
 * player that delivers them in shuffled orders with duplicates, each to an account of its own.
 */

/** A small deterministic PRNG, so a failing order can be named and replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Orders of n events: as Stripe usually sends them, reversed, then shuffles; with `duplicates`, every event is delivered twice. */
export function deliveryOrders(n: number, count: number, seed: number, duplicates: boolean): number[][] {
  const rnd = prng(seed);
  const shuffle = <T>(xs: T[]) => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const natural = [...Array(n).keys()];
  const orders = [natural, [...natural].reverse()];
  while (orders.length < count) orders.push(shuffle(natural));
  return orders.slice(0, count).map((order, k) => {
    if (!duplicates || k === 0) return order;
    const out = [...order];
    for (const i of shuffle(natural)) {
      const first = out.indexOf(i);
      const at = first + 1 + Math.floor(rnd() * (out.length - first));
      out.splice(at, 0, i);
    }
    return out;
  });
}

/** Delivers each event in turn, letting the engine apply it (and whatever it woke) before the next. */
export async function deliverInOrder(engine: TestEngine, events: StripeEventBody[], order: number[]): Promise<void> {
  for (const i of order) {
    const answer = await deliver(engine, events[i]!);
    expect(answer.status, `delivery of ${events[i]!.type}`).toBe(200);
    await quiet(engine);
  }
}

export interface FlowRun {
  userId: string;
  shape: Shape;
  order: number[];
}

/**
 * Plays `build`'s events in `count` orders (with duplicates) in each API shape, each on a fresh account
 * opened by `open`, then runs `check` on it. Every run must leave nothing failed.
 */
export async function playFlow(
  engine: TestEngine,
  name: string,
  opts: { count?: number; seed?: number; shapes?: Shape[]; duplicates?: boolean },
  open: (userId: string) => Promise<void>,
  build: (run: { userId: string; shape: Shape }) => StripeEventBody[] | Promise<StripeEventBody[]>,
  check: (run: FlowRun & { events: StripeEventBody[] }) => Promise<void>,
): Promise<number> {
  let runs = 0;
  for (const shape of opts.shapes ?? (['current', 'legacy'] as const)) {
    const sample = await build({ userId: 'sample', shape });
    const orders = deliveryOrders(sample.length, opts.count ?? 4, opts.seed ?? 12, opts.duplicates ?? true);
    for (const [k, order] of orders.entries()) {
      const userId = `${name}-${shape}-${k}`;
      await open(userId);
      const events = await build({ userId, shape });
      await deliverInOrder(engine, events, order);
      await expectNothingFailed(engine, events, `${userId}, order ${order.join(',')}`);
      await check({ userId, shape, order, events });
      runs++;
    }
  }
  return runs;
}

export async function expectNothingFailed(engine: TestEngine, events: StripeEventBody[], where: string): Promise<void> {
  const ids = new Set(events.map((e) => e.id));
  const failed = (await engine.admin('GET', '/admin/api/stripe/events?status=failed&limit=500')).body.events.filter((e: any) => ids.has(e.id));
  expect(failed, `failed events for ${where}`).toEqual([]);
}

export async function outcomes(engine: TestEngine, events: StripeEventBody[]): Promise<Record<string, { status: string; code: string }>> {
  const out: Record<string, { status: string; code: string }> = {};
  for (const e of events) {
    const r = await engine.admin('GET', `/admin/api/stripe/events/${e.id}`);
    out[`${e.type}#${e.id.slice(-4)}`] = { status: r.body.status, code: r.body.code };
  }
  return out;
}

// ---- Stripe's event sequences ----

export interface Subscribing {
  userId: string;
  shape: Shape;
  subscription: string;
  price: PriceSpec;
  /** Stripe's billing period of the first invoice (the subscription's start). */
  period: { start: string; end: string };
  /** Where the merchant put metadata.userId (and plan): Checkout copies session metadata nowhere else. */
  metadataOn?: 'session' | 'both';
  plan?: string | undefined;
  invoice?: string;
  paymentIntent?: string;
  /** A delayed payment method: the session completes unpaid, async_payment_succeeded follows. */
  delayed?: boolean;
  /** Deliver the events at this Stripe time (default: the period start). */
  at?: string;
}

export interface Purchase {
  events: StripeEventBody[];
  invoice: string;
  paymentIntent: string;
  charge: string;
}

const subSpec = (p: Subscribing, extra: Partial<SubscriptionSpec> = {}): SubscriptionSpec => ({
  id: p.subscription,
  metadata: p.metadataOn === 'session' ? {} : { userId: p.userId, ...(p.plan ? { plan: p.plan } : {}) },
  price: p.price,
  period: p.period,
  created: p.period.start,
  shape: p.shape,
  ...extra,
});

/** A subscription bought through Checkout: the events Stripe sends for it, in the order it usually sends them. */
export function subscribeEvents(p: Subscribing): Purchase {
  const at = p.at ?? p.period.start;
  const invoiceId = p.invoice ?? stripeId('in');
  const paymentIntent = p.paymentIntent ?? stripeId('pi');
  const chargeId = stripeId('ch');
  const meta = { userId: p.userId, ...(p.plan ? { plan: p.plan } : {}) };
  const session = checkoutSession({
    mode: 'subscription',
    metadata: meta,
    amount: p.price.amount,
    subscription: p.subscription,
    invoice: invoiceId,
    created: p.period.start,
    paymentStatus: p.delayed ? 'unpaid' : 'paid',
  });
  const shape = p.shape;
  const inv = invoice({
    id: invoiceId,
    subscription: p.subscription,
    metadata: p.metadataOn === 'session' ? {} : meta,
    billingReason: 'subscription_create',
    paid: true,
    lines: [{ amount: p.price.amount, price: p.price, period: p.period }],
    created: p.period.start,
    paymentIntent,
    charge: chargeId,
    shape,
  });
  const events = [
    stripeEvent('customer.subscription.created', subscription(subSpec(p, { status: p.delayed ? 'incomplete' : 'active' })), { at, shape }),
    stripeEvent('checkout.session.completed', session, { at, shape }),
    stripeEvent('invoice.paid', inv, { at, shape }),
    ...(shape === 'current' ? [stripeEvent('invoice_payment.paid', invoicePayment({ invoice: invoiceId, paymentIntent, amount: p.price.amount, at }), { at, shape })] : []),
    ...(p.delayed
      ? [
          stripeEvent('customer.subscription.updated', subscription(subSpec(p, { status: 'active' })), { at, shape }),
          stripeEvent('checkout.session.async_payment_succeeded', { ...session, payment_status: 'paid' }, { at, shape }),
        ]
      : []),
  ];
  return { events, invoice: invoiceId, paymentIntent, charge: chargeId };
}

/** A renewal Stripe bills at the start of `period`: the subscription moves on, the invoice is paid (or fails). */
export function renewalEvents(p: Subscribing & { paid: boolean; at?: string }): Purchase {
  const at = p.at ?? p.period.start;
  const invoiceId = p.invoice ?? stripeId('in');
  const paymentIntent = p.paymentIntent ?? stripeId('pi');
  const chargeId = stripeId('ch');
  const shape = p.shape;
  const inv = invoice({
    id: invoiceId,
    subscription: p.subscription,
    metadata: p.metadataOn === 'session' ? {} : { userId: p.userId, ...(p.plan ? { plan: p.plan } : {}) },
    billingReason: 'subscription_cycle',
    paid: p.paid,
    lines: [{ amount: p.price.amount, price: p.price, period: p.period }],
    created: p.period.start,
    paymentIntent,
    charge: chargeId,
    shape,
  });
  const events = [
    stripeEvent('customer.subscription.updated', subscription(subSpec(p, { status: p.paid ? 'active' : 'past_due', created: p.at ?? p.period.start })), { at, shape }),
    stripeEvent(p.paid ? 'invoice.paid' : 'invoice.payment_failed', inv, { at, shape }),
    ...(p.paid && shape === 'current' ? [stripeEvent('invoice_payment.paid', invoicePayment({ invoice: invoiceId, paymentIntent, amount: p.price.amount, at }), { at, shape })] : []),
  ];
  return { events, invoice: invoiceId, paymentIntent, charge: chargeId };
}

export function chargeRefundedEvent(p: { charge: string; paymentIntent: string; amount: number; refunded: number; at: string; shape: Shape }) {
  return stripeEvent('charge.refunded', charge({ id: p.charge, paymentIntent: p.paymentIntent, amount: p.amount, refunded: p.refunded, at: p.at }), { at: p.at, shape: p.shape });
}

export function refundFailedEvent(p: { refund: string; charge: string; paymentIntent: string; amount: number; at: string; shape: Shape }) {
  return stripeEvent('refund.failed', refund({ id: p.refund, charge: p.charge, paymentIntent: p.paymentIntent, amount: p.amount, status: 'failed', at: p.at }), {
    at: p.at,
    shape: p.shape,
  });
}

export function disputeClosedEvent(p: { charge: string; paymentIntent: string; amount: number; status: Stripe.Dispute.Status; at: string; shape: Shape }) {
  return stripeEvent('charge.dispute.closed', dispute({ charge: p.charge, paymentIntent: p.paymentIntent, amount: p.amount, status: p.status, at: p.at }), {
    at: p.at,
    shape: p.shape,
  });
}

export function subscriptionEvent(type: 'customer.subscription.updated' | 'customer.subscription.deleted', p: Subscribing, extra: Partial<SubscriptionSpec>, at: string) {
  return stripeEvent(type, subscription(subSpec(p, extra)), { at, shape: p.shape });
}

/** The account's ledger, oldest first, as [kind, amount, source] rows. */
export async function ledgerRows(engine: TestEngine, userId: string): Promise<Array<[string, number, string | null]>> {
  const r = await engine.api('GET', `/v1/accounts/${userId}/ledger?limit=500`);
  return r.body.entries.reverse().map((e: any) => [e.kind, e.amount, e.source]);
}

export async function account(engine: TestEngine, userId: string) {
  return (await engine.api('GET', `/v1/accounts/${userId}`)).body;
}

export async function billing(engine: TestEngine, userId: string) {
  return (await engine.api('GET', `/v1/accounts/${userId}/billing`)).body;
}

export async function openAccount(engine: TestEngine, userId: string, plan?: string): Promise<void> {
  const r = await engine.api('POST', '/v1/accounts', { userId, ...(plan ? { plan } : {}) });
  expect([200, 201]).toContain(r.status);
}

export async function use(engine: TestEngine, userId: string, feature: string, key: string): Promise<any> {
  await engine.api('POST', '/v1/usage', { userId, feature, idempotencyKey: key });
  return waitFor(async () => {
    const r = await engine.api('GET', `/v1/usage/${encodeURIComponent(key)}`);
    return r.status === 200 && r.body.status !== 'queued' ? r.body : undefined;
  }, `usage ${key}`);
}
