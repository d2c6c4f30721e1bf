import type { Trx } from '../db/database.js';
import { AccountBook } from '../ledger/account-book.js';
import type { StripeEvent } from './stripe-objects.js';
import { renewDue } from './renewal.js';

export type EventStatus = 'applied' | 'ignored' | 'failed';

/** What a Stripe event did, kept on the event for admins: a stable code and a sentence. */
export interface EventOutcome {
  status: EventStatus;
  code: string;
  message: string;
  userId?: string | null;
}

export const applied = (code: string, message: string, userId: string): EventOutcome => ({ status: 'applied', code, message, userId });
export const ignored = (code: string, message: string, userId: string | null = null): EventOutcome => ({ status: 'ignored', code, message, userId });
/** An event that cannot be applied as sent (unknown account or plan, bad metadata): recorded, not retried. */
export const failed = (code: string, message: string, userId: string | null = null): EventOutcome => ({ status: 'failed', code, message, userId });

/** One event being applied: its transaction, its time, and the accounts it locked (flushed once at the end). */
export class PaymentContext {
  readonly books: AccountBook[] = [];

  constructor(
    readonly trx: Trx,
    readonly event: StripeEvent,
    readonly now: Date,
  ) {}

  /** Locks the account and first renews any period that has ended, so the payment lands in the right one. */
  async account(userId: string): Promise<AccountBook | undefined> {
    const book = await AccountBook.lockOne(this.trx, userId);
    if (!book) return undefined;
    await renewDue(this.trx, book, this.now);
    this.books.push(book);
    return book;
  }
}
