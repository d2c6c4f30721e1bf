import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account, NotificationChannel } from '../db/schema.js';
import { recordNotifications, type NewNotification, type RecordedDelivery } from './outbox.js';
import { percentUsed, warningMessages, type WarningLevel } from '../accounts/warning-levels.js';
import { stepWarningMark, type WarningMark } from './warning-marks.js';

/** The `data` of a tokens.warning notification (webhook body and e-mail). */
export interface WarningData {
  userId: string;
  level: WarningLevel;
  percentUsed: number;
  message: string;
  used: number;
  allocated: number;
  periodStart: string;
  periodEnd: string;
}

export function warningKey(userId: string, periodIndex: number, level: WarningLevel, arming: number): string {
  return `warning:${userId}:${periodIndex}:${level}:${arming}`;
}

/**
 * Called by the warning observer after each ledger flush with the accounts it wrote, whatever changed them
 * (a use, a hold spent, a grant, a renewal): records a warning for each level an account has just
 * crossed, in the same transaction as the change, and moves its warning mark. Writes nothing when no
 * mark moves, which is almost always. Returns the deliveries to queue once the transaction commits.
 */
export async function recordWarnings(trx: Trx, accounts: Account[], now: Date): Promise<RecordedDelivery[]> {
  const notifications: NewNotification[] = [];
  const marks: Array<{ userId: string; mark: WarningMark }> = [];
  for (const account of accounts) {
    const before = { level: account.warned_level, periodStart: account.warned_period_start, arming: account.warning_arming };
    const step = stepWarningMark(before, { periodStart: account.period_start, used: account.period_used, allocated: account.period_allocated });
    if (!step.changed) continue;
    marks.push({ userId: account.user_id, mark: step.mark });
    const channels: NotificationChannel[] = account.email ? ['webhook', 'email'] : ['webhook'];
    for (const level of step.crossed) {
      const data: WarningData = {
        userId: account.user_id,
        level,
        percentUsed: percentUsed(account.period_used, account.period_allocated),
        message: warningMessages[level],
        used: account.period_used,
        allocated: account.period_allocated,
        periodStart: account.period_start.toISOString(),
        periodEnd: account.period_end.toISOString(),
      };
      notifications.push({
        key: warningKey(account.user_id, account.period_index, level, step.mark.arming),
        type: 'tokens.warning',
        userId: account.user_id,
        data: { ...data },
        occurredAt: now,
        channels,
      });
    }
    // The book's copy of the row too, so a second flush in this transaction starts from the new mark.
    account.warned_level = step.mark.level;
    account.warned_period_start = step.mark.periodStart;
    account.warning_arming = step.mark.arming;
  }
  if (marks.length === 0) return [];
  await sql`update accounts set warned_level = v.level, warned_period_start = v.period_start, warning_arming = v.arming
            from unnest(${marks.map((m) => m.userId)}::text[], ${marks.map((m) => m.mark.level)}::smallint[],
              ${marks.map((m) => m.mark.periodStart)}::timestamptz[], ${marks.map((m) => m.mark.arming)}::int[])
              as v(user_id, level, period_start, arming)
            where accounts.user_id = v.user_id`.execute(trx);
  return recordNotifications(trx, notifications);
}
