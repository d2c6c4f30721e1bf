import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listPlans, planView } from '../../../catalog/plans.js';
import { defineRoute, mountRoute } from '../../route-definition.js';

export const adminPlanSchema = z.object({
  id: z.string(),
  name: z.string(),
  monthlyTokens: z.number().int(),
  priceCents: z.number().int(),
  currency: z.string(),
  billingInterval: z.enum(['month', 'year']),
  rolloverMax: z.number().int(),
  stripePrices: z.array(z.string()).optional().describe('the Stripe prices (ids or lookup keys) that buy the plan'),
});

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminPlansApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/plans',
    summary: 'Every plan with its allocation, price and rollover, in plan order',
    answer: z.object({ plans: z.array(adminPlanSchema) }),
  }),
} as const;

export function adminPlansRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminPlansApi.list, async () => ({ plans: (await listPlans(engine.db)).map(planView) }));
}
