import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { EngineError } from '../../errors.js';
import { receiveStripeEvent } from '../../billing/stripe-events.js';
import { STRIPE_BODY_LIMIT, verifyStripeEvent } from '../../billing/stripe-signature.js';
import { defineRoute, mountRoute } from '../route-definition.js';

const tooLarge = () =>
  new EngineError('payload_too_large', `a Stripe event is at most ${STRIPE_BODY_LIMIT} bytes; this body is larger`, { limitBytes: STRIPE_BODY_LIMIT });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const stripeWebhookApi = {
  receive: defineRoute({
    method: 'POST',
    url: '/webhooks/stripe',
    summary: "Stripe's events: verified with Stripe-Signature and STRIPE_WEBHOOK_SECRET, each event id applied once",
    description:
      'Handled: `checkout.session.completed` (a plan or a top-up), `checkout.session.async_payment_succeeded`/`_failed`, `invoice.paid`, `invoice_payment.paid`, `customer.subscription.created`/`updated`/`deleted`, `charge.refunded`, `refund.failed`, `charge.dispute.closed`; other types are recorded and ignored. A bad or missing signature is 400 and nothing is stored.',
    headers: z.object({ 'stripe-signature': z.string().describe('Stripe\'s `t=...,v1=...` signature of the exact body') }),
    body: z.looseObject({ id: z.string(), type: z.string(), data: z.looseObject({ object: z.record(z.string(), z.unknown()) }) }).describe('a Stripe event, as Stripe sends it'),
    rawBody: true,
    answer: z.object({ received: z.literal(true), id: z.string(), duplicate: z.boolean().describe('the event id was received before: nothing new happens') }),
    errors: ['invalid_signature', 'webhook_not_configured'],
  }),
} as const;

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

    mountRoute(
      scope,
      stripeWebhookApi.receive,
      async ({ request }) => {
        const secret = engine.config.stripeWebhookSecret;
        if (!secret) throw new EngineError('webhook_not_configured', 'STRIPE_WEBHOOK_SECRET is not set: Stripe events are not accepted');
        const event = verifyStripeEvent(request.body, request.headers['stripe-signature'], secret);
        const { duplicate } = await receiveStripeEvent(engine.db, engine.queues.payment, event, await engine.clock.now());
        return { received: true as const, id: event.id, duplicate };
      },
      {
        bodyLimit: STRIPE_BODY_LIMIT,
        onRequest: async (request) => {
          const length = Number(request.headers['content-length']);
          if (Number.isFinite(length) && length > STRIPE_BODY_LIMIT) throw tooLarge();
        },
      },
    );
  });
}
