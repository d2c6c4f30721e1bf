import type { Executor } from '../db/database.js';
import { EngineError } from '../errors.js';
import { tierOf, type Tier } from './tiers.js';

export interface PriceVersion {
  cost: number;
  tier: Tier;
  effectiveFrom: string;
  changedBy: string;
}

/** A feature's base prices, newest first: each in force from its time until the next one's. */
export async function priceHistory(exec: Executor, featureKey: string): Promise<PriceVersion[]> {
  const rows = await exec
    .selectFrom('feature_prices')
    .select(['cost', 'effective_from', 'changed_by'])
    .where('feature_key', '=', featureKey)
    .orderBy('effective_from', 'desc')
    .execute();
  if (rows.length === 0) {
    const feature = await exec.selectFrom('features').select('key').where('key', '=', featureKey).executeTakeFirst();
    if (!feature) throw new EngineError('not_found', `no feature "${featureKey}"`, { feature: featureKey });
  }
  return rows.map((r) => ({ cost: r.cost, tier: tierOf(r.cost), effectiveFrom: r.effective_from.toISOString(), changedBy: r.changed_by }));
}
