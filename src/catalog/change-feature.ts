import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { priceInForce } from './price-in-force.js';

export interface FeatureChange {
  cost?: number | undefined;
  enabled?: boolean | undefined;
}

/**
 * A cost change adds a price version in force from `now`: uses that occurred before keep the price
 * they had, even when reported later. Audited with the actor, before and after.
 */
export async function changeFeature(db: Db, key: string, change: FeatureChange, actor: string, now: Date) {
  return db.transaction().execute(async (trx) => {
    const feature = await trx.selectFrom('features').selectAll().where('key', '=', key).forUpdate().executeTakeFirst();
    if (!feature) throw new EngineError('unknown_feature', `no feature "${key}"`, { feature: key });
    const { cost } = await trx.selectNoFrom(priceInForce(sql.val(key), now).as('cost')).executeTakeFirstOrThrow();
    // Not on sale yet (its first price is still to come): only a price from now on can change that.
    if (cost === null && change.cost === undefined) throw new EngineError('unknown_feature', `feature "${key}" has no price in force`, { feature: key });
    const before = { cost, enabled: feature.enabled };
    if (change.cost !== undefined && change.cost !== cost) {
      await trx
        .insertInto('feature_prices')
        .values({ feature_key: key, cost: change.cost, effective_from: now, changed_by: actor })
        .onConflict((oc) => oc.columns(['feature_key', 'effective_from']).doUpdateSet({ cost: change.cost!, changed_by: actor }))
        .execute();
    }
    if (change.enabled !== undefined && change.enabled !== feature.enabled) {
      await trx.updateTable('features').set({ enabled: change.enabled }).where('key', '=', key).execute();
    }
    const after = { cost: change.cost ?? cost!, enabled: change.enabled ?? before.enabled };
    await audit(trx, { actor, action: 'feature.update', subject: `feature:${key}`, before, after, at: now });
    return { key, ...after, effectiveFrom: now.toISOString() };
  });
}
