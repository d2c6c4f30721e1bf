import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { changePlanSettings } from '../../../catalog/change-plan.js';
import { listAdminPlans } from '../../../catalog/plan-prices.js';
import { getStripeEvent, listStripeEvents, replayStripeEvent } from '../../../billing/stripe-event-log.js';
import { isStorableText, planIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { adminPlanViewSchema } from '../../schemas/catalog.js';
import { isoTime } from '../../schemas/time.js';

const tokens = (what: string) => z.number().int(`${what} must be a whole number`).min(0, `${what} must be >= 0`).max(10_000_000);
/** A Stripe price id (`price_...`) or lookup key: at most 200 characters, printable, no lone surrogate. */
const stripePrice = z
  .string()
  .min(1, 'a Stripe price must not be empty')
  .max(200, 'a Stripe price id or lookup key has at most 200 characters')
  // The control characters are the point: they are what this refuses.
  // oxlint-disable-next-line eslint/no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'a Stripe price id or lookup key has no control characters')
  .refine(isStorableText, 'a Stripe price has no lone surrogates');

const planBody = z
  .strictObject({
    name: z.string().trim().min(1, 'name must not be empty').max(100).optional(),
    monthlyTokens: tokens('monthlyTokens').optional(),
    priceCents: z.number().int('priceCents must be a whole number of cents').min(0, 'priceCents must be >= 0').max(100_000_000).optional(),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'currency must be an ISO 4217 code such as usd').optional(),
    rolloverMax: tokens('rolloverMax').optional(),
    stripePrices: z
      .array(stripePrice)
      .max(50, 'at most 50 Stripe prices per plan')
      .refine((prices) => new Set(prices).size === prices.length, 'each Stripe price appears once')
      .optional(),
  })
  .refine(
    (b) => Object.values(b).some((v) => v !== undefined),
    'send at least one of name, monthlyTokens, priceCents, currency, rolloverMax, stripePrices',
  );

const eventStatus = z.enum(['received', 'waiting', 'applied', 'ignored', 'failed']);
const eventParams = z.object({ id: z.string().min(1).max(255) });

export const stripeEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: eventStatus,
  code: z.string().nullable().describe('what became of it, for programs'),
  message: z.string().nullable(),
  userId: z.string().nullable(),
  waitingFor: z.string().nullable().describe('what a waiting event waits for: `subscription:{id}`, `ref:{paymentIntentOrCharge}`, `checkout:{id}`'),
  receivedAt: isoTime,
  processedAt: isoTime.nullable(),
});

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminBillingApi = {
  plans: defineRoute({
    method: 'GET',
    url: '/admin/api/plans',
    summary: 'Every plan with its settings and the Stripe prices that buy it',
    answer: z.object({ plans: z.array(adminPlanViewSchema) }),
  }),
  changePlan: defineRoute({
    method: 'PUT',
    url: '/admin/api/plans/:id',
    summary: "Change a plan's name, allocation, price, rollover or Stripe prices (audited); renewals use the new allocation",
    params: z.object({ id: planIdSchema }),
    body: planBody,
    answer: adminPlanViewSchema,
    errors: ['not_found', 'stripe_price_taken'],
  }),
  stripeEvents: defineRoute({
    method: 'GET',
    url: '/admin/api/stripe/events',
    summary: 'Stripe events with what became of them: `?status=failed` lists those an admin must look at, `?status=waiting` the early ones',
    query: z.object({ status: eventStatus.optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
    answer: z.object({ events: z.array(stripeEventSchema) }),
  }),
  stripeEvent: defineRoute({
    method: 'GET',
    url: '/admin/api/stripe/events/:id',
    summary: 'One Stripe event and what became of it',
    params: eventParams,
    answer: stripeEventSchema,
    errors: ['not_found'],
  }),
  replayStripeEvent: defineRoute({
    method: 'POST',
    url: '/admin/api/stripe/events/:id/replay',
    summary: 'Apply a failed or waiting Stripe event again (audited); it is still applied at most once',
    params: eventParams,
    answer: z.object({ status: z.literal('queued'), id: z.string() }),
    status: 202,
    errors: ['not_found', 'event_not_failed'],
  }),
} as const;

export function adminBillingRoutes(app: FastifyInstance, engine: Engine): void {
  const r = adminBillingApi;
  mountRoute(app, r.plans, async () => ({ plans: await listAdminPlans(engine.db) }));

  mountRoute(app, r.changePlan, async ({ params, body, request }) => changePlanSettings(engine.db, params.id, body, adminActor(request), await engine.clock.now()));

  mountRoute(app, r.stripeEvents, async ({ query }) => ({ events: await listStripeEvents(engine.readDb, query) }));

  mountRoute(app, r.stripeEvent, async ({ params }) => getStripeEvent(engine.db, params.id));

  mountRoute(app, r.replayStripeEvent, async ({ params, request }) => {
    await replayStripeEvent(engine.db, engine.queues.payment, params.id, adminActor(request), await engine.clock.now());
    return { status: 'queued' as const, id: params.id };
  });
}
