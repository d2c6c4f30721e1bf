import { z } from 'zod';
import type { Db, Executor, Trx } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import type { Period } from '../calendar/periods.js';
import { addMonths } from '../calendar/periods.js';
import type { AccountBook } from '../ledger/account-book.js';
import { audit } from '../audit/audit.js';

export const loyaltyTiersSchema = z.strictObject({
  tiers: z
    .array(
      z.strictObject({
        months: z.number().int().min(1, 'months must be >= 1').max(600),
        bonusPercent: z.number().int().min(0, 'bonusPercent must be >= 0').max(1000),
      }),
    )
    .max(20)
    .refine((t) => new Set(t.map((x) => x.months)).size === t.length, 'each months value appears once'),
});
export type LoyaltyTier = z.infer<typeof loyaltyTiersSchema>['tiers'][number];

export async function loyaltyTiers(exec: Executor): Promise<LoyaltyTier[]> {
  const row = await exec.selectFrom('loyalty_settings').select('tiers').where('id', '=', 1).executeTakeFirst();
  return ((row?.tiers as LoyaltyTier[] | undefined) ?? []).slice().sort((a, b) => a.months - b.months);
}

export async function setLoyaltyTiers(db: Db, tiers: LoyaltyTier[], actor: string, now: Date): Promise<LoyaltyTier[]> {
  return db.transaction().execute(async (trx) => {
    const before = await loyaltyTiers(trx);
    const sorted = [...tiers].sort((a, b) => a.months - b.months);
    await trx.updateTable('loyalty_settings').set({ tiers: JSON.stringify(sorted), updated_at: now }).where('id', '=', 1).execute();
    await audit(trx, { actor, action: 'loyalty.update', subject: 'loyalty', before: { tiers: before }, after: { tiers: sorted }, at: now });
    return sorted;
  });
}

// Stripe's billing periods meet end to start; a few hours of slack keeps a late invoice contiguous.
const SLACK_MS = 6 * 3600_000;

/**
 * Consecutive paid months at `at`, counted from the payment history: the paid plan periods are merged
 * where they meet, the run that reaches `at` counts the whole months from its start (or from the last
 * failed payment, which resets the count) to `at`. An Annual Pro payment covers twelve months and counts
 * each one as it passes.
 */
export async function consecutivePaidMonths(exec: Executor, userId: string, at: Date): Promise<number> {
  const [payments, failures] = await Promise.all([
    exec
      .selectFrom('payments')
      .select(['period_start', 'period_end'])
      .where('user_id', '=', userId)
      .where('kind', '=', 'plan')
      .where('period_start', 'is not', null)
      .where('period_start', '<', at)
      .where('voided_at', 'is', null)
      .orderBy('period_start')
      .execute(),
    exec
      .selectFrom('stripe_events')
      .select(({ fn }) => fn.max('processed_at').as('last'))
      .where('user_id', '=', userId)
      .where('status', '=', 'applied')
      .where('type', 'in', ['invoice.payment_failed', 'customer.subscription.deleted'])
      .where('processed_at', '<=', at)
      .executeTakeFirst(),
  ]);
  let runStart: number | null = null;
  let runEnd = -Infinity;
  for (const p of payments) {
    const start = p.period_start!.getTime();
    const end = p.period_end?.getTime() ?? start;
    if (runStart === null || start > runEnd + SLACK_MS) runStart = start;
    runEnd = Math.max(runEnd, end);
  }
  if (runStart === null || runEnd + SLACK_MS < at.getTime()) return 0;
  const lastFailure = failures?.last ? new Date(failures.last as Date).getTime() : -Infinity;
  const from = new Date(Math.max(runStart, lastFailure));
  let months = 0;
  while (addMonths(from, months + 1).getTime() <= at.getTime() + SLACK_MS) months++;
  return months;
}

export function tierFor(tiers: LoyaltyTier[], months: number): { current: LoyaltyTier | null; next: LoyaltyTier | null } {
  const reached = tiers.filter((t) => t.months <= months);
  return { current: reached.at(-1) ?? null, next: tiers.find((t) => t.months > months) ?? null };
}

export interface LoyaltyView {
  months: number;
  bonusPercent: number;
  next: { months: number; bonusPercent: number } | null;
}

export async function loyaltyStatus(exec: Executor, userId: string, at: Date): Promise<LoyaltyView> {
  const [months, tiers] = await Promise.all([consecutivePaidMonths(exec, userId, at), loyaltyTiers(exec)]);
  const { current, next } = tierFor(tiers, months);
  return { months, bonusPercent: current?.bonusPercent ?? 0, next };
}

/**
 * At a renewal of a paid plan: the tier the account's consecutive paid months reach grants its percent of
 * the plan's allocation as a bonus, expiring with the period, once per period (its key).
 */
export async function grantLoyaltyBonus(trx: Trx, book: AccountBook, plan: Plan, period: Period): Promise<number> {
  if (plan.price_cents === 0 || plan.monthly_tokens === 0) return 0;
  const months = await consecutivePaidMonths(trx, book.userId, period.start);
  const { current } = tierFor(await loyaltyTiers(trx), months);
  const tokens = current ? Math.floor((plan.monthly_tokens * current.bonusPercent) / 100) : 0;
  if (tokens <= 0) return 0;
  const granted = await book.grant(trx, {
    source: 'bonus',
    sourceRef: 'loyalty',
    tokens,
    expiresAt: period.end,
    idempotencyKey: `loyalty:${book.userId}:${period.index}`,
    occurredAt: period.start,
    metadata: { months, bonusPercent: current!.bonusPercent },
  });
  return granted === null ? 0 : tokens;
}
