import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { waitFor, type Answer, type TestEngine } from '../support/engine.js';

/** Stripe's side of the tests: events shaped as Stripe sends them, signed with Stripe's own SDK. */
export const WEBHOOK_SECRET = 'whsec_test_token_engine';

const unix = (at: string | Date) => Math.floor(new Date(at).getTime() / 1000);
export const stripeId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

export interface StripeEventBody {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
  [key: string]: unknown;
}

export function stripeEvent(type: string, object: Record<string, unknown>, id = stripeId('evt')): StripeEventBody {
  return { id, object: 'event', api_version: '2025-10-29.clover', created: unix(new Date()), livemode: false, pending_webhooks: 1, type, data: { object } };
}

/** POSTs the event to /webhooks/stripe signed as Stripe signs it (or as told: another secret, no header, another body). */
export async function deliver(
  engine: TestEngine,
  event: StripeEventBody,
  opts: { secret?: string; signature?: string | null; body?: string; timestamp?: number } = {},
): Promise<Answer> {
  const payload = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? WEBHOOK_SECRET, ...(opts.timestamp ? { timestamp: opts.timestamp } : {}) });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const signature = opts.signature === undefined ? header : opts.signature;
  if (signature !== null) headers['stripe-signature'] = signature;
  const res = await fetch(`${engine.baseUrl}/webhooks/stripe`, { method: 'POST', headers, body: opts.body ?? payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits until the payment worker has handled the event; returns what the admin API says of it. */
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

export function planCheckout(p: { userId: string; plan: string; amount: number; currency?: string; subscription?: string; invoice?: string }) {
  return stripeEvent('checkout.session.completed', {
    id: stripeId('cs'),
    object: 'checkout.session',
    mode: 'subscription',
    status: 'complete',
    payment_status: 'paid',
    amount_total: p.amount,
    currency: p.currency ?? 'usd',
    customer: stripeId('cus'),
    payment_intent: null,
    subscription: p.subscription ?? stripeId('sub'),
    invoice: p.invoice ?? stripeId('in'),
    metadata: { userId: p.userId, plan: p.plan },
  });
}

export function tokenCheckout(p: { userId: string; tokens: number; amount: number; paymentIntent?: string; expiresInDays?: number }) {
  return stripeEvent('checkout.session.completed', {
    id: stripeId('cs'),
    object: 'checkout.session',
    mode: 'payment',
    status: 'complete',
    payment_status: 'paid',
    amount_total: p.amount,
    currency: 'usd',
    customer: stripeId('cus'),
    payment_intent: p.paymentIntent ?? stripeId('pi'),
    subscription: null,
    invoice: null,
    metadata: { userId: p.userId, tokens: String(p.tokens), ...(p.expiresInDays ? { expiresInDays: String(p.expiresInDays) } : {}) },
  });
}

/**
 * An invoice of a subscription whose metadata names the account: where recent API versions put it
 * (`parent.subscription_details`) or where older ones did (`subscription_details`, `subscription`).
 */
export function invoiceEvent(
  type: 'invoice.paid' | 'invoice.payment_failed',
  p: { userId: string; subscription: string; amount: number; period: { start: string; end: string }; plan?: string; shape?: 'current' | 'legacy'; id?: string },
) {
  const metadata = { userId: p.userId, ...(p.plan ? { plan: p.plan } : {}) };
  const paid = type === 'invoice.paid';
  const common = {
    id: p.id ?? stripeId('in'),
    object: 'invoice',
    billing_reason: 'subscription_cycle',
    status: paid ? 'paid' : 'open',
    amount_due: p.amount,
    amount_paid: paid ? p.amount : 0,
    currency: 'usd',
    metadata: {},
    lines: { object: 'list', data: [{ id: stripeId('il'), amount: p.amount, period: { start: unix(p.period.start), end: unix(p.period.end) } }] },
  };
  const pi = stripeId('pi');
  const object =
    p.shape === 'legacy'
      ? { ...common, subscription: p.subscription, subscription_details: { metadata }, payment_intent: pi }
      : { ...common, parent: { type: 'subscription_details', subscription_details: { subscription: p.subscription, metadata } }, payments: { data: [{ payment: { type: 'payment_intent', payment_intent: pi } }] } };
  return stripeEvent(type, object);
}

export function subscriptionDeleted(p: { userId: string; subscription: string }) {
  return stripeEvent('customer.subscription.deleted', { id: p.subscription, object: 'subscription', status: 'canceled', metadata: { userId: p.userId } });
}

export function chargeRefunded(p: { paymentIntent: string; amount: number; refunded: number; charge?: string }) {
  return stripeEvent('charge.refunded', {
    id: p.charge ?? stripeId('ch'),
    object: 'charge',
    amount: p.amount,
    amount_refunded: p.refunded,
    currency: 'usd',
    payment_intent: p.paymentIntent,
    refunded: p.refunded >= p.amount,
  });
}
