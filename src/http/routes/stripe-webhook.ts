import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { EngineError } from '../../errors.js';
import { receiveStripeEvent, verifyStripeEvent } from '../../billing/stripe-events.js';

/**
 * POST /webhooks/stripe, in a scope of its own: the signature covers the exact bytes Stripe sent, so this
 * route keeps the raw body while every other route parses JSON.
 */
export async function stripeWebhookRoutes(app: FastifyInstance, engine: Engine): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    scope.post('/webhooks/stripe', async (request) => {
      const secret = engine.config.stripeWebhookSecret;
      if (!secret) throw new EngineError('webhook_not_configured', 'STRIPE_WEBHOOK_SECRET is not set: Stripe events are not accepted');
      const event = verifyStripeEvent(request.body, request.headers['stripe-signature'], secret);
      const { duplicate } = await receiveStripeEvent(engine.db, engine.queues.payment, event, await engine.clock.now());
      return { received: true, id: event.id, duplicate };
    });
  });
}
