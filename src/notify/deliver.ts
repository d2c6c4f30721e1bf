import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { DeliveryStatus, NotificationChannel, NotificationType } from '../db/schema.js';
import { warningEmail, type Mailer } from './email.js';
import type { WarningData } from './record-warnings.js';
import { DeliveryFailed, postWebhook } from './webhook.js';

/** Where and how deliveries go, built once per worker from the configuration. */
export interface Courier {
  webhookUrls: Record<NotificationType, string | undefined>;
  secret: string | undefined;
  timeoutMs: number;
  mailer: Mailer | null;
}

export type DeliveryOutcome =
  | { status: DeliveryStatus; already: boolean; reason?: string }
  /** An earlier delivery to the same account and channel is still pending: this one waits its turn. */
  | { status: 'deferred' }
  | { status: 'missing' };

async function loadDelivery(db: Db, id: number) {
  return db
    .selectFrom('notification_deliveries as d')
    .innerJoin('notifications as n', 'n.id', 'd.notification_id')
    .leftJoin('accounts as a', 'a.user_id', 'n.user_id')
    .select(['d.id', 'd.channel', 'd.status', 'n.id as messageId', 'n.type', 'n.user_id as userId', 'n.data', 'n.occurred_at as occurredAt', 'a.email'])
    .where('d.id', '=', id)
    .executeTakeFirst();
}

type Loaded = NonNullable<Awaited<ReturnType<typeof loadDelivery>>>;

/** Warnings are read in the order they happened: 90 before 95 before 100. */
async function earlierPending(db: Db, d: Loaded): Promise<boolean> {
  if (d.userId === null) return false;
  const row = await db
    .selectFrom('notification_deliveries as d')
    .innerJoin('notifications as n', 'n.id', 'd.notification_id')
    .select('d.id')
    .where('d.status', '=', 'pending')
    .where('d.id', '<', d.id)
    .where('d.channel', '=', d.channel)
    .where('n.user_id', '=', d.userId)
    .where('n.type', '=', d.type)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Sends, or says why it need not: a channel that is not set up is skipped, not retried. */
async function send(courier: Courier, d: Loaded): Promise<string | undefined> {
  if (d.channel === 'webhook') {
    const url = courier.webhookUrls[d.type];
    if (!url) return `no webhook URL configured for ${d.type}`;
    if (!courier.secret) throw new DeliveryFailed('TOKENS_NOTIFY_WEBHOOK_SECRET is not set');
    await postWebhook(url, courier.secret, { id: d.messageId, type: d.type, timestamp: d.occurredAt, data: d.data }, courier.timeoutMs);
    return undefined;
  }
  if (!courier.mailer) return 'SMTP_URL is not set';
  if (!d.email) return 'the account has no e-mail address';
  if (d.type !== 'tokens.warning') return `no e-mail for ${d.type}`;
  await courier.mailer.send({ to: d.email, messageId: d.messageId, ...warningEmail(d.data as WarningData) });
  return undefined;
}

/**
 * One attempt at one delivery. A delivery that is no longer pending is never sent again, which is what
 * makes the sweep and duplicate jobs harmless. A failure is recorded and rethrown for the queue to
 * retry; on the last attempt the delivery is kept as `failed` for an admin to see and retry.
 */
export interface AttemptOptions {
  lastAttempt: boolean;
  now: Date;
  onFailure?: (channel: NotificationChannel) => void;
}

export async function attemptDelivery(db: Db, courier: Courier, id: number, opts: AttemptOptions): Promise<DeliveryOutcome> {
  const d = await loadDelivery(db, id);
  if (!d) return { status: 'missing' };
  if (d.status !== 'pending') return { status: d.status, already: true };
  if (await earlierPending(db, d)) return { status: 'deferred' };
  let skipped: string | undefined;
  try {
    skipped = await send(courier, d);
  } catch (error) {
    opts.onFailure?.(d.channel);
    const message = error instanceof DeliveryFailed ? error.message : String(error);
    await db
      .updateTable('notification_deliveries')
      .set({ attempts: sql`attempts + 1`, last_error: message, status: opts.lastAttempt ? 'failed' : 'pending', updated_at: opts.now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    throw error;
  }
  const status = skipped ? 'skipped' : 'delivered';
  await db
    .updateTable('notification_deliveries')
    .set({
      status,
      attempts: sql`attempts + ${skipped ? 0 : 1}`,
      last_error: skipped ?? null,
      updated_at: opts.now,
      delivered_at: skipped ? null : opts.now,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
  return { status, already: false, ...(skipped ? { reason: skipped } : {}) };
}
