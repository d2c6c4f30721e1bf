import type { Executor } from '../db/database.js';
import { loadPriceBook } from '../pricing/price-book.js';
import type { Tier } from './tiers.js';

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

/** Feature keys exist or not; a short cache keeps validation of usage off the database. */
export class FeatureDirectory {
  private keys = new Set<string>();
  private loadedAt = 0;

  constructor(
    private readonly exec: Executor,
    private readonly maxAgeMs = 5000,
  ) {}

  async unknown(featureKeys: readonly string[]): Promise<string[]> {
    if (Date.now() - this.loadedAt > this.maxAgeMs || featureKeys.some((k) => !this.keys.has(k))) {
      // A key we have not seen may have been added by an admin since we last looked.
      const rows = await this.exec.selectFrom('features').select('key').execute();
      this.keys = new Set(rows.map((r) => r.key));
      this.loadedAt = Date.now();
    }
    return [...new Set(featureKeys.filter((k) => !this.keys.has(k)))];
  }
}
