import type { FastifyError, FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { EngineError } from '../../errors.js';
import { receiveStripeEvent } from '../../billing/stripe-events.js';
import { STRIPE_BODY_LIMIT, verifyStripeEvent } from '../../billing/stripe-signature.js';

const tooLarge = () =>
  new EngineError('payload_too_large', `a Stripe event is at most ${STRIPE_BODY_LIMIT} bytes; this body is larger`, { limitBytes: STRIPE_BODY_LIMIT });

/**
 * POST /webhooks/stripe, in a scope of its own: the signature covers the exact bytes Stripe sent, so this
 * route keeps the raw body while every other route parses JSON. A body over the limit is refused before
 * it is read (by its Content-Length) or as soon as it passes the limit, before any signature work.
 */
export async function stripeWebhookRoutes(app: FastifyInstance, engine: Engine): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: STRIPE_BODY_LIMIT }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: FastifyError) => {
      throw error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? tooLarge() : error;
    });

    scope.post(
      '/webhooks/stripe',
      {
        bodyLimit: STRIPE_BODY_LIMIT,
        onRequest: async (request) => {
          const length = Number(request.headers['content-length']);
          if (Number.isFinite(length) && length > STRIPE_BODY_LIMIT) throw tooLarge();
        },
      },
      async (request) => {
        const secret = engine.config.stripeWebhookSecret;
        if (!secret) throw new EngineError('webhook_not_configured', 'STRIPE_WEBHOOK_SECRET is not set: Stripe events are not accepted');
        const event = verifyStripeEvent(request.body, request.headers['stripe-signature'], secret);
        const { duplicate } = await receiveStripeEvent(engine.db, engine.queues.payment, event, await engine.clock.now());
        return { received: true, id: event.id, duplicate };
      },
    );
  });
}
