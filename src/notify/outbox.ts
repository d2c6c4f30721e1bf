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

/**
 * Writes notifications and one delivery per channel in the caller's transaction, and returns the deliveries
 * for the caller to queue once it has committed. A key already recorded
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
  return rows.map((r) => ({ id: r.id, round: r.round }));
}

/**
 * The deliveries one transaction recorded, kept for whoever owns the transaction to queue after the
 * commit (a job queued before it could run against rows not yet visible).
 */
export class Outbox {
  readonly recorded: RecordedDelivery[] = [];

  constructor(private readonly trx: Trx) {}

  async record(items: NewNotification[]): Promise<RecordedDelivery[]> {
    const recorded = await recordNotifications(this.trx, items);
    this.recorded.push(...recorded);
    return recorded;
  }
}
