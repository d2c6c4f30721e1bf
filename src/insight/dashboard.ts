import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { getAccountView } from '../accounts/accounts.js';
import { listPlans } from '../catalog/plans.js';
import { loadPriceBook } from '../pricing/price-book.js';
import { daysUntil } from '../calendar/periods.js';
import { cheapestPlanCovering, projectedUse, runOutDate } from './projection.js';

interface FeatureUse {
  feature: string;
  name: string;
  uses: number;
  tokens: number;
}

async function featureUse(db: Db, userId: string, since: Date, limit: number): Promise<FeatureUse[]> {
  return db
    .selectFrom('ledger_entries')
    .innerJoin('features', 'features.key', 'ledger_entries.feature_key')
    .select(['feature_key as feature', 'features.name', sql<number>`count(*)`.as('uses'), sql<number>`coalesce(sum(cost), 0)`.as('tokens')])
    .where('user_id', '=', userId)
    .where('kind', '=', 'use')
    .where('occurred_at', '>=', since)
    .groupBy(['feature_key', 'features.name'])
    .orderBy('tokens', 'desc')
    .orderBy('uses', 'desc')
    .limit(limit)
    .execute() as Promise<FeatureUse[]>;
}

interface Priced extends FeatureUse {
  cost: number;
}

/**
 * A mix of the user's own usual features that fits the remaining balance: each gets a share of the
 * budget in proportion to how often the user uses it, and what is left goes to the cheapest.
 */
export function comboWithin(balance: number, usual: Priced[]) {
  const paid = usual.filter((f) => f.cost > 0 && f.cost <= balance);
  const totalUses = paid.reduce((s, f) => s + f.uses, 0);
  const items = paid.map((f) => ({ feature: f.feature, name: f.name, cost: f.cost, uses: Math.floor((balance * f.uses) / totalUses / f.cost) }));
  let left = balance - items.reduce((s, i) => s + i.uses * i.cost, 0);
  for (const item of [...items].sort((a, b) => a.cost - b.cost)) {
    const more = Math.floor(left / item.cost);
    item.uses += more;
    left -= more * item.cost;
  }
  const chosen = items.filter((i) => i.uses > 0).map((i) => ({ ...i, tokens: i.uses * i.cost }));
  return { items: chosen, tokens: balance - left, leftover: left };
}

/**
 * Where the dashboard reads: the account itself (balance, period) from `live`, the primary, so it agrees
 * with /v1/check the moment a use is charged; the features used over 90 days from `history`, which may lag
 * (a replica, or the read pool).
 */
export interface DashboardSources {
  live: Db;
  history: Db;
}

/** The seed's "Token Dashboard for Users", with smart recommendations. */
export async function userDashboard({ live: db, history }: DashboardSources, userId: string, now: Date) {
  const account = await getAccountView(db, userId, now);
  const periodStart = new Date(account.period.start);
  const periodEnd = new Date(account.period.end);
  const [mostUsed, usual, plans] = await Promise.all([
    featureUse(history, userId, periodStart, 5),
    featureUse(history, userId, new Date(now.getTime() - 90 * 86_400_000), 6),
    listPlans(db),
  ]);
  const prices = await loadPriceBook(db, usual.map((u) => u.feature), now);
  const priced = usual.flatMap((u) => {
    const q = prices.quote(u.feature, now);
    return q && q.enabled ? [{ ...u, cost: q.cost }] : [];
  });
  const projected = projectedUse(account.usedThisPeriod, periodStart, periodEnd, now);
  const runOut = runOutDate(account.usedThisPeriod, account.balance, periodStart, now);
  const current = plans.find((p) => p.id === account.plan.id)!;
  const upgradeTo = projected > current.monthly_tokens ? cheapestPlanCovering(plans.filter((p) => p.rank > current.rank), projected) : undefined;
  const extra = upgradeTo ? upgradeTo.monthly_tokens - current.monthly_tokens : 0;
  const top = priced.find((f) => f.cost > 0);

  return {
    userId,
    plan: account.plan,
    used: account.usedThisPeriod,
    allocated: account.allocatedThisPeriod,
    percentUsed: account.percentUsed,
    balance: account.balance,
    held: account.held,
    warning: account.warning,
    loyalty: account.loyalty,
    period: account.period,
    daysUntilRenewal: daysUntil(now, periodEnd),
    projectedUse: projected,
    runsOutAt: runOut && runOut < periodEnd ? runOut.toISOString() : null,
    mostUsedFeatures: mostUsed,
    recommendations: {
      fitsRemaining: priced
        .filter((f) => f.cost > 0 && f.cost <= account.balance)
        .map((f) => ({ feature: f.feature, name: f.name, cost: f.cost, uses: Math.floor(account.balance / f.cost) })),
      combo: comboWithin(account.balance, priced),
      upgrade: upgradeTo
        ? {
            plan: upgradeTo.id,
            name: upgradeTo.name,
            monthlyTokens: upgradeTo.monthly_tokens,
            extraTokensPerMonth: extra,
            message: `Upgrade to ${upgradeTo.name} for +${extra} tokens/month`,
            adds: [`+${extra} more tokens/month`, ...(top ? [`about ${Math.floor(extra / top.cost)} more ${top.name} uses a month`] : [])],
          }
        : null,
    },
  };
}
