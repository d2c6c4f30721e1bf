import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { listFeatures } from '../../catalog/features.js';
import { listPlans, planView } from '../../catalog/plans.js';

export function catalogRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/v1/features', async () => ({ features: await listFeatures(engine.db, await engine.clock.now()) }));
  app.get('/v1/plans', async () => ({ plans: (await listPlans(engine.db)).map(planView) }));
}
