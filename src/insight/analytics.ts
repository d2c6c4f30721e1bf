import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { listPlans } from '../catalog/plans.js';
import { percentUsed } from '../accounts/warning-levels.js';
import { cheapestPlanCovering, projectedUse } from './projection.js';

export interface AnalyticsRange {
  from: string; // YYYY-MM-DD, inclusive
  to: string; // YYYY-MM-DD, inclusive
}

export function dayOf(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function eachDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** Consumption per day from the rollups, every day of the range present (zero when quiet). */
export async function consumptionPerDay(db: Db, range: AnalyticsRange) {
  const rows = await db
    .selectFrom('activity_daily')
    .select([sql<string>`day::text`.as('day'), 'tokens', 'uses', 'active_users', 'rejected'])
    .where(sql<boolean>`day between ${range.from}::date and ${range.to}::date`)
    .execute();
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return eachDay(range.from, range.to).map((day) => {
    const r = byDay.get(day);
    return { day, tokens: r?.tokens ?? 0, uses: r?.uses ?? 0, activeUsers: r?.active_users ?? 0, rejected: r?.rejected ?? 0 };
  });
}

/** Today, read live from today's ledger entries (rollups may lag by a few minutes). */
export async function consumptionToday(db: Db, now: Date, timeZone: string) {
  const day = dayOf(now, timeZone);
  const { rows } = await sql<{ tokens: number; uses: number; active_users: number }>`
    select coalesce(sum(cost), 0) as tokens, count(*) as uses, count(distinct user_id) as active_users
    from ledger_entries
    where kind = 'use' and occurred_at >= (${day}::date::timestamp at time zone ${timeZone})
      and occurred_at < ((${day}::date + 1)::timestamp at time zone ${timeZone})`.execute(db);
  const r = rows[0]!;
  return { day, tokens: r.tokens, uses: r.uses, activeUsers: r.active_users };
}

export async function featureTotals(db: Db, range: AnalyticsRange) {
  const rows = await db
    .selectFrom('usage_daily')
    .innerJoin('features', 'features.key', 'usage_daily.feature_key')
    .select(['feature_key', 'features.name', sql<number>`sum(uses)`.as('uses'), sql<number>`sum(tokens)`.as('tokens')])
    .where(sql<boolean>`day between ${range.from}::date and ${range.to}::date`)
    .groupBy(['feature_key', 'features.name'])
    .execute();
  return rows.map((r) => ({ feature: r.feature_key, name: r.name, uses: r.uses, tokens: r.tokens }));
}

export async function planTotals(db: Db, range: AnalyticsRange) {
  return db
    .selectFrom('usage_daily')
    .select(['plan_id as plan', sql<number>`sum(uses)`.as('uses'), sql<number>`sum(tokens)`.as('tokens')])
    .where(sql<boolean>`day between ${range.from}::date and ${range.to}::date`)
    .groupBy('plan_id')
    .orderBy('tokens', 'desc')
    .execute();
}

/** Accounts at or above 90 percent used in their current period. */
export async function usersNearLimit(db: Db, limit = 50) {
  const rows = await db
    .selectFrom('accounts')
    .select(['user_id', 'plan_id', 'period_used', 'period_allocated', 'balance', 'period_end'])
    .where(sql<boolean>`period_allocated > 0 and period_used::bigint * 100 >= 90 * period_allocated::bigint`)
    .orderBy(sql`period_used::float / period_allocated`, 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    userId: r.user_id,
    plan: r.plan_id,
    used: r.period_used,
    allocated: r.period_allocated,
    percentUsed: percentUsed(r.period_used, r.period_allocated),
    balance: r.balance,
    renewsAt: r.period_end.toISOString(),
  }));
}

/** Accounts whose use projected to the end of the period exceeds their plan, with the cheapest plan covering it. */
export async function upgradeRecommendations(db: Db, now: Date, limit = 50) {
  const plans = await listPlans(db);
  const planById = new Map(plans.map((p) => [p.id, p]));
  const accounts = await db
    .selectFrom('accounts')
    .select(['user_id', 'plan_id', 'period_used', 'period_start', 'period_end'])
    .where('period_used', '>', 0)
    .where(sql<boolean>`accounts.period_used > (select monthly_tokens from plans where plans.id = accounts.plan_id) * 0.5`)
    .execute();
  const recommendations = [];
  for (const a of accounts) {
    const current = planById.get(a.plan_id);
    const projected = projectedUse(a.period_used, a.period_start, a.period_end, now);
    if (!current || projected <= current.monthly_tokens) continue;
    const better = cheapestPlanCovering(plans.filter((p) => p.rank > current.rank), projected);
    recommendations.push({
      userId: a.user_id,
      currentPlan: current.id,
      projectedUse: projected,
      monthlyTokens: current.monthly_tokens,
      recommendedPlan: better?.id ?? null,
      extraTokensPerMonth: better ? better.monthly_tokens - current.monthly_tokens : null,
    });
  }
  return recommendations.sort((x, y) => y.projectedUse - x.projectedUse).slice(0, limit);
}
