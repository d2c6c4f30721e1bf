import type { Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import type { Logger } from '../src/log.js';
import { closeWithin } from '../src/shutdown-deadline.js';
import { startUsageWorker } from './usage.js';
import { startScheduledWorker } from './scheduled.js';
import { startRenewalWorker } from './renewal.js';
import { startPaymentWorker } from './payment.js';
import { startNotificationWorker } from './notification.js';

/** Every worker of the engine, for a process running the `workers` role, and the mover that turns staged usage events into their jobs. */
export function startWorkers(engine: Engine): Worker[] {
  engine.stageMover.start();
  return [startUsageWorker(engine), startScheduledWorker(engine), startRenewalWorker(engine), startPaymentWorker(engine), startNotificationWorker(engine)];
}

/**
 * Lets in-flight jobs finish (BullMQ's close waits for them), then stops taking new ones; past `timeoutMs`
 * (Redis away, a job stuck) the connections are dropped instead. A job cut off that way keeps its lock
 * until it expires and is then run again by another worker, which applies nothing twice.
 */
export async function stopWorkers(workers: Worker[], timeoutMs: number, log: Logger): Promise<void> {
  const closed = await closeWithin(Promise.all(workers.map((w) => w.close())), timeoutMs, () => {
    // Not awaited: a disconnect can wait on the same dead connection the close was waiting on.
    for (const w of workers) void w.disconnect().catch(() => {});
  });
  if (!closed) log.warn({ timeoutMs, queues: workers.map((w) => w.name) }, 'workers did not stop in time; their connections were dropped and their active jobs will run again elsewhere');
}
