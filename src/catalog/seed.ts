import type { Db } from '../db/database.js';
import { defaultPlans, featureDisplayName, seedOperationCosts, seedPageCosts } from './default-catalog.js';

// Seeded prices are in force since the epoch, so a use reported with any past occurredAt has a price.
const SINCE_EVER = new Date(0);

/** Inserts the default catalog where it is missing; never overwrites what an admin changed. */
export async function seedCatalog(db: Db): Promise<{ plans: number; features: number }> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const plans = await trx
      .insertInto('plans')
      .values(
        defaultPlans.map((p) => ({
          id: p.id,
          name: p.name,
          monthly_tokens: p.monthlyTokens,
          price_cents: p.priceCents,
          billing_interval: p.billingInterval,
          rank: p.rank,
          updated_at: now,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .execute();
    const costs = { ...seedPageCosts, ...seedOperationCosts };
    const features = await trx
      .insertInto('features')
      .values(Object.keys(costs).map((key) => ({ key, name: featureDisplayName(key) })))
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .execute();
    if (features.length > 0) {
      await trx
        .insertInto('feature_prices')
        .values(
          features.map(({ key }) => ({ feature_key: key, cost: costs[key]!, effective_from: SINCE_EVER, changed_by: 'seed' })),
        )
        .onConflict((oc) => oc.columns(['feature_key', 'effective_from']).doNothing())
        .execute();
    }
    return { plans: plans.length, features: features.length };
  });
}
