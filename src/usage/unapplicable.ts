import type { Trx } from '../db/database.js';
import { EARLIEST_INSTANT, LATEST_INSTANT, isStorableText } from '../validation.js';
import type { UsageOutcome } from './apply-usage.js';

/** What a worker knows of an event it cannot apply: at least a key and an account, maybe more. */
export interface UnapplicableEvent {
  idempotencyKey: string;
  userId: string;
  feature?: unknown;
  occurredAt?: unknown;
  payloadHash?: unknown;
}

const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= max && isStorableText(value) ? value : undefined;

/** Whether a settled row can be written for this event at all: its key and account are storable text. */
export function recordable(event: { idempotencyKey?: unknown; userId?: unknown }): event is UnapplicableEvent {
  return text(event.idempotencyKey, 255) !== undefined && text(event.userId, 255) !== undefined;
}

/**
 * Settles an event that cannot be applied (malformed, or refused by PostgreSQL for its data) as
 * `rejected` with reason `invalid_event`, so that its key answers and its job's other events go on. Only
 * what can be stored is kept: the time it was accepted if its own is not a real instant, no metadata.
 */
export async function rejectUnapplicable(trx: Trx, event: UnapplicableEvent, now: Date): Promise<UsageOutcome> {
  const at = typeof event.occurredAt === 'string' ? Date.parse(event.occurredAt) : Number.NaN;
  const occurredAt = at >= EARLIEST_INSTANT.getTime() && at <= LATEST_INSTANT.getTime() ? new Date(at) : now;
  const inserted = await trx
    .insertInto('usage_events')
    .values({
      idempotency_key: event.idempotencyKey,
      user_id: event.userId,
      feature_key: text(event.feature, 128) ?? '',
      payload_hash: text(event.payloadHash, 128) ?? '',
      status: 'rejected',
      reason: 'invalid_event',
      cost: 0,
      balance_after: null,
      reservation_id: null,
      occurred_at: occurredAt,
      applied_at: now,
      metadata: null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('idempotency_key')
    .executeTakeFirst();
  const base = { idempotencyKey: event.idempotencyKey, userId: event.userId, cost: 0 };
  return inserted ? { ...base, status: 'rejected', reason: 'invalid_event' } : { ...base, status: 'duplicate' };
}
