import type { Queue } from 'bullmq';
import type { Engine } from '../engine.js';
import type { Trx } from '../db/database.js';
import type { NotificationJob } from '../queues.js';
import type { NotifyConfig } from './notify-config.js';
import { deliveriesRecordedIn, type RecordedDelivery } from './outbox.js';

/** One job per delivery and round: adding it again (after-commit enqueue, sweep) is a no-op. */
export function deliveryJobId(d: RecordedDelivery): string {
  return `delivery-${d.id}-${d.round}`;
}

export async function enqueueDeliveries(queue: Queue, notify: NotifyConfig, deliveries: RecordedDelivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  await queue.addBulk(
    deliveries.map((d) => ({
      name: 'deliver',
      data: { deliveryId: d.id } satisfies NotificationJob,
      opts: {
        jobId: deliveryJobId(d),
        attempts: notify.attempts,
        backoff: { type: 'exponential', delay: notify.backoffMs },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 14 * 24 * 3600 },
      },
    })),
  );
}

/**
 * Runs `work` in a transaction, then queues the deliveries it recorded. If the process dies between the
 * commit and the enqueue, or Redis refuses it, the rows wait in the outbox for the `notifications` sweep.
 * `committed` is told the result as soon as the transaction has committed (before the enqueue).
 */
export async function transactWithNotifications<T>(engine: Engine, work: (trx: Trx) => Promise<T>, committed?: (result: T) => void): Promise<T> {
  let recorded: RecordedDelivery[] = [];
  const result = await engine.db.transaction().execute(async (trx) => {
    const value = await work(trx);
    recorded = deliveriesRecordedIn(trx);
    return value;
  });
  committed?.(result);
  try {
    await enqueueDeliveries(engine.queues.notification, engine.config.notify, recorded);
  } catch (error) {
    engine.log.warn({ err: error, deliveries: recorded.map((d) => d.id) }, 'notifications not queued; the sweep will send them');
  }
  return result;
}
