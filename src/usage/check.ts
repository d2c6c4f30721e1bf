import { runLedger, type Ledger } from '../ledger/run-ledger.js';
import { placeHold } from '../ledger/holds.js';
import { loadPriceBook } from '../pricing/price-book.js';
import type { PricingCache } from '../pricing/pricing-cache.js';
import type { AccountGate } from '../ledger/account-gate.js';
import { releaseDueHolds } from '../ledger/hold-expiry.js';
import type { CheckReads } from './check-reads.js';

export type CheckReason = 'insufficient_tokens' | 'account_not_found' | 'unknown_feature' | 'feature_disabled';

export interface CheckResult {
  allowed: boolean;
  cost: number;
  balance: number;
  reason?: CheckReason;
  reservationId?: string;
  expiresAt?: string;
}

export interface HoldRequest {
  userId: string;
  feature: string;
  ttlSeconds: number;
  /** Open holds an account may have at once (TOKENS_MAX_OPEN_HOLDS). */
  maxOpenHolds: number;
}

/** Why a check is refused before its cost is weighed; a feature with no price in force is unknown. */
function refusal(row: { feature_exists: boolean; enabled: boolean | null; account_exists: boolean; cost: number | null }): CheckReason | undefined {
  if (!row.feature_exists || row.cost === null) return 'unknown_feature';
  if (!row.account_exists) return 'account_not_found';
  if (!row.enabled) return 'feature_disabled';
  return undefined;
}

/** What a plain check reads through besides the ledger: the catalog cache and the accounts' read batches. */
export interface CheckDeps {
  pricing: PricingCache;
  reads: CheckReads;
}

/**
 * A check that holds nothing: no lock, no write. The account's side is read with the checks in flight
 * (CheckReads), the price from the catalog cache at the version read with it. Its own function, and no
 * request object, because it is the path every page view pays for.
 */
export async function checkQuote(ledger: Ledger, userId: string, feature: string, now: Date, { pricing, reads }: CheckDeps): Promise<CheckResult> {
  const row = await reads.read(userId, now);
  const quote = await pricing.quote(ledger.db, row.pricing_version, feature, now);
  const cost = quote?.cost ?? 0;
  const balance = row.spendable ?? 0;
  const reason =
    refusal({ feature_exists: !!quote, enabled: quote?.enabled ?? false, account_exists: row.account_exists, cost: quote?.baseCost ?? null }) ??
    (balance < cost ? 'insufficient_tokens' : undefined);
  return reason ? { allowed: false, cost, balance, reason } : { allowed: true, cost, balance };
}

/** A check that holds the cost (`reserve: true`), under the account's lock, in one ledger transaction. */
export function checkAndHold(ledger: Ledger, req: HoldRequest, now: Date, gate: AccountGate): Promise<CheckResult> {
  return gate.run(req.userId, () => runLedger(ledger, now, [], async (_, unit) => {
    const { trx } = unit;
    const [book, prices] = await Promise.all([unit.lockOne(req.userId), loadPriceBook(trx, [req.feature], now)]);
    const quote = prices.quote(req.feature, now);
    const cost = quote?.cost ?? 0;
    if (book) await releaseDueHolds(trx, [book], now);
    book?.expireDue(now);
    const reason = refusal({ feature_exists: !!quote, enabled: quote?.enabled ?? false, account_exists: !!book, cost: quote?.baseCost ?? null });
    if (reason || !book) {
      return { allowed: false, cost, balance: book?.balance ?? 0, reason: reason ?? 'account_not_found' };
    }
    // Nothing to hold: a free feature is allowed without a reservation (and without a hold row).
    if (cost === 0) {
      return { allowed: true, cost, balance: book.balance };
    }
    const pricing = { baseCost: quote!.baseCost, rules: quote!.rules };
    const hold = await placeHold(
      trx,
      book,
      { userId: req.userId, featureKey: req.feature, cost, pricing, ttlSeconds: req.ttlSeconds, maxOpenHolds: req.maxOpenHolds },
      now,
    );
    if (!hold) return { allowed: false, cost, balance: book.balance, reason: 'insufficient_tokens' };
    return { allowed: true, cost, balance: book.balance, reservationId: hold.id, expiresAt: hold.expiresAt.toISOString() };
  }));
}
