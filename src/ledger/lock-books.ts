import { sql } from 'kysely';
import type { Trx } from '../db/database.js';
import type { Account, GrantSource } from '../db/schema.js';
import { AccountBook } from './account-book.js';

/**
 * Locks the accounts in key order (so two transactions over the same accounts never deadlock, whatever
 * order their callers name them in) and loads their live grants into books. An unknown account has no book.
 *
 *   select * from accounts where user_id = any($1::text[]) order by user_id for update
 *   select id, user_id, source, remaining, expires_at from grants where user_id = any($1::text[]) and remaining > 0
 */
export async function lockBooks(trx: Trx, userIds: Iterable<string>): Promise<Map<string, AccountBook>> {
  const ids = [...new Set(userIds)].sort();
  const books = new Map<string, AccountBook>();
  if (ids.length === 0) return books;
  const { rows: accounts } = await sql<Account>`
    select * from accounts where user_id = any(${ids}::text[]) order by user_id for update`.execute(trx);
  if (accounts.length === 0) return books;
  const { rows: grants } = await sql<{ id: string; user_id: string; source: GrantSource; remaining: number; expires_at: Date | null }>`
    select id, user_id, source, remaining, expires_at from grants
    where user_id = any(${accounts.map((a) => a.user_id)}::text[]) and remaining > 0`.execute(trx);
  const byUser = new Map<string, Array<{ id: number; source: GrantSource; remaining: number; expiresAt: Date | null; dirty: boolean }>>();
  for (const g of grants) {
    const list = byUser.get(g.user_id) ?? [];
    list.push({ id: Number(g.id), source: g.source, remaining: g.remaining, expiresAt: g.expires_at, dirty: false });
    byUser.set(g.user_id, list);
  }
  for (const account of accounts) books.set(account.user_id, new AccountBook(account, byUser.get(account.user_id) ?? []));
  return books;
}
