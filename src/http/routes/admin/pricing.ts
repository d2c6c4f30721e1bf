import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { deleteRule, listRules, putRule } from '../../../pricing/rules.js';
import { ruleDefinitionSchema, ruleIdSchema } from '../../../pricing/rule-definition.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

const params = z.object({ id: ruleIdSchema });
const ruleViewSchema = z
  .object({ id: z.string(), version: z.number().int(), definedFrom: isoTime, ...ruleDefinitionSchema.shape })
  .meta({ id: 'PricingRule' });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminPricingApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/pricing-rules',
    summary: 'The pricing rules in force',
    answer: z.object({ rules: z.array(ruleViewSchema) }),
  }),
  put: defineRoute({
    method: 'PUT',
    url: '/admin/api/pricing-rules/:id',
    summary: 'Create or replace a pricing rule: a fixed multiplier in a time window, or one that follows recent demand (audited)',
    params,
    body: ruleDefinitionSchema,
    answer: ruleViewSchema,
    errors: ['unknown_feature'],
  }),
  delete: defineRoute({
    method: 'DELETE',
    url: '/admin/api/pricing-rules/:id',
    summary: 'Delete a pricing rule from now on; uses already priced keep their price (audited)',
    params,
    answer: z.object({ id: z.string(), deleted: z.literal(true) }),
    errors: ['not_found'],
  }),
} as const;

export function pricingRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminPricingApi.list, async () => ({ rules: await listRules(engine.db) }));

  mountRoute(app, adminPricingApi.put, async ({ params, body, request }) => putRule(engine.db, params.id, body, adminActor(request), await engine.clock.now()));

  mountRoute(app, adminPricingApi.delete, async ({ params, request }) => {
    await deleteRule(engine.db, params.id, adminActor(request), await engine.clock.now());
    return { id: params.id, deleted: true as const };
  });
}
