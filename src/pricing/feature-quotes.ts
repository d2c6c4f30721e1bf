import type { Executor } from '../db/database.js';
import type { Tier } from '../catalog/tiers.js';
import { loadPriceBook } from './price-book.js';

export interface FeatureView {
  key: string;
  name: string;
  enabled: boolean;
  baseCost: number;
  cost: number;
  tier: Tier;
}

export interface FeatureFilter {
  /** Part of the key or the name, in any case. */
  q?: string | undefined;
  /** The tier of the cost in force now. */
  tier?: Tier | undefined;
}

/** The catalog as GET /v1/features shows it: each feature on sale now, with its base price and its cost now. */
export async function listFeatures(exec: Executor, now: Date, filter: FeatureFilter = {}): Promise<FeatureView[]> {
  const [rows, book] = await Promise.all([
    exec.selectFrom('features').select(['key', 'name', 'enabled']).orderBy('key').execute(),
    loadPriceBook(exec, undefined, now),
  ]);
  const q = filter.q?.toLowerCase();
  return rows.flatMap((row) => {
    const quote = book.quote(row.key, now);
    if (!quote) return [];
    if (filter.tier && quote.tier !== filter.tier) return [];
    if (q && !row.key.toLowerCase().includes(q) && !row.name.toLowerCase().includes(q)) return [];
    return [{ key: row.key, name: row.name, enabled: row.enabled, baseCost: quote.baseCost, cost: quote.cost, tier: quote.tier }];
  });
}
