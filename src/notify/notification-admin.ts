import type { Db, Executor } from '../db/database.js';
import type { DeliveryStatus, NotificationType } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import type { RecordedDelivery } from './outbox.js';

export interface NotificationFilter {
  status?: DeliveryStatus | undefined;
  type?: NotificationType | undefined;
  userId?: string | undefined;
  limit: number;
}

/** Notifications newest first, each with its deliveries; `status` keeps those with a delivery in that state. */
export async function listNotifications(exec: Executor, filter: NotificationFilter) {
  let query = exec.selectFrom('notifications as n').selectAll('n').orderBy('n.seq', 'desc').limit(filter.limit);
  if (filter.type) query = query.where('n.type', '=', filter.type);
  if (filter.userId) query = query.where('n.user_id', '=', filter.userId);
  if (filter.status) {
    const status = filter.status;
    query = query.where(({ exists, selectFrom }) =>
      exists(selectFrom('notification_deliveries as d').select('d.id').whereRef('d.notification_id', '=', 'n.id').where('d.status', '=', status)),
    );
  }
  const notifications = await query.execute();
  if (notifications.length === 0) return [];
  const deliveries = await exec
    .selectFrom('notification_deliveries')
    .selectAll()
    .where('notification_id', 'in', notifications.map((n) => n.id))
    .orderBy('id')
    .execute();
  return notifications.map((n) => ({
    id: n.id,
    type: n.type,
    userId: n.user_id,
    occurredAt: n.occurred_at.toISOString(),
    data: n.data,
    deliveries: deliveries
      .filter((d) => d.notification_id === n.id)
      .map((d) => ({
        id: d.id,
        channel: d.channel,
        status: d.status,
        attempts: d.attempts,
        lastError: d.last_error,
        updatedAt: d.updated_at.toISOString(),
        deliveredAt: d.delivered_at?.toISOString() ?? null,
      })),
  }));
}

/**
 * Puts a notification's failed deliveries back in the queue as a new round (a new job id, since the
 * queue keeps the failed job). Audited, as every admin change is.
 */
export async function retryFailedDeliveries(db: Db, notificationId: string, actor: string, now: Date): Promise<RecordedDelivery[]> {
  return db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('notifications').select('id').where('id', '=', notificationId).executeTakeFirst();
    if (!found) throw new EngineError('notification_not_found', `no notification "${notificationId}"`);
    const retried = await trx
      .updateTable('notification_deliveries')
      .set((eb) => ({ status: 'pending', round: eb('round', '+', 1), attempts: 0, updated_at: now }))
      .where('notification_id', '=', notificationId)
      .where('status', '=', 'failed')
      .returning(['id', 'round', 'channel'])
      .execute();
    if (retried.length === 0) {
      throw new EngineError('notification_not_failed', `notification "${notificationId}" has no failed delivery to retry`);
    }
    await audit(trx, {
      actor,
      action: 'notification.retry',
      subject: `notification:${notificationId}`,
      before: { status: 'failed' },
      after: { status: 'pending', channels: retried.map((r) => r.channel) },
      at: now,
    });
    return retried.map((r) => ({ id: r.id, round: r.round }));
  });
}
