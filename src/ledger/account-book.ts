import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account, GrantSource, LedgerKind, NewLedgerEntry } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { LedgerInvariantViolated } from './ledger-invariant.js';
import { isExpiredAt } from './spendable.js';

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

/** A grant made in this unit of work: its row is written by the flush, with the entries that spend it. */
export interface NewGrantRow {
  id: number;
  userId: string;
  source: GrantSource;
  sourceRef: string | null;
  tokens: number;
  expiresAt: Date | null;
  idempotencyKey: string;
  createdAt: Date;
}

/** Grants of some sources whose expiry moves from one instant to another (a period that ends early). */
export interface ExpiryMove {
  userId: string;
  sources: GrantSource[];
  from: Date;
  to: Date;
}

/** What a book changed since it was loaded or last flushed: everything the flush writes for it. */
export interface BookChanges {
  account: Account;
  expiryMoves: ExpiryMove[];
  newGrants: Array<NewGrantRow & { remaining: number }>;
  grantRemainders: Array<{ id: number; remaining: number }>;
  entries: NewLedgerEntry[];
  planMove: { from: string; to: string } | null;
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
 * One account's tokens, loaded under a row lock by a unit of work (src/ledger/run-ledger.ts): the only code
 * that changes a balance. It changes nothing in the database itself: every change stays in memory, as the
 * account's new state, its touched and new grants and one ledger entry per change carrying the balance
 * after it, until the unit of work flushes all its books at once (src/ledger/flush-books.ts). So a change
 * without its entry can never be committed, and a unit that throws leaves nothing behind.
 *
 * Invariants kept here and checked by the database: balance = sum of grant remainders >= 0,
 * held = sum of open holds >= 0, and balance = sum of ledger amounts.
 */
export class AccountBook {
  private entries: NewLedgerEntry[] = [];
  private newGrants: NewGrantRow[] = [];
  private expiryMoves: ExpiryMove[] = [];
  private dirty = false;
  /** The plan when the book was loaded (or last flushed), so a change of plan is recorded as a move. */
  private flushedPlanId: string;

  /** For lock-books.ts: a book is only ever made from rows read under the account's lock. */
  constructor(
    readonly account: Account,
    private readonly grants: LiveGrant[],
  ) {
    this.flushedPlanId = account.plan_id;
    this.sortGrants();
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
      if (g.remaining > 0 && isExpiredAt(g.expiresAt, now)) {
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
    return this.grants.reduce((sum, g) => (isExpiredAt(g.expiresAt, at) ? sum + g.remaining : sum), 0);
  }

  /** Remaining tokens of grants of the given sources. */
  remainingOf(sources: GrantSource[]): Array<{ id: number; remaining: number; expiresAt: Date | null; source: GrantSource }> {
    return this.grants.filter((g) => g.remaining > 0 && sources.includes(g.source)).map((g) => ({ ...g }));
  }

  /**
   * Moves the expiry of the grants of `sources` that expire at `from` forward to `to`, for a period that
   * ends early (a plan purchase starts a new one). Spent grants move too, so that held tokens released
   * later expire at `to` as well: the flush moves every such row of the account, not only those loaded.
   */
  bringExpiryForward(sources: GrantSource[], from: Date, to: Date): void {
    for (const g of this.grants) {
      if (sources.includes(g.source) && g.expiresAt?.getTime() === from.getTime()) g.expiresAt = to;
    }
    for (const g of this.newGrants) {
      if (sources.includes(g.source) && g.expiresAt?.getTime() === from.getTime()) g.expiresAt = to;
    }
    this.expiryMoves.push({ userId: this.userId, sources, from, to });
    this.dirty = true;
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
    const id = await this.newGrantId(trx, g.idempotencyKey);
    if (id === null) return null;
    const sourceRef = g.sourceRef ?? null;
    this.newGrants.push({ id, userId: this.userId, source: g.source, sourceRef, tokens: g.tokens, expiresAt: g.expiresAt, idempotencyKey: g.idempotencyKey, createdAt: g.occurredAt });
    this.grants.push({ id, source: g.source, remaining: g.tokens, expiresAt: g.expiresAt, dirty: false });
    this.sortGrants();
    this.account.balance += g.tokens;
    if (g.countsAsAllocated !== false) this.account.period_allocated += g.tokens;
    this.record('grant', g.tokens, 0, {
      occurredAt: g.occurredAt,
      grantId: id,
      source: sourceRef ? `${g.source}:${sourceRef}` : g.source,
      metadata: g.metadata,
    });
    return id;
  }

  /**
   * The id a new grant will be written under, or null when its key was already granted. Reading before the
   * flush writes is safe here: every grant of an account is made under its row lock, so no other
   * transaction can take the key meanwhile (the unique key on grants still refuses a duplicate).
   */
  private async newGrantId(trx: Trx, key: string): Promise<number | null> {
    if (this.newGrants.some((n) => n.idempotencyKey === key)) return null;
    const { rows } = await sql<{ id: string }>`
      select nextval(pg_get_serial_sequence('grants', 'id')) as id
      where not exists (select 1 from grants where idempotency_key = ${key})`.execute(trx);
    return rows[0] ? Number(rows[0].id) : null;
  }

  /**
   * The grants under these keys, the ones this book made and has not flushed included: billing reads a
   * period's allocation back by its key in the same transaction that granted it.
   */
  async grantsByKey(trx: Trx, keys: string[]): Promise<Array<{ id: number; tokens: number }>> {
    const made = this.newGrants.filter((n) => keys.includes(n.idempotencyKey)).map((n) => ({ id: n.id, tokens: n.tokens }));
    const stored = await trx.selectFrom('grants').select(['id', 'tokens']).where('idempotency_key', 'in', keys).execute();
    return [...stored, ...made].sort((a, b) => a.id - b.id);
  }

  /** Grants this book made and has not flushed yet, for a query that must see them (they are not rows yet). */
  unflushedGrants(): readonly NewGrantRow[] {
    return this.newGrants;
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
    if (left > 0) throw new LedgerInvariantViolated(`account "${this.userId}" has a balance of ${this.account.balance} but its live grants hold ${tokens - left}`, { userId: this.userId });
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

  /** Whether the book changed since it was loaded or last drained. */
  get changed(): boolean {
    return this.dirty;
  }

  /** For the flush: hands over every change made since the last one, and starts the book afresh. */
  drain(): BookChanges {
    const made = new Set(this.newGrants.map((n) => n.id));
    const remaining = new Map(this.grants.map((g) => [g.id, g.remaining]));
    const changes: BookChanges = {
      account: this.account,
      expiryMoves: this.expiryMoves,
      newGrants: this.newGrants.map((n) => ({ ...n, remaining: remaining.get(n.id) ?? 0 })),
      grantRemainders: this.grants.filter((g) => g.dirty && !made.has(g.id)).map((g) => ({ id: g.id, remaining: g.remaining })),
      entries: this.entries,
      planMove: this.account.plan_id !== this.flushedPlanId ? { from: this.flushedPlanId, to: this.account.plan_id } : null,
    };
    this.entries = [];
    this.newGrants = [];
    this.expiryMoves = [];
    this.flushedPlanId = this.account.plan_id;
    this.dirty = false;
    for (const g of this.grants) g.dirty = false;
    return changes;
  }
}
