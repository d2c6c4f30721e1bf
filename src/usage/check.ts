import { preparedQuery, type Db } from '../db/database.js';
import { runLedger, type Ledger } from '../ledger/run-ledger.js';
import { placeHold } from '../ledger/holds.js';
import { loadPriceBook } from '../pricing/price-book.js';
import type { RuleCache } from '../pricing/rule-cache.js';
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
  feature_exists: boolean;
  enabled: boolean | null;
  cost: number | null;
  account_exists: boolean;
  spendable: number | null;
}

// Parsed and planned once per connection: this is the hottest query of the engine. Spendable: the
// balance, less tokens of grants past their expiry, plus tokens of holds past theirs going back to live
// grants (looked up only while the account holds anything: CASE does not evaluate the branch it skips).
const CHECK_QUERY = `
  select (select version from pricing_state where id = 1) as pricing_version,
    f.key is not null as feature_exists, f.enabled,
    (select p.cost from feature_prices p where p.feature_key = f.key and p.effective_from <= $3
      order by p.effective_from desc limit 1) as cost,
    a.user_id is not null as account_exists,
    a.balance - coalesce((select sum(g.remaining) from grants g
      where g.user_id = a.user_id and g.remaining > 0 and g.expires_at <= $3), 0)
    + case when a.held > 0 then coalesce((select sum((al.value->>'tokens')::bigint) from holds h
        cross join lateral jsonb_array_elements(h.allocations) al
        join grants g on g.id = (al.value->>'grantId')::bigint
        where h.user_id = a.user_id and h.status = 'open' and h.expires_at <= $3
          and (g.expires_at is null or g.expires_at > $3)), 0) else 0 end as spendable
  from (select 1) as one
  left join features f on f.key = $2
  left join accounts a on a.user_id = $1`;

/** Answers from current state in one round trip: the feature's price now and the spendable balance. */
async function quoteForAccount(db: Db, userId: string, feature: string, now: Date): Promise<CheckRow> {
  const [row] = await preparedQuery<CheckRow>(db, 'tokens-check-v2', CHECK_QUERY, [userId, feature, now]);
  return row!;
}

function refusal(row: Pick<CheckRow, 'feature_exists' | 'enabled' | 'account_exists'>): CheckReason | undefined {
  if (!row.feature_exists) return 'unknown_feature';
  if (!row.account_exists) return 'account_not_found';
  if (!row.enabled) return 'feature_disabled';
  return undefined;
}

export async function checkFeature(ledger: Ledger, req: CheckRequest, now: Date, rules: RuleCache, gate: AccountGate): Promise<CheckResult> {
  const { db } = ledger;
  if (!req.reserve) {
    const row = await quoteForAccount(db, req.userId, req.feature, now);
    const cost = row.cost === null ? 0 : (await rules.at(db, row.pricing_version, now)).apply(req.feature, row.cost, now).cost;
    const balance = row.spendable ?? 0;
    const reason = refusal(row) ?? (balance < cost ? 'insufficient_tokens' : undefined);
    return reason ? { allowed: false, cost, balance, reason } : { allowed: true, cost, balance };
  }
  return gate.run(req.userId, () => runLedger(ledger, now, [], async (_, unit) => {
    const { trx } = unit;
    const [book, prices] = await Promise.all([unit.lockOne(req.userId), loadPriceBook(trx, [req.feature], now)]);
    const quote = prices.quote(req.feature, now);
    const cost = quote?.cost ?? 0;
    if (book) await releaseDueHolds(trx, [book], now);
    book?.expireDue(now);
    const reason = refusal({ feature_exists: !!quote, enabled: quote?.enabled ?? false, account_exists: !!book });
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
