import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { priceInForce } from '../catalog/price-in-force.js';
import { loadRuleBook, RuleBook, type AppliedRule } from './rule-book.js';
import { tierOf, type Tier } from '../catalog/tiers.js';

/** What a feature costs at one moment, and why. */
export interface Quote {
  featureKey: string;
  baseCost: number;
  cost: number;
  tier: Tier;
  enabled: boolean;
  /** The pricing rules that moved the cost away from the base price, in the order applied. */
  rules: AppliedRule[];
}

interface FeaturePrices {
  enabled: boolean;
  /** The base price in force at each moment the book was loaded for (ms), null before the first price. */
  at: Map<number, number | null>;
}

/** The base prices of a set of features at the moments a batch needs, so that pricing a use costs no query. */
export class PriceBook {
  constructor(
    private readonly features: Map<string, FeaturePrices>,
    private readonly rules: RuleBook = RuleBook.empty,
  ) {}

  /** What `featureKey` costs at `at`, rules applied; undefined if there is no such feature or no price in force. */
  quote(featureKey: string, at: Date): Quote | undefined {
    const feature = this.features.get(featureKey);
    if (!feature) return undefined;
    const cost = feature.at.get(at.getTime());
    if (cost === undefined) throw new Error(`the price book of ${featureKey} was not loaded for ${at.toISOString()}`);
    if (cost === null) return undefined;
    const priced = this.rules.apply(featureKey, cost, at);
    return { featureKey, baseCost: cost, cost: priced.cost, tier: tierOf(priced.cost), enabled: feature.enabled, rules: priced.rules };
  }
}

/** A feature to price at one moment. */
export interface PriceQuery {
  featureKey: string;
  at: Date;
}

/**
 * Loads the base price in force (catalog/price-in-force.ts) of each feature at each moment asked, in one
 * statement, and the pricing rules for the span of those moments. `featureKeys` undefined: every feature.
 */
export async function loadPriceBook(exec: Executor, featureKeys: readonly string[] | undefined, at: Date): Promise<PriceBook> {
  if (featureKeys) return loadPrices(exec, [...new Set(featureKeys)].map((featureKey) => ({ featureKey, at })));
  const keys = await exec.selectFrom('features').select('key').execute();
  return loadPrices(exec, keys.map((k) => ({ featureKey: k.key, at })));
}

/** The price book for these uses: each feature at the moment it is used. */
export async function loadPrices(exec: Executor, queries: readonly PriceQuery[]): Promise<PriceBook> {
  if (queries.length === 0) return new PriceBook(new Map());
  const wanted = [...new Map(queries.map((q) => [`${q.featureKey}\u0000${q.at.getTime()}`, q])).values()];
  const ms = wanted.map((q) => q.at.getTime());
  const [rows, rules] = await Promise.all([
    sql<{ n: number; enabled: boolean; cost: number | null }>`
      select q.n, f.enabled, ${priceInForce(sql.ref('f.key'), sql.ref('q.at'))} as cost
      from unnest(${wanted.map((q) => q.featureKey)}::text[], ${wanted.map((q) => q.at.toISOString())}::timestamptz[]) with ordinality as q(feature_key, at, n)
      join features f on f.key = q.feature_key`.execute(exec),
    loadRuleBook(exec, { from: new Date(Math.min(...ms)), to: new Date(Math.max(...ms)) }),
  ]);
  const map = new Map<string, FeaturePrices>();
  for (const r of rows.rows) {
    const q = wanted[r.n - 1]!;
    const feature = map.get(q.featureKey) ?? { enabled: r.enabled, at: new Map() };
    feature.at.set(q.at.getTime(), r.cost);
    map.set(q.featureKey, feature);
  }
  return new PriceBook(map, rules);
}
