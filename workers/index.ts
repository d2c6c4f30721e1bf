import type { Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { startUsageWorker } from './usage.js';
import { startScheduledWorker } from './scheduled.js';
import { startRenewalWorker } from './renewal.js';
import { startPaymentWorker } from './payment.js';
import { startNotificationWorker } from './notification.js';

/** Every worker of the engine, for a process running the `workers` role. */
export function startWorkers(engine: Engine): Worker[] {
  return [startUsageWorker(engine), startScheduledWorker(engine), startRenewalWorker(engine), startPaymentWorker(engine), startNotificationWorker(engine)];
}

/** Lets in-flight jobs finish (BullMQ's close waits for them), then stops taking new ones. */
export async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.close()));
}
