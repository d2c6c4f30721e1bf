import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { stripeEventPayload } from '../../../billing/stripe-event-payload.js';
import { defineRoute, mountRoute } from '../../route-definition.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminStripePayloadApi = {
  payload: defineRoute({
    method: 'GET',
    url: '/admin/api/stripe/events/:id/payload',
    summary: 'A stored Stripe event as Stripe sent it',
    params: z.object({ id: z.string().min(1).max(255) }),
    answer: z.object({ id: z.string(), payload: z.unknown() }),
    errors: ['not_found'],
  }),
} as const;

export function adminStripePayloadRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminStripePayloadApi.payload, async ({ params }) => ({ id: params.id, payload: await stripeEventPayload(engine.db, params.id) }));
}
