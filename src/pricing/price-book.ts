import type { Executor } from '../db/database.js';
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

interface FeaturePriceHistory {
  enabled: boolean;
  /** Ascending by `from`. */
  prices: Array<{ from: number; cost: number }>;
}

/** The price history of a set of features, loaded once per batch so that pricing a use costs no query. */
export class PriceBook {
  constructor(
    private readonly features: Map<string, FeaturePriceHistory>,
    private readonly rules: RuleBook = RuleBook.empty,
  ) {}

  has(featureKey: string): boolean {
    return this.features.has(featureKey);
  }

  /** The cost in force at `at`: the latest price whose effective time is not after it. */
  quote(featureKey: string, at: Date): Quote | undefined {
    const feature = this.features.get(featureKey);
    if (!feature) return undefined;
    const t = at.getTime();
    let cost: number | undefined;
    for (const price of feature.prices) {
      if (price.from > t) break;
      cost = price.cost;
    }
    if (cost === undefined) return undefined;
    const priced = this.rules.apply(featureKey, cost, at);
    return { featureKey, baseCost: cost, cost: priced.cost, tier: tierOf(priced.cost), enabled: feature.enabled, rules: priced.rules };
  }
}

/** The moments a price book must be able to price (demand levels are loaded for them). */
export type PriceSpan = { from: Date; to: Date };

export function spanOf(times: Date[]): PriceSpan {
  const ms = times.map((t) => t.getTime());
  return { from: new Date(Math.min(...ms)), to: new Date(Math.max(...ms)) };
}

/** Loads the price history of `featureKeys` (all features if undefined) and the pricing rules for `span`. */
export async function loadPriceBook(exec: Executor, featureKeys: readonly string[] | undefined, span: PriceSpan | Date): Promise<PriceBook> {
  if (featureKeys && featureKeys.length === 0) return new PriceBook(new Map());
  let features = exec.selectFrom('features').select(['key', 'enabled']);
  let prices = exec
    .selectFrom('feature_prices')
    .select(['feature_key', 'cost', 'effective_from'])
    .orderBy('feature_key')
    .orderBy('effective_from');
  if (featureKeys) {
    const keys = [...new Set(featureKeys)];
    features = features.where('key', 'in', keys);
    prices = prices.where('feature_key', 'in', keys);
  }
  const [featureRows, priceRows, rules] = await Promise.all([
    features.execute(),
    prices.execute(),
    loadRuleBook(exec, span instanceof Date ? { from: span, to: span } : span),
  ]);
  const map = new Map<string, FeaturePriceHistory>();
  for (const f of featureRows) map.set(f.key, { enabled: f.enabled, prices: [] });
  for (const p of priceRows) map.get(p.feature_key)?.prices.push({ from: p.effective_from.getTime(), cost: p.cost });
  return new PriceBook(map, rules);
}
