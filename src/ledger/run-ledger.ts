import type { Db, Trx } from '../db/database.js';
import type { Account } from '../db/schema.js';
import type { AccountBook } from './account-book.js';
import { flushBooks } from './flush-books.js';
import { lockBooks } from './lock-books.js';

/**
 * Whoever must react to ledger changes (threshold warnings) without the ledger knowing them: each unit of
 * work opens one watch, which sees every flush inside the transaction and is told once it has committed.
 */
export interface LedgerObserver {
  open(): LedgerWatch;
}

export interface LedgerWatch {
  /**
   * Inside the transaction, right after a flush, with the accounts it wrote as they now stand. A watch may
   * write rows of its own here (they commit or roll back with the change), and keep what must be sent.
   */
  flushed(trx: Trx, accounts: Account[], now: Date): Promise<void>;
  /** After the commit: hand over what must be delivered. Never called when the transaction rolled back. */
  committed(): Promise<void>;
}

/** The database and the observers wired in by the composition (src/engine.ts). */
export interface Ledger {
  db: Db;
  observers: readonly LedgerObserver[];
}

/** One ledger unit of work, as its callback sees it. */
export interface LedgerUnit {
  trx: Trx;
  now: Date;
  /**
   * Locks more accounts (in key order within one call) when which ones is only known on the way, as a
   * Stripe event finds its account; a book already locked is returned as it is.
   */
  lock(userIds: Iterable<string>): Promise<Map<string, AccountBook>>;
  lockOne(userId: string): Promise<AccountBook | undefined>;
}

/**
 * The one way to change the ledger: opens a transaction, locks `userIds` in key order and hands their
 * books to `work`; then flushes every book the unit locked (work cannot forget it) and lets the observers
 * see the flush, commits, and only then tells them it committed, so that a notification is never queued
 * for a change that rolled back. If `work` throws, nothing it did is written. `committed` hears the
 * result as soon as the transaction has committed, before the observers.
 *
 *   const outcomes = await runLedger(engine.ledger, now, userIds, (books, unit) => applyUsage(unit, books, events));
 */
export async function runLedger<T>(
  ledger: Ledger,
  now: Date,
  userIds: Iterable<string>,
  work: (books: Map<string, AccountBook>, unit: LedgerUnit) => Promise<T>,
  committed?: (result: T) => void,
): Promise<T> {
  const watches = ledger.observers.map((o) => o.open());
  const result = await ledger.db.transaction().execute(async (trx) => {
    const unit = new Unit(trx, now);
    const value = await work(await unit.lock(userIds), unit);
    const accounts = await flushBooks(trx, unit.books.values(), now);
    if (accounts.length > 0) for (const w of watches) await w.flushed(trx, accounts, now);
    return value;
  });
  committed?.(result);
  for (const w of watches) await w.committed();
  return result;
}

class Unit implements LedgerUnit {
  readonly books = new Map<string, AccountBook>();

  constructor(
    readonly trx: Trx,
    readonly now: Date,
  ) {}

  async lock(userIds: Iterable<string>): Promise<Map<string, AccountBook>> {
    const wanted = [...new Set(userIds)];
    const fresh = await lockBooks(this.trx, wanted.filter((id) => !this.books.has(id)));
    for (const [id, book] of fresh) this.books.set(id, book);
    const books = new Map<string, AccountBook>();
    for (const id of wanted.sort()) {
      const book = this.books.get(id);
      if (book) books.set(id, book);
    }
    return books;
  }

  async lockOne(userId: string): Promise<AccountBook | undefined> {
    return (await this.lock([userId])).get(userId);
  }
}
