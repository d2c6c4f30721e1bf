import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { Engine } from '../src/engine.js';
import { notificationJobSchema } from '../src/queues.js';
import { attemptDelivery, type Courier } from '../src/notify/deliver.js';
import { Mailer } from '../src/notify/email.js';
import { runStandalone } from './standalone.js';
import { observeWorker } from './observe.js';

/** Delivers the notification outbox: signed webhooks and e-mail, retried with exponential backoff. */
export function startNotificationWorker(engine: Engine): Worker {
  const { config } = engine;
  const mailer = config.smtpUrl ? new Mailer(config.smtpUrl, config.notify.emailFrom) : null;
  const courier: Courier = {
    webhookUrls: { 'tokens.warning': config.notifyWebhookUrl, 'tokens.alert': config.notify.alertWebhookUrl },
    secret: config.notifyWebhookSecret,
    timeoutMs: config.notify.timeoutMs,
    mailer,
  };
  const worker = new Worker(
    'notification',
    async (job, token) => {
      const parsed = notificationJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed notification job: ${parsed.error.message}`);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const outcome = await attemptDelivery(engine.db, courier, parsed.data.deliveryId, {
        lastAttempt,
        now: await engine.clock.now(),
        onFailure: (channel) => engine.metrics.notificationFailures.inc({ channel }),
      });
      if (outcome.status === 'deferred') {
        // Waiting for an earlier warning to the same account is not a failed attempt; the wait doubles
        // so that a long outage of the receiver does not turn into polling.
        const waits = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
        await job.moveToDelayed(Date.now() + Math.min(250 * 2 ** Math.min(waits, 20), 300_000), token);
        throw new DelayedError();
      }
      engine.log.info({ jobId: job.id, deliveryId: parsed.data.deliveryId, ...outcome }, 'notification delivery');
      return outcome;
    },
    { connection: engine.workerConnection, prefix: config.queuePrefix, concurrency: 4 },
  );
  worker.on('closed', () => mailer?.close());
  return observeWorker(engine, worker, 'notification');
}

runStandalone(import.meta.url, 'notification', startNotificationWorker);
