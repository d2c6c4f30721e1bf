import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { changePlanSettings } from '../../../catalog/change-plan.js';
import { listAdminPlans } from '../../../catalog/plan-prices.js';
import { getStripeEvent, listStripeEvents, replayStripeEvent } from '../../../billing/stripe-event-log.js';
import { planIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { parse } from '../../errors.js';

const tokens = (what: string) => z.number().int(`${what} must be a whole number`).min(0, `${what} must be >= 0`).max(10_000_000);
/** A Stripe price id (`price_...`) or lookup key: at most 200 characters, printable, no lone surrogate. */
const stripePrice = z
  .string()
  .min(1, 'a Stripe price must not be empty')
  .max(200, 'a Stripe price id or lookup key has at most 200 characters')
  // The control characters are the point: they are what this refuses.
  // oxlint-disable-next-line eslint/no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'a Stripe price id or lookup key has no control characters')
  .refine((s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s), 'a Stripe price has no lone surrogates');

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

const eventsQuery = z.object({
  status: z.enum(['received', 'waiting', 'applied', 'ignored', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const eventParams = z.object({ id: z.string().min(1).max(255) });

export function adminBillingRoutes(app: FastifyInstance, engine: Engine): void {
  /** Every plan with its settings and the Stripe prices that buy it. */
  app.get('/admin/api/plans', async () => ({ plans: await listAdminPlans(engine.db) }));

  app.put('/admin/api/plans/:id', async (request) => {
    const { id } = parse(z.object({ id: planIdSchema }), request.params, 'plan id');
    const body = parse(planBody, request.body, 'plan change');
    return changePlanSettings(engine.db, id, body, adminActor(request), await engine.clock.now());
  });

  /** Stripe events with what became of them; `?status=failed` lists those an admin must look at, `?status=waiting` the early ones. */
  app.get('/admin/api/stripe/events', async (request) => {
    const query = parse(eventsQuery, request.query, 'query');
    return { events: await listStripeEvents(engine.db, query) };
  });

  app.get('/admin/api/stripe/events/:id', async (request) => {
    const { id } = parse(eventParams, request.params, 'event id');
    return getStripeEvent(engine.db, id);
  });

  app.post('/admin/api/stripe/events/:id/replay', async (request, reply) => {
    const { id } = parse(eventParams, request.params, 'event id');
    await replayStripeEvent(engine.db, engine.queues.payment, id, adminActor(request), await engine.clock.now());
    return reply.status(202).send({ status: 'queued', id });
  });
}
