import { sql, type Expression, type RawBuilder } from 'kysely';

/**
 * The base price of a feature in force at `at`: the latest of its price versions that took effect at or
 * before then; null before its first one (the feature is not on sale yet: every check and use of it is
 * refused as `unknown_feature`). The one definition of the rule, for every reader:
 *
 *   (select p.cost from feature_prices p
 *     where p.feature_key = <featureKey> and p.effective_from <= <at>
 *     order by p.effective_from desc limit 1)
 *
 * `featureKey` and `at` are SQL expressions (a column, a placeholder) or a time bound as a value.
 */
export function priceInForce(featureKey: Expression<string>, at: Expression<Date> | Date): RawBuilder<number | null> {
  return sql<number | null>`(select p.cost from feature_prices p
    where p.feature_key = ${featureKey} and p.effective_from <= ${at}
    order by p.effective_from desc limit 1)`;
}

/**
 * How long the answer of priceInForce at `at` holds, by the same rule: from the moment the price in force
 * took effect (null while none has: the feature is not on sale yet) until the next price version takes
 * over (null when none is due). Any moment in [since, until) gets the same price; a reader caching it
 * (src/pricing/pricing-cache.ts) asks again outside that span.
 */
export function priceInForceSpan(featureKey: Expression<string>, at: Expression<Date> | Date): { since: RawBuilder<Date | null>; until: RawBuilder<Date | null> } {
  return {
    since: sql<Date | null>`(select max(p.effective_from) from feature_prices p
      where p.feature_key = ${featureKey} and p.effective_from <= ${at})`,
    until: sql<Date | null>`(select min(p.effective_from) from feature_prices p
      where p.feature_key = ${featureKey} and p.effective_from > ${at})`,
  };
}
