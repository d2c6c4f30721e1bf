import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { priceInForce, priceInForceSpan } from '../catalog/price-in-force.js';
import { loadRuleBook, RuleBook } from './rule-book.js';

/** A feature as the plain check prices it: whether it is enabled, and its cost now, rules applied. */
export interface CachedQuote {
  enabled: boolean;
  /** The base price in force; null before the feature's first price (not on sale: unknown to a check). */
  baseCost: number | null;
  /** The cost with the pricing rules applied (0 when there is no base price). */
  cost: number;
}

interface CachedFeature {
  enabled: boolean;
  baseCost: number | null;
  /** The span (ms) over which baseCost stays the price in force (catalog/price-in-force.ts). */
  since: number;
  until: number;
}

interface Snapshot {
  version: number;
  features: Map<string, CachedFeature>;
  rules: RuleBook;
}

interface CatalogRow {
  version: number;
  key: string | null;
  enabled: boolean | null;
  cost: number | null;
  since: Date | null;
  until: Date | null;
}

/**
 * The features, their prices in force and the pricing rules as this process last loaded them, for
 * /v1/check's hot path. pricing_state.version moves with every change to any of them (a rule saved, a
 * demand level computed, a feature or price version written: the last two by a trigger, whoever writes
 * them) and the check query reads it in the same round trip, so the very next check after a change sees
 * it: no TTL, no stale quote. A cached price also holds only over the span its price version is in
 * force: a check at a moment outside it (a scheduled price taking effect) loads again.
 */
export class PricingCache {
  private snapshot: Snapshot = { version: -1, features: new Map(), rules: RuleBook.empty };
  private loading: Promise<Snapshot> | undefined;

  /** `featureKey` at `now` under pricing version `version`; undefined for a feature that does not exist. */
  async quote(exec: Executor, version: number, featureKey: string, now: Date): Promise<CachedQuote | undefined> {
    let snapshot = this.snapshot;
    const t = now.getTime();
    const holds = (s: Snapshot) => {
      const f = s.features.get(featureKey);
      // A snapshot newer than the version the caller read is as good: the change raced the check.
      return s.version >= version && (!f || (t >= f.since && t < f.until));
    };
    // A load made at `now` holds at `now`; one already under way for another moment may not.
    while (!holds(snapshot)) snapshot = await this.load(exec, now);
    const feature = snapshot.features.get(featureKey);
    if (!feature) return undefined;
    const cost = feature.baseCost === null ? 0 : snapshot.rules.apply(featureKey, feature.baseCost, now).cost;
    return { enabled: feature.enabled, baseCost: feature.baseCost, cost };
  }

  /** One load at a time; its version is read first, so a change made during the load is seen as a later version. */
  private load(exec: Executor, now: Date): Promise<Snapshot> {
    this.loading ??= loadSnapshot(exec, now).then(
      (snapshot) => {
        this.snapshot = snapshot;
        this.loading = undefined;
        return snapshot;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }
}

async function loadSnapshot(exec: Executor, now: Date): Promise<Snapshot> {
  const span = priceInForceSpan(sql.ref('f.key'), now);
  // One statement, one snapshot: the version and the catalog it labels.
  const { rows } = await sql<CatalogRow>`
    select s.version, f.key, f.enabled, ${priceInForce(sql.ref('f.key'), now)} as cost, ${span.since} as since, ${span.until} as until
    from pricing_state s left join features f on true
    where s.id = 1`.execute(exec);
  const rules = await loadRuleBook(exec, { from: now, to: now });
  const features = new Map<string, CachedFeature>();
  for (const r of rows) {
    if (r.key === null) continue;
    features.set(r.key, {
      enabled: r.enabled!,
      baseCost: r.cost,
      since: r.since?.getTime() ?? -Infinity,
      until: r.until?.getTime() ?? Infinity,
    });
  }
  return { version: rows[0]!.version, features, rules };
}
