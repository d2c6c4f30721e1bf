import type { Executor } from '../db/database.js';
import { EngineError } from '../errors.js';

/** The event as Stripe sent it, for an admin reading why it failed (kept out of the lists: it can be large). */
export async function stripeEventPayload(exec: Executor, eventId: string): Promise<unknown> {
  const row = await exec.selectFrom('stripe_events').select('payload').where('id', '=', eventId).executeTakeFirst();
  if (!row) throw new EngineError('not_found', `no Stripe event "${eventId}"`);
  return row.payload;
}
