import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { z } from 'zod';
import type { QueuedUsageEvent } from './usage/usage-event.js';

/** Every queue of the engine; bull-board shows them all. */
export const queueNames = ['usage', 'renewal', 'payment', 'notification', 'scheduled'] as const;
export type QueueName = (typeof queueNames)[number];

/** A usage job's shape; each event is checked on its own by the worker (queuedUsageEventSchema). */
export const usageJobSchema = z.object({ events: z.array(z.unknown()).min(1) });
export type UsageJob = { events: QueuedUsageEvent[] };

export const scheduledJobSchema = z.object({ name: z.string(), asOf: z.string().optional() });
export type ScheduledJob = z.infer<typeof scheduledJobSchema>;

/** Renews one account whose period `periodIndex` had ended by `asOf` (job id: account and period). */
export const renewalJobSchema = z.object({ userId: z.string(), periodIndex: z.number().int().min(0), asOf: z.string() });
export type RenewalJob = z.infer<typeof renewalJobSchema>;

/** Applies one stored Stripe event (job id: the event id). */
export const paymentJobSchema = z.object({ eventId: z.string().min(1) });
export type PaymentJob = z.infer<typeof paymentJobSchema>;

/** One delivery of the notification outbox (a row of notification_deliveries). */
export const notificationJobSchema = z.object({ deliveryId: z.number().int().positive() });
export type NotificationJob = z.infer<typeof notificationJobSchema>;

/** Retries wait 250 ms doubling up to 30 s, for about four hours: long enough to ride out a restart. */
export const retryingJob = {
  attempts: 500,
  backoff: { type: 'capped' },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
} as const;

/**
 * A scheduled job (or one an operator runs) retries for about seven minutes (250 ms doubling up to 30 s):
 * through a database restart, while the next run of a minute's schedule makes longer pointless.
 */
export const scheduledJobAttempts = 20;

export function cappedBackoff(attemptsMade: number): number {
  return Math.min(30_000, 250 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * A completed usage job is removed with its payload: its events are settled in usage_events (which
 * GET /v1/usage reads), so keeping it would only hold every event's payload in Redis for a day. A failed
 * one is kept, payload and all, to be retried.
 */
const jobOptions: Partial<Record<QueueName, DefaultJobOptions>> = {
  usage: { ...retryingJob, removeOnComplete: true },
};

export type Queues = Record<QueueName, Queue>;

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const make = (name: QueueName) =>
    new Queue(name, { connection, prefix, defaultJobOptions: jobOptions[name] ?? retryingJob, skipWaitingForReady: true });
  return Object.fromEntries(queueNames.map((n) => [n, make(n)])) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
