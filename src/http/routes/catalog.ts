import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { listFeatures } from '../../pricing/feature-quotes.js';
import { listPlans, planView } from '../../catalog/plans.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { featureViewSchema, planViewSchema } from '../schemas/catalog.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const catalogApi = {
  features: defineRoute({
    method: 'GET',
    url: '/v1/features',
    summary: 'The catalog: every feature with its base cost, the cost in force now and its tier',
    answer: z.object({ features: z.array(featureViewSchema) }),
  }),
  plans: defineRoute({
    method: 'GET',
    url: '/v1/plans',
    summary: 'The plans: monthly tokens, price, billing interval, rollover',
    answer: z.object({ plans: z.array(planViewSchema) }),
  }),
} as const;

export function catalogRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, catalogApi.features, async () => ({ features: await listFeatures(engine.db, await engine.clock.now()) }));
  mountRoute(app, catalogApi.plans, async () => ({ plans: (await listPlans(engine.db)).map(planView) }));
}
