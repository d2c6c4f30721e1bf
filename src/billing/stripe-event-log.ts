import type { Queue } from 'bullmq';
import type { Selectable } from 'kysely';
import type { Db, Executor } from '../db/database.js';
import type { StripeEventStatus, StripeEventsTable } from '../db/schema.js';
import { EngineError } from '../errors.js';
import type { PaymentJob } from '../queues.js';
import { paymentJobId } from './stripe-events.js';

export interface StripeEventView {
  id: string;
  type: string;
  status: StripeEventStatus;
  code: string | null;
  message: string | null;
  userId: string | null;
  receivedAt: string;
  processedAt: string | null;
}

const eventColumns = ['id', 'type', 'status', 'outcome_code', 'outcome_message', 'user_id', 'received_at', 'processed_at'] as const;

function eventView(r: Pick<Selectable<StripeEventsTable>, (typeof eventColumns)[number]>): StripeEventView {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    code: r.outcome_code,
    message: r.outcome_message,
    userId: r.user_id,
    receivedAt: r.received_at.toISOString(),
    processedAt: r.processed_at?.toISOString() ?? null,
  };
}

export async function listStripeEvents(exec: Executor, opts: { status?: StripeEventStatus | undefined; limit: number }): Promise<StripeEventView[]> {
  let query = exec.selectFrom('stripe_events').select(eventColumns).orderBy('received_at', 'desc').orderBy('id').limit(opts.limit);
  if (opts.status) query = query.where('status', '=', opts.status);
  return (await query.execute()).map(eventView);
}

export async function getStripeEvent(exec: Executor, eventId: string): Promise<StripeEventView> {
  const row = await exec.selectFrom('stripe_events').select(eventColumns).where('id', '=', eventId).executeTakeFirst();
  if (!row) throw new EngineError('not_found', `no Stripe event "${eventId}"`);
  return eventView(row);
}

/** An admin retries a failed event (e.g. once the account exists): it is applied as if just received. */
export async function replayStripeEvent(db: Db, queue: Queue, eventId: string): Promise<void> {
  const row = await db
    .updateTable('stripe_events')
    .set({ status: 'received', outcome_code: null, outcome_message: null, processed_at: null })
    .where('id', '=', eventId)
    .where('status', '=', 'failed')
    .returning('id')
    .executeTakeFirst();
  if (!row) {
    const exists = await db.selectFrom('stripe_events').select('status').where('id', '=', eventId).executeTakeFirst();
    if (!exists) throw new EngineError('not_found', `no Stripe event "${eventId}"`);
    throw new EngineError('event_not_failed', `Stripe event "${eventId}" is ${exists.status}; only a failed event is replayed`, { status: exists.status });
  }
  await queue.add('replay', { eventId } satisfies PaymentJob, { jobId: `${paymentJobId(eventId)}-replay-${Date.now()}` });
}
