import type { Executor } from '../db/database.js';
import type { Account } from '../db/schema.js';
import { getPlan, planView, type PlanView } from '../catalog/plans.js';
import { periodAt } from '../calendar/periods.js';
import { runLedger, type Ledger } from '../ledger/run-ledger.js';
import { EngineError } from '../errors.js';
import { percentUsed, warningFor, type WarningLevel } from './warning-levels.js';
import { loyaltyStatus, type LoyaltyView } from '../rewards/loyalty.js';
import { accountColumnsOf, heldAt, spendableAt } from '../ledger/spendable.js';

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
  ledger: Ledger,
  input: { userId: string; plan?: string; email?: string | null },
  now: Date,
): Promise<{ created: boolean }> {
  return runLedger(ledger, now, [], async (_, unit) => {
    const { trx } = unit;
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
    const book = (await unit.lockOne(input.userId))!;
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

/**
 * The account row with what time has changed in it since it was written (grants past their expiry,
 * holds past theirs), from one snapshot: read apart, a sweep committing between the reads would show
 * them twice or not at all.
 */
async function accountAsOf(exec: Executor, userId: string, now: Date) {
  const columns = accountColumnsOf('accounts');
  const row = await exec
    .selectFrom('accounts')
    .selectAll()
    .select([spendableAt(columns, now).as('spendable'), heldAt(columns, now).as('held_now')])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new EngineError('account_not_found', `no account for userId "${userId}"`, { userId });
  return row;
}

export async function getAccountView(exec: Executor, userId: string, now: Date): Promise<AccountView> {
  const account = await accountAsOf(exec, userId, now);
  const [plan, loyalty] = await Promise.all([getPlan(exec, account.plan_id), loyaltyStatus(exec, userId, now)]);
  const percent = percentUsed(account.period_used, account.period_allocated);
  return {
    userId: account.user_id,
    plan: { id: plan.id, name: plan.name, monthlyTokens: plan.monthly_tokens },
    email: account.email,
    balance: account.spendable,
    held: account.held_now,
    period: { start: account.period_start.toISOString(), end: account.period_end.toISOString() },
    usedThisPeriod: account.period_used,
    allocatedThisPeriod: account.period_allocated,
    percentUsed: percent,
    warning: warningFor(percent),
    loyalty,
  };
}

export { planView };
