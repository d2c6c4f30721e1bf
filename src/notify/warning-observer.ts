import type { Queue } from 'bullmq';
import type { Logger } from '../log.js';
import type { LedgerObserver } from '../ledger/run-ledger.js';
import type { NotifyConfig } from '../notify-config.js';
import type { RecordedDelivery } from './outbox.js';
import { queueCommittedDeliveries } from './delivery-jobs.js';
import { recordWarnings } from './record-warnings.js';

/**
 * Threshold warnings as an observer of the ledger's unit of work: each flush records the warnings its
 * accounts crossed in the same transaction, and once that transaction has committed their deliveries are
 * queued. A unit that rolls back recorded nothing and queues nothing.
 */
export function warningObserver(queue: Queue, notify: NotifyConfig, log: Logger): LedgerObserver {
  return {
    open() {
      const recorded: RecordedDelivery[] = [];
      return {
        async flushed(trx, accounts, now) {
          recorded.push(...(await recordWarnings(trx, accounts, now)));
        },
        committed: () => queueCommittedDeliveries(queue, notify, log, recorded),
      };
    },
  };
}
