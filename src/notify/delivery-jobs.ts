import type { Queue } from 'bullmq';
import type { Db, Trx } from '../db/database.js';
import type { NotificationJob, Queues } from '../queues.js';
import type { NotifyConfig } from '../notify-config.js';
import type { Logger } from '../log.js';
import { Outbox, type RecordedDelivery } from './outbox.js';

/** What notify needs of the engine (which is built on top of it, so an Engine is one). */
export interface NotifyDeps {
  db: Db;
  queues: Pick<Queues, 'notification'>;
  config: { notify: NotifyConfig };
  log: Logger;
}

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
 * Queues deliveries a committed transaction recorded. If the process dies before this, or Redis refuses
 * it, the rows wait in the outbox for the `notifications` sweep.
 */
export async function queueCommittedDeliveries(queue: Queue, notify: NotifyConfig, log: Logger, recorded: RecordedDelivery[]): Promise<void> {
  try {
    await enqueueDeliveries(queue, notify, recorded);
  } catch (error) {
    log.warn({ err: error, deliveries: recorded.map((d) => d.id) }, 'notifications not queued; the sweep will send them');
  }
}

/**
 * Runs `work` in a transaction that records notifications (alerts: no ledger change) into `outbox`, then
 * queues what it recorded. A ledger change records its warnings through its unit of work instead
 * (src/notify/warning-observer.ts).
 */
export async function transactWithNotifications<T>(engine: NotifyDeps, work: (trx: Trx, outbox: Outbox) => Promise<T>): Promise<T> {
  let outbox: Outbox | undefined;
  const result = await engine.db.transaction().execute(async (trx) => {
    outbox = new Outbox(trx);
    return work(trx, outbox);
  });
  await queueCommittedDeliveries(engine.queues.notification, engine.config.notify, engine.log, outbox?.recorded ?? []);
  return result;
}
