import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { defineRoute, mountRoute } from '../route-definition.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const metricsApi = {
  metrics: defineRoute({
    method: 'GET',
    url: '/metrics',
    summary: "Prometheus text: this process's queues, usage, HTTP and Node.js metrics",
    answer: z.string().describe('Prometheus text exposition format'),
    answerType: 'text/plain; version=0.0.4; charset=utf-8',
  }),
} as const;

/** Prometheus text; like /health it is for the infrastructure and sits outside the keyed APIs. */
export function metricsRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, metricsApi.metrics, async () => engine.metrics.registry.metrics());
}
