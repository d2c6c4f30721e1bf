import type { Db } from '../db/database.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { tierOf, type Tier } from './tiers.js';

export interface NewFeature {
  key: string;
  name: string;
  cost: number;
  enabled?: boolean | undefined;
}

export interface AddedFeature {
  key: string;
  name: string;
  enabled: boolean;
  cost: number;
  tier: Tier;
  effectiveFrom: string;
  /** false when the same feature had already been added (a retried request): nothing changed. */
  created: boolean;
}

/**
 * Adds a feature (a new page or operation of the product) with its first price in force from `now`;
 * its tier follows from the cost. Adding the same key again with the same name and cost is answered as
 * the feature that exists; with another name or cost it is refused (change a cost with a price version).
 */
export async function addFeature(db: Db, f: NewFeature, actor: string, now: Date): Promise<AddedFeature> {
  return db.transaction().execute(async (trx) => {
    const enabled = f.enabled ?? true;
    const inserted = await trx
      .insertInto('features')
      .values({ key: f.key, name: f.name, enabled, created_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) {
      const existing = await trx
        .selectFrom('features')
        .innerJoin('feature_prices', 'feature_prices.feature_key', 'features.key')
        .select(['features.name', 'features.enabled', 'feature_prices.cost', 'feature_prices.effective_from'])
        .where('features.key', '=', f.key)
        .orderBy('feature_prices.effective_from', 'desc')
        .executeTakeFirst();
      if (existing && existing.name === f.name && existing.cost === f.cost) {
        return { key: f.key, name: existing.name, enabled: existing.enabled, cost: existing.cost, tier: tierOf(existing.cost), effectiveFrom: existing.effective_from.toISOString(), created: false };
      }
      throw new EngineError('feature_exists', `a feature "${f.key}" already exists; change its cost with PUT /admin/api/features/${f.key}`, {
        feature: f.key,
      });
    }
    await trx.insertInto('feature_prices').values({ feature_key: f.key, cost: f.cost, effective_from: now, changed_by: actor }).execute();
    const added = { key: f.key, name: f.name, enabled, cost: f.cost, tier: tierOf(f.cost), effectiveFrom: now.toISOString() };
    await audit(trx, { actor, action: 'feature.create', subject: `feature:${f.key}`, before: null, after: added, at: now });
    return { ...added, created: true };
  });
}
