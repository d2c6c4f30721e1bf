import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { tierOf } from '../catalog/tiers.js';
import { loadPriceBook } from './price-book.js';
import type { RuleDefinition } from './rule-definition.js';
import { bumpPricingVersion } from './rules.js';

/**
 * The `pricing` job: for every demand rule in force, measures the recent uses of what it matches (uses
 * per minute over its window, from the ledger) against its baseline and records the multiplier,
 * between 1 and maxMultiplier. Quotes read the latest level, so /v1/check never counts uses itself.
 * Recording at the same asOf twice keeps the first.
 */
export async function computeDemand(db: Db, asOf: Date): Promise<{ rules: number; levels: Record<string, number> }> {
  const rules = await db
    .selectFrom('pricing_rules')
    .selectAll()
    .where('defined_from', '<=', asOf)
    .where((eb) => eb.or([eb('defined_until', 'is', null), eb('defined_until', '>', asOf)]))
    .execute();
  const demandRules = rules.filter((r) => (r.definition as RuleDefinition).demand);
  if (demandRules.length === 0) return { rules: 0, levels: {} };
  const prices = await loadPriceBook(db, undefined, asOf);
  const allFeatures = await db.selectFrom('features').select('key').execute();
  const levels: Record<string, number> = {};
  await db.transaction().execute(async (trx) => {
    for (const rule of demandRules) {
      const d = rule.definition as RuleDefinition;
      const demand = d.demand!;
      // Which features a tier rule covers is decided by their base price now.
      const matched = allFeatures
        .map((f) => f.key)
        .filter((key) => d.match.features?.includes(key) || d.match.tiers?.includes(tierOf(prices.quote(key, asOf)?.baseCost ?? 0)));
      const since = new Date(asOf.getTime() - demand.windowMinutes * 60_000);
      const { rows } = await sql<{ uses: number }>`
        select count(*) as uses from ledger_entries
        where kind = 'use' and feature_key = any(${matched}) and occurred_at > ${since} and occurred_at <= ${asOf}`.execute(trx);
      const perMinute = rows[0]!.uses / demand.windowMinutes;
      const multiplier = Math.min(demand.maxMultiplier, Math.max(1, perMinute / demand.baselineUsesPerMinute));
      // A level once recorded is history that quotes were given from: a rerun at the same asOf keeps it.
      await trx
        .insertInto('demand_levels')
        .values({ rule_id: rule.id, computed_at: asOf, multiplier: Number(multiplier.toFixed(4)), uses_per_minute: Number(perMinute.toFixed(4)) })
        .onConflict((oc) => oc.columns(['rule_id', 'computed_at']).doNothing())
        .execute();
      const stored = await trx
        .selectFrom('demand_levels')
        .select('multiplier')
        .where('rule_id', '=', rule.id)
        .where('computed_at', '=', asOf)
        .executeTakeFirstOrThrow();
      levels[rule.id] = Number(stored.multiplier);
    }
    await bumpPricingVersion(trx);
  });
  return { rules: demandRules.length, levels };
}
