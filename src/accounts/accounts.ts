import { sql } from 'kysely';
import type { Db, Executor } from '../db/database.js';
import type { Account } from '../db/schema.js';
import { getPlan, planView, type PlanView } from '../catalog/plans.js';
import { periodAt } from '../billing/periods.js';
import { AccountBook } from '../ledger/account-book.js';
import { EngineError } from '../errors.js';
import { percentUsed, warningFor, type WarningLevel } from '../notify/warning-levels.js';
import { loyaltyStatus, type LoyaltyView } from '../rewards/loyalty.js';
import { dueHoldTokens } from '../ledger/hold-expiry.js';

export const DEFAULT_PLAN = 'free_starter';

export interface AccountView {
  userId: string;
  plan: Pick<PlanView, 'id' | 'name' | 'monthlyTokens'>;
  email: string | null;
  balance: number;
  held: number;
  period: { start: string; end: string };
  usedThisPeriod: number;
  allocatedThisPeriod: number;
  percentUsed: number;
  warning: { level: WarningLevel; message: string } | null;
  loyalty: LoyaltyView;
}

/** The plan allocation of a period is a grant keyed by account and period, so it is given once. */
export function allocationKey(userId: string, periodIndex: number): string {
  return `plan:${userId}:${periodIndex}`;
}

/** Opens an account on a plan with its first period allocated; an existing account is returned as it is. */
export async function createAccount(
  db: Db,
  input: { userId: string; plan?: string; email?: string | null },
  now: Date,
): Promise<{ created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const plan = await getPlan(trx, input.plan ?? DEFAULT_PLAN);
    const period = periodAt(now, 0);
    const inserted = await trx
      .insertInto('accounts')
      .values({
        user_id: input.userId,
        plan_id: plan.id,
        email: input.email ?? null,
        anchor_at: now,
        period_index: 0,
        period_start: period.start,
        period_end: period.end,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (!inserted) return { created: false };
    const book = (await AccountBook.lockOne(trx, input.userId))!;
    if (plan.monthly_tokens > 0) {
      await book.grant(trx, {
        source: 'plan',
        sourceRef: plan.id,
        tokens: plan.monthly_tokens,
        expiresAt: period.end,
        idempotencyKey: allocationKey(input.userId, 0),
        occurredAt: now,
      });
    }
    await AccountBook.flush(trx, [book], now);
    return { created: true };
  });
}

export async function findAccount(exec: Executor, userId: string): Promise<Account | undefined> {
  return exec.selectFrom('accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export async function requireAccount(exec: Executor, userId: string): Promise<Account> {
  const account = await findAccount(exec, userId);
  if (!account) throw new EngineError('account_not_found', `no account for userId "${userId}"`, { userId });
  return account;
}

/** Tokens of grants already past their expiry that the sweep has not removed yet: not spendable. */
export async function expiredUnswept(exec: Executor, userId: string, now: Date): Promise<number> {
  const row = await exec
    .selectFrom('grants')
    .select(sql<number>`coalesce(sum(remaining), 0)`.as('tokens'))
    .where('user_id', '=', userId)
    .where('remaining', '>', 0)
    .where('expires_at', '<=', now)
    .executeTakeFirstOrThrow();
  return row.tokens;
}

export async function getAccountView(exec: Executor, userId: string, now: Date): Promise<AccountView> {
  const account = await requireAccount(exec, userId);
  const [plan, expired, loyalty, due] = await Promise.all([
    getPlan(exec, account.plan_id),
    expiredUnswept(exec, userId, now),
    loyaltyStatus(exec, userId, now),
    account.held > 0 ? dueHoldTokens(exec, userId, now) : { held: 0, spendable: 0 },
  ]);
  const percent = percentUsed(account.period_used, account.period_allocated);
  return {
    userId: account.user_id,
    plan: { id: plan.id, name: plan.name, monthlyTokens: plan.monthly_tokens },
    email: account.email,
    balance: account.balance - expired + due.spendable,
    held: account.held - due.held,
    period: { start: account.period_start.toISOString(), end: account.period_end.toISOString() },
    usedThisPeriod: account.period_used,
    allocatedThisPeriod: account.period_allocated,
    percentUsed: percent,
    warning: warningFor(percent),
    loyalty,
  };
}

export { planView };
