import { createHash } from 'node:crypto';
import type { Trx } from '../db/database.js';
import type { NotificationChannel, NotificationType } from '../db/schema.js';

export interface NewNotification {
  /** The business key: the same key is one notification, however often it is recorded. */
  key: string;
  type: NotificationType;
  userId: string | null;
  data: Record<string, unknown>;
  occurredAt: Date;
  channels: NotificationChannel[];
}

export interface RecordedDelivery {
  id: number;
  round: number;
}

/** Derived from the business key, so the message id a receiver dedupes on is the same whoever records it. */
export function messageId(key: string): string {
  return `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

// Deliveries recorded in a transaction that has not committed yet. Whoever owns the transaction enqueues
// them after the commit (a job enqueued before it could run against rows not yet visible); keyed by the
// transaction object, so nothing outlives it and nothing needs resetting.
const recordedIn = new WeakMap<Trx, RecordedDelivery[]>();

/** The deliveries `recordNotifications` wrote in this transaction. */
export function deliveriesRecordedIn(trx: Trx): RecordedDelivery[] {
  return recordedIn.get(trx) ?? [];
}

/**
 * Writes notifications and one delivery per channel in the caller's transaction. A key already recorded
 * is skipped (`on conflict do nothing`), so a replayed transaction cannot notify twice. Deliveries are
 * numbered in the order given, which is the order they are sent in for one account.
 */
export async function recordNotifications(trx: Trx, items: NewNotification[]): Promise<RecordedDelivery[]> {
  if (items.length === 0) return [];
  const withIds = items.map((n) => ({ ...n, id: messageId(n.key) }));
  const inserted = await trx
    .insertInto('notifications')
    .values(
      withIds.map((n) => ({
        id: n.id,
        key: n.key,
        type: n.type,
        user_id: n.userId,
        data: JSON.stringify(n.data),
        occurred_at: n.occurredAt,
      })),
    )
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('id')
    .execute();
  const fresh = new Set(inserted.map((r) => r.id));
  const deliveries = withIds
    .filter((n) => fresh.has(n.id))
    .flatMap((n) => n.channels.map((channel) => ({ notification_id: n.id, channel, updated_at: n.occurredAt })));
  if (deliveries.length === 0) return [];
  const rows = await trx.insertInto('notification_deliveries').values(deliveries).returning(['id', 'round']).execute();
  const recorded = rows.map((r) => ({ id: r.id, round: r.round }));
  recordedIn.set(trx, [...deliveriesRecordedIn(trx), ...recorded]);
  return recorded;
}
