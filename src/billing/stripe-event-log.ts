import type { Queue } from 'bullmq';
import type { Selectable } from 'kysely';
import type { Db, Executor } from '../db/database.js';
import type { StripeEventStatus, StripeEventsTable } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { enqueueStripeEvents, paymentJobId, type QueuedEvent } from './stripe-events.js';

export interface StripeEventView {
  id: string;
  type: string;
  status: StripeEventStatus;
  code: string | null;
  message: string | null;
  userId: string | null;
  /** What a waiting event waits for (`subscription:{id}`, `ref:{paymentIntentOrCharge}`, `checkout:{id}`). */
  waitingFor: string | null;
  receivedAt: string;
  processedAt: string | null;
}

const eventColumns = ['id', 'type', 'status', 'outcome_code', 'outcome_message', 'user_id', 'waiting_for', 'received_at', 'processed_at'] as const;

function eventView(r: Pick<Selectable<StripeEventsTable>, (typeof eventColumns)[number]>): StripeEventView {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    code: r.outcome_code,
    message: r.outcome_message,
    userId: r.user_id,
    waitingFor: r.waiting_for,
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

/** Statuses an admin may apply again: failed (say, once its account exists), waiting, and received (its job was lost). */
const REPLAYABLE: StripeEventStatus[] = ['failed', 'waiting', 'received'];

/**
 * An admin applies an event again, as if just received: audited, in a new round (so a new queue job).
 * If the queue refuses the job, the event stays `received` and the `stripe-events` sweep queues it (or
 * a second replay does).
 */
export async function replayStripeEvent(db: Db, queue: Queue, eventId: string, actor: string, now: Date): Promise<void> {
  const replayed = await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('stripe_events').select(['id', 'type', 'status', 'round', 'outcome_code']).where('id', '=', eventId).forUpdate().executeTakeFirst();
    if (!row) throw new EngineError('not_found', `no Stripe event "${eventId}"`);
    if (!REPLAYABLE.includes(row.status)) {
      throw new EngineError('event_not_failed', `Stripe event "${eventId}" is ${row.status}; only a failed, waiting or unqueued event is replayed`, { status: row.status });
    }
    const round = row.round + 1;
    await trx
      .updateTable('stripe_events')
      .set({ status: 'received', outcome_code: null, outcome_message: null, waiting_for: null, processed_at: null, round })
      .where('id', '=', eventId)
      .execute();
    await audit(trx, {
      actor,
      action: 'stripe_event.replay',
      subject: `stripe_event:${eventId}`,
      before: { status: row.status, code: row.outcome_code, round: row.round },
      after: { status: 'received', round },
      at: now,
    });
    return { id: row.id, type: row.type, round } satisfies QueuedEvent;
  });
  await enqueueStripeEvents(queue, [replayed]);
}

/**
 * The scheduled safety net: every `received` event gets its queue job back if it has none (the enqueue
 * after the commit failed, Redis lost it) or if the queue gave up on it (the database was down through
 * all its retries): then in a new round. A job still waiting, delayed or running is left alone.
 */
export async function sweepStripeEvents(db: Db, queue: Queue, pageSize = 500): Promise<{ enqueued: number }> {
  let enqueued = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('stripe_events')
      .select(['id', 'type', 'round'])
      .where('status', '=', 'received')
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    const states = await Promise.all(rows.map((r) => queue.getJobState(paymentJobId(r.id, r.round))));
    const lost = rows.filter((_, i) => states[i] === 'unknown');
    const givenUp = rows.filter((_, i) => states[i] === 'failed' || states[i] === 'completed');
    const bumped: QueuedEvent[] = [];
    for (const r of givenUp) {
      const next = await db
        .updateTable('stripe_events')
        .set((eb) => ({ round: eb('round', '+', 1) }))
        .where('id', '=', r.id)
        .where('status', '=', 'received')
        .where('round', '=', r.round)
        .returning(['id', 'type', 'round'])
        .executeTakeFirst();
      if (next) bumped.push(next);
    }
    await enqueueStripeEvents(queue, [...lost, ...bumped]);
    enqueued += lost.length + bumped.length;
    if (rows.length < pageSize) break;
  }
  return { enqueued };
}
