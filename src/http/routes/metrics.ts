import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';

/** Prometheus text; like /health it is for the infrastructure and sits outside the keyed APIs. */
export function metricsRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await engine.metrics.registry.metrics();
    return reply.type(engine.metrics.registry.contentType).send(text);
  });
}
