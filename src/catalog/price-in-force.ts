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
