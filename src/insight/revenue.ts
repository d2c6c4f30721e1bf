import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AnalyticsRange } from './analytics.js';

/** [start, end) of a range of whole days in `timeZone`, as SQL timestamps. */
function bounds(range: AnalyticsRange, timeZone: string) {
  return {
    start: sql`(${range.from}::date::timestamp at time zone ${timeZone})`,
    end: sql`((${range.to}::date + 1)::timestamp at time zone ${timeZone})`,
  };
}

export const revenueMethod =
  'payments received in the range, net of refunds, per currency, divided by the tokens consumed in the range; ' +
  "a feature's revenue is that revenue spread over features in proportion to the tokens each consumed";

/** Net revenue per currency received in the range (amounts in cents). */
export async function revenueBetween(db: Db, range: AnalyticsRange, timeZone: string) {
  const { start, end } = bounds(range, timeZone);
  const { rows } = await sql<{ currency: string; cents: number; payments: number }>`
    select currency, coalesce(sum(amount_cents - refunded_cents), 0) as cents, count(*) as payments
    from payments where paid_at >= ${start} and paid_at < ${end}
    group by currency order by currency`.execute(db);
  return rows;
}

/** Revenue per token and per feature, per currency, from the range's revenue and its consumption. */
export function revenuePerToken(
  revenue: Array<{ currency: string; cents: number }>,
  totalTokens: number,
  features: Array<{ feature: string; tokens: number }>,
) {
  return revenue.map((r) => ({
    currency: r.currency,
    revenueCents: r.cents,
    tokens: totalTokens,
    centsPerToken: totalTokens > 0 ? Number((r.cents / totalTokens).toFixed(4)) : null,
    perFeature: features
      .filter((f) => f.tokens > 0)
      .map((f) => ({ feature: f.feature, tokens: f.tokens, revenueCents: totalTokens > 0 ? Math.round((r.cents * f.tokens) / totalTokens) : 0 }))
      .sort((a, b) => b.revenueCents - a.revenueCents),
  }));
}

/** Moves between plans in the range, as upgrade or downgrade by the plans' order. */
export async function planMoves(db: Db, range: AnalyticsRange, timeZone: string) {
  const { start, end } = bounds(range, timeZone);
  const { rows } = await sql<{ from_plan: string; to_plan: string; moves: number; direction: string }>`
    select m.from_plan, m.to_plan, count(*) as moves,
      case when t.rank > f.rank then 'upgrade' else 'downgrade' end as direction
    from plan_moves m join plans f on f.id = m.from_plan join plans t on t.id = m.to_plan
    where m.moved_at >= ${start} and m.moved_at < ${end}
    group by m.from_plan, m.to_plan, f.rank, t.rank order by moves desc`.execute(db);
  return rows.map((r) => ({ from: r.from_plan, to: r.to_plan, moves: r.moves, direction: r.direction }));
}

/** Bonus and adjustment tokens granted in the range, by source (campaign, loyalty, admin). */
export async function rewardsGranted(db: Db, range: AnalyticsRange, timeZone: string) {
  const { start, end } = bounds(range, timeZone);
  const { rows } = await sql<{ source: string; grants: number; tokens: number; unspent: number }>`
    select source || coalesce(':' || source_ref, '') as source, count(*) as grants, sum(tokens) as tokens, sum(remaining) as unspent
    from grants where source in ('bonus', 'adjustment') and created_at >= ${start} and created_at < ${end}
    group by 1 order by tokens desc`.execute(db);
  return rows;
}

/**
 * What each pricing rule did in the range: uses it priced, tokens charged, and tokens above base price,
 * from the daily rollup (as current as its last run, like the other per-day figures).
 */
export async function pricingRuleEffects(db: Db, range: AnalyticsRange) {
  const rows = await db
    .selectFrom('pricing_rule_daily')
    .select(['rule_id as rule', sql<number>`sum(uses)`.as('uses'), sql<number>`sum(tokens)`.as('tokens'), sql<number>`sum(base_tokens)`.as('base_tokens')])
    .where(sql<boolean>`day between ${range.from}::date and ${range.to}::date`)
    .groupBy('rule_id')
    .orderBy('rule_id')
    .execute();
  return rows.map((r) => ({ rule: r.rule, uses: r.uses, tokens: r.tokens, baseTokens: r.base_tokens, extraTokens: r.tokens - r.base_tokens }));
}
