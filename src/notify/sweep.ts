import { deliveryJobId, enqueueDeliveries, type NotifyDeps } from './delivery-jobs.js';

/**
 * The scheduled safety net of the outbox: every pending delivery gets its queue job back if it has none
 * (the process died between commit and enqueue, or Redis lost the job). A job still waiting, delayed or
 * running is left alone (same job id); one the queue gave up on while the row stayed pending (the
 * database was down at the last attempt) is marked failed, for an admin to see and retry.
 */
export async function sweepNotifications(engine: NotifyDeps, asOf: Date, pageSize = 500): Promise<{ enqueued: number; failed: number }> {
  const queue = engine.queues.notification;
  let enqueued = 0;
  let failed = 0;
  let after = 0;
  for (;;) {
    const pending = await engine.db
      .selectFrom('notification_deliveries')
      .select(['id', 'round'])
      .where('status', '=', 'pending')
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (pending.length === 0) break;
    after = pending.at(-1)!.id;
    const states = await Promise.all(pending.map((d) => queue.getJobState(deliveryJobId(d))));
    const lost = pending.filter((_, i) => states[i] === 'unknown');
    const givenUp = pending.filter((_, i) => states[i] === 'failed');
    await enqueueDeliveries(queue, engine.config.notify, lost);
    if (givenUp.length > 0) {
      await engine.db
        .updateTable('notification_deliveries')
        .set({ status: 'failed', last_error: 'the queue gave up on this delivery', updated_at: asOf })
        .where('id', 'in', givenUp.map((d) => d.id))
        .where('status', '=', 'pending')
        .execute();
    }
    enqueued += lost.length;
    failed += givenUp.length;
    if (pending.length < pageSize) break;
  }
  return { enqueued, failed };
}
