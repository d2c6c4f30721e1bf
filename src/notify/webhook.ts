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

/**
 * A webhook URL as it may be shown in a log line or a delivery's `last_error`: scheme, host and port.
 * Its path and query are often the receiver's secret (`/hooks/T0123/B456/XXXX`), and userinfo always is.
 */
export function redactUrl(url: string, base?: string): string {
  try {
    const { origin } = new URL(url, base);
    return origin === 'null' ? '(a URL that is not http)' : origin;
  } catch {
    return '(an unreadable URL)';
  }
}

/** The body is `{type, timestamp, data}`, the one Standard Webhooks recommends. */
export function webhookBody(message: WebhookMessage): string {
  return JSON.stringify({ type: message.type, timestamp: message.timestamp.toISOString(), data: message.data });
}

/**
 * POSTs a signed message; resolves only on a 2xx. The signature's timestamp is the wall-clock time of
 * this attempt (receivers reject stale ones), not the engine's clock, which a test clock may have moved.
 * A redirect is never followed: a receiver answering 3xx could point the signed message at an address
 * it should never reach (an internal service), so it is a failed attempt naming where it pointed.
 */
export async function postWebhook(url: string, secret: string, message: WebhookMessage, timeoutMs: number): Promise<number> {
  const where = `POST ${redactUrl(url)}`;
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
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new DeliveryFailed(`${where}: ${failureOf(error, url)}`);
  }
  await response.body?.cancel();
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    const to = location ? `redirect to ${redactUrl(location, url)}` : 'redirect without a Location';
    throw new DeliveryFailed(`${where}: HTTP ${response.status} ${to} (redirects are not followed)`, response.status);
  }
  if (response.status < 200 || response.status >= 300) throw new DeliveryFailed(`${where}: HTTP ${response.status}`, response.status);
  return response.status;
}

/** Why fetch failed (`connect ECONNREFUSED 10.0.0.7:443`, a timeout), in words that never hold the URL. */
function failureOf(error: unknown, url: string): string {
  const e = error as { name?: string; message?: string; cause?: { message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  const said = e.cause?.message ?? e.message ?? 'request failed';
  const { pathname, search } = new URL(url);
  return [url, `${pathname}${search}`, search].filter((s) => s.length > 1).reduce((text, secret) => text.replaceAll(secret, '…'), said);
}
