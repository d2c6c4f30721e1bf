import { hash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { z } from 'zod';
import { featureKeySchema, findUnstorable, isoTimestamp, isStorableText, unstorableTextMessage, userIdSchema } from '../validation.js';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export const idempotencyKeySchema = z
  .string({ error: 'idempotencyKey must be a string' })
  .min(1, 'idempotencyKey must not be empty')
  .max(MAX_IDEMPOTENCY_KEY_LENGTH, `idempotencyKey is at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`)
  .refine(isStorableText, `idempotencyKey ${unstorableTextMessage}`);

// The in-process producer takes events without HTTP's body checks: the schema refuses what cannot be
// stored itself, and measures the size only of metadata it can walk.
const metadataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((m, ctx) => {
    const problem = findUnstorable(m);
    if (problem) ctx.addIssue({ code: 'custom', message: `metadata ${problem.path === '(body)' ? '' : `${problem.path} `}${problem.message}`, abort: true });
  })
  .refine((m) => JSON.stringify(m).length <= 4096, 'metadata is at most 4 KiB of JSON');

/** A usage event as a service reports it. */
export const usageEventSchema = z.strictObject({
  userId: userIdSchema,
  feature: featureKeySchema,
  idempotencyKey: idempotencyKeySchema,
  occurredAt: isoTimestamp.optional(),
  reservationId: z.uuid({ error: 'reservationId must be a UUID' }).optional(),
  metadata: metadataSchema.optional(),
});
export type UsageEvent = z.infer<typeof usageEventSchema>;

export const MAX_BATCH = 1000;
export const usageBatchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1, 'events must hold at least one event').max(MAX_BATCH, `events holds at most ${MAX_BATCH}`),
});

/**
 * A usage event as it travels in a `usage` job: its time fixed and its payload fingerprinted. The worker
 * holds each event of a job to the intake's rules again, one by one: a job added by other hands than
 * the intake's may carry anything, and one bad event must fail only itself.
 */
export const queuedUsageEventSchema = z.object({
  userId: userIdSchema,
  feature: featureKeySchema,
  idempotencyKey: idempotencyKeySchema,
  occurredAt: isoTimestamp,
  reservationId: z.uuid().optional(),
  metadata: metadataSchema.optional(),
  payloadHash: z.string().min(1).max(128),
});
export type QueuedUsageEvent = z.infer<typeof queuedUsageEventSchema>;

/**
 * "The same payload" is what the caller sent, not what we defaulted: an event without occurredAt
 * replayed later is the same event.
 */
export function payloadHash(e: UsageEvent): string {
  return hash('sha256', canonicalPayload(e), 'base64url');
}

/**
 * The payload as the hash reads it: the stable (key-sorted) JSON of {userId, feature, occurredAt,
 * reservationId, metadata}, byte for byte what safe-stable-stringify gives for that object (the hashes of
 * settled events are stored, so it must never change). Only metadata, the caller's own object, needs
 * the stable stringify; the fixed fields are written in their sorted order, which costs a fifth as much.
 */
export function canonicalPayload(e: UsageEvent): string {
  const occurredAt = e.occurredAt ? JSON.stringify(new Date(e.occurredAt).toISOString()) : 'null';
  const reservationId = e.reservationId !== undefined ? JSON.stringify(e.reservationId.toLowerCase()) : 'null';
  const metadata = e.metadata === undefined ? 'null' : stringify(e.metadata);
  return `{"feature":${JSON.stringify(e.feature)},"metadata":${metadata},"occurredAt":${occurredAt},"reservationId":${reservationId},"userId":${JSON.stringify(e.userId)}}`;
}
