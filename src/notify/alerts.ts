import { sql } from 'kysely';
import type { Executor, Trx } from '../db/database.js';
import { liftTimeoutsForTransaction } from '../db/session-timeouts.js';
import type { AlertRule } from '../db/schema.js';
import { transactWithNotifications, type NotifyDeps } from './delivery-jobs.js';
import { messageId, type NewNotification } from './outbox.js';
import { findUnusualUsage, type Finding } from './unusual-usage.js';

export function alertKey(f: Pick<Finding, 'userId' | 'rule' | 'windowEnd'>): string {
  return `alert:${f.userId}:${f.rule}:${f.windowEnd.toISOString()}`;
}

/** What an admin alert carries: a `tokens.alert` to the admin webhook, for unusual usage and reconcile alike. */
export interface AlertContent {
  userId: string | null;
  rule: string;
  message: string;
  observed: number;
  threshold: number;
  windowStart: Date;
  windowEnd: Date;
  details: Record<string, unknown>;
}

export function alertNotification(key: string, a: AlertContent, occurredAt: Date): NewNotification {
  return {
    key,
    type: 'tokens.alert',
    userId: a.userId,
    data: {
      userId: a.userId,
      rule: a.rule,
      message: a.message,
      observed: a.observed,
      threshold: a.threshold,
      windowStart: a.windowStart.toISOString(),
      windowEnd: a.windowEnd.toISOString(),
      details: a.details,
    },
    occurredAt,
    channels: ['webhook'],
  };
}

/** An account already alerted for a rule over a window that overlaps this one is not alerted again. */
async function withoutRepeats(trx: Trx, findings: Finding[]): Promise<Finding[]> {
  if (findings.length === 0) return [];
  const earliest = new Date(Math.min(...findings.map((f) => f.windowStart.getTime())));
  const previous = await trx
    .selectFrom('alerts')
    .select(['user_id', 'rule', 'window_start', 'window_end'])
    .where('user_id', 'in', [...new Set(findings.map((f) => f.userId))])
    .where('window_end', '>', earliest)
    .execute();
  return findings.filter(
    (f) =>
      !previous.some(
        (p) => p.user_id === f.userId && p.rule === f.rule && p.window_end > f.windowStart && p.window_start < f.windowEnd,
      ),
  );
}

/**
 * The `alerts` job: finds unusual usage over the window ending at `asOf` and raises a tokens.alert for
 * each new finding, to the admin webhook. Runs one at a time (an advisory lock), so two overlapping
 * runs cannot both raise the same alert; a rerun finds its alerts already raised and raises nothing.
 */
export async function raiseAlerts(engine: NotifyDeps, asOf: Date): Promise<{ raised: number; byRule: Partial<Record<AlertRule, number>> }> {
  const raised = await transactWithNotifications(engine, async (trx, outbox) => {
    await liftTimeoutsForTransaction(trx);
    await sql`select pg_advisory_xact_lock(hashtext('tokens:alerts'))`.execute(trx);
    const fresh = await withoutRepeats(trx, await findUnusualUsage(trx, engine.config.notify.alertRules, asOf));
    if (fresh.length === 0) return [];
    await outbox.record(
      fresh.map((f) => alertNotification(alertKey(f), f, asOf)),
    );
    await trx
      .insertInto('alerts')
      .values(
        fresh.map((f) => ({
          user_id: f.userId,
          rule: f.rule,
          window_start: f.windowStart,
          window_end: f.windowEnd,
          observed: f.observed,
          threshold: f.threshold,
          details: JSON.stringify({ message: f.message, ...f.details }),
          notification_id: messageId(alertKey(f)),
          raised_at: asOf,
        })),
      )
      .onConflict((oc) => oc.columns(['user_id', 'rule', 'window_end']).doNothing())
      .execute();
    return fresh;
  });
  const byRule: Partial<Record<AlertRule, number>> = {};
  for (const f of raised) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  return { raised: raised.length, byRule };
}

export async function listAlerts(exec: Executor, filter: { userId?: string | undefined; rule?: AlertRule | undefined; limit: number }) {
  let query = exec.selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.rule) query = query.where('rule', '=', filter.rule);
  const rows = await query.execute();
  return rows.map((a) => {
    const { message, ...details } = a.details as { message: string } & Record<string, unknown>;
    return {
      id: a.id,
      userId: a.user_id,
      rule: a.rule,
      message,
      observed: a.observed,
      threshold: a.threshold,
      windowStart: a.window_start.toISOString(),
      windowEnd: a.window_end.toISOString(),
      details,
      notificationId: a.notification_id,
      raisedAt: a.raised_at.toISOString(),
    };
  });
}
