import { Webhook } from 'standardwebhooks';
import type { NotificationType } from '../db/schema.js';

export interface WebhookMessage {
  /** Stable across retries: receivers dedupe on it (Standard Webhooks `webhook-id`). */
  id: string;
  type: NotificationType;
  /** When the event happened, in the engine's time. */
  timestamp: Date;
  data: unknown;
}

export class DeliveryFailed extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'DeliveryFailed';
  }
}

/** The body is `{type, timestamp, data}`, the one Standard Webhooks recommends. */
export function webhookBody(message: WebhookMessage): string {
  return JSON.stringify({ type: message.type, timestamp: message.timestamp.toISOString(), data: message.data });
}

/**
 * POSTs a signed message; resolves only on a 2xx. The signature's timestamp is the wall-clock time of
 * this attempt (receivers reject stale ones), not the engine's clock, which a test clock may have moved.
 */
export async function postWebhook(url: string, secret: string, message: WebhookMessage, timeoutMs: number): Promise<number> {
  const body = webhookBody(message);
  const sentAt = new Date();
  const signature = new Webhook(secret).sign(message.id, sentAt, body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'token-engine',
        'webhook-id': message.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new DeliveryFailed(`POST ${url}: ${(error as Error).message}`);
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status >= 300) throw new DeliveryFailed(`POST ${url}: HTTP ${response.status}`, response.status);
  return response.status;
}
