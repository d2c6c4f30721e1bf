import { Webhook } from 'standardwebhooks';
import type { components } from './generated/openapi.js';

export type TokensWarning = components['schemas']['TokensWarning'];
export type TokensAlert = components['schemas']['TokensAlert'];
/** What the engine POSTs to TOKENS_NOTIFY_WEBHOOK_URL: `{type, timestamp, data}`. */
export type WebhookEvent = TokensWarning | TokensAlert;

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function headerRecord(headers: HeaderSource): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Verifies a webhook the engine sent (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature` over the exact body) and returns its event. `secret` is TOKENS_NOTIFY_WEBHOOK_SECRET
 * (`whsec_...`); `body` the raw body as received, before any JSON parsing. Throws (standardwebhooks'
 * WebhookVerificationError) when the signature does not match the body, or the timestamp is more than
 * five minutes away: answer 400 then, and the engine tries again. Dedupe on `webhook-id`: it is stable
 * across retries.
 */
export function verifyWebhook(secret: string, body: string | Uint8Array, headers: HeaderSource): WebhookEvent {
  const payload = typeof body === 'string' ? body : Buffer.from(body);
  return new Webhook(secret).verify(payload, headerRecord(headers)) as WebhookEvent;
}

export { WebhookVerificationError } from 'standardwebhooks';
