import { z } from 'zod';

const isoTime = z.string().describe('ISO-8601 UTC');

/** Standard Webhooks' headers: verify the signature over `{webhook-id}.{webhook-timestamp}.{body}`. */
export const webhookHeadersSchema = z.object({
  'webhook-id': z.string().describe('The message id: stable across retries, dedupe on it'),
  'webhook-timestamp': z.string().describe('Unix seconds of this attempt; refuse stale ones (Standard Webhooks allows 5 minutes)'),
  'webhook-signature': z.string().describe('`v1,<base64 HMAC-SHA256>` with the secret TOKENS_NOTIFY_WEBHOOK_SECRET (`whsec_...`)'),
});

export const warningWebhookSchema = z
  .object({
    type: z.literal('tokens.warning'),
    timestamp: isoTime.describe('when the level was crossed, in the engine\'s time'),
    data: z.object({
      userId: z.string(),
      level: z.union([z.literal(90), z.literal(95), z.literal(100)]),
      percentUsed: z.number().int(),
      message: z.string().describe('the seed\'s message for the level, e.g. "⚠️ You have 10% tokens remaining"'),
      used: z.number().int(),
      allocated: z.number().int(),
      periodStart: isoTime,
      periodEnd: isoTime,
    }),
  })
  .meta({ id: 'TokensWarning' });

export const alertWebhookSchema = z
  .object({
    type: z.literal('tokens.alert'),
    timestamp: isoTime,
    data: z.object({
      userId: z.string().nullable().describe('null for an alert about the whole ledger'),
      rule: z.string().describe('`burst`, `rejections`, `rate`, `around_the_clock`, or `reconcile:<invariant>`'),
      message: z.string(),
      observed: z.number(),
      threshold: z.number(),
      windowStart: isoTime,
      windowEnd: isoTime,
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'TokensAlert' });
