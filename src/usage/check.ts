import { sql } from 'kysely';
import { preparedQuery, statementText, type Db } from '../db/database.js';
import { spendableAt } from '../ledger/spendable.js';
import { runLedger, type Ledger } from '../ledger/run-ledger.js';
import { placeHold } from '../ledger/holds.js';
import { loadPriceBook } from '../pricing/price-book.js';
import type { PricingCache } from '../pricing/pricing-cache.js';
import type { AccountGate } from '../ledger/account-gate.js';
import { releaseDueHolds } from '../ledger/hold-expiry.js';

export type CheckReason = 'insufficient_tokens' | 'account_not_found' | 'unknown_feature' | 'feature_disabled';

export interface CheckResult {
  allowed: boolean;
  cost: number;
  balance: number;
  reason?: CheckReason;
  reservationId?: string;
  expiresAt?: string;
}

export interface CheckRequest {
  userId: string;
  feature: string;
  reserve?: boolean;
  ttlSeconds: number;
  /** Open holds an account may have at once (TOKENS_MAX_OPEN_HOLDS). */
  maxOpenHolds: number;
}

interface CheckRow {
  pricing_version: number;
  account_exists: boolean;
  spendable: number | null;
}

// Parsed and planned once per connection: this is the hottest query of the engine. $1 the account, $2 the
// time. The feature's price and the rules come from the PricingCache, kept current by the version read here.
const CHECK_QUERY = statementText(sql`
  select (select version from pricing_state where id = 1) as pricing_version,
    a.user_id is not null as account_exists,
    ${spendableAt({ userId: sql.ref('a.user_id'), balance: sql.ref('a.balance'), held: sql.ref('a.held') }, sql.raw('$2::timestamptz'))} as spendable
  from (select 1) as one
  left join accounts a on a.user_id = $1`);

/** The account's side of a check from current state, in one round trip: whether it exists, what it can spend. */
async function spendableNow(db: Db, userId: string, now: Date): Promise<CheckRow> {
  const [row] = await preparedQuery<CheckRow>(db, 'tokens-check-v4', CHECK_QUERY, [userId, now]);
  return row!;
}

/** Why a check is refused before its cost is weighed; a feature with no price in force is unknown. */
function refusal(row: { feature_exists: boolean; enabled: boolean | null; account_exists: boolean; cost: number | null }): CheckReason | undefined {
  if (!row.feature_exists || row.cost === null) return 'unknown_feature';
  if (!row.account_exists) return 'account_not_found';
  if (!row.enabled) return 'feature_disabled';
  return undefined;
}

export async function checkFeature(ledger: Ledger, req: CheckRequest, now: Date, pricing: PricingCache, gate: AccountGate): Promise<CheckResult> {
  const { db } = ledger;
  if (!req.reserve) {
    const row = await spendableNow(db, req.userId, now);
    const quote = await pricing.quote(db, row.pricing_version, req.feature, now);
    const cost = quote?.cost ?? 0;
    const balance = row.spendable ?? 0;
    const reason =
      refusal({ feature_exists: !!quote, enabled: quote?.enabled ?? false, account_exists: row.account_exists, cost: quote?.baseCost ?? null }) ??
      (balance < cost ? 'insufficient_tokens' : undefined);
    return reason ? { allowed: false, cost, balance, reason } : { allowed: true, cost, balance };
  }
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
