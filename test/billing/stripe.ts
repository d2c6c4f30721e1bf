import Stripe from 'stripe';
import { waitFor, type Answer, type TestEngine } from '../support/engine.js';
import {
  charge as chargeObject,
  checkoutSession,
  invoice as invoiceObject,
  stripeId,
  subscription as subscriptionObject,
  unix,
  type LegacyInvoice,
  type LegacySubscription,
  type PriceSpec,
  type Shape,
} from './stripe-objects.js';

/** Stripe's side of the tests: events shaped as Stripe sends them (stripe-objects.ts), signed with Stripe's own SDK. */
export const WEBHOOK_SECRET = 'whsec_test_token_engine';
export { stripeId };

type ObjectOf<T extends Stripe.Event.Type> = Extract<Stripe.Event, { type: T }>['data']['object'];
type LegacyOf<T extends Stripe.Event.Type> = T extends `invoice.${string}` ? LegacyInvoice : T extends `customer.subscription.${string}` ? LegacySubscription : never;

/** An event as it arrives: Stripe's envelope (Stripe.EventBase) around one of Stripe's objects. */
export type StripeEventBody = Omit<Stripe.EventBase, 'data' | 'type'> & { type: string; data: { object: object } };

const API_VERSION: Record<Shape, string> = { current: '2025-10-29.clover', legacy: '2025-02-24.acacia' };

/**
 * An event of `type` around `object`, created at `at` (Stripe's time; by default the engine's clock when
 * it is delivered) in the API version of `shape`.
 */
export function stripeEvent<T extends Stripe.Event.Type>(
  type: T,
  object: ObjectOf<T> | LegacyOf<T>,
  opts: { at?: string | Date; id?: string; shape?: Shape } = {},
): StripeEventBody {
  return {
    id: opts.id ?? stripeId('evt'),
    object: 'event',
    api_version: API_VERSION[opts.shape ?? 'current'],
    created: opts.at ? unix(opts.at) : 0,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: stripeId('req'), idempotency_key: null },
    type,
  };
}

/** Events made without a time are Stripe's "now": the engine's clock at delivery. */
async function stamped(engine: TestEngine, event: StripeEventBody): Promise<StripeEventBody> {
  if (event.created !== 0) return event;
  const clock = await engine.admin('GET', '/admin/api/clock');
  const now = clock.status === 200 ? (clock.body.now as string) : new Date().toISOString();
  const object = event.data.object as { created?: number };
  const data = object.created === 0 ? { ...event.data, object: { ...object, created: unix(now) } } : event.data;
  return { ...event, created: unix(now), data };
}

/** POSTs the event to /webhooks/stripe signed as Stripe signs it (or as told: another secret, no header, another body). */
export async function deliver(
  engine: TestEngine,
  event: StripeEventBody,
  opts: { secret?: string; signature?: string | null; body?: string; timestamp?: number } = {},
): Promise<Answer> {
  const payload = JSON.stringify(await stamped(engine, event));
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? WEBHOOK_SECRET, ...(opts.timestamp ? { timestamp: opts.timestamp } : {}) });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const signature = opts.signature === undefined ? header : opts.signature;
  if (signature !== null) headers['stripe-signature'] = signature;
  const res = await fetch(`${engine.baseUrl}/webhooks/stripe`, { method: 'POST', headers, body: opts.body ?? payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits until the payment worker has handled the event (applied, ignored, failed or waiting); returns what the admin API says of it. */
export async function outcomeOf(engine: TestEngine, eventId: string) {
  return waitFor(async () => {
    const r = await engine.admin('GET', `/admin/api/stripe/events/${eventId}`);
    return r.status === 200 && r.body.status !== 'received' ? r.body : undefined;
  }, `stripe event ${eventId} to be handled`);
}

export async function deliverAndApply(engine: TestEngine, event: StripeEventBody) {
  const answer = await deliver(engine, event);
  if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return outcomeOf(engine, event.id);
}

/** Waits until no stored event is still to be applied (woken events included). */
export async function quiet(engine: TestEngine): Promise<void> {
  try {
    await waitFor(async () => (await engine.admin('GET', '/admin/api/stripe/events?status=received&limit=1')).body.events.length === 0, 'every Stripe event to be handled');
  } catch (error) {
    const stuck = (await engine.admin('GET', '/admin/api/stripe/events?status=received&limit=10')).body.events;
    const jobs = await engine.running.engine.queues.payment.getJobs(['waiting', 'active', 'delayed', 'failed', 'completed']);
    const states = await Promise.all(jobs.filter((j) => stuck.some((e: any) => j.data.eventId === e.id)).map(async (j) => `${j.id}:${await j.getState()}:${j.failedReason ?? ''}`));
    throw new Error(`${(error as Error).message}: ${JSON.stringify(stuck.map((e: any) => [e.id, e.type]))} jobs ${states.join(' ')}`);
  }
}

export const PRICES = {
  monthly: { id: 'price_monthly_pro', lookupKey: 'monthly_pro_usd', amount: 1900, interval: 'month' },
  annual: { id: 'price_annual_pro', lookupKey: 'annual_pro_usd', amount: 19900, interval: 'year' },
  enterprise: { id: 'price_enterprise_pro', lookupKey: 'enterprise_pro_usd', amount: 9900, interval: 'month' },
} satisfies Record<string, PriceSpec>;

const priceForPlan = (plan: string): PriceSpec =>
  plan === 'annual_pro' ? PRICES.annual : plan === 'enterprise_pro' ? PRICES.enterprise : { ...PRICES.monthly, id: `price_${plan}` };

// The helpers below keep the older tests' vocabulary, built from the typed objects.

export function planCheckout(p: { userId: string; plan: string; amount: number; currency?: string; subscription?: string; invoice?: string; at?: string | Date }) {
  const session = checkoutSession({
    mode: 'subscription',
    metadata: { userId: p.userId, plan: p.plan },
    amount: p.amount,
    subscription: p.subscription ?? stripeId('sub'),
    invoice: p.invoice ?? stripeId('in'),
    created: p.at ?? new Date(0),
  });
  return stripeEvent('checkout.session.completed', { ...session, currency: p.currency ?? 'usd' }, p.at ? { at: p.at } : {});
}

export function tokenCheckout(p: { userId: string; tokens: number; amount: number; paymentIntent?: string; expiresInDays?: number; at?: string | Date }) {
  const session = checkoutSession({
    mode: 'payment',
    metadata: { userId: p.userId, tokens: String(p.tokens), ...(p.expiresInDays ? { expiresInDays: String(p.expiresInDays) } : {}) },
    amount: p.amount,
    paymentIntent: p.paymentIntent ?? stripeId('pi'),
    created: p.at ?? new Date(0),
  });
  return stripeEvent('checkout.session.completed', session, p.at ? { at: p.at } : {});
}

/**
 * An invoice of a subscription whose metadata names the account: where recent API versions put it
 * (`parent.subscription_details`) or where older ones did (`subscription_details`, `subscription`).
 * The current shape carries no payment intent (that comes with invoice_payment.paid).
 */
export function invoiceEvent(
  type: 'invoice.paid' | 'invoice.payment_failed',
  p: {
    userId?: string;
    subscription: string;
    amount: number;
    period: { start: string; end: string };
    plan?: string;
    shape?: Shape;
    id?: string;
    at?: string | Date;
    paymentIntent?: string;
    billingReason?: Stripe.Invoice.BillingReason;
  },
) {
  const metadata = { ...(p.userId ? { userId: p.userId } : {}), ...(p.plan ? { plan: p.plan } : {}) };
  const object = invoiceObject({
    id: p.id ?? stripeId('in'),
    subscription: p.subscription,
    metadata,
    paid: type === 'invoice.paid',
    billingReason: p.billingReason ?? 'subscription_cycle',
    lines: [{ amount: p.amount, price: { ...priceForPlan(p.plan ?? 'monthly_pro'), id: stripeId('price_unmapped') }, period: p.period }],
    created: p.at ?? p.period.start,
    shape: p.shape ?? 'current',
    ...(p.shape === 'legacy' ? { paymentIntent: p.paymentIntent ?? stripeId('pi') } : {}),
  });
  return stripeEvent(type, object, { at: p.at ?? p.period.start, shape: p.shape ?? 'current' });
}

export function subscriptionDeleted(p: { userId: string; subscription: string; at?: string | Date; period?: { start: string | Date; end: string | Date } }) {
  const at = p.at ?? new Date(0);
  const object = subscriptionObject({
    id: p.subscription,
    metadata: { userId: p.userId },
    status: 'canceled',
    price: { ...PRICES.monthly, id: stripeId('price_unmapped') },
    period: p.period ?? { start: new Date(0), end: new Date(1000) },
    created: new Date(0),
    canceledAt: p.at ?? null,
    endedAt: p.at ?? null,
  });
  return stripeEvent('customer.subscription.deleted', object, p.at ? { at } : {});
}

export function chargeRefunded(p: { paymentIntent: string; amount: number; refunded: number; charge?: string; at?: string | Date }) {
  const object = chargeObject({ id: p.charge ?? stripeId('ch'), paymentIntent: p.paymentIntent, amount: p.amount, refunded: p.refunded, at: p.at ?? new Date(0) });
  return stripeEvent('charge.refunded', object, p.at ? { at: p.at } : {});
}
