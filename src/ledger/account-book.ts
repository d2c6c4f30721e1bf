import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account, GrantSource, LedgerKind, NewLedgerEntry } from '../db/schema.js';
import { recordWarnings } from '../notify/record-warnings.js';
import { EngineError } from '../errors.js';

// PostgreSQL takes at most 65535 parameters per statement; an entry uses 16.
const ENTRY_CHUNK = 2000;

/**
 * What one account may hold (balance plus held tokens) and be allocated in a period. Far above any
 * plan, and far enough below 2^31 that every sum kept per account (used this period counts rollover
 * too) stays in its integer column.
 */
export const MAX_ACCOUNT_TOKENS = 1_000_000_000;

/** Tokens taken from one grant, so that a release can put them back where they came from. */
export interface Allocation {
  grantId: number;
  tokens: number;
}

interface LiveGrant {
  id: number;
  source: GrantSource;
  remaining: number;
  expiresAt: Date | null;
  dirty: boolean;
}

export interface EntryFields {
  occurredAt: Date;
  featureKey?: string | null;
  cost?: number | null;
  grantId?: number | null;
  holdId?: string | null;
  usageKey?: string | null;
  source?: string | null;
  metadata?: unknown;
  /** For a use: the base price and the pricing rules that set its cost. */
  pricing?: unknown;
}

export interface NewGrant {
  source: GrantSource;
  sourceRef?: string | null;
  tokens: number;
  expiresAt: Date | null;
  idempotencyKey: string;
  occurredAt: Date;
  /** Whether the grant counts towards this period's allocation (a rollover does not: it is already held). */
  countsAsAllocated?: boolean;
  metadata?: unknown;
}

/**
 * One account's tokens, loaded under a row lock for the length of a transaction: the only code that changes
 * a balance. Every change is appended as a ledger entry carrying the balance after it; `flush` writes the
 * account, the touched grants and the entries in one statement each for all books of a transaction.
 *
 * Invariants kept here and checked by the database: balance = sum of grant remainders >= 0,
 * held = sum of open holds >= 0, and balance = sum of ledger amounts.
 */
export class AccountBook {
  readonly entries: NewLedgerEntry[] = [];
  private dirty = false;
  /** The plan when the book was loaded (or last flushed), so a change of plan is recorded as a move. */
  private flushedPlanId: string;

  private constructor(
    readonly account: Account,
    private readonly grants: LiveGrant[],
  ) {
    this.flushedPlanId = account.plan_id;
  }

  get userId(): string {
    return this.account.user_id;
  }
  get balance(): number {
    return this.account.balance;
  }
  get held(): number {
    return this.account.held;
  }

  /** Locks the accounts (in key order, so concurrent transactions never deadlock) and loads their live grants. */
  static async lock(trx: Trx, userIds: Iterable<string>): Promise<Map<string, AccountBook>> {
    const ids = [...new Set(userIds)].sort();
    const books = new Map<string, AccountBook>();
    if (ids.length === 0) return books;
    const accounts = await trx
      .selectFrom('accounts')
      .selectAll()
      .where('user_id', 'in', ids)
      .orderBy('user_id')
      .forUpdate()
      .execute();
    if (accounts.length === 0) return books;
    const grants = await trx
      .selectFrom('grants')
      .select(['id', 'user_id', 'source', 'remaining', 'expires_at'])
      .where('user_id', 'in', accounts.map((a) => a.user_id))
      .where('remaining', '>', 0)
      .execute();
    const byUser = new Map<string, LiveGrant[]>();
    for (const g of grants) {
      const list = byUser.get(g.user_id) ?? [];
      list.push({ id: g.id, source: g.source, remaining: g.remaining, expiresAt: g.expires_at, dirty: false });
      byUser.set(g.user_id, list);
    }
    for (const account of accounts) {
      const book = new AccountBook(account, byUser.get(account.user_id) ?? []);
      book.sortGrants();
      books.set(account.user_id, book);
    }
    return books;
  }

  static async lockOne(trx: Trx, userId: string): Promise<AccountBook | undefined> {
    return (await AccountBook.lock(trx, [userId])).get(userId);
  }

  /** Spending order: soonest-expiring first, never-expiring last, oldest first among equals. */
  private sortGrants(): void {
    this.grants.sort((a, b) => {
      const ea = a.expiresAt?.getTime() ?? Infinity;
      const eb = b.expiresAt?.getTime() ?? Infinity;
      return ea === eb ? a.id - b.id : ea - eb;
    });
  }

  private record(kind: LedgerKind, amount: number, heldDelta: number, f: EntryFields): void {
    this.dirty = true;
    this.entries.push({
      user_id: this.userId,
      kind,
      plan_id: this.account.plan_id,
      amount,
      held_delta: heldDelta,
      balance_after: this.account.balance,
      held_after: this.account.held,
      feature_key: f.featureKey ?? null,
      cost: f.cost ?? null,
      grant_id: f.grantId ?? null,
      hold_id: f.holdId ?? null,
      usage_key: f.usageKey ?? null,
      source: f.source ?? null,
      occurred_at: f.occurredAt,
      metadata: f.metadata === undefined ? null : JSON.stringify(f.metadata),
      pricing: f.pricing === undefined ? null : JSON.stringify(f.pricing),
    });
  }

  /** Tokens of grants whose expiry has passed are removed from the balance, one entry per grant. */
  expireDue(now: Date, occurredAt = now): number {
    let expired = 0;
    for (const g of this.grants) {
      if (g.remaining > 0 && g.expiresAt && g.expiresAt.getTime() <= now.getTime()) {
        const tokens = g.remaining;
        g.remaining = 0;
        g.dirty = true;
        this.account.balance -= tokens;
        expired += tokens;
        this.record('expiry', -tokens, 0, { occurredAt, grantId: g.id, source: g.source });
      }
    }
    return expired;
  }

  /** Tokens that would expire at `at` (a grant expiring exactly then is gone). */
  expiringBy(at: Date): number {
    return this.grants.reduce((sum, g) => (g.expiresAt && g.expiresAt.getTime() <= at.getTime() ? sum + g.remaining : sum), 0);
  }

  /** Remaining tokens of grants of the given sources. */
  remainingOf(sources: GrantSource[]): Array<{ id: number; remaining: number; expiresAt: Date | null; source: GrantSource }> {
    return this.grants.filter((g) => g.remaining > 0 && sources.includes(g.source)).map((g) => ({ ...g }));
  }

  /**
   * Moves the expiry of the grants of `sources` that expire at `from` forward to `to`, for a period that
   * ends early (a plan purchase starts a new one). Held tokens released later expire at `to` too.
   */
  async bringExpiryForward(trx: Trx, sources: GrantSource[], from: Date, to: Date): Promise<void> {
    await trx
      .updateTable('grants')
      .set({ expires_at: to })
      .where('user_id', '=', this.userId)
      .where('source', 'in', sources)
      .where('expires_at', '=', from)
      .execute();
    for (const g of this.grants) {
      if (sources.includes(g.source) && g.expiresAt?.getTime() === from.getTime()) g.expiresAt = to;
    }
    this.sortGrants();
  }

  async grant(trx: Trx, g: NewGrant): Promise<number | null> {
    const held = this.account.balance + this.account.held + g.tokens;
    const allocated = this.account.period_allocated + (g.countsAsAllocated === false ? 0 : g.tokens);
    if (held > MAX_ACCOUNT_TOKENS || allocated > MAX_ACCOUNT_TOKENS) {
      throw new EngineError('balance_limit_exceeded', `a grant of ${g.tokens} would take account "${this.userId}" past ${MAX_ACCOUNT_TOKENS} tokens`, {
        userId: this.userId,
        tokens: g.tokens,
        balance: this.account.balance,
        held: this.account.held,
        allocatedThisPeriod: this.account.period_allocated,
        limit: MAX_ACCOUNT_TOKENS,
      });
    }
    const inserted = await trx
      .insertInto('grants')
      .values({
        user_id: this.userId,
        source: g.source,
        source_ref: g.sourceRef ?? null,
        tokens: g.tokens,
        remaining: g.tokens,
        expires_at: g.expiresAt,
        idempotency_key: g.idempotencyKey,
        created_at: g.occurredAt,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return null;
    this.grants.push({ id: inserted.id, source: g.source, remaining: g.tokens, expiresAt: g.expiresAt, dirty: false });
    this.sortGrants();
    this.account.balance += g.tokens;
    if (g.countsAsAllocated !== false) this.account.period_allocated += g.tokens;
    this.record('grant', g.tokens, 0, {
      occurredAt: g.occurredAt,
      grantId: inserted.id,
      source: g.sourceRef ? `${g.source}:${g.sourceRef}` : g.source,
      metadata: g.metadata,
    });
    return inserted.id;
  }

  /** Takes `tokens` from the balance, soonest-expiring grants first; undefined if the balance is short. */
  private take(tokens: number): Allocation[] | undefined {
    if (tokens > this.account.balance) return undefined;
    const allocations: Allocation[] = [];
    let left = tokens;
    for (const g of this.grants) {
      if (left === 0) break;
      if (g.remaining === 0) continue;
      const n = Math.min(g.remaining, left);
      g.remaining -= n;
      g.dirty = true;
      left -= n;
      allocations.push({ grantId: g.id, tokens: n });
    }
    if (left > 0) throw new Error(`ledger inconsistency: ${this.userId} balance exceeds its grants`);
    this.account.balance -= tokens;
    return allocations;
  }

  /** Spends `cost` for a use; false (and nothing changed) if the balance is short. */
  use(cost: number, f: EntryFields): boolean {
    const allocations = this.take(cost);
    if (!allocations) return false;
    this.account.period_used += cost;
    this.record('use', -cost, 0, { ...f, cost });
    return true;
  }

  /** Moves `cost` from balance to held; the allocations are kept on the hold. */
  hold(cost: number, f: EntryFields): Allocation[] | undefined {
    const allocations = this.take(cost);
    if (!allocations) return undefined;
    this.account.held += cost;
    this.record('hold', -cost, cost, { ...f, cost });
    return allocations;
  }

  /** Spends a hold's tokens for the use that names it. */
  useHold(cost: number, f: EntryFields): void {
    this.account.held -= cost;
    this.account.period_used += cost;
    this.record('use', 0, -cost, { ...f, cost });
  }

  /** Puts a hold's tokens back on the grants they came from (an expired grant then expires them again). */
  async releaseHold(trx: Trx, cost: number, allocations: Allocation[], f: EntryFields): Promise<void> {
    const missing = allocations.filter((a) => !this.grants.some((g) => g.id === a.grantId)).map((a) => a.grantId);
    if (missing.length > 0) {
      const rows = await trx
        .selectFrom('grants')
        .select(['id', 'source', 'remaining', 'expires_at'])
        .where('id', 'in', missing)
        .execute();
      for (const r of rows) this.grants.push({ id: r.id, source: r.source, remaining: r.remaining, expiresAt: r.expires_at, dirty: false });
      this.sortGrants();
    }
    for (const a of allocations) {
      const g = this.grants.find((x) => x.id === a.grantId)!;
      g.remaining += a.tokens;
      g.dirty = true;
    }
    this.account.held -= cost;
    this.account.balance += cost;
    this.record('release', cost, -cost, { ...f, cost });
  }

  /** Takes back up to `tokens` of one grant's unspent remainder (a refund); returns what was taken. */
  reverse(grantId: number, tokens: number, f: EntryFields): number {
    const g = this.grants.find((x) => x.id === grantId);
    const taken = Math.min(tokens, g?.remaining ?? 0);
    if (!g || taken === 0) return 0;
    g.remaining -= taken;
    g.dirty = true;
    this.account.balance -= taken;
    this.record('reversal', -taken, 0, { ...f, grantId, cost: taken });
    return taken;
  }

  /** For billing: replaces the period fields (renewals, plan changes). */
  setPeriod(fields: Partial<Pick<Account, 'plan_id' | 'period_index' | 'period_start' | 'period_end' | 'period_allocated' | 'period_used'>>): void {
    Object.assign(this.account, fields);
    this.dirty = true;
  }

  /** Writes every touched account, grant and entry of these books: one statement each. */
  static async flush(trx: Trx, books: Iterable<AccountBook>, now: Date): Promise<void> {
    const touched = [...books].filter((b) => b.dirty);
    if (touched.length === 0) return;
    const grantRows = touched.flatMap((b) => b.grants.filter((g) => g.dirty).map((g) => sql`(${g.id}::bigint, ${g.remaining}::int)`));
    if (grantRows.length > 0) {
      await sql`update grants set remaining = v.remaining from (values ${sql.join(grantRows)}) as v(id, remaining)
                where grants.id = v.id`.execute(trx);
    }
    const accountRows = touched.map(
      (b) =>
        sql`(${b.userId}::text, ${b.account.balance}::int, ${b.account.held}::int, ${b.account.period_used}::int,
             ${b.account.period_allocated}::int, ${b.account.plan_id}::text, ${b.account.period_index}::int,
             ${b.account.period_start}::timestamptz, ${b.account.period_end}::timestamptz)`,
    );
    await sql`update accounts set balance = v.balance, held = v.held, period_used = v.period_used,
                period_allocated = v.period_allocated, plan_id = v.plan_id, period_index = v.period_index,
                period_start = v.period_start, period_end = v.period_end, updated_at = ${now}
              from (values ${sql.join(accountRows)})
                as v(user_id, balance, held, period_used, period_allocated, plan_id, period_index, period_start, period_end)
              where accounts.user_id = v.user_id`.execute(trx);
    const entries = touched.flatMap((b) => b.entries);
    for (let i = 0; i < entries.length; i += ENTRY_CHUNK) {
      await trx.insertInto('ledger_entries').values(entries.slice(i, i + ENTRY_CHUNK)).execute();
    }
    const moves = touched.filter((b) => b.account.plan_id !== b.flushedPlanId);
    if (moves.length > 0) {
      await trx
        .insertInto('plan_moves')
        .values(moves.map((b) => ({ user_id: b.userId, from_plan: b.flushedPlanId, to_plan: b.account.plan_id, moved_at: now })))
        .execute();
      for (const b of moves) b.flushedPlanId = b.account.plan_id;
    }
    // Threshold warnings go in the outbox in this same transaction, whatever operation moved the balance.
    await recordWarnings(trx, touched.map((b) => b.account), now);
    for (const b of touched) {
      b.entries.length = 0;
      b.dirty = false;
      for (const g of b.grants) g.dirty = false;
    }
  }
}
