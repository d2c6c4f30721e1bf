import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { userDashboard } from '../../insight/dashboard.js';
import { userIdSchema } from '../../validation.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { accountViewSchema } from '../schemas/accounts.js';
import { isoTime } from '../schemas/time.js';

const featureUse = z.object({ feature: z.string(), name: z.string(), uses: z.number().int(), tokens: z.number().int() });
const comboItem = z.object({ feature: z.string(), name: z.string(), cost: z.number().int(), uses: z.number().int(), tokens: z.number().int() });

export const dashboardSchema = z
  .object({
    userId: z.string(),
    plan: accountViewSchema.shape.plan,
    used: z.number().int(),
    allocated: z.number().int(),
    percentUsed: z.number().int(),
    balance: z.number().int(),
    held: z.number().int(),
    warning: accountViewSchema.shape.warning,
    loyalty: accountViewSchema.shape.loyalty,
    period: accountViewSchema.shape.period,
    daysUntilRenewal: z.number().int(),
    projectedUse: z.number().int().describe('tokens this period at the pace so far'),
    runsOutAt: isoTime.nullable().describe('when the balance runs out at that pace, if before the renewal'),
    mostUsedFeatures: z.array(featureUse).describe('this period, by tokens'),
    recommendations: z.object({
      fitsRemaining: z.array(z.object({ feature: z.string(), name: z.string(), cost: z.number().int(), uses: z.number().int() })).describe("the user's usual features the balance still buys, and how many times"),
      combo: z.object({ items: z.array(comboItem), tokens: z.number().int(), leftover: z.number().int() }).describe('a mix of the usual features that fits the balance'),
      upgrade: z
        .object({
          plan: z.string(),
          name: z.string(),
          monthlyTokens: z.number().int(),
          extraTokensPerMonth: z.number().int(),
          message: z.string(),
          adds: z.array(z.string()),
        })
        .nullable()
        .describe('the cheapest plan that would cover the projected use'),
    }),
  })
  .meta({ id: 'Dashboard' });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const insightApi = {
  dashboard: defineRoute({
    method: 'GET',
    url: '/v1/accounts/:userId/dashboard',
    summary: "The user's token dashboard: use this period, days until renewal, most used features, recommendations",
    params: z.object({ userId: userIdSchema }),
    answer: dashboardSchema,
    errors: ['account_not_found'],
  }),
} as const;

export function dashboardRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, insightApi.dashboard, async ({ params }) => userDashboard({ live: engine.db, history: engine.readDb }, params.userId, await engine.clock.now()));
}
