import Stripe from 'stripe';
import { EngineError } from '../errors.js';
import { stripeEventSchema, type StripeEvent } from './stripe-objects.js';
import { findUnstorable } from '../validation.js';

/** Stripe's own libraries accept a signature this old; the engine refuses one this far in the future too. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** Stripe's events are a few kilobytes; a larger body is refused before any signature work. */
export const STRIPE_BODY_LIMIT = 1_048_576;
/** Deeper than any Stripe object nests, and shallow enough to walk and store. */
const MAX_DEPTH = 64;

/**
 * Checks the Stripe-Signature header on the raw body, as Stripe's library does (a timestamp more than 5
 * minutes old is stale), and refuses a timestamp more than 5 minutes ahead of this machine's clock the
 * same way. Then the event must be storable: a string with U+0000 or a lone surrogate (which PostgreSQL's
 * jsonb cannot hold) is a 400, not a 500 that Stripe would retry for days.
 */
export function verifyStripeEvent(rawBody: unknown, signature: string | string[] | undefined, secret: string, realNow = Date.now()): StripeEvent {
  if (!signature) throw new EngineError('invalid_signature', 'missing Stripe-Signature header');
  if (!Buffer.isBuffer(rawBody)) throw new EngineError('invalid_signature', 'missing body');
  const header = Array.isArray(signature) ? signature.join(',') : signature;
  let event: unknown;
  try {
    event = Stripe.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS);
  } catch (error) {
    throw new EngineError('invalid_signature', `Stripe signature check failed: ${(error as Error).message}`);
  }
  const timestamp = Number(/(?:^|,)\s*t=(\d+)/.exec(header)?.[1]);
  if (!Number.isFinite(timestamp) || timestamp - Math.floor(realNow / 1000) > SIGNATURE_TOLERANCE_SECONDS) {
    throw new EngineError('invalid_signature', `Stripe signature check failed: the timestamp lies more than ${SIGNATURE_TOLERANCE_SECONDS} seconds in the future`);
  }
  const unstorable = findUnstorable(event, { maxDepth: MAX_DEPTH });
  if (unstorable) {
    const reason = `${unstorable.path} ${unstorable.message}`;
    throw new EngineError('validation_failed', `the signed event cannot be stored: ${reason}`, { reason, path: unstorable.path });
  }
  const parsed = stripeEventSchema.safeParse(event);
  if (!parsed.success) throw new EngineError('validation_failed', 'a signed body that is not a Stripe event (id, type, data.object)');
  return parsed.data;
}
