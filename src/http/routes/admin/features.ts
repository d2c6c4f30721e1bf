import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listFeatures } from '../../../pricing/feature-quotes.js';
import { addFeature } from '../../../catalog/add-feature.js';
import { priceHistory } from '../../../catalog/price-history.js';
import { featureKeySchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { featureViewSchema, tierSchema } from '../../schemas/catalog.js';

export const priceVersionSchema = z.object({
  cost: z.number().int(),
  tier: tierSchema,
  effectiveFrom: z.string(),
  changedBy: z.string(),
});

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminFeaturesApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/features',
    summary: 'The catalog for admins, searchable by key or name and tier',
    query: z.object({ q: z.string().max(128).optional(), tier: tierSchema.optional() }),
    answer: z.object({ features: z.array(featureViewSchema) }),
  }),
  add: defineRoute({
    method: 'POST',
    url: '/admin/api/features',
    summary: 'Add a feature (a new page or operation) with its first price, in force from now; its tier follows from the cost (audited)',
    body: z.strictObject({
      key: featureKeySchema,
      name: z.string().trim().min(1, 'name must not be empty').max(100, 'name is at most 100 characters'),
      cost: z.number().int('cost must be a whole number of tokens').min(0, 'cost must be >= 0').max(1_000_000),
      enabled: z.boolean().optional(),
    }),
    answer: z.object({
      key: z.string(),
      name: z.string(),
      enabled: z.boolean(),
      cost: z.number().int(),
      tier: tierSchema,
      effectiveFrom: z.string(),
      created: z.boolean().describe('false: the same feature had already been added, nothing changed'),
    }),
    status: 201,
    otherStatuses: { 200: 'The same feature had been added before: nothing changed' },
    errors: ['feature_exists'],
  }),
  prices: defineRoute({
    method: 'GET',
    url: '/admin/api/features/:key/prices',
    summary: "A feature's price versions, newest first",
    params: z.object({ key: featureKeySchema }),
    answer: z.object({ key: z.string(), prices: z.array(priceVersionSchema) }),
    errors: ['not_found'],
  }),
} as const;

export function adminFeaturesRoutes(app: FastifyInstance, engine: Engine): void {
  const r = adminFeaturesApi;
  mountRoute(app, r.list, async ({ query }) => ({ features: await listFeatures(engine.db, await engine.clock.now(), query) }));

  mountRoute(app, r.add, async ({ body, request, status }) => {
    const added = await addFeature(engine.db, body, adminActor(request), await engine.clock.now());
    if (!added.created) status(200);
    return added;
  });

  mountRoute(app, r.prices, async ({ params }) => ({ key: params.key, prices: await priceHistory(engine.db, params.key) }));
}
